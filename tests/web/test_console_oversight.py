"""Oversight: audit verification, cooperation chart and figures, a record's disclosures."""

from __future__ import annotations

import re

from tests.disclosure.helpers import IVORY, SUSPECT, key_of
from tests.officers_support import signed_in
from tests.web.support import ConsoleHome, sign_in


class TestOversight:
    def test_audit_verifies_and_tampering_shows(self, home: ConsoleHome) -> None:
        """The page says the trail verifies; after an entry is altered it says it does not."""
        home.node.disclose((key_of(IVORY, "container"),))
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        assert "The audit trail verifies" in client.get("/oversight").text
        home.node.conn.execute("UPDATE audit_entries SET counterpart='someone-else' WHERE seq = 2")
        page = client.get("/oversight").text
        assert "does NOT verify" in page

    def test_chart_counts_today_from_the_stats_figures(self, home: ConsoleHome) -> None:
        """A released shipment appears as today's bar in the released series and in the table."""
        home.node.disclose((key_of(IVORY, "container"),))
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/oversight?series=released").text
        assert "<svg" in page
        values = [int(v) for v in re.findall(r"<title>[0-9-]+: (\d+)</title>", page)]
        assert len(values) == 14
        assert values[-1] == 1
        assert sum(values[:-1]) == 0


class TestRecordDisclosures:
    def test_what_was_disclosed_about_a_record(self, home: ConsoleHome) -> None:
        """A record's page lists each decision with legal basis, outcome and obligations."""
        home.node.disclose((key_of(IVORY, "container"),))
        (item,) = home.node.disclose(
            (key_of(SUSPECT, "passport"),), request_id="3f1c8a52-5d0e-4a51-9d69-2a7de1c0b002"
        ).items
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        shipment = client.get(f"/oversight/records/{IVORY.record_id}").text
        assert "KE-VN-MoU-2024" in shipment
        assert "released" in shipment
        assert "TLP:AMBER" in shipment
        suspect = client.get(f"/oversight/records/{SUSPECT.record_id}").text
        assert item.ticket_id is not None
        assert item.ticket_id in suspect
        assert "pending" in suspect
        from node.disclosure import tickets

        conn = home.node.conn
        tickets.approve(conn, item.ticket_id, signed_in(conn, "Adv. A"))
        tickets.approve(conn, item.ticket_id, signed_in(conn, "Adv. B"))
        assert "H2" in client.get(f"/oversight/records/{SUSPECT.record_id}").text

    def test_unknown_record_has_no_disclosures(self, home: ConsoleHome) -> None:
        """A record nobody asked about says so."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/oversight/records/NOPE-1").text
        assert "No counterpart has asked about this record" in page


def cosign_current_head(home: ConsoleHome, witness_name: str, *, head: str | None = None) -> None:
    """A witness's valid countersignature of the trail's head now (or of a forged ``head``)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from node import audit, store
    from node.audit import witness

    conn = home.node.conn
    report = audit.verify(conn)
    key = Ed25519PrivateKey.generate()
    unsigned = witness.Cosignature(
        origin=home.node.config.agency_id,
        witness=witness_name,
        entry_count=report.entry_count,
        head_hash=head or report.head_hash,
        witnessed_at="2026-12-01T10:00:00Z",
        witness_key=key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex(),
        signature="",
    )
    signed = witness.Cosignature(
        **{**unsigned.__dict__, "signature": key.sign(unsigned.payload()).hex()}
    )
    with store.transaction(conn):
        witness.store_cosignature(conn, signed)


class TestWitnesses:
    def test_countersignatures_are_shown_and_checked(self, home: ConsoleHome) -> None:
        """A witness's countersignature of our head is listed as valid; the trail verifies."""
        home.node.disclose((key_of(IVORY, "container"),))
        cosign_current_head(home, "vn-customs")
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/oversight").text
        table = page.split('id="witnesses-ours"', 1)[1].split("</table>", 1)[0]
        assert "vn-customs" in table
        assert "valid" in table
        assert "INVALID" not in table
        assert "The audit trail verifies" in page

    def test_a_head_the_witness_contradicts_fails_verification(self, home: ConsoleHome) -> None:
        """A countersigned head our trail does not have makes the page say it does NOT verify."""
        home.node.disclose((key_of(IVORY, "container"),))
        cosign_current_head(home, "vn-customs", head="00" * 32)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        assert "does NOT verify" in client.get("/oversight").text

    def test_alarms_stand_out(self, home: ConsoleHome) -> None:
        """A split view a counterpart showed us is an alert on the page, escaped."""
        from node import store
        from node.store import audit as audit_store

        with store.transaction(home.node.conn):
            audit_store.add_alarm(
                home.node.conn,
                ("<b>th-dnp</b>", "split view", 7, "ab" * 32, 7, "cd" * 32, "2026-12-01T09:00:00Z"),
            )
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/oversight").text
        assert 'id="witness-alarms"' in page
        assert "&lt;b&gt;th-dnp&lt;/b&gt; · split view" in page
        assert "<b>th-dnp</b>" not in page
