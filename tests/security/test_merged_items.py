"""A disclosure answers one merged item per key, so record counts behind a key stay hidden."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from node import store
from node.disclosure import DENY, RELEASE
from node.store import records as record_store
from tests.disclosure.helpers import CANE_RAT, IVORY, ResponderNode, key_of, make_responder

IVORY_KEY = key_of(IVORY, "container")
#: Another seizure in the same container, released under the same rules.
SECOND = replace(IVORY, record_id="KWS-S-012", quantity="80 kg")
#: A third record on the same container that a guard refuses (dual criminality not met).
PROTECTED = replace(CANE_RAT, record_id="KWS-S-013", containers=IVORY.containers)


@pytest.fixture
def responder(tmp_path: Path) -> Iterator[ResponderNode]:
    node = make_responder(tmp_path / "responder")
    try:
        yield node
    finally:
        node.conn.close()


def add(responder: ResponderNode, *records: object) -> None:
    with store.transaction(responder.conn):
        record_store.upsert(responder.conn, records)  # type: ignore[arg-type]


class TestOneItemPerKey:
    def test_two_released_records_answer_as_one_item(self, responder: ResponderNode) -> None:
        """Two records on one key give one item, holding each distinct value once."""
        add(responder, SECOND)
        (item,) = responder.disclose((IVORY_KEY,)).items
        assert item.outcome == RELEASE
        assert sorted(item.fields["quantity"]) == ["120 kg", "80 kg"]

    def test_a_refused_record_refuses_the_whole_key(self, responder: ResponderNode) -> None:
        """A guard protecting one record of a key is not side-stepped through another."""
        add(responder, SECOND, PROTECTED)
        (item,) = responder.disclose((IVORY_KEY,)).items
        assert (item.outcome, item.reason_code) == (DENY, "DUAL_CRIMINALITY_NOT_MET")
        assert item.fields == {}

    def test_each_record_decision_is_still_kept_at_home(self, responder: ResponderNode) -> None:
        """The responder keeps every record's explanation behind the merged item."""
        add(responder, SECOND)
        responder.disclose((IVORY_KEY,))
        (text,) = responder.conn.execute("SELECT explanation FROM disclosure_decisions").fetchone()
        assert "KWS-S-010" in text
        assert "KWS-S-012" in text
