"""End to end with real nodes: match, disclose, approve by two officers, fetch, export.

Two agencies run ``spoor serve`` as separate processes on loopback with mutual
TLS; every step goes through the ``spoor`` command as an investigator or a
legal officer would type it.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from spoor_dev.federation import Agency, Federation, run_spoor, spoor_command
from spoor_dev.officers import OfficerKeys
from tests.disclosure.helpers import POLICY_DIR, RECORDS, RESPONDER

pytestmark = pytest.mark.e2e

REQUESTER_ROWS: list[dict[str, object]] = [
    {
        "record_id": "VN-Q-1",
        "kind": "person",
        "review_date": "2035-01-01",
        "subject_category": "suspect",
        "names": ["Nguyễn Văn Hùng"],
        "documents": [{"type": "passport", "number": "C1234567", "issuing_country": "VNM"}],
    },
    {
        "record_id": "VN-Q-2",
        "kind": "shipment",
        "review_date": "2035-01-01",
        "containers": ["MSCU 123456-6"],
    },
    {
        "record_id": "VN-Q-3",
        "kind": "shipment",
        "review_date": "2035-01-01",
        "containers": ["TGHU7654320"],
    },
    {
        "record_id": "VN-Q-4",
        "kind": "person",
        "review_date": "2035-01-01",
        "subject_category": "suspect",
        "names": ["Le Van Tam"],
        "documents": [{"type": "passport", "number": "B0000001", "issuing_country": "VNM"}],
    },
]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root = tmp_path_factory.mktemp("disclosure-e2e")
    fed = Federation(
        root / "nodes",
        [
            Agency(RESPONDER, "KE", "Kenya Wildlife Service"),
            Agency("vn-customs", "VN", "Viet Nam Customs"),
        ],
    )
    fed.create()
    fed.install_policy(RESPONDER, POLICY_DIR)
    records = write_jsonl(root / "kws.jsonl", [r.to_json() for r in RECORDS])
    run_spoor(["records", "import", str(records), "--home", str(fed.home(RESPONDER))])
    fed.start()
    try:
        yield fed
    finally:
        fed.stop()


def spoor_json(*args: str) -> object:
    return json.loads(run_spoor(list(args)))


def test_release_approval_refusal_and_export(federation: Federation, tmp_path: Path) -> None:
    """One record released at once, one after two officers approve, one denied by a guard."""
    vn = str(federation.home("vn-customs"))
    kws = str(federation.home(RESPONDER))
    query = write_jsonl(tmp_path / "query.jsonl", REQUESTER_ROWS)
    report = spoor_json(
        "match",
        str(query),
        "--home",
        vn,
        "--peer",
        RESPONDER,
        "--purpose",
        "criminal_investigation",
        "--legal-basis",
        "KE-VN-MoU-2024",
        "--case",
        "VN-HCM-2026-044",
        "--officer",
        "Insp. Tran Thi Mai",
        "--json",
    )
    assert isinstance(report, dict)
    (counterpart,) = report["counterparts"]
    assert counterpart["hits"] == 3
    match_id = counterpart["match_id"]

    items = spoor_json(
        "disclose",
        "request",
        "--home",
        vn,
        "--match",
        match_id,
        "--justification",
        "Passport and containers tied to an ivory seizure in Hai Phong",
        "--charge",
        "wildlife_trafficking",
        "--fields",
        "identity,date_of_birth,documents",
        "--fields",
        "shipment,species,seizure",
        "--json",
    )
    assert isinstance(items, list)
    by_record = {i["record_id"]: i for i in items}
    assert by_record["VN-Q-2"]["state"] == "released"
    assert by_record["VN-Q-1"]["state"] == "pending"
    assert (by_record["VN-Q-3"]["state"], by_record["VN-Q-3"]["reason_code"]) == (
        "denied",
        "DUAL_CRIMINALITY_NOT_MET",
    )
    ticket_id = by_record["VN-Q-1"]["ticket_id"]

    listed = spoor_json("approvals", "list", "--home", kws, "--json")
    assert isinstance(listed, list)
    assert [t["ticket_id"] for t in listed] == [ticket_id]
    shown = run_spoor(["approvals", "show", ticket_id, "--home", kws])
    assert "suspects-two-officers" in shown
    assert "Nguyen Van Hung" in shown
    keys = OfficerKeys()
    for officer in ("Adv. Wanjiru", "Adv. Kamau"):
        keys.enrol(lambda *a, env: run_spoor(list(a), env=env), officer, "legal_officer", kws)
    run_spoor(
        ["approvals", "approve", ticket_id, "--home", kws, "--officer", "Adv. Wanjiru"],
        env=keys.env("Adv. Wanjiru"),
    )
    again = subprocess.run(
        [
            *spoor_command(),
            "approvals",
            "approve",
            ticket_id,
            "--home",
            kws,
            "--officer",
            "Adv. Wanjiru",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **keys.env("Adv. Wanjiru")},
    )
    assert again.returncode == 1
    assert "already approved" in again.stderr
    assert "Nothing was changed" in again.stderr
    status = spoor_json("disclose", "status", "--home", vn, "--json")
    assert isinstance(status, list)
    assert {i["record_id"]: i["state"] for i in status}["VN-Q-1"] == "pending"
    run_spoor(
        ["approvals", "approve", ticket_id, "--home", kws, "--officer", "Adv. Kamau"],
        env=keys.env("Adv. Kamau"),
    )

    fetched = run_spoor(["disclose", "fetch", "--home", vn])
    assert "1 released item(s) fetched" in fetched
    out = tmp_path / "released.csv"
    run_spoor(["disclose", "export", "--home", vn, "--format", "csv", "--out", str(out)])
    with out.open(encoding="utf-8") as handle:
        rows = {r["your_record_id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"VN-Q-1", "VN-Q-2"}
    assert rows["VN-Q-1"]["handling_code"] == "H2"
    assert rows["VN-Q-1"]["retention_days"] == "180"
    assert rows["VN-Q-1"]["date_of_birth"] == "1979"
    assert rows["VN-Q-2"]["handling_code"] == "TLP:AMBER"
    assert rows["VN-Q-2"]["use_limited_to_case"] == "yes"
    assert all(r["retain_until"] and r["onward_transfer"] for r in rows.values())

    def events(home: str) -> set[str]:
        conn = sqlite3.connect(Path(home) / "node.db")
        try:
            return {str(r[0]) for r in conn.execute("SELECT event FROM audit_entries")}
        finally:
            conn.close()

    assert {"disclosure.requested", "disclosure.fetched"} <= events(vn)

    def transcripts(home: str, event: str) -> set[str]:
        conn = sqlite3.connect(Path(home) / "node.db")
        try:
            rows = conn.execute(
                "SELECT transcript_hash FROM audit_entries WHERE event = ?", (event,)
            ).fetchall()
        finally:
            conn.close()
        return {str(r[0]) for r in rows}

    # Both trails hold the same transcript hash for each Disclose call.
    sent = transcripts(vn, "disclosure.requested")
    assert sent
    assert sent == transcripts(kws, "disclosure.received")
    assert {"disclosure.received", "disclosure.decided", "disclosure.approved"} <= events(kws)
