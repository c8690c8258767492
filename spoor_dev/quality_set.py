"""Generated labeled pairs that grow the project's quality set (tests/records/data).

    .venv/bin/python -m spoor_dev.quality_set    # writes labeled_pairs_generated.jsonl

The pairs (ids ``g-…``) are appended to ``labeled_pairs.jsonl`` after review.

Names come from :mod:`spoor_dev.population` (realistic frequencies), written by
a second agency the way registers differ: Latin letters for a native script,
capitals, family name last, diacritics dropped, a particle or patronymic or
Văn/Thị left out. Hard negatives are the same name with a date of birth one
day off, a phone one digit off, or the same company in another country.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from anyascii import anyascii

from spoor_dev import generate, population

PATH = Path(__file__).resolve().parent.parent / "tests" / "records" / "data"
OUT = PATH / "labeled_pairs_generated.jsonl"
_SCRIPT = {
    "VNM": "latin-vi",
    "CHN": "han",
    "EGY": "arabic",
    "RUS": "cyrillic",
    "BRA": "latin-pt",
    "FRA": "latin-fr",
    "KEN": "swahili",
    "THA": "thai",
}
_COMPANIES = ("Tembe", "Hai Phong", "Savanna", "Mekong", "Zambezi", "Nile", "Taiga", "Siam")
_GOODS = ("Trading", "Logistics", "Exports", "Freight", "Timber", "Marine")
_FORMS = (("Lda", "Limitada"), ("Co., Ltd", "Company Limited"), ("LLC", "L.L.C."), ("S.A.", "SA"))


def _person(name: str, dob: str) -> dict[str, str]:
    return {"kind": "person", "names": name, "date_of_birth": dob}


def _restyle(name: str, nat: str, rng: random.Random) -> str:
    latin = anyascii(name)
    words = latin.split()
    if nat == "RUS" and len(words) == 3 and rng.random() < 0.5:
        words = words[:2]  # patronymic left out
    if nat == "BRA":
        words = [w for w in words if w.lower() not in ("da", "dos", "de")]
    if nat == "VNM" and rng.random() < 0.3:
        words = [w for w in words if w.lower() not in ("van", "thi")]
    if len(words) > 1 and rng.random() < 0.5:
        words = [*words[1:], words[0]]
    out = " ".join(words)
    return out.upper() if rng.random() < 0.5 else out


def _people(rng: random.Random, per: int) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = []
    people = list(population.population(per, seed=rng.randrange(1 << 30)))
    for i, p in enumerate(people):
        script = _SCRIPT[p.nationality]
        if p.nationality in ("EGY", "THA"):
            # Script-to-Latin for these needs the skeleton; Latin-to-Latin is exact.
            b_name = anyascii(p.name) if rng.random() < 0.5 else p.name
        else:
            b_name = _restyle(p.name, p.nationality, rng)
        pid = f"g-{p.nationality.lower()}-{i:03d}"
        pairs.append(
            {
                "id": pid,
                "label": "same",
                "script": script,
                "note": "generated restyle",
                "a": _person(p.name, p.dob),
                "b": _person(b_name, p.dob),
            }
        )
        if i % 4 == 0:
            day = dt.date.fromisoformat(p.dob)
            near = (day + dt.timedelta(days=1)).isoformat()
            other = (day + dt.timedelta(days=2)).isoformat()
            pairs.append(
                {
                    "id": f"{pid}-neg",
                    "label": "different",
                    "script": script,
                    "note": "same name, date of birth one day off",
                    "a": _person(p.name, near),
                    "b": _person(p.name, other),
                }
            )
    return pairs


def _companies(rng: random.Random, n: int) -> list[dict[str, Any]]:
    pairs = []
    for i in range(n):
        base = f"{rng.choice(_COMPANIES)} {rng.choice(_GOODS)}"
        partner = rng.choice(("Filhos", "Sons", "Fils", "Hermanos"))
        a_form, b_form = rng.choice(_FORMS)
        joiner_a, joiner_b = rng.choice((("&", "and"), ("&", "e"), ("and", "et"), ("&", "y")))
        country = rng.choice(("MZ", "VN", "KE", "TH", "AE"))
        a = {
            "kind": "organisation",
            "org_name": f"{base} {joiner_a} {partner} {a_form}",
            "org_country": country,
        }
        b = {
            "kind": "organisation",
            "org_name": f"{base.upper()} {joiner_b.upper()} {partner.upper()} {b_form}",
            "org_country": country,
        }
        pairs.append(
            {
                "id": f"g-org-{i:03d}",
                "label": "same",
                "script": "org",
                "note": "connective and legal form",
                "a": a,
                "b": b,
            }
        )
        if i % 3 == 0:
            other = {**b, "org_country": "ZA"}
            a = {**a, "org_country": "TZ"}
            pairs.append(
                {
                    "id": f"g-org-{i:03d}-neg",
                    "label": "different",
                    "script": "org",
                    "note": "same company name, another country",
                    "a": a,
                    "b": other,
                }
            )
    return pairs


def _shipments(rng: random.Random, n: int) -> list[dict[str, Any]]:
    pairs = []
    for i in range(n):
        c = generate.container_number(rng)
        awb = generate.air_waybill(rng)
        spaced = f"{c[:4]} {c[4:10]}-{c[10]}"
        a = {"kind": "shipment", "containers": c}
        b = {"kind": "shipment", "containers": spaced.lower()}
        if i % 2:
            a, b = (
                {"kind": "shipment", "air_waybills": awb},
                {"kind": "shipment", "air_waybills": f"{awb[:3]}-{awb[3:]}"},
            )
        pairs.append(
            {
                "id": f"g-ship-{i:03d}",
                "label": "same",
                "script": "shipment",
                "note": "identifier spacing",
                "a": a,
                "b": b,
            }
        )
        if i % 3 == 0:
            other = generate.container_number(rng)
            pairs.append(
                {
                    "id": f"g-ship-{i:03d}-neg",
                    "label": "different",
                    "script": "shipment",
                    "note": "another container",
                    "a": {"kind": "shipment", "containers": generate.container_number(rng)},
                    "b": {"kind": "shipment", "containers": other},
                }
            )
    return pairs


def pairs(seed: int = 16) -> list[dict[str, Any]]:
    """Every generated pair, deterministic for ``seed``."""
    rng = random.Random(seed)
    return [*_people(rng, 20), *_companies(rng, 30), *_shipments(rng, 20)]


def main() -> None:
    got = pairs()
    with OUT.open("w", encoding="utf-8") as fh:
        for p in got:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    print(f"wrote {len(got)} pairs to {OUT}")


if __name__ == "__main__":
    main()
