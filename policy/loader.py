"""Loading a policy: files → checked reference data and rules → :class:`Policy`.

A policy is one YAML file or a directory of them (case tables named
``*.cases.yaml`` are skipped). Files are merged with the baseline library
shipped with Spoor, which is mandatory: a policy must say ``include: [baseline]``
and can add guards but never remove, redefine or weaken the baseline's (see
:mod:`policy.baseline_check`). Every problem in every file is collected and
raised together as one :class:`PolicyError`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

from policy import vocab
from policy.baseline_check import check_baseline
from policy.errors import PolicyError, Problem
from policy.lint import never_fire_warnings, reference_warnings
from policy.model import (
    Origin,
    Policy,
    compute_digest,
)
from policy.reference_reader import COUNTRIES, REFERENCE_KEYS, ReferenceReader
from policy.rule_reader import RuleReader
from policy.schema import Reader
from policy.source import Node, SourceError, parse

LIBRARIES = ("baseline",)
FORMAT_VERSION = 1
EXPIRY_WARNING_DAYS = 30
TOP_KEYS = ("agency", "library", "include", "reference", "guards", "participation", "release")


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
        raise PolicyError(
            [
                Problem(
                    str(path),
                    1,
                    1,
                    "no such file or directory",
                    "give the policy file or the directory holding it",
                )
            ]
        )
    files = policy_files(path)
    if not files:
        raise PolicyError(
            [
                Problem(
                    str(path),
                    1,
                    1,
                    "the directory holds no policy files",
                    "policy files end in .yaml",
                )
            ]
        )
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
    try:
        # The baseline is read first and always: it is mandatory, so an agency rule or
        # reference entry reusing one of its ids is reported where the agency wrote it.
        for name, text in _baseline_sources():
            builder.add_file(name, text, library="baseline")
        for name, text in sources:
            builder.add_file(name, text, library=None)
        builder.require_baseline()
        policy = builder.build()
    except PolicyError:
        raise
    except Exception as exc:  # fail closed: an unexpected fault never yields a policy
        first = sources[0][0] if sources else "<policy>"
        raise PolicyError(
            [
                Problem(
                    first,
                    1,
                    1,
                    f"internal error while loading the policy: {exc!r}",
                    "report this with the policy files; the previous policy stays in force",
                )
            ]
        ) from exc
    when = today or datetime.now(UTC).date()
    warnings = [
        *expiry_warnings(policy, when),
        *reference_warnings(policy),
        *never_fire_warnings(policy, when),
    ]
    policy = replace(policy, warnings=tuple(warnings))
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


class _Builder(ReferenceReader, RuleReader):
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
        self.agency_files: list[str] = []
        self.broken_file = False
        self.include_nodes: list[Node] = []

    def add_file(self, name: str, text: str, library: str | None) -> None:
        """Parse one file and collect its sections (problems are recorded, not raised)."""
        self.files.append(name)
        if library is None:
            self.agency_files.append(name)
        root = self._parse(name, text)
        if root is None:
            return
        top = self.r.mapping(root, "a policy file", ["spoor_policy"], TOP_KEYS)
        if top is not None:
            self._header(top, library)
            self._collect(top, library)

    def _parse(self, name: str, text: str) -> Node | None:
        try:
            root, problems = parse(text, name)
        except SourceError as exc:
            self.r.problems.extend(exc.problems)
            self.broken_file = True
            return None
        self.r.problems.extend(problems)
        if root is None:
            self.broken_file = True
            self.r.problems.append(
                Problem(
                    name, 1, 1, "the file is empty", "a policy file starts with 'spoor_policy: 1'"
                )
            )
        return root

    def _header(self, top: dict[str, Node], library: str | None) -> None:
        if "spoor_policy" in top:
            version = top["spoor_policy"]
            if version.value != FORMAT_VERSION or isinstance(version.value, bool):
                self.r.error(
                    version,
                    f"unsupported policy format '{version.raw}'",
                    f"this version of Spoor reads 'spoor_policy: {FORMAT_VERSION}'",
                )
        if "library" in top and library is None:
            self.r.error(
                top["library"],
                "'library' is reserved for libraries shipped with Spoor",
                "describe your agency under 'agency:' and use 'include: [baseline]'",
            )
        if "agency" in top:
            if library is not None:
                self.r.error(top["agency"], "a library cannot declare an agency")
            else:
                self.agency_nodes.append(top["agency"])
        if "include" in top:
            if library is None:
                self.include_nodes.append(top["include"])
            for lib in self.r.choices(top["include"], "include", LIBRARIES) or ():
                if lib not in self.includes:
                    self.includes.append(lib)

    def _collect(self, top: dict[str, Node], library: str | None) -> None:
        if "reference" in top:
            ref = self.r.mapping(top["reference"], "reference", optional=REFERENCE_KEYS) or {}
            for key, node in ref.items():
                if node.kind != "map":
                    self.r.error(node, f"reference {key} must be a mapping of id to details")
                    continue
                for key_node, value in node.entries.values():
                    self.sections[key].append((key_node, value, library))
        for section, kind in (
            ("guards", "guard"),
            ("participation", "participation"),
            ("release", "release"),
        ):
            if section in top:
                for item in self.r.seq(top[section], section):
                    self.rule_nodes[kind].append((item, library))

    def require_baseline(self) -> None:
        """An agency policy that does not include the baseline is an error, never a silent gap."""
        if "baseline" in self.includes or self.broken_file:
            return
        if self.include_nodes:
            where = self.include_nodes[0]
            self.r.error(
                where,
                "the policy does not include the baseline guards",
                "write 'include: [baseline]'; protected persons, capital charges, INTERPOL "
                "Art. 3, review dates and competence always apply",
            )
            return
        target = self.agency_nodes[0] if self.agency_nodes else None
        file = target.file if target else (self.agency_files or ["<policy>"])[0]
        line = max(1, target.line - 1) if target else 1
        self.r.problems.append(
            Problem(
                file,
                line,
                1,
                "the policy does not include the baseline guards",
                "add the line 'include: [baseline]'; protected persons, capital charges, "
                "INTERPOL Art. 3, review dates and competence always apply",
            )
        )

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
        check_baseline(self.r, guards, participation + release)
        if self.r.problems or agency is None:
            raise PolicyError(sorted(self.r.problems, key=lambda p: (p.file, p.line, p.column)))
        return Policy(
            agency,
            instruments,
            counterparts,
            assurances,
            species,
            tuple(guards),
            tuple(participation),
            tuple(release),
            tuple(self.includes),
            tuple(self.files),
        )
