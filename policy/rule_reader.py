"""Reading rules: guards, participation and release rules with their conditions.

Part of the policy loader. Every mistake becomes a located problem in the
shared :class:`~policy.schema.Reader`; nothing here raises.
"""

from __future__ import annotations

from dataclasses import replace

from policy import vocab
from policy.conditions import CONDITIONS
from policy.model import ApprovalSpec, Condition, FieldSpec, ObligationSpec, Rule
from policy.schema import Reader, origin
from policy.source import Node

DATE_FIELDS = ("date_of_birth", "seizure_date")
PLACE_FIELDS = ("addresses", "seizure_place")


class RuleReader:
    """Reads the ``guards``, ``participation`` and ``release`` lists of all files."""

    r: Reader
    rule_nodes: dict[str, list[tuple[Node, str | None]]]

    def rules(
        self, kind: str, vocabularies: dict[str, tuple[str, ...]], seen: dict[str, Node]
    ) -> list[Rule]:
        common = ["id", "title", "legal_references", "explanation", "when"]
        optional = ["effective_from", "effective_until"]
        extra_req = {"guard": ["reason_code"], "release": ["fields", "obligations"]}.get(kind, [])
        extra_opt = {"guard": ["stages"], "release": ["approval"]}.get(kind, [])
        out = []
        for node, library in self.rule_nodes[kind]:
            what = f"a {kind} rule"
            m = self.r.mapping(node, what, common + extra_req, optional + extra_opt)
            if m is None:
                continue
            complete = set(common + extra_req) <= set(m)
            rid = self.r.ident(m["id"], "rule id") if "id" in m else None
            if rid is not None and not self.r.unique(seen, m["id"], "rule id"):
                continue
            what = f"rule {rid or '(without id)'}"
            title = self.r.text(m["title"], "title") if "title" in m else None
            refs = []
            if "legal_references" in m:
                refs = [
                    self.r.text(i, "a legal reference")
                    for i in self.r.seq(m["legal_references"], "legal_references")
                ]
                if m["legal_references"].kind == "seq" and not refs:
                    self.r.error(
                        m["legal_references"],
                        f"{what} cites no legal reference",
                        "name the article, section or instrument the rule rests on",
                    )
            explanation = (
                self.r.template(m["explanation"], "explanation") if ("explanation" in m) else None
            )
            conditions = self.conditions(m["when"], what, vocabularies) if "when" in m else None
            if not complete or rid is None:
                # Still read what is there, so one run reports every mistake.
                if kind == "release" and "fields" in m:
                    self.fields(m["fields"])
                if kind == "release" and "obligations" in m:
                    self.obligations(m["obligations"])
                if kind == "guard" and "reason_code" in m:
                    self.r.choice(m["reason_code"], "reason_code", vocab.GUARD_REASON_CODES)
                continue
            eff_from = (
                self.r.day(m["effective_from"], "effective_from")
                if ("effective_from" in m)
                else None
            )
            eff_until = (
                self.r.day(m["effective_until"], "effective_until")
                if ("effective_until" in m)
                else None
            )
            if eff_from and eff_until and eff_until < eff_from:
                self.r.error(m["effective_until"], "the rule ends before it takes effect")
            rule = Rule(
                rid,
                kind,
                title or "",
                tuple(r for r in refs if r),
                explanation or "",
                conditions or (),
                eff_from,
                eff_until,
                library=library,
                origin=origin(node),
            )
            if kind == "guard":
                stages = (
                    self.r.choices(m["stages"], "stages", vocab.STAGES)
                    if "stages" in m
                    else vocab.STAGES
                )
                code = self.r.choice(m["reason_code"], "reason_code", vocab.GUARD_REASON_CODES)
                rule = replace(rule, stages=stages or (), reason_code=code)
            if kind == "release":
                rule = replace(
                    rule,
                    fields=self.fields(m["fields"]),
                    obligations=self.obligations(m["obligations"]),
                    approval=self.approval(m["approval"])
                    if "approval" in m
                    else ApprovalSpec(required=False),
                )
            out.append(rule)
        return out

    def conditions(
        self, node: Node, what: str, vocabularies: dict[str, tuple[str, ...]]
    ) -> tuple[Condition, ...] | None:
        m = self.r.mapping(node, f"'when' of {what}", optional=CONDITIONS)
        if m is None:
            return None
        if not m and not node.entries:
            self.r.error(
                node,
                f"{what} has no conditions",
                "a rule must say when it applies; an empty 'when' would match everything",
            )
            return None
        out = []
        for name, value_node in m.items():
            d = CONDITIONS[name]
            value: bool | tuple[str, ...] | None
            if d.type == "bool":
                value = self.r.flag(value_node, name)
            else:
                value = self.r.choices(value_node, name, vocabularies[d.vocabulary or ""])
            if value is not None:
                out.append(Condition(name, value, origin(value_node)))
        return tuple(out)

    def fields(self, node: Node) -> FieldSpec | None:
        m = self.r.mapping(node, "fields", ["allow"], ["never", "transform"])
        if m is None or "allow" not in m:
            return None
        names = tuple(vocab.FIELD_GROUPS) + vocab.GROUP_NAMES
        allow = self.r.choices(m["allow"], "fields allow", names)
        never = self.r.choices(m["never"], "fields never", names) if "never" in m else ()
        transforms: list[tuple[str, str]] = []
        if "transform" in m:
            tm = self.r.mapping(m["transform"], "transform", optional=names) or {}
            for target, value in tm.items():
                how = self.r.choice(value, f"transform of {target}", vocab.TRANSFORMS)
                if how is None:
                    continue
                for f in vocab.groups_to_fields([target]):
                    if how in ("year", "month") and f not in DATE_FIELDS:
                        if target == f:
                            self.r.error(
                                value,
                                f"'{how}' applies to dates only, not {f}",
                                "dates: " + ", ".join(DATE_FIELDS),
                            )
                        continue
                    if how == "country_only" and f not in PLACE_FIELDS:
                        if target == f:
                            self.r.error(
                                value,
                                f"'country_only' applies to places, not {f}",
                                "places: " + ", ".join(PLACE_FIELDS),
                            )
                        continue
                    transforms.append((f, how))
        if allow is None or never is None:
            return None
        return FieldSpec(
            vocab.groups_to_fields(allow), vocab.groups_to_fields(never), tuple(transforms)
        )

    def obligations(self, node: Node) -> ObligationSpec | None:
        m = self.r.mapping(
            node,
            "obligations",
            ["handling_code", "retention_days"],
            ["use_limited_to_purpose", "use_limited_to_case", "onward_transfer", "judicial_use"],
        )
        if m is None or not {"handling_code", "retention_days"} <= set(m):
            return None
        code = self.r.choice(m["handling_code"], "handling_code", vocab.HANDLING_CODES)
        days = self.r.integer(m["retention_days"], "retention_days", minimum=1)
        flags = {
            key: self.r.flag(m[key], key) if key in m else True
            for key in ("use_limited_to_purpose", "use_limited_to_case")
        }
        levels = {
            key: self.r.choice(m[key], key, vocab.CONSENT_LEVELS) if key in m else "with_consent"
            for key in ("onward_transfer", "judicial_use")
        }
        spec = ObligationSpec(
            code or "",
            days or 1,
            use_limited_to_purpose=flags["use_limited_to_purpose"] is not False,
            use_limited_to_case=flags["use_limited_to_case"] is not False,
            onward_transfer=levels["onward_transfer"] or "with_consent",
            judicial_use=levels["judicial_use"] or "with_consent",
        )
        return spec if code and days else None

    def approval(self, node: Node) -> ApprovalSpec | None:
        m = self.r.mapping(
            node, "approval", ["required"], ["roles", "two_person", "deadline_hours"]
        )
        if m is None or "required" not in m:
            return None
        required = self.r.flag(m["required"], "required")
        roles = self.r.choices(m["roles"], "roles", vocab.APPROVAL_ROLES) if "roles" in m else ()
        two = self.r.flag(m["two_person"], "two_person") if "two_person" in m else False
        hours = (
            self.r.integer(m["deadline_hours"], "deadline_hours", 1)
            if ("deadline_hours" in m)
            else None
        )
        if required and not roles and "roles" not in m:
            self.r.error(
                node,
                "approval is required but no roles may decide it",
                "add roles: [legal_officer]",
            )
        if required and hours is None and "deadline_hours" not in m:
            self.r.error(
                node,
                "approval is required but has no deadline",
                "add deadline_hours: 48 (the Prüm II deadline for core data)",
            )
        if required is None or roles is None or two is None:
            return None
        return ApprovalSpec(required, roles, two, hours)
