"""Reading reference data: instruments, species, the agency, counterparts, assurances.

Part of the policy loader. Every mistake becomes a located problem in the
shared :class:`~policy.schema.Reader`; nothing here raises.
"""

from __future__ import annotations

import pycountry

from policy import vocab
from policy.errors import Problem
from policy.model import Agency, Assurance, Counterpart, Instrument, Species
from policy.schema import Reader, origin
from policy.source import Node

COUNTRIES = tuple(sorted(c.alpha_2 for c in pycountry.countries))
REFERENCE_KEYS = ("instruments", "counterparts", "assurances", "species")


class ReferenceReader:
    """Reads the ``reference:`` sections and the ``agency:`` section of all files."""

    r: Reader
    files: list[str]
    broken_file: bool
    agency_nodes: list[Node]
    sections: dict[str, list[tuple[Node, Node, str | None]]]

    def instruments(self) -> dict[str, Instrument]:
        out: dict[str, Instrument] = {}
        seen: dict[str, Node] = {}
        for key_node, node, _ in self.sections["instruments"]:
            if not self.r.unique(seen, key_node, "instrument") or not self.r.ident(
                key_node, "an instrument id"
            ):
                continue
            m = self.r.mapping(
                node,
                f"instrument {key_node.raw}",
                ["title", "kind", "purposes"],
                ["parties", "valid_from", "expires", "reference"],
            )
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
                out[key_node.raw] = Instrument(
                    key_node.raw,
                    title,
                    kind,
                    purposes,
                    parties,
                    valid_from,
                    expires,
                    ref,
                    origin(key_node),
                )
        return out

    def species(self) -> dict[str, Species]:
        out: dict[str, Species] = {}
        seen: dict[str, Node] = {}
        for key_node, node, _ in self.sections["species"]:
            if not self.r.unique(seen, key_node, "species"):
                continue
            m = self.r.mapping(
                node, f"species {key_node.raw}", ["common_name", "appendix"], ["populations"]
            )
            if m is None or not {"common_name", "appendix"} <= set(m):
                continue
            common = self.r.text(m["common_name"], "common_name")
            appendix = self.r.choice(m["appendix"], "appendix", vocab.CITES_APPENDICES)
            pops: list[tuple[str, str]] = []
            if "populations" in m:
                pm = (
                    self.r.mapping(
                        m["populations"], "populations", optional=list(m["populations"].entries)
                    )
                    or {}
                )
                for pop, value in pm.items():
                    app = self.r.choice(
                        value, f"appendix for population {pop}", vocab.CITES_APPENDICES
                    )
                    if app:
                        pops.append((pop, app))
            if common and appendix:
                out[key_node.raw] = Species(
                    key_node.raw, common, appendix, tuple(pops), origin(key_node)
                )
        return out

    def agency(self) -> Agency | None:
        if not self.agency_nodes:
            if self.broken_file:  # the broken file may be the one that holds it
                return None
            agency_files = [f for f in self.files if not f.startswith("<baseline>")]
            self.r.problems.append(
                Problem(
                    agency_files[0] if agency_files else "<policy>",
                    1,
                    1,
                    "the policy has no 'agency:' section",
                    "say whose policy this is: id, name, country, cites_party, criminal_offences",
                )
            )
            return None
        for extra in self.agency_nodes[1:]:
            self.r.error(extra, "'agency' is declared in more than one file", "keep one")
        node = self.agency_nodes[0]
        m = self.r.mapping(
            node,
            "agency",
            ["id", "name", "country", "cites_party", "criminal_offences"],
            ["protected_species"],
        )
        if m is None or not {"id", "name", "country", "cites_party", "criminal_offences"} <= set(m):
            return None
        ident = self.r.ident(m["id"], "agency id")
        name = self.r.text(m["name"], "agency name")
        country = self.r.choice(m["country"], "country", COUNTRIES)
        cites = self.r.flag(m["cites_party"], "cites_party")
        offences = self.r.choices(
            m["criminal_offences"], "criminal_offences", vocab.OFFENCE_CLASSES
        )
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
        req = [
            "name",
            "country",
            "competent_authority",
            "competences",
            "instruments",
            "death_penalty",
        ]
        for key_node, node, _ in self.sections["counterparts"]:
            if not self.r.unique(seen, key_node, "counterpart") or not self.r.ident(
                key_node, "a counterpart id"
            ):
                continue
            m = self.r.mapping(
                node,
                f"counterpart {key_node.raw}",
                req,
                ["cites_party", "criminal_offences", "protected_species"],
            )
            if m is None or not set(req) <= set(m):
                continue
            name = self.r.text(m["name"], "name")
            country = self.r.choice(m["country"], "country", COUNTRIES)
            competent = self.r.flag(m["competent_authority"], "competent_authority")
            competences = self.r.choices(
                m["competences"], "competences", vocab.PURPOSES, empty_ok=True
            )
            insts = self.r.choices(m["instruments"], "instruments", instruments, empty_ok=True)
            dp = self.r.choices(
                m["death_penalty"], "death_penalty", vocab.OFFENCE_CLASSES, empty_ok=True
            )
            # Omitted means unknown (None), never a default that would let a request through.
            cites = self.r.flag(m["cites_party"], "cites_party") if "cites_party" in m else None
            crimes = (
                self.r.choices(
                    m["criminal_offences"],
                    "criminal_offences",
                    vocab.OFFENCE_CLASSES,
                    empty_ok=True,
                )
                if "criminal_offences" in m
                else None
            )
            protected = self._names(m.get("protected_species"), "protected_species")
            values = (name, country, competent, competences, insts, dp)
            bad = ("cites_party" in m and cites is None) or (
                "criminal_offences" in m and crimes is None
            )
            if all(v is not None for v in values) and not bad:
                out[key_node.raw] = Counterpart(
                    key_node.raw,
                    name or "",
                    country or "",
                    bool(competent),
                    competences or (),
                    insts or (),
                    dp or (),
                    cites,
                    crimes,
                    protected,
                    origin(key_node),
                )
        return out

    def assurances(self, counterparts: tuple[str, ...]) -> dict[str, Assurance]:
        out: dict[str, Assurance] = {}
        seen: dict[str, Node] = {}
        req = ["counterpart", "kind", "scope", "offence_classes", "issued"]
        for key_node, node, _ in self.sections["assurances"]:
            if not self.r.unique(seen, key_node, "assurance") or not self.r.ident(
                key_node, "an assurance id"
            ):
                continue
            m = self.r.mapping(
                node, f"assurance {key_node.raw}", req, ["expires", "case_reference", "reference"]
            )
            if m is None or not set(req) <= set(m):
                continue
            cp = self.r.choice(m["counterpart"], "counterpart", counterparts)
            kind = self.r.choice(m["kind"], "kind", vocab.ASSURANCE_KINDS)
            scope = self.r.choices(m["scope"], "scope", vocab.ASSURANCE_SCOPES)
            offences = self.r.choices(
                m["offence_classes"], "offence_classes", vocab.OFFENCE_CLASSES
            )
            issued = self.r.day(m["issued"], "issued")
            expires = self.r.day(m["expires"], "expires") if "expires" in m else None
            case = (
                self.r.text(m["case_reference"], "case_reference")
                if ("case_reference" in m)
                else None
            )
            ref = self.r.text(m["reference"], "reference") if "reference" in m else None
            if cp and kind and scope and offences and issued:
                out[key_node.raw] = Assurance(
                    key_node.raw,
                    cp,
                    kind,
                    scope,
                    offences,
                    issued,
                    expires,
                    case,
                    ref,
                    origin(key_node),
                )
        return out

    # -- rules ------------------------------------------------------------------
