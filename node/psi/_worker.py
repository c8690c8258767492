"""A small pool of worker processes where PSI library calls run.

Why processes: the PSI binding holds the GIL for the whole elliptic-curve
computation and its objects are not thread-safe, and some malformed inputs
abort, segfault or hang it. Each call runs in a worker process with an
address-space limit (``RLIMIT_AS``), no core dumps (a core file would hold
keys), a CPU-time backstop and a wall-clock timeout enforced by the parent.
A worker that dies or overruns is killed and replaced; only that one call is
lost, and other calls running in other workers are untouched (unlike
``concurrent.futures.ProcessPoolExecutor``, where one dead worker breaks the
whole pool and fails every pending call).

Workers are fresh interpreters started with ``subprocess`` (fork+exec, never
a bare fork: the parent is a gRPC process, and forking a process with live
gRPC threads is unsafe). Unlike ``multiprocessing``'s spawn and forkserver
methods they never re-import the caller's ``__main__``, so they behave the
same under the CLI, the gRPC server and pytest. Workers are reused across
calls to amortise their start-up (about 0.15 s, see ``bench/psi_bench.py``).
Tasks and results travel pickled over a socket pair; only the parent ever
writes to it, and the parent trusts its own workers' replies no more than
"a list of ints or a count", which the callers check.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from node.psi.errors import PsiError, PsiWorkerFailed

DEFAULT_MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024
DEFAULT_TIMEOUT_S = 120.0
# A worker is retired (and its successor started in the background) after this
# many tasks, or as soon as its resident memory passes the bound below: a big
# task's freed heap is then given back instead of held, while the many small
# tasks of lookups do not pay a process start (about 0.2 CPU-seconds) every
# couple of hundred calls.
DEFAULT_MAX_TASKS_PER_WORKER = 5000
DEFAULT_MAX_RESIDENT_BYTES = 256 * 1024 * 1024
_PAGE_BYTES = resource.getpagesize()
# Extra CPU seconds granted beyond the wall-clock timeout before the kernel
# kills a worker whose parent is gone and can no longer enforce the timeout.
_CPU_BACKSTOP_GRACE_S = 10
# How often a running task checks whether its caller has given up.
_STOP_POLL_S = 0.1
# The directory holding the ``node`` package, so a worker imports the same code.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from node.psi._worker import bootstrap; bootstrap(sys.argv)"
)


def _limit_self(memory_limit_bytes: int | None) -> None:
    """Apply the resource limits a PSI worker runs under (called in the worker)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_limit_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))


def _set_cpu_backstop(seconds: float) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + int(seconds) + _CPU_BACKSTOP_GRACE_S
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# Work a worker does between tasks (e.g. making spare client keys); each hook
# does one small step and returns False when it has nothing left to do.
_IDLE_HOOKS: list[Callable[[], bool]] = []


def add_idle_hook(hook: Callable[[], bool]) -> None:
    """Run ``hook`` in this worker between tasks (called in the worker)."""
    if hook not in _IDLE_HOOKS:
        _IDLE_HOOKS.append(hook)


def _idle_work(conn: Connection) -> None:
    """Run the idle hooks one step at a time while no task is waiting."""
    for hook in list(_IDLE_HOOKS):
        while not conn.poll(0):
            try:
                more = hook()
            except Exception:
                more = False
            if not more:
                break


def worker_main(conn: Connection, memory_limit_bytes: int | None) -> None:
    """Serve tasks from the parent until the socket closes (runs in the worker)."""
    # Ctrl-C belongs to the parent, which then closes the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_self(memory_limit_bytes)
    import private_set_intersection.python  # noqa: F401 - warm the import once

    while True:
        try:
            _idle_work(conn)
            fn, args, kwargs, timeout_s = conn.recv()
        except (EOFError, OSError):
            return
        _set_cpu_backstop(timeout_s)
        outcome: tuple[str, Any]
        try:
            outcome = ("ok", fn(*args, **kwargs))
        except PsiError as exc:
            outcome = ("psi_error", exc.to_payload())
        except MemoryError:
            outcome = ("failed", "the worker ran out of memory")
        except Exception as exc:
            # Only the type name crosses back: library messages are not ours
            # to vet and must never carry element values into logs.
            outcome = ("failed", f"the PSI library raised {type(exc).__name__}")
        try:
            conn.send(outcome)
        except (EOFError, OSError):
            return


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, memory_limit_bytes: int | None) -> None:
        parent_sock, child_sock = socket.socketpair()
        limit = "none" if memory_limit_bytes is None else str(memory_limit_bytes)
        try:
            self.process = subprocess.Popen(
                # -I: no PYTHON* variables, no user site, and neither the
                # working directory nor a script directory on sys.path, so the
                # worker imports exactly this package and nothing planted
                # beside wherever the node happens to run.
                [sys.executable, "-I", "-c", _BOOTSTRAP, str(child_sock.fileno()), limit],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # A crashing library prints a stack dump; keep it out of the
                # node's structured logs. The failure reason is reported instead.
                stderr=subprocess.DEVNULL,
            )
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.tasks_done = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def resident_bytes(self) -> int | None:
        """The worker's resident memory now, or None where ``/proc`` cannot tell."""
        try:
            with open(f"/proc/{self.process.pid}/statm", encoding="ascii") as statm:
                return int(statm.read().split()[1]) * _PAGE_BYTES
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Kill the process but leave the socket to whoever is waiting on it."""
        with contextlib.suppress(Exception):
            self.process.kill()

    def kill(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        with contextlib.suppress(Exception):
            self.conn.close()

    def death_reason(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the worker stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the worker was killed by {name}"
        return f"the worker exited with status {code}"


@dataclass(frozen=True)
class _Task:
    """One call: the message sent to the worker and the limits the parent enforces."""

    message: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], float]
    deadline: float
    budget: float
    should_stop: Callable[[], bool] | None


class WorkerPool:
    """A bounded set of reusable PSI worker processes with per-call limits.

    ``call`` blocks until a worker is free (the wait counts against the
    timeout), runs the task there and returns its result. A task's own
    ``PsiError`` is re-raised as is; a crash, hang, timeout or memory
    exhaustion raises ``PsiWorkerFailed`` and the worker is replaced.
    """

    def __init__(
        self,
        *,
        max_workers: int = 1,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES,
        max_tasks_per_worker: int = DEFAULT_MAX_TASKS_PER_WORKER,
        max_resident_bytes: int | None = DEFAULT_MAX_RESIDENT_BYTES,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.max_workers = max_workers
        self.timeout_s = timeout_s
        self.memory_limit_bytes = memory_limit_bytes
        self.max_tasks_per_worker = max_tasks_per_worker
        self.max_resident_bytes = max_resident_bytes
        self._slots = threading.BoundedSemaphore(max_workers)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        self._waiting = 0
        # Retired workers whose successor was started in the background.
        self.replaced = 0

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        timeout_s: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        prefer_worker: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` in a worker; ``fn`` must be a module-level function.

        ``should_stop`` is polled while the task runs (e.g. "has the RPC been
        cancelled?"); when it returns true the worker is killed and the call
        raises ``PsiWorkerFailed``. ``prefer_worker`` names the process id of
        a worker to run in when it is idle (any other worker otherwise).
        """
        budget = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + budget
        if self._closed:
            raise PsiWorkerFailed(reason="the PSI worker pool is closed")
        with self._lock:
            self._waiting += 1
        try:
            acquired = self._slots.acquire(timeout=budget)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise PsiWorkerFailed(reason=f"no PSI worker became free within {budget:g} s")
        task = _Task((fn, args, kwargs, budget), deadline, budget, should_stop)
        try:
            return self._call_in_slot(task, prefer_worker)
        finally:
            self._slots.release()

    def load(self) -> tuple[int, int]:
        """(calls waiting for a free worker, calls running in a worker) at this moment."""
        with self._lock:
            return self._waiting, len(self._busy)

    def _call_in_slot(self, task: _Task, prefer: int | None = None) -> Any:
        worker = self._checkout(prefer)
        try:
            try:
                worker.conn.send(task.message)
            except (EOFError, OSError):
                # The worker died while idle; that is not this task's fault.
                self._discard(worker)
                worker = self._checkout()
                try:
                    worker.conn.send(task.message)
                except (EOFError, OSError):
                    raise PsiWorkerFailed(reason=worker.death_reason()) from None
            status, value = self._wait(worker, task)
        except BaseException:
            if worker in self._busy:
                self._discard(worker)
            raise
        self._checkin(worker)
        if status == "ok":
            return value
        if status == "psi_error":
            raise PsiError.from_payload(value)
        raise PsiWorkerFailed(reason=str(value))

    def _wait(self, worker: _Worker, task: _Task) -> tuple[str, Any]:
        deadline, budget, should_stop = task.deadline, task.budget, task.should_stop
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            slice_s = remaining if should_stop is None else min(remaining, _STOP_POLL_S)
            if worker.conn.poll(slice_s):
                break
            if should_stop is not None and should_stop():
                self._discard(worker)
                raise PsiWorkerFailed(reason="the caller cancelled the PSI step")
            if time.monotonic() >= deadline:
                self._discard(worker)
                raise PsiWorkerFailed(reason=f"the PSI step did not finish within {budget:g} s")
        try:
            status, value = worker.conn.recv()
        except (EOFError, OSError):
            reason = worker.death_reason()
            self._discard(worker)
            raise PsiWorkerFailed(reason=reason) from None
        return status, value

    def _checkout(self, prefer: int | None = None) -> _Worker:
        with self._lock:
            if self._closed:
                raise PsiWorkerFailed(reason="the PSI worker pool is closed")
            if prefer is not None:
                for i, worker in enumerate(self._idle):
                    if worker.process.pid == prefer and worker.alive():
                        del self._idle[i]
                        self._busy.add(worker)
                        return worker
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.kill()
        # Starting a process can take a while; do it outside the lock.
        worker = _Worker(self.memory_limit_bytes)
        with self._lock:
            self._busy.add(worker)
        return worker

    def _worn(self, worker: _Worker) -> bool:
        """Whether a worker should be retired: its task quota is used or it holds too much."""
        if worker.tasks_done >= self.max_tasks_per_worker:
            return True
        if self.max_resident_bytes is None:
            return False
        resident = worker.resident_bytes()
        return resident is not None and resident > self.max_resident_bytes

    def _checkin(self, worker: _Worker) -> None:
        worker.tasks_done += 1
        # Recycle long-lived or grown workers so fragmentation cannot build up.
        worn = self._worn(worker)
        with self._lock:
            self._busy.discard(worker)
            if not self._closed and not worn:
                self._idle.append(worker)
                return
            replace = not self._closed
        if not replace:
            worker.kill()
            return
        # Retire it and start its successor off the caller's path, so the next
        # call finds a worker that has already started and imported the library.
        threading.Thread(
            target=self._replace, args=(worker,), name="spoor-psi-recycle", daemon=True
        ).start()

    def _replace(self, retired: _Worker) -> None:
        retired.kill()
        try:
            worker = _Worker(self.memory_limit_bytes)
        except OSError:
            return  # the next call starts one itself
        with self._lock:
            if not self._closed and len(self._idle) + len(self._busy) < self.max_workers:
                self._idle.append(worker)
                self.replaced += 1
                return
        worker.kill()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for diagnostics and tests)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [w.process.pid for w in workers]

    def close(self) -> None:
        """Stop every worker; calls still running fail with ``PsiWorkerFailed``."""
        with self._lock:
            self._closed = True
            idle = list(self._idle)
            busy = list(self._busy)
            self._idle.clear()
        for worker in idle:
            worker.kill()
        # A busy worker's pipe belongs to the call waiting on it; that call
        # sees the worker die, raises PsiWorkerFailed and cleans up.
        for worker in busy:
            worker.stop()


def bootstrap(argv: list[str]) -> None:
    """Entry point of a worker process: ``argv`` is [-c, socket fd, memory limit]."""
    fd = int(argv[1])
    limit = None if argv[2] == "none" else int(argv[2])
    worker_main(Connection(fd), limit)
