"""Loading policies: located errors with hints, warnings, digests, files and libraries."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from policy import PolicyError, load_policy
from policy.loader import load_sources
from policy.model import compute_digest
from tests.policy.policy_support import AGENCY_DIR, write

MINIMAL = """\
spoor_policy: 1
include: [baseline]
agency:
  id: test
  name: Test agency
  country: KE
  cites_party: true
  criminal_offences: [poaching]
reference:
  instruments:
    MOU-1:
      title: A memorandum
      kind: bilateral_mou
      purposes: [criminal_investigation]
      expires: 2026-12-31
  counterparts:
    peer:
      name: Peer agency
      country: MZ
      competent_authority: true
      competences: [criminal_investigation]
      instruments: [MOU-1]
      death_penalty: []
      cites_party: true
      criminal_offences: [poaching]
participation:
  - id: p1
    title: Peer may match
    legal_references: [MoU Art. 1]
    explanation: "{requester} may match."
    when:
      requester: [peer]
      purpose: [criminal_investigation]
"""


def problems_of(text: str, name: str = "agency.yaml") -> list[str]:
    """The formatted problems of loading ``text`` as one policy file."""
    with pytest.raises(PolicyError) as info:
        load_sources([(name, text)], today=date(2026, 1, 1))
    return [p.format() for p in info.value.problems]


class TestValidPolicies:
    """A correct policy loads, with the baseline when asked for."""

    def test_minimal_policy_loads_with_baseline_guards(self) -> None:
        """include: [baseline] adds the baseline guards before the agency's rules."""
        policy = load_sources([("a.yaml", MINIMAL)], today=date(2026, 1, 1))
        assert "protected-persons" in [g.id for g in policy.guards]
        assert [r.id for r in policy.participation] == ["p1"]
        assert policy.agency.country == "KE"

    def test_directory_skips_case_tables(self) -> None:
        """Loading a directory reads its policy files and ignores *.cases.yaml."""
        policy = load_policy(AGENCY_DIR)
        assert all(not f.endswith(".cases.yaml") for f in policy.files)
        assert any(f.endswith("agency.yaml") for f in policy.files)

    def test_rules_are_guards_then_participation_then_release(self) -> None:
        """Policy.rules lists every rule in a fixed order."""
        policy = load_policy(AGENCY_DIR)
        kinds = [r.kind for r in policy.rules]
        assert kinds == sorted(kinds, key=["guard", "participation", "release"].index)


class TestDigest:
    """The digest identifies the meaning of the whole effective policy."""

    def test_digest_ignores_comments_and_layout(self) -> None:
        """Comments and blank lines do not change the digest."""
        a = load_sources([("a.yaml", MINIMAL)])
        b = load_sources([("b.yaml", "# a comment\n\n" + MINIMAL)])
        assert a.digest == b.digest
        assert len(a.digest) == 64

    def test_digest_ignores_rule_order(self, tmp_path: Path) -> None:
        """Moving rules between files of a directory leaves the digest unchanged."""
        head, rules = MINIMAL.split("participation:\n")
        second = rules.replace("id: p1", "id: p2")
        one = load_sources([("a.yaml", head + "participation:\n" + rules + second)])
        two = load_sources(
            [
                ("a.yaml", head + "participation:\n" + second),
                ("b.yaml", "spoor_policy: 1\nparticipation:\n" + rules),
            ]
        )
        assert [r.id for r in two.participation] == ["p2", "p1"]
        assert one.digest == two.digest

    def test_digest_changes_with_meaning(self) -> None:
        """Changing a rule changes the digest."""
        a = load_sources([("a.yaml", MINIMAL)])
        b = load_sources([("a.yaml", MINIMAL.replace("Peer may match", "Peer can match"))])
        assert a.digest != b.digest

    def test_digest_covers_the_baseline(self) -> None:
        """The included baseline is part of the digest."""
        a = load_sources([("a.yaml", MINIMAL)])
        without = replace(a, guards=tuple(g for g in a.guards if g.library != "baseline"))
        assert compute_digest(without) != a.digest


BAD_INPUTS = [
    pytest.param(
        MINIMAL.replace("    title: Peer may match", "    titel: Peer may match"),
        "agency.yaml:28:5: error: unknown key 'titel' in a participation rule "
        "(hint: did you mean 'title'?)",
        id="unknown-key",
    ),
    pytest.param(
        MINIMAL.replace(
            "      purpose: [criminal_investigation]\n", "      purpose: [criminal_investigaton]\n"
        ),
        "agency.yaml:33:17: error: unknown value 'criminal_investigaton' in purpose "
        "(hint: did you mean 'criminal_investigation'?)",
        id="misspelt-purpose",
    ),
    pytest.param(
        MINIMAL.replace("expires: 2026-12-31", "expires: 2026-02-30"),
        "agency.yaml:15:16: error: '2026-02-30' is not a valid value",
        id="bad-date",
    ),
    pytest.param(
        MINIMAL.replace("  name: Test agency", " name: Test agency"),
        "agency.yaml:5:2: error: YAML syntax error",
        id="yaml-syntax",
    ),
    pytest.param("", "agency.yaml:1:1: error: the file is empty", id="empty-file"),
    pytest.param(
        MINIMAL.replace("  country: KE\n", "  country: KE\n  country: VN\n"),
        "agency.yaml:7:3: error: duplicate key 'country' (first given on line 6)",
        id="duplicate-key",
    ),
    pytest.param(
        MINIMAL.replace('explanation: "{requester} may match."', 'explanation: "{requestor} may."'),
        "unknown placeholder '{requestor}' in explanation (hint: did you mean 'requester'?)",
        id="unknown-placeholder",
    ),
    pytest.param(
        MINIMAL.replace(
            "      requester: [peer]\n      purpose: [criminal_investigation]\n", "      {}\n"
        ),
        "rule p1 has no conditions",
        id="empty-when",
    ),
    pytest.param(
        MINIMAL.replace("      requester: [peer]", "      requester: [pear]"),
        "unknown value 'pear' in requester (hint: did you mean 'peer'?)",
        id="unknown-counterpart",
    ),
    pytest.param(
        MINIMAL.replace("instruments: [MOU-1]", "instruments: [MOU-2]"),
        "unknown value 'MOU-2' in instruments (hint: did you mean 'MOU-1'?)",
        id="undeclared-instrument",
    ),
    pytest.param(
        MINIMAL.replace("include: [baseline]", "include: [basline]"),
        "unknown value 'basline' in include (hint: did you mean 'baseline'?)",
        id="unknown-library",
    ),
    pytest.param(
        MINIMAL.replace("spoor_policy: 1", "spoor_policy: 2"),
        "unsupported policy format '2'",
        id="format-version",
    ),
    pytest.param(
        MINIMAL.replace("  country: KE", "  country: XX"),
        "unknown value 'XX' for country (hint: use the ISO 3166 two-letter country code",
        id="unknown-country",
    ),
    pytest.param(
        MINIMAL.replace("agency:\n", "library: mine\nagency:\n"),
        "'library' is reserved for libraries shipped with Spoor",
        id="library-reserved",
    ),
    pytest.param(
        MINIMAL + MINIMAL[MINIMAL.index("  - id: p1") :],
        "rule id 'p1' is declared twice (first at agency.yaml:27)",
        id="duplicate-rule-id",
    ),
    pytest.param(
        "spoor_policy: 1\n",
        "the policy has no 'agency:' section",
        id="no-agency",
    ),
]


class TestBadInputs:
    """Every mistake is reported with file:line:column, what is wrong and a hint."""

    @pytest.mark.parametrize(("text", "expected"), BAD_INPUTS)
    def test_error_is_located_and_explained(self, text: str, expected: str) -> None:
        """The problem list contains the precise message for the mistake."""
        found = problems_of(text)
        assert any(expected in p for p in found), found

    def test_all_errors_are_reported_at_once(self) -> None:
        """Several independent mistakes are all reported in one run."""
        text = MINIMAL.replace("  country: KE", "  country: XX").replace(
            "purpose: [criminal_investigation]\n", "purpose: [criminal_investigaton]\n"
        )
        found = problems_of(text)
        assert len(found) == 2, found

    def test_one_bad_date_does_not_cascade(self) -> None:
        """A bad date in an instrument does not make every reference to it an error."""
        found = problems_of(MINIMAL.replace("expires: 2026-12-31", "expires: 2026-02-30"))
        assert len(found) == 1, found

    def test_missing_path_is_reported(self, tmp_path: Path) -> None:
        """A path that does not exist is a problem, not a crash."""
        with pytest.raises(PolicyError) as info:
            load_policy(tmp_path / "nope")
        assert "no such file or directory" in info.value.problems[0].message

    def test_release_rule_transform_must_fit_the_field(self) -> None:
        """'year' applies to dates only."""
        text = MINIMAL + (
            "release:\n  - id: r1\n    title: t\n    legal_references: [x]\n"
            "    explanation: e\n    when: {requester: [peer]}\n"
            "    fields: {allow: [identity], transform: {names: year}}\n"
            "    obligations: {handling_code: H1, retention_days: 10}\n"
        )
        assert any("'year' applies to dates only" in p for p in problems_of(text))

    def test_required_approval_needs_a_deadline(self) -> None:
        """An approval without a deadline is refused with a hint."""
        text = MINIMAL + (
            "release:\n  - id: r1\n    title: t\n    legal_references: [x]\n"
            "    explanation: e\n    when: {requester: [peer]}\n"
            "    fields: {allow: [identity]}\n"
            "    obligations: {handling_code: H1, retention_days: 10}\n"
            "    approval: {required: true, roles: [legal_officer]}\n"
        )
        assert any("approval is required but has no deadline" in p for p in problems_of(text))

    def test_problem_format_has_error_and_hint(self) -> None:
        """Problems print like compiler errors."""
        found = problems_of(MINIMAL.replace("  country: KE", "  country: XX"))
        assert found[0].startswith("agency.yaml:6:12: error: ")
        assert "(hint: " in found[0]


class TestWarnings:
    """Warnings do not stop a policy from loading but tell the legal officer what to do."""

    def test_instrument_expiring_within_30_days_warns(self) -> None:
        """An instrument expiring in under 30 days gives a located warning."""
        policy = load_sources([("a.yaml", MINIMAL)], today=date(2026, 12, 10))
        texts = [w.format() for w in policy.warnings]
        assert any("instrument MOU-1 expires on 2026-12-31 (in 21 days)" in t for t in texts)
        assert all(w.severity == "warning" for w in policy.warnings)

    def test_expired_instrument_warns(self) -> None:
        """An instrument already expired is reported; requests under it are denied."""
        policy = load_sources([("a.yaml", MINIMAL)], today=date(2027, 1, 5))
        assert any("expired on 2026-12-31" in w.message for w in policy.warnings)

    def test_no_warning_far_from_expiry(self) -> None:
        """An instrument expiring in months gives no warning."""
        policy = load_sources([("a.yaml", MINIMAL)], today=date(2026, 1, 1))
        assert policy.warnings == ()


class TestFiles:
    """Directories, case files and unreadable files."""

    def test_directory_of_files_merges(self, tmp_path: Path) -> None:
        """Reference data and rules may live in separate files of one directory."""
        head, rules = MINIMAL.split("participation:\n")
        write(tmp_path, "a.yaml", head)
        write(tmp_path, "b.yaml", "spoor_policy: 1\nparticipation:\n" + rules)
        write(tmp_path, "b.cases.yaml", "not: [valid policy")
        policy = load_policy(tmp_path)
        assert [r.id for r in policy.participation] == ["p1"]

    def test_agency_declared_twice_is_an_error(self, tmp_path: Path) -> None:
        """Only one file may say whose policy it is."""
        write(tmp_path, "a.yaml", MINIMAL)
        write(
            tmp_path,
            "b.yaml",
            MINIMAL.split("reference:", maxsplit=1)[0].replace("include: [baseline]\n", ""),
        )
        with pytest.raises(PolicyError) as info:
            load_policy(tmp_path)
        assert any("declared in more than one file" in p.message for p in info.value.problems)
