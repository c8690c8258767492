"""Diffing two versions of a policy by what they decide."""

from __future__ import annotations

import shutil
from pathlib import Path

from policy import load_policy
from policy.cases import find_case_files
from policy.diff import diff_policies
from tests.policy.policy_support import DEPLOY


def copy_kws(tmp_path: Path) -> Path:
    """A private copy of the KWS policy directory."""
    target = tmp_path / "ke-kws"
    shutil.copytree(DEPLOY / "ke-kws", target)
    return target


class TestDiff:
    """diff_policies reports rule, reference and decision changes."""

    def test_identical_versions_have_no_changes(self, tmp_path: Path) -> None:
        """The same policy twice gives no changes."""
        old = load_policy(DEPLOY / "ke-kws")
        report = diff_policies(
            old, load_policy(copy_kws(tmp_path)), find_case_files(DEPLOY / "ke-kws")
        )
        assert not report.changed
        assert report.cases_run > 20
        assert report.case_changes == []

    def test_widening_a_rule_shows_changed_decisions(self, tmp_path: Path) -> None:
        """Allowing contact details and loosening obligations shows in the affected cases."""
        new_dir = copy_kws(tmp_path)
        rules = new_dir / "rules.yaml"
        text = rules.read_text(encoding="utf-8")
        text = text.replace("      never: [address, contact]\n", "")
        text = text.replace(
            "allow: [identity, date_of_birth, nationality, documents]\n",
            "allow: [identity, date_of_birth, nationality, documents, contact]\n",
        )
        text = text.replace("      handling_code: H2\n", "      handling_code: H1\n")
        rules.write_text(text, encoding="utf-8")
        old, new = load_policy(DEPLOY / "ke-kws"), load_policy(new_dir)
        report = diff_policies(old, new, find_case_files(DEPLOY / "ke-kws"))
        assert report.rules_changed == ["suspects-to-vn-customs"]
        changes = {c.case.name: c.changes for c in report.case_changes}
        first = changes["identity of a suspect waits for a legal officer, year of birth only"]
        assert "fields now released: phones" in first
        assert "obligations.handling_code: H2 -> H1" in first
        text_out = report.render()
        assert "Rules changed: suspects-to-vn-customs" in text_out

    def test_reference_changes_are_listed(self, tmp_path: Path) -> None:
        """A changed instrument expiry is reported as a reference-data change."""
        new_dir = copy_kws(tmp_path)
        ref = new_dir / "reference.yaml"
        ref.write_text(ref.read_text(encoding="utf-8").replace("2027-04-30", "2026-02-01"), "utf-8")
        report = diff_policies(
            load_policy(DEPLOY / "ke-kws"), load_policy(new_dir), find_case_files(DEPLOY / "ke-kws")
        )
        assert "instrument KE-VN-MoU-2024: expires changed" in report.reference_changes
        assert any("outcome: PENDING_APPROVAL -> DENY" in c.changes for c in report.case_changes)
