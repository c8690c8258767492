"""Case tables: parameters, defaults, expectations, coverage, and the shipped tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy import Policy, load_policy
from policy.cases import find_case_files, load_cases, merge, substitute
from policy.testing import run_cases
from tests.policy.policy_support import AGENCIES, AGENCY_DIR, BASELINE_CASES, DEPLOY, write

HEAD = """\
spoor_cases: 1
defaults:
  request:
    requester: za-police
    purpose: criminal_investigation
    legal_basis: UNTOC-Art-27
    case_reference: C-1
    officer: o-1
    now: 2026-03-01T12:00:00Z
    requested_fields: [identity]
  record:
    record_id: r-1
    kind: person
    subject_category: suspect
    review_date: 2027-01-01
    fields: {names: [Jane Doe]}
cases:
"""


class TestBaselineLibrary:
    """The baseline case table passes against the test agency with full coverage."""

    def test_baseline_cases_pass(self, agency_policy: Policy) -> None:
        """Every baseline case passes and every rule is covered."""
        report = run_cases(agency_policy, BASELINE_CASES)
        assert [r.failures for r in report.failed] == []
        assert report.problems == []
        assert report.gaps == {}
        assert report.ok

    def test_every_baseline_guard_fires_somewhere(self, agency_policy: Policy) -> None:
        """Each baseline guard fires in at least one case and stays clear in another."""
        report = run_cases(agency_policy, BASELINE_CASES)
        for guard in agency_policy.guards:
            cov = report.coverage[guard.id]
            assert cov.fired > 0, guard.id
            assert cov.clear > 0, guard.id


class TestShippedPolicies:
    """The example agency policies pass their own case tables with full coverage."""

    @pytest.mark.parametrize("agency", AGENCIES)
    def test_agency_cases_pass_with_full_coverage(self, agency: str) -> None:
        """spoor policy test would succeed for this agency."""
        policy = load_policy(DEPLOY / agency)
        report = run_cases(policy, find_case_files(DEPLOY / agency))
        assert [(r.case.name, r.failures) for r in report.failed] == []
        assert report.gaps == {}
        assert report.ok

    @pytest.mark.parametrize("agency", AGENCIES)
    def test_agency_profiles_describe_the_other_two(self, agency: str) -> None:
        """Each demo agency has counterpart profiles for the other two, with instruments."""
        policy = load_policy(DEPLOY / agency)
        others = set(AGENCIES) - {agency}
        assert others <= set(policy.counterparts)
        for other in others:
            assert policy.counterparts[other].instruments


class TestCaseTables:
    """How case tables are read and compared."""

    def test_parameters_expand_to_one_case_each(
        self, tmp_path: Path, agency_policy: Policy
    ) -> None:
        """A parameter list yields one case per value, substituted everywhere."""
        path = write(
            tmp_path,
            "t.cases.yaml",
            HEAD
            + (
                "  - name: '{c} is refused'\n"
                "    parameters: {c: [victim, witness]}\n"
                "    record: {subject_category: '{c}'}\n"
                "    expect: {outcome: DENY, denied_by: [protected-persons]}\n"
            ),
        )
        report = run_cases(agency_policy, path)
        assert [r.case.name for r in report.results] == ["victim is refused", "witness is refused"]
        assert report.failed == []

    def test_rows_of_parameters(self, tmp_path: Path, agency_policy: Policy) -> None:
        """A list of rows gives one case per row."""
        path = write(
            tmp_path,
            "t.cases.yaml",
            HEAD
            + (
                "  - name: '{c} gives {o}'\n"
                "    parameters: [{c: suspect, o: RELEASE}, {c: informant, o: DENY}]\n"
                "    record: {subject_category: '{c}'}\n"
                "    expect: {outcome: '{o}'}\n"
            ),
        )
        report = run_cases(agency_policy, path)
        assert len(report.results) == 2
        assert report.failed == []

    def test_wrong_expectation_fails_with_a_clear_difference(
        self, tmp_path: Path, agency_policy: Policy
    ) -> None:
        """A case whose expectation is wrong fails and says what differed."""
        path = write(
            tmp_path,
            "t.cases.yaml",
            HEAD
            + (
                "  - name: suspect\n"
                "    expect: {outcome: DENY, fields: [aliases], obligations: {handling_code: H3}}\n"
            ),
        )
        report = run_cases(agency_policy, path)
        failures = report.failed[0].failures
        assert "outcome: expected DENY, got RELEASE (RELEASED)" in failures
        assert "fields: expected ['aliases'], got ['names']" in failures
        assert "obligations.handling_code: expected H3, got TLP:AMBER" in failures
        assert not report.ok

    def test_coverage_gaps_are_reported(self, tmp_path: Path, agency_policy: Policy) -> None:
        """With one releasing case, guards that never fire are coverage gaps."""
        path = write(
            tmp_path, "t.cases.yaml", HEAD + "  - name: ok\n    expect: {outcome: RELEASE}\n"
        )
        report = run_cases(agency_policy, path)
        assert report.failed == []
        assert report.gaps["protected-persons"] == "no case where this guard fires"
        assert report.gaps["investigation-release"] == "no case where it does not match"
        assert not report.ok

    def test_bad_case_file_is_a_located_problem(
        self, tmp_path: Path, agency_policy: Policy
    ) -> None:
        """Unknown keys in a case are reported with file:line:column."""
        path = write(
            tmp_path,
            "t.cases.yaml",
            HEAD + ("  - name: typo\n    requets: {}\n    expect: {outcome: DENY}\n"),
        )
        report = run_cases(agency_policy, path)
        assert any("unknown key 'requets' in a case" in p.format() for p in report.problems)
        assert not report.ok

    def test_request_without_time_zone_is_refused(
        self, tmp_path: Path, agency_policy: Policy
    ) -> None:
        """A case time without a zone is a problem, not a silent local time."""
        path = write(
            tmp_path,
            "t.cases.yaml",
            HEAD
            + (
                "  - name: naive\n"
                "    request: {now: '2026-03-01T12:00:00'}\n"
                "    expect: {outcome: DENY}\n"
            ),
        )
        report = run_cases(agency_policy, path)
        assert any("needs a time zone" in p.message for p in report.problems)

    def test_merge_and_substitute(self) -> None:
        """Mappings merge deeply, lists replace, and whole placeholders keep their type."""
        assert merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}
        assert substitute({"x": "{n}", "y": "n={n}"}, {"n": [1, 2]}) == {
            "x": [1, 2],
            "y": "n=[1, 2]",
        }

    def test_case_files_found_by_convention(self) -> None:
        """*.cases.yaml next to a policy directory are its case tables."""
        assert [p.name for p in find_case_files(DEPLOY / "ke-kws")] == ["ke-kws.cases.yaml"]
        assert find_case_files(AGENCY_DIR) == []

    def test_load_cases_reports_empty_file(self, tmp_path: Path) -> None:
        """An empty case file is reported."""
        cases = load_cases([write(tmp_path, "e.cases.yaml", "")])
        assert cases.problems[0].message == "the case file is empty"


class TestDefaultsValidation:
    """Mistakes in a case table's defaults are located too."""

    def test_unknown_key_in_default_record(self, tmp_path: Path, agency_policy: Policy) -> None:
        """A misspelt record key under defaults is reported with a hint."""
        text = HEAD.replace("    subject_category: suspect", "    subject_categry: suspect")
        path = write(tmp_path, "t.cases.yaml", text + "  - name: x\n    expect: {outcome: DENY}\n")
        report = run_cases(agency_policy, path)
        assert any(
            "unknown key 'subject_categry' in defaults record" in p.format()
            and "did you mean 'subject_category'?" in p.format()
            for p in report.problems
        )
