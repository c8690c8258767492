"""The approvals inbox: deadlines, verbatim escaped text, two-person rule, CSRF on decisions."""

from __future__ import annotations

import json
from datetime import timedelta

from node.disclosure import tickets
from node.disclosure.model import now_utc
from tests.disclosure.helpers import SUSPECT, key_of
from tests.web.support import ConsoleHome, csrf_of, sign_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def pending(home: ConsoleHome, **overrides: object) -> str:
    (item,) = home.node.disclose((key_of(SUSPECT, "passport"),), **overrides).items
    assert item.ticket_id is not None
    return item.ticket_id


class TestInbox:
    def test_list_shows_ticket_and_marks_overdue(self, home: ConsoleHome) -> None:
        """A pending ticket is listed; once past its deadline it is marked OVERDUE."""
        ticket = pending(home)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/tickets").text
        assert ticket in page
        assert "OVERDUE" not in page
        home.node.conn.execute(
            "UPDATE tickets SET deadline=? WHERE ticket_id=?",
            ((now_utc() - timedelta(hours=1)).isoformat(), ticket),
        )
        page = client.get("/tickets").text
        assert "OVERDUE" in page
        assert "1 ticket is overdue" in page

    def test_detail_shows_justification_escaped_and_the_explanation(
        self, home: ConsoleHome
    ) -> None:
        """Counterpart-supplied text is shown verbatim but escaped, marked untranslated."""
        ticket = pending(home, justification=f"Seizure at Mombasa {XSS}")
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get(f"/tickets/{ticket}").text
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert "onerror=alert(1)&gt;" in page
        assert "not translated" in page
        assert "suspects-two-officers" in page  # the policy's explanation
        assert "two-person rule" in page


class TestDecisions:
    def test_two_officers_approve(self, home: ConsoleHome) -> None:
        """One approval is recorded; a second, different officer's approval releases."""
        ticket = pending(home)
        first = home.client()
        token = sign_in(first, home, "Adv. Wanjiru")
        answer = first.post(f"/tickets/{ticket}/approve", data={"csrf": token, "reason": ""})
        assert answer.status_code == 303
        assert "second, different officer" in first.get(answer.headers["location"]).text
        second = home.client()
        token = sign_in(second, home, "Adv. Kamau")
        second.post(f"/tickets/{ticket}/approve", data={"csrf": token, "reason": "proportionate"})
        done = tickets.get_ticket(home.node.conn, ticket)
        assert done.status == "approved"
        assert done.approvers == ("Adv. Wanjiru", "Adv. Kamau")
        ids = [
            json.loads(r[0]).get("officer_id")
            for r in home.node.conn.execute(
                "SELECT details FROM audit_entries WHERE event='disclosure.approved' ORDER BY seq"
            )
        ]
        assert len(ids) == 2
        assert all(i and i.startswith("off-") for i in ids)
        assert ids[0] != ids[1]

    def test_same_officer_twice_is_refused(self, home: ConsoleHome) -> None:
        """The same officer approving again is refused and the ticket stays pending."""
        ticket = pending(home)
        client = home.client()
        token = sign_in(client, home, "Adv. Wanjiru")
        client.post(f"/tickets/{ticket}/approve", data={"csrf": token})
        again = client.post(f"/tickets/{ticket}/approve", data={"csrf": token})
        assert again.status_code == 409
        assert "already approved" in again.text
        assert tickets.get_ticket(home.node.conn, ticket).status == "pending"

    def test_refusal_needs_a_reason(self, home: ConsoleHome) -> None:
        """Refusing without a reason changes nothing; with one the ticket is denied."""
        ticket = pending(home)
        client = home.client()
        token = sign_in(client, home, "Adv. Wanjiru")
        empty = client.post(f"/tickets/{ticket}/refuse", data={"csrf": token, "reason": " "})
        assert empty.status_code == 409
        assert tickets.get_ticket(home.node.conn, ticket).status == "pending"
        client.post(f"/tickets/{ticket}/refuse", data={"csrf": token, "reason": "witness"})
        assert tickets.get_ticket(home.node.conn, ticket).status == "denied"

    def test_decision_without_csrf_token_is_refused(self, home: ConsoleHome) -> None:
        """A forged form (no or wrong token) is refused with 403 and changes nothing."""
        ticket = pending(home)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        assert client.post(f"/tickets/{ticket}/approve", data={}).status_code == 403
        wrong = client.post(f"/tickets/{ticket}/approve", data={"csrf": "forged"})
        assert wrong.status_code == 403
        assert tickets.get_ticket(home.node.conn, ticket).history == ()

    def test_token_of_another_session_is_refused(self, home: ConsoleHome) -> None:
        """A CSRF token is bound to its session: another session's token does not work."""
        ticket = pending(home)
        other = home.client()
        other_token = csrf_of(other.get("/login").text)
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        answer = client.post(f"/tickets/{ticket}/approve", data={"csrf": other_token})
        assert answer.status_code == 403
