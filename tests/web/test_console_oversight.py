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
