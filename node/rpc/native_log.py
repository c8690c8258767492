"""gRPC's C core logs to file descriptor 2 in its own format; ``spoor serve`` re-emits it.

The node's log is structured (:mod:`node.app.logs`), but the C core writes
plain lines such as ``I0000 00:00:1796164318.353304 23177
ssl_transport_security.cc:1665] Handshake failed …`` straight to fd 2, which
no Python logging setting reaches. :func:`capture` points fd 2 at a pipe
before the server starts and keeps the real stderr for Python's own output;
a thread reads the pipe line by line and re-emits each line through structlog:

* ``handshaker.cc`` trace lines go to a :class:`~node.rpc.handshakes.HandshakeWatch`
  (a failed handshake becomes one ``tls handshake failed`` line with the peer
  address and a reason; the trace's other lines are dropped);
* the C core's per-handshake ``Handshake failed`` line is dropped (the trace
  line says the same, with the peer);
* any other C-core line becomes a ``grpc core`` line at its level, and
  anything else written to fd 2 a ``stderr`` line — bounded and escaped.

The reader never stops on a bad line: if it ended, a full pipe would block the
C core. Should it end anyway, fd 2 is pointed back at the real stderr.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import re
import sys
import threading
from typing import TextIO

from node.app.logs import get_logger
from node.rpc.handshakes import TRACER, HandshakeWatch

log = get_logger("spoor.grpc")

#: ``I0000 00:00:1796164318.353304   23177 file.cc:1665] message`` (absl's prefix).
_CORE_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ([\w.+-]+):\d+\] ?(.*)$")
_LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "critical"}
_DROPPED = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
)
#: Longest text a re-emitted line carries.
MAX_LINE = 1000
#: Longest line read from the pipe at once (a longer one arrives in pieces).
READ_LIMIT = 64 * 1024


def _printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")[:MAX_LINE]


def enable_handshake_trace() -> None:
    """Turn on the C core's handshake tracer; must run before gRPC starts its first server."""
    current = [t for t in os.environ.get("GRPC_TRACE", "").split(",") if t.strip()]
    if TRACER not in current:
        os.environ["GRPC_TRACE"] = ",".join([*current, TRACER])


class NativeLog:
    """fd 2 through a pipe, read by a thread that re-emits each line as a structured one."""

    def __init__(self) -> None:
        self.watch: HandshakeWatch | None = HandshakeWatch()
        self._saved = -1
        self._thread: threading.Thread | None = None
        self._original: TextIO = sys.stderr
        self.stream: TextIO = sys.stderr

    def start(self) -> TextIO:
        """Redirect fd 2; returns a stream on the real stderr for the node's own log."""
        sys.stderr.flush()
        self._saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.stream = os.fdopen(
            os.dup(self._saved), "w", buffering=1, encoding="utf-8", errors="replace"
        )
        sys.stderr = self.stream
        if faulthandler.is_enabled():
            faulthandler.enable(self.stream)  # a crash report must not depend on the reader
        self._thread = threading.Thread(
            target=self._read, args=(read_end,), name="spoor-native-log", daemon=True
        )
        self._thread.start()
        atexit.register(self.stop)
        return self.stream

    def stop(self, timeout_s: float = 1.0) -> None:
        """Point fd 2 back at the real stderr and let the reader drain what is left."""
        if self._saved < 0:
            return
        os.dup2(self._saved, 2)  # the pipe's only writer goes: the reader sees its end
        os.close(self._saved)
        self._saved = -1
        if sys.stderr is self.stream:
            sys.stderr = self._original
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _read(self, read_end: int) -> None:
        try:
            with os.fdopen(read_end, "rb") as pipe:
                for raw in iter(lambda: pipe.readline(READ_LIMIT), b""):
                    try:
                        self.handle(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    except Exception:  # noqa: S112 - one bad line must never stop the reader
                        continue
        finally:
            if self._saved >= 0:
                os.dup2(self._saved, 2)

    def handle(self, line: str) -> None:
        """Re-emit one line of fd 2."""
        if not line.strip() or line in _DROPPED:
            return
        core = _CORE_LINE.match(line)
        if core is None:
            log.warning("stderr", text=_printable(line))
            return
        letter, source, message = core.groups()
        if source == "handshaker.cc":
            if self.watch is not None:
                self.watch.handle(message)
            return
        if source == "ssl_transport_security.cc" and message.startswith("Handshake failed"):
            return
        if source == "trace.cc":
            return  # the tracer list at start-up
        getattr(log, _LEVELS[letter])("grpc core", source=source, text=_printable(message))


def _stderr_is_fd_2() -> bool:
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return False


def capture() -> NativeLog:
    """Turn on the handshake trace and start re-emitting fd 2 (once per process).

    When Python's stderr is not fd 2 (the command runs inside another program that
    captures its output), fd 2 is left alone and the returned log's stream is stderr.
    """
    enable_handshake_trace()
    native = NativeLog()
    if _stderr_is_fd_2():
        native.start()
    return native


def handshake_trace_hidden() -> bool:
    """Whether ``GRPC_VERBOSITY`` hides the INFO lines the handshake trace is written at."""
    return os.environ.get("GRPC_VERBOSITY", "").strip().upper() in ("WARNING", "ERROR", "NONE")
