"""policy check warnings: missing counterpart facts and rules that can never fire."""

from __future__ import annotations

from datetime import date

from policy.loader import load_sources
from tests.policy.test_policy_loader import MINIMAL

RULE = """\
  - id: p2
    title: Another rule
    legal_references: [MoU Art. 2]
    explanation: "{requester} may match."
    when:
"""


def warnings_of(text: str, today: date = date(2026, 1, 1)) -> list[str]:
    """The formatted warnings of loading ``text`` as the agency's only policy file."""
    return [w.format() for w in load_sources([("agency.yaml", text)], today=today).warnings]


def with_rule(*conditions: str, head: str = "") -> str:
    """MINIMAL with a second participation rule p2 with these conditions."""
    return (
        MINIMAL
        + RULE.replace("  - id: p2\n", "  - id: p2\n" + head)
        + "".join(f"      {c}\n" for c in conditions)
    )


class TestCounterpartFacts:
    """A counterpart profile missing facts that decisions need gets a located warning."""

    def test_missing_cites_party_and_offences_warn(self) -> None:
        """Both omissions are named, at the counterpart, with what to add."""
        text = MINIMAL.replace("      cites_party: true\n      criminal_offences: [poaching]\n", "")
        (warning,) = warnings_of(text)
        assert warning.startswith("agency.yaml:17:5: warning: counterpart peer does not give ")
        assert "cites_party or criminal_offences" in warning
        assert "(hint: add 'cites_party' and 'criminal_offences' to its profile)" in warning

    def test_complete_profile_gives_no_warning(self) -> None:
        """The minimal policy's counterpart says everything."""
        assert warnings_of(MINIMAL) == []


class TestRulesThatNeverFire:
    """Contradictions, dead effective periods and shadowed rules are reported."""

    def test_country_no_named_requester_is_in(self) -> None:
        """requester and requester_country that cannot both hold."""
        (warning,) = warnings_of(with_rule("requester: [peer]", "requester_country: [VN]"))
        assert "warning: rule p2 can never fire: requester_country VN is not the country of " in (
            warning
        )
        assert warning.startswith("agency.yaml:34:5:")

    def test_country_of_no_counterpart(self) -> None:
        """A country no counterpart is in: an unknown counterpart, the rule never fires."""
        (warning,) = warnings_of(with_rule("requester_country: [BR]", "purpose: [prosecution]"))
        assert "requester_country BR is not the country of any counterpart" in warning

    def test_legal_basis_not_in_force_with_the_requester(self) -> None:
        """The baseline refuses a basis the requester does not have in force."""
        (warning,) = warnings_of(with_rule("requester: [peer]", "legal_basis: [UNTOC-Art-18]"))
        assert "rule p2 can never fire: no named requester has UNTOC-Art-18 in force" in warning

    def test_purpose_the_basis_does_not_cover(self) -> None:
        """The baseline refuses a purpose the legal basis does not cover."""
        (warning,) = warnings_of(
            with_rule("legal_basis: [MOU-1]", "purpose: [intelligence_analysis]")
        )
        assert "MOU-1 does not cover the purpose intelligence_analysis" in warning

    def test_requester_not_competent_for_the_purpose(self) -> None:
        """A purpose outside the requester's competences never passes the baseline."""
        (warning,) = warnings_of(with_rule("requester: [peer]", "purpose: [prosecution]"))
        assert "no named requester is competent for prosecution" in warning

    def test_rule_whose_period_is_over(self) -> None:
        """A rule that ended before today never fires again."""
        text = with_rule("kind: [shipment]", head="    effective_until: 2025-06-30\n")
        (warning,) = warnings_of(text)
        assert "rule p2 ended on 2025-06-30 and never fires again" in warning

    def test_shadowed_participation_rule(self) -> None:
        """A later participation rule narrower than an earlier one never changes a decision."""
        (warning,) = warnings_of(
            with_rule("requester: [peer]", "purpose: [criminal_investigation]", "kind: [person]")
        )
        assert "rule p2 is shadowed by rule p1: whenever it matches, p1 matches too" in warning

    def test_broader_later_rule_is_not_shadowed(self) -> None:
        """A later rule that matches more than the earlier one is useful and not reported."""
        assert warnings_of(with_rule("purpose: [criminal_investigation]")) == []
