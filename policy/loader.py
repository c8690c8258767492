"""Loading a policy: files → checked reference data and rules → :class:`Policy`.

A policy is one YAML file or a directory of them (case tables named
``*.cases.yaml`` are skipped). Files are merged; the baseline library shipped
with Spoor is added when a file says ``include: [baseline]``. Every problem in
every file is collected and raised together as one :class:`PolicyError`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

import pycountry

from policy import vocab
from policy.conditions import CONDITIONS
from policy.errors import PolicyError, Problem
from policy.model import (
    Agency,
    ApprovalSpec,
    Assurance,
    Condition,
    Counterpart,
    FieldSpec,
    Instrument,
    ObligationSpec,
    Origin,
    Policy,
    Rule,
    Species,
    compute_digest,
)
from policy.schema import Reader, origin
from policy.source import Node, SourceError, parse

LIBRARIES = ("baseline",)
FORMAT_VERSION = 1
EXPIRY_WARNING_DAYS = 30
TOP_KEYS = ("agency", "library", "include", "reference", "guards", "participation", "release")
REFERENCE_KEYS = ("instruments", "counterparts", "assurances", "species")
COUNTRIES = tuple(sorted(c.alpha_2 for c in pycountry.countries))
DATE_FIELDS = ("date_of_birth", "seizure_date")
PLACE_FIELDS = ("addresses", "seizure_place")


def is_case_file(path: Path) -> bool:
    """Whether a file is a test-case table rather than part of the policy."""
    return path.name.endswith((".cases.yaml", ".cases.yml"))


def policy_files(path: Path) -> list[Path]:
    """The policy files at ``path`` (one file, or the YAML files of a directory)."""
    if path.is_dir():
        found = [p for p in sorted(path.iterdir()) if p.suffix in (".yaml", ".yml")]
        return [p for p in found if p.is_file() and not is_case_file(p)]
    return [path]


def _baseline_sources() -> list[tuple[str, str]]:
    root = resources.files("policy.baseline")
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.append((f"<baseline>/{entry.name}", entry.read_text(encoding="utf-8")))
    return out


def load_policy(path: str | Path, *, today: date | None = None) -> Policy:
    """Load and check a policy; raise :class:`PolicyError` listing every problem.

    ``today`` (default: the current UTC date) only affects warnings such as
    instruments expiring within 30 days; decisions use the request's time.
    """
    path = Path(path)
    if not path.exists():
        raise PolicyError([Problem(str(path), 1, 1, "no such file or directory",
                                   "give the policy file or the directory holding it")])
    files = policy_files(path)
    if not files:
        raise PolicyError([Problem(str(path), 1, 1, "the directory holds no policy files",
                                   "policy files end in .yaml")])
    sources: list[tuple[str, str]] = []
    for file in files:
        try:
            sources.append((str(file), file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError([Problem(str(file), 1, 1, f"cannot read the file: {exc}")]) from None
    return load_sources(sources, today=today)


def load_sources(sources: list[tuple[str, str]], *, today: date | None = None) -> Policy:
    """Load a policy from ``(file name, text)`` pairs (used by tests and tools)."""
    builder = _Builder()
    for name, text in sources:
        builder.add_file(name, text, library=None)
    if "baseline" in builder.includes:
        for name, text in _baseline_sources():
            builder.add_file(name, text, library="baseline")
    policy = builder.build()
    when = today or datetime.now(UTC).date()
    policy = replace(policy, warnings=tuple(expiry_warnings(policy, when)))
    return replace(policy, digest=compute_digest(policy))


def expiry_warnings(policy: Policy, today: date) -> list[Problem]:
    """Warnings for instruments and assurances expired or expiring within 30 days."""
    out = []
    soon = today + timedelta(days=EXPIRY_WARNING_DAYS)
    items: list[tuple[str, date | None, Origin]] = [
        (f"instrument {i.id}", i.expires, i.origin) for i in policy.instruments.values()
    ] + [(f"assurance {a.id}", a.expires, a.origin) for a in policy.assurances.values()]
    for label, expires, where in items:
        if expires is None:
            continue
        if expires < today:
            msg = f"{label} expired on {expires.isoformat()}; requests relying on it are denied"
            hint = "renew it with the counterpart and update 'expires', or remove it"
        elif expires <= soon:
            days = (expires - today).days
            msg = f"{label} expires on {expires.isoformat()} (in {days} days)"
            hint = "start the renewal now; requests relying on it are denied once it expires"
        else:
            continue
        out.append(Problem(where.file, where.line, where.column, msg, hint, "warning"))
    return out


class _Builder:
    """Collects the sections of every file, then checks cross-references."""

    def __init__(self) -> None:
        self.r = Reader()
        self.includes: list[str] = []
        self.agency_nodes: list[Node] = []
        self.sections: dict[str, list[tuple[Node, Node, str | None]]] = {
            k: [] for k in REFERENCE_KEYS
        }
        self.rule_nodes: dict[str, list[tuple[Node, str | None]]] = {
            "guard": [],
            "participation": [],
            "release": [],
        }
        self.files: list[str] = []
        self.broken_file = False

    def add_file(self, name: str, text: str, library: str | None) -> None:
        self.files.append(name)
        try:
            root, problems = parse(text, name)
            self.r.problems.extend(problems)
        except SourceError as exc:
            self.r.problems.extend(exc.problems)
            self.broken_file = True
            return
        if root is None:
            self.broken_file = True
            self.r.problems.append(Problem(name, 1, 1, "the file is empty",
                                           "a policy file starts with 'spoor_policy: 1'"))
            return
        top = self.r.mapping(root, "a policy file", ["spoor_policy"], TOP_KEYS)
        if top is None:
            return
        if "spoor_policy" in top:
            version = top["spoor_policy"]
            if version.value != FORMAT_VERSION or isinstance(version.value, bool):
                self.r.error(version, f"unsupported policy format '{version.raw}'",
                             f"this version of Spoor reads 'spoor_policy: {FORMAT_VERSION}'")
        if "library" in top and library is None:
            self.r.error(top["library"], "'library' is reserved for libraries shipped with Spoor",
                         "describe your agency under 'agency:' and use 'include: [baseline]'")
        if "agency" in top:
            if library is not None:
                self.r.error(top["agency"], "a library cannot declare an agency")
            else:
                self.agency_nodes.append(top["agency"])
        if "include" in top:
            for lib in self.r.choices(top["include"], "include", LIBRARIES) or ():
                if lib not in self.includes:
                    self.includes.append(lib)
        if "reference" in top:
            ref = self.r.mapping(top["reference"], "reference", optional=REFERENCE_KEYS) or {}
            for key, node in ref.items():
                if node.kind != "map":
                    self.r.error(node, f"reference {key} must be a mapping of id to details")
                    continue
                for key_node, value in node.entries.values():
                    self.sections[key].append((key_node, value, library))
        for section, kind in (("guards", "guard"), ("participation", "participation"),
                              ("release", "release")):
            if section in top:
                for item in self.r.seq(top[section], section):
                    self.rule_nodes[kind].append((item, library))

    # -- reference data -------------------------------------------------------

    def _unique(self, seen: dict[str, Node], key_node: Node, what: str) -> bool:
        if key_node.raw in seen:
            first = seen[key_node.raw]
            self.r.error(key_node, f"{what} '{key_node.raw}' is declared twice "
                         f"(first at {first.file}:{first.line})", "keep one declaration")
            return False
        seen[key_node.raw] = key_node
        return True

    def instruments(self) -> dict[str, Instrument]:
        out: dict[str, Instrument] = {}
        seen: dict[str, Node] = {}
        for key_node, node, _ in self.sections["instruments"]:
            if not self._unique(seen, key_node, "instrument") or not self.r.ident(
                key_node, "an instrument id"
            ):
                continue
            m = self.r.mapping(node, f"instrument {key_node.raw}", ["title", "kind", "purposes"],
                               ["parties", "valid_from", "expires", "reference"])
            if m is None or not {"title", "kind", "purposes"} <= set(m):
                continue
            title = self.r.text(m["title"], "title")
            kind = self.r.choice(m["kind"], "kind", vocab.INSTRUMENT_KINDS)
            purposes = self.r.choices(m["purposes"], "purposes", vocab.PURPOSES)
            parties = self.r.choices(m["parties"], "parties", COUNTRIES) if "parties" in m else ()
            valid_from = self.r.day(m["valid_from"], "valid_from") if "valid_from" in m else None
            expires = self.r.day(m["expires"], "expires") if "expires" in m else None
            ref = self.r.text(m["reference"], "reference") if "reference" in m else None
            if valid_from and expires and expires < valid_from:
                self.r.error(m["expires"], "the instrument expires before it takes effect")
            if title and kind and purposes is not None and parties is not None:
                out[key_node.raw] = Instrument(key_node.raw, title, kind, purposes, parties,
                                               valid_from, expires, ref, origin(key_node))
        return out

    def species(self) -> dict[str, Species]:
        out: dict[str, Species] = {}
        seen: dict[str, Node] = {}
        for key_node, node, _ in self.sections["species"]:
            if not self._unique(seen, key_node, "species"):
                continue
            m = self.r.mapping(node, f"species {key_node.raw}", ["common_name", "appendix"],
                               ["populations"])
            if m is None or not {"common_name", "appendix"} <= set(m):
                continue
            common = self.r.text(m["common_name"], "common_name")
            appendix = self.r.choice(m["appendix"], "appendix", vocab.CITES_APPENDICES)
            pops: list[tuple[str, str]] = []
            if "populations" in m:
                pm = self.r.mapping(m["populations"], "populations",
                                    optional=list(m["populations"].entries)) or {}
                for pop, value in pm.items():
                    app = self.r.choice(value, f"appendix for population {pop}",
                                        vocab.CITES_APPENDICES)
                    if app:
                        pops.append((pop, app))
            if common and appendix:
                out[key_node.raw] = Species(key_node.raw, common, appendix, tuple(pops),
                                            origin(key_node))
        return out

    def agency(self) -> Agency | None:
        if not self.agency_nodes:
            if self.broken_file:  # the broken file may be the one that holds it
                return None
            self.r.problems.append(Problem(self.files[0] if self.files else "<policy>", 1, 1,
                                           "the policy has no 'agency:' section",
                                           "say whose policy this is: id, name, country, "
                                           "cites_party, criminal_offences"))
            return None
        for extra in self.agency_nodes[1:]:
            self.r.error(extra, "'agency' is declared in more than one file", "keep one")
        node = self.agency_nodes[0]
        m = self.r.mapping(node, "agency", ["id", "name", "country", "cites_party",
                                            "criminal_offences"], ["protected_species"])
        if m is None or not {"id", "name", "country", "cites_party", "criminal_offences"} <= set(m):
            return None
        ident = self.r.ident(m["id"], "agency id")
        name = self.r.text(m["name"], "agency name")
        country = self.r.choice(m["country"], "country", COUNTRIES)
        cites = self.r.flag(m["cites_party"], "cites_party")
        offences = self.r.choices(m["criminal_offences"], "criminal_offences",
                                  vocab.OFFENCE_CLASSES)
        protected = self._names(m.get("protected_species"), "protected_species")
        if ident and name and country and cites is not None and offences is not None:
            return Agency(ident, name, country, cites, offences, protected, origin(node))
        return None

    def _names(self, node: Node | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        names = [self.r.text(item, f"an entry of {what}") for item in self.r.seq(node, what)]
        return tuple(n for n in names if n)

    def declared(self, section: str) -> tuple[str, ...]:
        """Ids declared in a reference section, whether or not their details check."""
        return tuple(dict.fromkeys(key.raw for key, _, _ in self.sections[section]))

    def counterparts(self, instruments: tuple[str, ...]) -> dict[str, Counterpart]:
        out: dict[str, Counterpart] = {}
        seen: dict[str, Node] = {}
        req = ["name", "country", "competent_authority", "competences", "instruments",
               "death_penalty"]
        for key_node, node, _ in self.sections["counterparts"]:
            if not self._unique(seen, key_node, "counterpart") or not self.r.ident(
                key_node, "a counterpart id"
            ):
                continue
            m = self.r.mapping(node, f"counterpart {key_node.raw}", req,
                               ["cites_party", "criminal_offences", "protected_species"])
            if m is None or not set(req) <= set(m):
                continue
            name = self.r.text(m["name"], "name")
            country = self.r.choice(m["country"], "country", COUNTRIES)
            competent = self.r.flag(m["competent_authority"], "competent_authority")
            competences = self.r.choices(m["competences"], "competences", vocab.PURPOSES,
                                         empty_ok=True)
            insts = self.r.choices(m["instruments"], "instruments", instruments, empty_ok=True)
            dp = self.r.choices(m["death_penalty"], "death_penalty", vocab.OFFENCE_CLASSES,
                                empty_ok=True)
            cites = self.r.flag(m["cites_party"], "cites_party") if "cites_party" in m else True
            crimes = (self.r.choices(m["criminal_offences"], "criminal_offences",
                                     vocab.OFFENCE_CLASSES, empty_ok=True)
                      if "criminal_offences" in m else ())
            protected = self._names(m.get("protected_species"), "protected_species")
            values = (name, country, competent, competences, insts, dp, cites, crimes)
            if all(v is not None for v in values):
                out[key_node.raw] = Counterpart(
                    key_node.raw, name or "", country or "", bool(competent), competences or (),
                    insts or (), dp or (), bool(cites), crimes or (), protected, origin(key_node))
        return out

    def assurances(self, counterparts: tuple[str, ...]) -> dict[str, Assurance]:
        out: dict[str, Assurance] = {}
        seen: dict[str, Node] = {}
        req = ["counterpart", "kind", "scope", "offence_classes", "issued"]
        for key_node, node, _ in self.sections["assurances"]:
            if not self._unique(seen, key_node, "assurance") or not self.r.ident(
                key_node, "an assurance id"
            ):
                continue
            m = self.r.mapping(node, f"assurance {key_node.raw}", req,
                               ["expires", "case_reference", "reference"])
            if m is None or not set(req) <= set(m):
                continue
            cp = self.r.choice(m["counterpart"], "counterpart", counterparts)
            kind = self.r.choice(m["kind"], "kind", vocab.ASSURANCE_KINDS)
            scope = self.r.choices(m["scope"], "scope", vocab.ASSURANCE_SCOPES)
            offences = self.r.choices(m["offence_classes"], "offence_classes",
                                      vocab.OFFENCE_CLASSES)
            issued = self.r.day(m["issued"], "issued")
            expires = self.r.day(m["expires"], "expires") if "expires" in m else None
            case = self.r.text(m["case_reference"], "case_reference") if (
                "case_reference" in m) else None
            ref = self.r.text(m["reference"], "reference") if "reference" in m else None
            if cp and kind and scope and offences and issued:
                out[key_node.raw] = Assurance(key_node.raw, cp, kind, scope, offences, issued,
                                              expires, case, ref, origin(key_node))
        return out

    # -- rules ------------------------------------------------------------------

    def rules(self, kind: str, vocabularies: dict[str, tuple[str, ...]],
              seen: dict[str, Node]) -> list[Rule]:
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
            if rid is not None and not self._unique(seen, m["id"], "rule id"):
                continue
            what = f"rule {rid or '(without id)'}"
            title = self.r.text(m["title"], "title") if "title" in m else None
            refs = []
            if "legal_references" in m:
                refs = [self.r.text(i, "a legal reference")
                        for i in self.r.seq(m["legal_references"], "legal_references")]
                if m["legal_references"].kind == "seq" and not refs:
                    self.r.error(m["legal_references"], f"{what} cites no legal reference",
                                 "name the article, section or instrument the rule rests on")
            explanation = self.r.template(m["explanation"], "explanation") if (
                "explanation" in m) else None
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
            eff_from = self.r.day(m["effective_from"], "effective_from") if (
                "effective_from" in m) else None
            eff_until = self.r.day(m["effective_until"], "effective_until") if (
                "effective_until" in m) else None
            if eff_from and eff_until and eff_until < eff_from:
                self.r.error(m["effective_until"], "the rule ends before it takes effect")
            rule = Rule(rid, kind, title or "", tuple(r for r in refs if r), explanation or "",
                        conditions or (), eff_from, eff_until, library=library,
                        origin=origin(node))
            if kind == "guard":
                stages = (self.r.choices(m["stages"], "stages", vocab.STAGES)
                          if "stages" in m else vocab.STAGES)
                code = self.r.choice(m["reason_code"], "reason_code", vocab.GUARD_REASON_CODES)
                rule = replace(rule, stages=stages or (), reason_code=code)
            if kind == "release":
                rule = replace(rule, fields=self.fields(m["fields"]),
                               obligations=self.obligations(m["obligations"]),
                               approval=self.approval(m["approval"]) if "approval" in m
                               else ApprovalSpec(required=False))
            out.append(rule)
        return out

    def conditions(self, node: Node, what: str,
                   vocabularies: dict[str, tuple[str, ...]]) -> tuple[Condition, ...] | None:
        m = self.r.mapping(node, f"'when' of {what}", optional=CONDITIONS)
        if m is None:
            return None
        if not m and not node.entries:
            self.r.error(node, f"{what} has no conditions",
                         "a rule must say when it applies; an empty 'when' would match everything")
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
                            self.r.error(value, f"'{how}' applies to dates only, not {f}",
                                         "dates: " + ", ".join(DATE_FIELDS))
                        continue
                    if how == "country_only" and f not in PLACE_FIELDS:
                        if target == f:
                            self.r.error(value, f"'country_only' applies to places, not {f}",
                                         "places: " + ", ".join(PLACE_FIELDS))
                        continue
                    transforms.append((f, how))
        if allow is None or never is None:
            return None
        return FieldSpec(vocab.groups_to_fields(allow), vocab.groups_to_fields(never),
                         tuple(transforms))

    def obligations(self, node: Node) -> ObligationSpec | None:
        m = self.r.mapping(node, "obligations", ["handling_code", "retention_days"],
                           ["use_limited_to_purpose", "use_limited_to_case", "onward_transfer",
                            "judicial_use"])
        if m is None or not {"handling_code", "retention_days"} <= set(m):
            return None
        code = self.r.choice(m["handling_code"], "handling_code", vocab.HANDLING_CODES)
        days = self.r.integer(m["retention_days"], "retention_days", minimum=1)
        spec = ObligationSpec(code or "", days or 1)
        for key in ("use_limited_to_purpose", "use_limited_to_case"):
            if key in m:
                flag = self.r.flag(m[key], key)
                if flag is not None:
                    spec = replace(spec, **{key: flag})
        for key in ("onward_transfer", "judicial_use"):
            if key in m:
                level = self.r.choice(m[key], key, vocab.CONSENT_LEVELS)
                if level is not None:
                    spec = replace(spec, **{key: level})
        return spec if code and days else None

    def approval(self, node: Node) -> ApprovalSpec | None:
        m = self.r.mapping(node, "approval", ["required"], ["roles", "two_person",
                                                            "deadline_hours"])
        if m is None or "required" not in m:
            return None
        required = self.r.flag(m["required"], "required")
        roles = self.r.choices(m["roles"], "roles", vocab.APPROVAL_ROLES) if "roles" in m else ()
        two = self.r.flag(m["two_person"], "two_person") if "two_person" in m else False
        hours = self.r.integer(m["deadline_hours"], "deadline_hours", 1) if (
            "deadline_hours" in m) else None
        if required and not roles and "roles" not in m:
            self.r.error(node, "approval is required but no roles may decide it",
                         "add roles: [legal_officer]")
        if required and hours is None and "deadline_hours" not in m:
            self.r.error(node, "approval is required but has no deadline",
                         "add deadline_hours: 48 (the Prüm II deadline for core data)")
        if required is None or roles is None or two is None:
            return None
        return ApprovalSpec(required, roles, two, hours)

    def build(self) -> Policy:
        instruments = self.instruments()
        species = self.species()
        agency = self.agency()
        # Cross-references are checked against every id declared, even one whose
        # details have an error, so a single mistake does not cascade.
        declared_instruments = self.declared("instruments")
        declared_counterparts = self.declared("counterparts")
        counterparts = self.counterparts(declared_instruments)
        assurances = self.assurances(declared_counterparts)
        vocabularies: dict[str, tuple[str, ...]] = {
            "counterparts": declared_counterparts,
            "countries": COUNTRIES,
            "purposes": vocab.PURPOSES,
            "instruments": declared_instruments,
            "offence_classes": vocab.OFFENCE_CLASSES,
            "assurance_kinds": vocab.ASSURANCE_KINDS,
            "record_kinds": vocab.RECORD_KINDS,
            "subject_categories": vocab.SUBJECT_CATEGORIES,
            "handling_restrictions": vocab.HANDLING_RESTRICTIONS,
            "cites_appendices": vocab.CITES_APPENDICES,
        }
        seen: dict[str, Node] = {}
        guards = self.rules("guard", vocabularies, seen)
        participation = self.rules("participation", vocabularies, seen)
        release = self.rules("release", vocabularies, seen)
        if self.r.problems or agency is None:
            raise PolicyError(sorted(self.r.problems, key=lambda p: (p.file, p.line, p.column)))
        return Policy(agency, instruments, counterparts, assurances, species, tuple(guards),
                      tuple(participation), tuple(release), tuple(self.includes),
                      tuple(self.files))
