"""Errors of the epoch-setup flows (held setups, sync, keyed lookups)."""

from __future__ import annotations

from node.errors import SpoorError


class SetupsStale(SpoorError):
    """The setups a requester holds no longer answer: its epoch ended or keys were removed.

    Nothing was computed; the requester must sync and try again.
    """

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"held setups are out of date ({reason}); nothing was matched — "
            "sync the counterpart's setups and look up again"
        )


class SetupsNotReady(SpoorError):
    """The responder has not finished building setups for this view yet."""

    FIELDS = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"setups are not ready ({reason}); nothing was matched — retry shortly or use "
            "a direct match"
        )
