"""Errors raised by the PSI layer.

Every error carries structured fields so the RPC layer can map it to a status
and a ``google.rpc`` detail without parsing text. No message ever contains an
element, a match key or PSI bytes: only field names, counts and reasons.
"""

from __future__ import annotations

from typing import Any

from node.errors import SpoorError


class PsiError(SpoorError):
    """Base class of every error the PSI layer raises on purpose.

    ``FIELDS`` (the constructor arguments) also rebuild the error in another process.
    """

    def to_payload(self) -> tuple[str, dict[str, Any]]:
        """Return (class name, fields) so a worker process can send the error back."""
        return type(self).__name__, {name: getattr(self, name) for name in self.FIELDS}

    @staticmethod
    def from_payload(payload: tuple[str, dict[str, Any]]) -> PsiError:
        """Rebuild an error sent back by a worker process."""
        name, fields = payload
        cls = _BY_NAME.get(name)
        if cls is None:
            return PsiWorkerFailed(reason="the PSI worker reported an unknown error")
        error: PsiError = cls(**fields)
        return error


class MalformedPsiMessage(PsiError, ValueError):
    """A PSI message from a counterpart failed validation before any library call.

    ``field`` names the offending part (``request.encrypted_elements``,
    ``setup.gcs.div``, ...); ``reason`` says what was wrong with it.
    """

    FIELDS = ("field", "reason")

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(
            f"PSI message refused: {field} {reason}. Nothing was matched and no data "
            "left this node; the counterpart must send a well-formed message."
        )


class SetTooLarge(PsiError):
    """A PSI request holds more elements than this node accepts in one call."""

    FIELDS = ("limit", "actual")

    def __init__(self, limit: int, actual: int) -> None:
        self.limit = limit
        self.actual = actual
        super().__init__(
            f"PSI request holds {actual} elements; this node accepts at most {limit} per "
            "request. Nothing was matched; split the request into smaller ones."
        )


class PsiWorkerFailed(PsiError):
    """The worker process running a PSI step crashed, hung or ran out of memory.

    Only that one call is lost: the calling process keeps running and the
    worker is replaced for the next call.
    """

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"PSI step failed in its worker process: {reason}. This node kept running "
            "and nothing was matched; retry later, and report the counterpart if it "
            "happens again with the same peer."
        )


_BY_NAME: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (MalformedPsiMessage, SetTooLarge, PsiWorkerFailed)
}
