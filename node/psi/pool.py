"""The bounded process pool PSI work runs in.

A node creates one ``PsiPool`` at start-up and closes it at shutdown. The
responder calls ``serve`` from a gRPC handler thread: the elliptic-curve work
then runs in a worker process, so the handler thread only waits on a pipe and
health checks and small lookups stay responsive during a large match. The
requester's ``finish`` runs the library's intersection step in a worker so a
hostile setup can at worst lose that one call.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from node.psi._worker import (
    DEFAULT_MEMORY_LIMIT_BYTES,
    DEFAULT_TIMEOUT_S,
    WorkerPool,
)
from node.psi.client import ClientResult, ClientSession
from node.psi.messages import DEFAULT_LIMITS, Limits
from node.psi.server import DEFAULT_FPR, ServerResult, count_request_elements, process


class PsiPool:
    """Run PSI steps in at most ``max_workers`` worker processes.

    ``timeout_s`` is the default wall-clock limit of one call, including the
    wait for a free worker; ``memory_limit_bytes`` caps each worker's address
    space. Both raise ``PsiWorkerFailed`` when exceeded.
    """

    def __init__(
        self,
        max_workers: int = 1,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES,
    ) -> None:
        self._workers = WorkerPool(
            max_workers=max_workers,
            timeout_s=timeout_s,
            memory_limit_bytes=memory_limit_bytes,
        )

    @property
    def timeout_s(self) -> float:
        """Default wall-clock limit of one call, in seconds."""
        return self._workers.timeout_s

    @property
    def max_workers(self) -> int:
        return self._workers.max_workers

    def load(self) -> tuple[int, int]:
        """(calls waiting for a free worker, calls running in one) at this moment."""
        return self._workers.load()

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        prefer_worker: int | None = None,
    ) -> Any:
        """Run a module-level function in a worker and return its result.

        ``prefer_worker`` is the process id of the worker to use when it is idle.
        """
        return self._workers.call(
            fn, *args, timeout_s=timeout_s, should_stop=should_stop, prefer_worker=prefer_worker
        )

    def serve(
        self,
        elements: Sequence[str],
        request_bytes: bytes,
        *,
        reveal: bool,
        max_elements: int | None = None,
        fpr: float = DEFAULT_FPR,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> ServerResult:
        """Answer a PSI request in a worker (see ``node.psi.server.process``).

        The request is counted here first, so an oversized or empty request is
        refused without touching a worker. Pass the RPC's remaining time as
        ``timeout_s`` and ``should_stop=lambda: not context.is_active()`` so a
        cancelled call stops its curve work.
        """
        count_request_elements(request_bytes, max_elements=max_elements)
        result: ServerResult = self._workers.call(
            process,
            list(elements),
            bytes(request_bytes),
            reveal=reveal,
            fpr=fpr,
            max_elements=max_elements,
            timeout_s=timeout_s,
            should_stop=should_stop,
        )
        return result

    def finish(
        self,
        session: ClientSession,
        setup_bytes: bytes,
        response_bytes: bytes,
        *,
        limits: Limits = DEFAULT_LIMITS,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> ClientResult:
        """Validate the counterpart's answer and compute the intersection in a worker."""
        return session.finish(
            setup_bytes,
            response_bytes,
            pool=self,
            limits=limits,
            timeout_s=timeout_s,
            should_stop=should_stop,
        )

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        return self._workers.worker_pids()

    def close(self) -> None:
        """Stop every worker; further calls raise ``PsiWorkerFailed``."""
        self._workers.close()

    def __enter__(self) -> PsiPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_default: PsiPool | None = None
_default_lock = threading.Lock()


def default_pool() -> PsiPool:
    """The process-wide pool used when a caller does not pass one (closed at exit)."""
    global _default  # noqa: PLW0603 - one lazily created pool per process
    with _default_lock:
        if _default is None:
            _default = PsiPool()
            atexit.register(_default.close)
        return _default
