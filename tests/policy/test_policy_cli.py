"""The spoor policy commands: check, test, explain, diff — output and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from node.cli.policy_cmd import policy
from tests.policy.policy_support import AGENCY_DIR, BASELINE_CASES, DEPLOY, write

KWS = DEPLOY / "ke-kws"
REQUEST = """\
requester: vn-customs
purpose: criminal_investigation
legal_basis: KE-VN-MoU-2024
case_reference: VN-HCM-2026-0117
officer: vn-officer-42
now: 2026-03-02T09:00:00Z
requested_fields: [identity, date_of_birth]
"""
RECORD = """\
record_id: ke-p-0001
kind: person
subject_category: suspect
review_date: "2027-06-30"
offence_classes: [wildlife_trafficking]
fields: {names: [Hung Nguyen Van], date_of_birth: "1979-03-02"}
"""


def run(*args: str) -> Result:
    """Invoke ``spoor policy ...`` in-process."""
    return CliRunner().invoke(policy, list(args), catch_exceptions=False)


class TestCheck:
    """spoor policy check."""

    def test_clean_policy_exits_zero_with_digest(self) -> None:
        """A valid policy checks clean and prints its digest and rule counts."""
        result = run("check", str(KWS), "--today", "2026-03-01")
        assert result.exit_code == 0, result.output
        assert "OK — 15 rules (8 guards, 3 participation, 4 release)" in result.output
        assert "digest " in result.output

    def test_warnings_for_expiry_and_missing_tests(self) -> None:
        """Expired instruments and the absence of case tables are warnings, exit 0."""
        result = run("check", str(AGENCY_DIR), "--today", "2026-06-15")
        assert result.exit_code == 0
        assert "warning: instrument TEST-MoU expires on 2026-06-30 (in 15 days)" in result.output
        assert "warning: no test cases found; every rule is untested" in result.output

    def test_untested_rules_are_named(self, tmp_path: Path) -> None:
        """A rule the case table never exercises is a located warning."""
        shutil.copytree(AGENCY_DIR, tmp_path / "p")
        write(tmp_path, "p/small.cases.yaml", BASELINE_CASES.read_text().split("  # capital")[0])
        result = run("check", str(tmp_path / "p"), "--today", "2026-01-01")
        assert result.exit_code == 0
        assert "rule protected-persons is not fully tested: no case where this guard fires" in (
            result.output
        )

    def test_errors_exit_one_and_are_located(self, tmp_path: Path) -> None:
        """A broken policy exits 1 with file:line:column errors and says nothing changed."""
        shutil.copytree(KWS, tmp_path / "p")
        rules = tmp_path / "p" / "rules.yaml"
        rules.write_text(
            rules.read_text().replace("purpose: [prosecution]", "purpose: [prosecuton]")
        )
        result = run("check", str(tmp_path / "p"))
        assert result.exit_code == 1
        assert f"{rules}:" in result.output
        assert (
            "error: unknown value 'prosecuton' in purpose (hint: did you mean 'prosecution'?)"
            in (result.output)
        )
        assert "nothing was changed" in result.output

    def test_home_policy_dir_is_the_default(self, tmp_path: Path) -> None:
        """Without PATH the node home's policy directory is checked."""
        shutil.copytree(KWS, tmp_path / "home" / "policy")
        result = run("check", "--home", str(tmp_path / "home"), "--today", "2026-03-01")
        assert result.exit_code == 0, result.output
        assert "OK — 15 rules" in result.output

    def test_missing_path_is_a_usage_error(self, tmp_path: Path) -> None:
        """A path that does not exist exits 2."""
        assert run("check", str(tmp_path / "nope")).exit_code == 2


class TestTest:
    """spoor policy test."""

    def test_shipped_policy_passes(self) -> None:
        """The KWS table passes with full coverage."""
        result = run("test", str(KWS))
        assert result.exit_code == 0, result.output
        assert "30 passed, 0 failed; coverage 15/15 rules" in result.output

    def test_explicit_case_file(self) -> None:
        """Case files may be given after the policy."""
        result = run("test", str(AGENCY_DIR), str(BASELINE_CASES), "-v")
        assert result.exit_code == 0, result.output
        assert "PASS " in result.output

    def test_failing_case_exits_one(self, tmp_path: Path) -> None:
        """A failing case is shown with its location and difference, and exits 1."""
        cases = write(
            tmp_path,
            "bad.cases.yaml",
            BASELINE_CASES.read_text().replace(
                "reason_code: RECIPIENT_NOT_COMPETENT, denied_by: [non-competent-recipient]",
                "reason_code: RELEASED, denied_by: [non-competent-recipient]",
            ),
        )
        result = run("test", str(AGENCY_DIR), str(cases))
        assert result.exit_code == 1
        assert "FAIL " in result.output
        assert "reason_code: expected RELEASED, got RECIPIENT_NOT_COMPETENT" in result.output

    def test_no_cases_exits_one(self) -> None:
        """Without any case table the test command fails."""
        result = run("test", str(AGENCY_DIR))
        assert result.exit_code == 1
        assert "no case files found" in result.output


class TestExplain:
    """spoor policy explain."""

    def test_explain_from_files(self, tmp_path: Path) -> None:
        """A request and record file give the full decision record."""
        req = write(tmp_path, "request.yaml", REQUEST)
        rec = write(tmp_path, "record.yaml", RECORD)
        result = run("explain", str(KWS), "--request", str(req), "--record", str(rec))
        assert result.exit_code == 0, result.output
        assert "is HELD FOR APPROVAL" in result.output
        assert "[MATCH] suspects-to-vn-customs" in result.output
        assert "Fields released: names, date_of_birth (year)" in result.output

    def test_inline_options_override(self, tmp_path: Path) -> None:
        """Inline options replace values from the request file."""
        req = write(tmp_path, "request.yaml", REQUEST)
        rec = write(tmp_path, "record.yaml", RECORD)
        result = run(
            "explain",
            str(KWS),
            "--request",
            str(req),
            "--record",
            str(rec),
            "--charge",
            "drug_trafficking",
            "--stage",
            "participation",
        )
        assert result.exit_code == 0
        assert "KEPT OUT of the match" in result.output
        assert "[FIRES] capital-charge-without-assurance" in result.output

    def test_json_output(self, tmp_path: Path) -> None:
        """--json prints the decision record as JSON."""
        rec = write(tmp_path, "record.yaml", RECORD)
        result = run(
            "explain",
            str(KWS),
            "--record",
            str(rec),
            "--requester",
            "vn-customs",
            "--purpose",
            "criminal_investigation",
            "--legal-basis",
            "KE-VN-MoU-2024",
            "--case-reference",
            "C-1",
            "--officer",
            "o-1",
            "--now",
            "2026-03-02T09:00:00Z",
            "--field",
            "identity",
            "--json",
        )
        data = json.loads(result.output)
        assert data["outcome"] == "PENDING_APPROVAL"
        assert data["released_values"] == {"names": ["Hung Nguyen Van"]}

    def test_incomplete_request_is_a_usage_error(self, tmp_path: Path) -> None:
        """Missing request values exit 2 and say which are missing."""
        rec = write(tmp_path, "record.yaml", RECORD)
        result = run("explain", str(KWS), "--record", str(rec), "--requester", "vn-customs")
        assert result.exit_code == 2
        assert (
            "the request is missing: purpose, legal_basis, case_reference, officer" in result.output
        )


class TestDiff:
    """spoor policy diff."""

    def test_diff_shows_changed_decisions(self, tmp_path: Path) -> None:
        """A changed retention period shows in the affected cases."""
        shutil.copytree(KWS, tmp_path / "new")
        rules = tmp_path / "new" / "rules.yaml"
        rules.write_text(rules.read_text().replace("retention_days: 365", "retention_days: 90"))
        result = run("diff", str(KWS), str(tmp_path / "new"))
        assert result.exit_code == 0, result.output
        assert "obligations.retention_days: 365 -> 90" in result.output
        assert "Rules changed: shipments-to-vn-customs, companies-to-counterparts" in result.output

    def test_help_for_every_command(self) -> None:
        """Every subcommand has help."""
        for name in ("check", "test", "explain", "diff"):
            result = run(name, "--help")
            assert result.exit_code == 0
            assert "Usage:" in result.output
