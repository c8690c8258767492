# ruff: noqa: RUF001 - names are written in their own scripts
"""The published test vectors of key scheme 2: record rows in, key strings out.

    .venv/bin/python -m spoor_dev.key_vectors            # rewrite docs/match-keys-v2-vectors.json
    .venv/bin/python -m spoor_dev.key_vectors --check    # exit 1 if the file is stale

Each vector names the rule it shows, the row (import columns) and the
matchable and low-entropy keys of scheme 2, with the agency country used as
the default phone region. tests/records/test_key_vectors.py derives every
vector again and compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from node.records.keys import KEY_SCHEME_VERSION, SCHEME_LIBRARIES, derive_keys
from node.records.parse import parse_row

PATH = Path(__file__).resolve().parent.parent / "docs" / "match-keys-v2-vectors.json"
_BASE = {"record_id": "V-1", "review_date": "2030-12-31", "source": "vectors"}
_PERSON = {"kind": "person", "subject_category": "suspect"}
D = "1979-03-02"


def _p(rule: str, names: str, **more: str) -> dict[str, Any]:
    return {"rule": rule, "row": {**_PERSON, "names": names, "date_of_birth": D, **more}}


def _o(rule: str, org_name: str, country: str = "MZ") -> dict[str, Any]:
    return {
        "rule": rule,
        "row": {"kind": "organisation", "org_name": org_name, "org_country": country},
    }


def _s(rule: str, **cols: str) -> dict[str, Any]:
    return {"rule": rule, "row": {"kind": "shipment", **cols}}


CASES: list[dict[str, Any]] = [
    _p("vietnamese: diacritics folded, words sorted", "Nguyễn Văn Hùng"),
    _p("vietnamese: given name first", "Hung Nguyen Van"),
    _p("vietnamese: family name Lê kept", "Lê Văn Hùng"),
    _p("vietnamese: family name Le kept (van + family name)", "Hung Le Van"),
    _p("vietnamese: family name Đỗ kept", "Đỗ Văn Khánh"),
    _p("vietnamese: family name Do kept, capitals", "KHANH DO VAN"),
    _p("vietnamese: family name La kept by nationality", "Hoa La", nationality="VNM"),
    _p("vietnamese: honorific Ông dropped", "Ông Lê Quốc Bảo"),
    _p("vietnamese: Thị omitted on one side (variant)", "Trần Thị Mai"),
    _p("chinese: characters as pinyin syllables, no skeleton", "王伟"),
    _p("chinese: pinyin in Latin letters", "Wang Wei"),
    _p("chinese: glued pinyin split into syllables", "Chen Minghua"),
    _p("chinese: honorific 先生 dropped", "陈明华先生"),
    _p("thai: script, silent consonant dropped", "สมศักดิ์ ใจดี"),
    _p("thai: honorific นาย dropped", "นายสมชาย ใจดี"),
    _p("thai: Latin spelling", "Somchai Jaidee"),
    _p("arabic: script, article glued, final h dropped", "عبد الله الحسن"),
    _p("arabic: Abdullah in Latin letters", "Abdullah Al Hassan"),
    _p("arabic: Mohammed", "محمد علي"),
    _p("arabic: Muhammad", "MUHAMMAD ALI"),
    _p("arabic: bin dropped before a word", "Salim bin Ali", nationality="ARE"),
    _p("cyrillic: romanized by anyascii", "Иванов Сергей"),
    _p("cyrillic: patronymic variant", "Иванов Сергей Петрович"),
    _p("cyrillic: Latin spelling", "Sergei Ivanov"),
    _p("portuguese: particle da dropped", "Maria da Conceição Tembe"),
    _p("portuguese: particle e dropped", "João Silva e Santos", nationality="BRA"),
    _p(
        "french: particle de dropped, apostrophe joins",
        "Jean-Pierre de l'Estang",
        nationality="FRA",
    ),
    _p("french: Le kept as the last word", "Martin Le"),
    _p("swahili: wa dropped before a word", "Kamau wa Njoroge", nationality="KEN"),
    _p("swahili: plain name", "Mwanaisha Juma Hamisi"),
    _p("latin honorific dropped", "Dr. Peter Otieno"),
    _p("short skeleton not keyed", "Ali Omar"),
    {
        "rule": "year of birth only: low entropy",
        "row": {**_PERSON, "names": "Trần Thị Mai", "year_of_birth": "1990"},
    },
    {
        "rule": "phone 00 prefix with no country",
        "row": {**_PERSON, "names": "Ana Lima", "phones": "0084 91 234 5678"},
    },
    {
        "rule": "phone local, read in nationality",
        "row": {**_PERSON, "names": "Ana Lima", "nationality": "MOZ", "phones": "84 123 4567"},
    },
    {
        "rule": "phone local, read in the agency country",
        "row": {**_PERSON, "names": "Ana Lima", "phones": "0712 345678"},
    },
    {
        "rule": "passport: alpha-2 issuer, spaces",
        "row": {**_PERSON, "names": "Pham Thi Mai", "documents": "passport:VN:C 765 4321"},
    },
    {
        "rule": "email: gmail dots and tag",
        "row": {**_PERSON, "names": "Ana Lima", "emails": "Ana.Lima+x@GoogleMail.com"},
    },
    _o("company: Lda dropped", "TEMBE TRADING, LDA."),
    _o("company: & is and", "Tembe & Filhos Lda"),
    _o("company: e is and (Portuguese)", "Tembe e Filhos Limitada"),
    _o("company: et is and (French)", "Dupont et Fils SARL", "FR"),
    _o("company: y is and (Spanish)", "Garcia y Hermanos S.L.", "ES"),
    _o("company: und is and (German)", "Schmidt und Sohn GmbH", "DE"),
    _o("company: cleanco term (Finnish Oy)", "Nordic Timber Oy", "FI"),
    _o("company: Vietnamese legal form", "Công ty TNHH Hải Phòng Logistics", "VN"),
    _o("company: Chinese legal form", "华强贸易有限公司", "CN"),
    _o("company: Chinese in pinyin", "Huaqiang Maoyi Co., Ltd.", "CN"),
    _o("company: Thai legal form", "บริษัท สยามเทรด จำกัด", "TH"),
    _o("company: Russian legal form", "ООО Тайга", "RU"),
    _s("container: separators removed, check digit", containers="MSCU 123456-6"),
    _s("container: bad check digit refused", containers="MSCU1234565"),
    _s("air waybill: mod 7", air_waybills="176-12345675"),
    _s("IMO: prefix and check digit", vessel_imo="IMO 9074729"),
    _s(
        "bill of lading and CITES permit",
        bills_of_lading="MEDU-123 456 789",
        cites_permits="22/KE/000123",
    ),
    _s(
        "consignor and consignee with route countries",
        consignor="Tembe & Filhos Lda",
        consignee="Hai Phong Logistics Co., Ltd",
        route="MZMPM;VNHPH",
    ),
]
DEFAULT_REGION = "KE"


def vector(case: dict[str, Any]) -> dict[str, Any]:
    """One published vector: the rule, the row and the scheme-2 keys derived from it."""
    row = {**_BASE, **case["row"]}
    derived = derive_keys(parse_row(row), KEY_SCHEME_VERSION, default_region=DEFAULT_REGION)
    return {
        "rule": case["rule"],
        "row": case["row"],
        "matchable": derived.matchable(),
        "low_entropy": [k.value for k in derived.keys if not k.matchable],
        "refused": len(derived.problems),
    }


def document() -> dict[str, Any]:
    """The whole vectors file."""
    return {
        "scheme": KEY_SCHEME_VERSION,
        "libraries": SCHEME_LIBRARIES,
        "default_region": DEFAULT_REGION,
        "defaults": _BASE,
        "vectors": [vector(c) for c in CASES],
    }


def render() -> str:
    """The vectors file's text."""
    return json.dumps(document(), ensure_ascii=False, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        return 0 if PATH.read_text(encoding="utf-8") == text else 1
    PATH.write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} vectors to {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
