"""English labels of the policy's language-neutral codes: the msgids the catalogues translate.

Built from the closed vocabularies in :mod:`policy.vocab`, so a code added
there gets a label here at once, and the catalogue test then fails until each
language has translated it.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy import vocab


def _humane(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _labels(codes: Iterable[str]) -> dict[str, str]:
    return {c: _humane(c) for c in codes}


LABELS: dict[str, dict[str, str]] = {
    "purpose": _labels(vocab.PURPOSES),
    "charge": _labels(vocab.OFFENCE_CLASSES),
    "field": _labels(vocab.GROUP_NAMES),
    "role": _labels(vocab.APPROVAL_ROLES),
    "subject": _labels(vocab.SUBJECT_CATEGORIES),
    "reason": {code: _first_upper(meaning) for code, meaning in vocab.REASON_CODES.items()},
    "handling": {code: _first_upper(m) for code, m in vocab.HANDLING_MEANINGS.items()},
    "consent": _labels(vocab.CONSENT_LEVELS),
    # How a watchlist's run against one counterpart ended (node.store.watchlists.RunRow).
    "watch_run": _labels(("done", "skipped", "failed")),
}


def all_labels() -> set[str]:
    """Every label a catalogue must translate."""
    return {label for table in LABELS.values() for label in table.values()}
