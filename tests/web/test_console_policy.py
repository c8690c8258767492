"""Policies for lawyers: the document, live check, drafts activated by a second officer, redline."""

from __future__ import annotations

from starlette.testclient import TestClient

from node.app.policy_history import PolicyHistory
from tests.web.support import ConsoleHome, csrf_of, pdf_lines, sign_in

EXPIRY_2035 = "expires: 2035-04-30"


def reference_text(home: ConsoleHome) -> str:
    return (home.root / "policy" / "reference.yaml").read_text(encoding="utf-8")


def draft(client: TestClient, token: str, name: str, text: str) -> str:
    answer = client.post("/policy/drafts", data={"csrf": token, "file": name, "text": text})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


class TestDocument:
    def test_rules_in_plain_language_and_mandatory_guards(self, home: ConsoleHome) -> None:
        """The policy reads as a document: rule titles, conditions in words, baseline marked."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get("/policy").text
        assert "Identity of suspects after two legal officers approve" in page
        assert "MANDATORY baseline guard" in page
        assert "two-person rule" in page
        assert "KE-VN-MoU-2024" in page
        assert "Case tests: 1/1 pass" in page


class TestEditor:
    def test_live_check_reports_line_and_column(self, home: ConsoleHome) -> None:
        """A YAML mistake is reported inline at file:line:column; nothing is written."""
        client = home.client()
        token = sign_in(client, home, "Adv. Wanjiru")
        before = reference_text(home)
        broken = before.replace("kind: bilateral_mou", "kind: handshake", 1)
        answer = client.post(
            "/policy/check", data={"csrf": token, "file": "reference.yaml", "text": broken}
        )
        assert "reference.yaml:" in answer.text
        assert "handshake" in answer.text
        assert reference_text(home) == before

    def test_live_check_needs_the_csrf_token(self, home: ConsoleHome) -> None:
        """The check endpoint, too, refuses a form without the session's token."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        answer = client.post("/policy/check", data={"file": "reference.yaml", "text": "x"})
        assert answer.status_code == 403

    def test_files_outside_the_policy_are_refused(self, home: ConsoleHome) -> None:
        """A draft naming a file outside the policy directory is refused."""
        client = home.client()
        token = sign_in(client, home, "Adv. Wanjiru")
        answer = client.post(
            "/policy/drafts", data={"csrf": token, "file": "../spoor.toml", "text": "x"}
        )
        assert answer.status_code == 400


class TestDraftReviewActivation:
    def test_second_officer_activates_and_redline_shows_old_and_new(
        self, home: ConsoleHome
    ) -> None:
        """A draft by one officer is activated by another; the redline shows 2035 → 2026."""
        author = home.client()
        token = sign_in(author, home, "Adv. Wanjiru")
        shortened = reference_text(home).replace(EXPIRY_2035, "expires: 2026-12-20", 1)
        location = draft(author, token, "reference.yaml", shortened)
        own = author.post(f"{location}/activate", data={"csrf": token})
        assert own.status_code == 409
        assert "second officer" in own.text
        reviewer = home.client()
        token = sign_in(reviewer, home, "Adv. Kamau")
        review = reviewer.get(location).text
        assert "2035-04-30" in review
        assert "2026-12-20" in review
        done = reviewer.post(f"{location}/activate", data={"csrf": token})
        assert done.status_code == 303
        assert "2026-12-20" in reference_text(home)
        history = PolicyHistory.beside(home.root / "node.db")
        entries = history.entries()
        assert entries[-1].activated_by.startswith("off-")
        old, new = entries[-2].version, entries[-1].version
        redline = reviewer.get(f"/policy/redline?old={old}&new={new}").text
        assert "instruments / KE-VN-MoU-2024 / expires" in redline
        assert "<del>2035-04-30</del>" in redline
        assert "<ins>2026-12-20</ins>" in redline
        assert "/policy/redline.pdf?" in redline


class TestRedlineExport:
    def activated_change(self, home: ConsoleHome) -> tuple[TestClient, str, str]:
        """Two officers shorten the MoU's expiry; the reviewer's client and the two versions."""
        author = home.client()
        token = sign_in(author, home, "Adv. Wanjiru")
        shortened = reference_text(home).replace(EXPIRY_2035, "expires: 2026-12-20", 1)
        location = draft(author, token, "reference.yaml", shortened)
        reviewer = home.client()
        token = sign_in(reviewer, home, "Adv. Kamau")
        assert reviewer.post(f"{location}/activate", data={"csrf": token}).status_code == 303
        entries = PolicyHistory.beside(home.root / "node.db").entries()
        return reviewer, entries[-2].version, entries[-1].version

    def test_redline_as_pdf_holds_old_and_new_values(self, home: ConsoleHome) -> None:
        """The PDF export lists the changed expiry under its instrument, 2035 → 2026."""
        client, old, new = self.activated_change(home)
        answer = client.get("/policy/redline.pdf", params={"old": old, "new": new})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert "attachment" in answer.headers["content-disposition"]
        lines = pdf_lines(answer.content)
        assert f"Redline: {old} -> {new}" in lines
        where = lines.index("instruments / KE-VN-MoU-2024 / expires")
        assert lines[where + 1 : where + 3] == ["2035-04-30", "2026-12-20"]

    def test_pdf_labels_follow_the_readers_language(self, home: ConsoleHome) -> None:
        """A French officer's PDF says « Était » and « Devient » above the values."""
        client, old, new = self.activated_change(home)
        page = client.get("/tickets").text
        client.post("/language", data={"csrf": csrf_of(page), "language": "fr", "next": "/"})
        lines = pdf_lines(client.get(f"/policy/redline.pdf?old={old}&new={new}").content)
        assert "2026-12-20" in lines
        assert {"Était", "Devient"} <= set(lines)

    def test_unknown_versions_are_not_found(self, home: ConsoleHome) -> None:
        """Asking for a PDF of versions that were never kept answers 404, not an empty file."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        answer = client.get("/policy/redline.pdf", params={"old": "nope", "new": "nada"})
        assert answer.status_code == 404

    def test_pdf_needs_a_signed_in_officer(self, home: ConsoleHome) -> None:
        """The export, like the page, is for signed-in officers only."""
        answer = home.client().get("/policy/redline.pdf", params={"old": "a", "new": "b"})
        assert answer.status_code == 303

    def test_edit_failing_a_case_test_is_not_activated(self, home: ConsoleHome) -> None:
        """A draft that makes a case test fail cannot be activated; the policy in force stays."""
        rules = (home.root / "policy" / "rules.yaml").read_text(encoding="utf-8")
        broken = rules.replace("kind: [shipment]", "kind: [organisation]", 1)
        author = home.client()
        token = sign_in(author, home, "Adv. Wanjiru")
        location = draft(author, token, "rules.yaml", broken)
        reviewer = home.client()
        token = sign_in(reviewer, home, "Adv. Kamau")
        review = reviewer.get(location).text
        assert "test case &#39;a shipment is released at once" in review
        refused = reviewer.post(f"{location}/activate", data={"csrf": token})
        assert refused.status_code == 409
        assert "case test fails" in refused.text
        assert (home.root / "policy" / "rules.yaml").read_text(encoding="utf-8") == rules
        assert csrf_of(refused.text)


class TestExplain:
    def test_hypothetical_request_is_explained(self, home: ConsoleHome) -> None:
        """A request typed in the console gets the policy's decision and its reasons."""
        from tests.disclosure.helpers import SUSPECT

        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get(
            "/policy/explain",
            params={
                "requester": "vn-customs",
                "purpose": "criminal_investigation",
                "legal_basis": "KE-VN-MoU-2024",
                "case_reference": "VN-1",
                "officer": "Insp. T",
                "fields": "identity, documents",
                "record_id": SUSPECT.record_id,
            },
        ).text
        assert "HELD FOR APPROVAL" in page
        assert "suspects-two-officers" in page

    def test_unknown_record_is_said_plainly(self, home: ConsoleHome) -> None:
        """Asking about a record the node does not hold says so."""
        client = home.client()
        sign_in(client, home, "Adv. Wanjiru")
        page = client.get(
            "/policy/explain",
            params={"requester": "vn-customs", "purpose": "criminal_investigation",
                    "legal_basis": "KE-VN-MoU-2024", "case_reference": "VN-1",
                    "officer": "Insp. T", "record_id": "NOPE"},
        ).text  # fmt: skip
        assert "No record &#39;NOPE&#39; is held on this node" in page
