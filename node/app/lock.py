"""One serving process per node home: an ``fcntl`` lock on ``serve.lock`` in the home.

``spoor serve`` takes the lock before it opens the store and holds it for the
life of the process; a second process serving the same home (a restored
copy started twice, two units pointing at one volume) is refused with the
holder's process id. The kernel releases the lock when the holder exits,
however it exits, so a killed node leaves no stale lock behind: the file may
remain, the lock does not.

A home whose store is PostgreSQL is meant to be served by several replicas
on one database (leader election and the write lock live in the database):
there each ``spoor serve`` takes the lock *shared*, so replicas never refuse
each other, while ``spoor status`` and ``spoor restore`` still see that the
home is being served.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from node.errors import SpoorError

LOCK_NAME = "serve.lock"


class HomeInUse(SpoorError):
    """Another process is already serving this node home."""

    FIELDS = ("path", "holder")

    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder
        who = f"process {holder}" if holder else "another process"
        super().__init__(
            f"{path.parent}: this node home is already being served by {who} (lock {path}). "
            "Two processes serving one home would answer as the same agency with diverging "
            "budgets and audit trails. Stop the other node first, or serve a different home."
        )


class HomeLock:
    """An exclusive lock on a node home, released by :meth:`release` or process exit."""

    def __init__(self, root: Path, *, shared: bool = False) -> None:
        self.path = root / LOCK_NAME
        self.shared = shared
        self._fd: int | None = None

    def acquire(self) -> HomeLock:
        """Take the lock without waiting, or raise :class:`HomeInUse`."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").split("\n", 1)[0].strip()
            os.close(fd)
            raise HomeInUse(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)  # shared: replicas each write theirs, the file names the latest
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd
        return self

    def note_ops_address(self, address: str) -> None:
        """Record the ops port actually bound, so ``spoor status`` finds it (port 0 included).

        Replicas sharing the lock each record theirs; the file names the latest one.
        """
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()}\nops {address}\n".encode("ascii"), 0)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> HomeLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def holder_of(root: Path) -> str | None:
    """The pid serving the home at ``root``, or None when nobody holds its lock."""
    path = root / LOCK_NAME
    if not path.exists():
        return None
    try:
        with HomeLock(root):
            return None
    except HomeInUse as exc:
        return exc.holder or "?"


def ops_address_of(root: Path) -> str | None:
    """The ops address the serving process recorded in its lock file, if it did."""
    if holder_of(root) is None:
        return None
    try:
        lines = (root / LOCK_NAME).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines[1:]:
        if line.startswith("ops "):
            return line[4:].strip()
    return None
