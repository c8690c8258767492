# ruff: noqa: RUF001 - names and legal forms are written in their own scripts
"""Synthetic but realistic records for demos, tests and benchmarks.

Names are written the way each agency writes them (Vietnamese with diacritics,
Chinese characters, Cyrillic, Arabic, Thai, Portuguese), identifiers carry
valid check digits (ISO 6346 containers, IMO numbers, IATA air waybills),
ports are UN/LOCODEs on real trafficking routes, species are the ones seized.
Nothing here describes a real person: names are common given and family names
combined at random, numbers are random.

:func:`rows` yields flat rows (text cells, lists joined with ``;``) that every
import format accepts; :func:`write` writes them as CSV, JSON Lines or XLSX;
:func:`restyle` writes the same facts the way another agency would.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from anyascii import anyascii
from stdnum import imo, iso6346

from node.records.model import ALL_COLUMNS

# nationality: (family names, given names, phone national formats, passport prefix)
_PEOPLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "KEN": (
        (
            "Kamau",
            "Mwangi",
            "Otieno",
            "Odhiambo",
            "Kiprono",
            "Wanjiru",
            "Mutua",
            "Omondi",
            "Abdalla",
            "Njoroge",
            "Chebet",
            "Kariuki",
        ),
        (
            "John",
            "Grace",
            "Peter",
            "Mercy",
            "Hassan",
            "Joseph",
            "Faith",
            "Daniel",
            "Amina",
            "Samuel",
            "Esther",
            "Omar",
        ),
    ),
    "VNM": (
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"),
        (
            "Văn Hùng",
            "Thị Lan",
            "Minh Tuấn",
            "Văn Nam",
            "Thị Hoa",
            "Đức Anh",
            "Quốc Bảo",
            "Thị Mai",
            "Hữu Phước",
            "Văn Thắng",
        ),
    ),
    "CHN": (
        ("陈", "王", "李", "张", "刘", "杨", "黄", "赵", "吴", "周"),
        ("明华", "伟", "娜", "强", "洋", "静", "军", "丽", "建国", "海燕"),
    ),
    "MOZ": (
        (
            "Tembe",
            "Macuácua",
            "Chissano",
            "Sitoe",
            "Mondlane",
            "Cossa",
            "Nhantumbo",
            "Mabunda",
            "Langa",
            "Machava",
        ),
        (
            "João Manuel",
            "Maria da Conceição",
            "Armando",
            "Célia",
            "Fernando",
            "Ana Paula",
            "Alberto",
            "Graça",
            "Tomás",
            "Inês",
        ),
    ),
    "RUS": (
        (
            "Иванов",
            "Смирнов",
            "Кузнецов",
            "Попов",
            "Соколов",
            "Лебедев",
            "Козлов",
            "Новиков",
            "Морозов",
            "Волков",
        ),
        (
            "Сергей",
            "Алексей",
            "Дмитрий",
            "Андрей",
            "Михаил",
            "Николай",
            "Игорь",
            "Олег",
            "Владимир",
            "Павел",
        ),
    ),
    "ARE": (
        ("الحسن", "علي", "محمود", "إبراهيم", "الشامسي", "المنصوري", "يوسف", "عثمان"),
        ("محمد", "أحمد", "خالد", "عمر", "سعيد", "حمد", "عبد الله", "يوسف"),
    ),
    "THA": (
        ("ใจดี", "ศรีสุข", "วงศ์ใหญ่", "สุขสันต์", "ทองดี", "แก้วมณี", "บุญมา", "พรหมมา"),
        ("สมชาย", "สมศักดิ์", "ประเสริฐ", "วิชัย", "สุชาติ", "อำนาจ", "ธนพล", "กิตติ"),
    ),
}
# Family name first in these scripts, as their own documents write it.
_FAMILY_FIRST = frozenset({"VNM", "CHN"})
_ALPHA2 = {
    "KEN": "KE",
    "VNM": "VN",
    "CHN": "CN",
    "MOZ": "MZ",
    "RUS": "RU",
    "ARE": "AE",
    "THA": "TH",
}
# Mobile numbers in national format: (prefix, remaining digits).
_MOBILE = {
    "KE": ("07", 8),
    "VN": ("091", 7),
    "CN": ("13", 9),
    "MZ": ("84", 7),
    "RU": ("8916", 7),
    "AE": ("050", 7),
    "TH": ("081", 7),
}
_CALLING = {"KE": "254", "VN": "84", "CN": "86", "MZ": "258", "RU": "7", "AE": "971", "TH": "66"}
_PASSPORT = {
    "KEN": ("AK", 7),
    "VNM": ("C", 7),
    "CHN": ("E", 8),
    "MOZ": ("13AB", 5),
    "RUS": ("72", 7),
    "ARE": ("P", 7),
    "THA": ("AA", 7),
}
_CATEGORIES = ("suspect",) * 6 + (
    "accused",
    "convicted",
    "associate",
    "associate",
    "witness",
    "victim",
    "informant",
)
_OFFENCES = (
    "wildlife_trafficking",
    "smuggling",
    "money_laundering",
    "customs_fraud",
    "document_fraud",
    "corruption",
    "poaching",
)

_COMPANIES = {
    "MZ": (
        ("Tembe", "Maputo Export", "Sitoe & Filhos", "Índico Comercial"),
        ("Lda", "Limitada", "SA"),
    ),
    "VN": (
        (
            "Công ty TNHH Hải Phòng Logistics",
            "Công ty Cổ phần Sao Mai",
            "Công ty TNHH Thương mại Bình Minh",
        ),
        ("",),
    ),
    "CN": (("华强贸易", "海丰国际物流", "东方远洋"), ("有限公司", "股份有限公司")),
    "KE": (
        ("Mombasa Freight Forwarders", "Kilindini Traders", "Savanna Logistics"),
        ("Ltd", "Limited"),
    ),
    "RU": (("ООО «Восток Импорт»", "АО «Дальтранс»"), ("",)),
    "AE": (("Al Noor General Trading", "Gulf Star Shipping"), ("LLC", "FZE")),
    "TH": (("บริษัท สยามเทรดดิ้ง", "บริษัท อันดามัน ขนส่ง"), ("จำกัด",)),
}
_PORTS = {
    "KE": ("KEMBA", "KENBO"),
    "TZ": ("TZDAR", "TZZNZ"),
    "MZ": ("MZMPM", "MZBEW", "MZPOL"),
    "NG": ("NGLOS", "NGAPP"),
    "VN": ("VNHPH", "VNSGN", "VNDAD"),
    "CN": ("CNSHA", "CNSZX", "CNXMN"),
    "HK": ("HKHKG",),
    "MY": ("MYPKG",),
    "TH": ("THBKK", "THLCH"),
    "AE": ("AEJEA",),
    "SG": ("SGSIN",),
    "LA": ("LAVTE",),
}
_ROUTES = (
    ("MZ", "AE", "VN"),
    ("KE", "MY", "VN"),
    ("TZ", "SG", "CN"),
    ("NG", "MY", "CN"),
    ("MZ", "HK"),
    ("KE", "TH", "LA"),
    ("NG", "VN"),
    ("MZ", "SG", "CN"),
)
_SPECIES = (
    ("Loxodonta africana", "kg ivory"),
    ("Diceros bicornis", "kg horn"),
    ("Ceratotherium simum", "kg horn"),
    ("Manis spp.", "kg scales"),
    ("Smutsia gigantea", "kg scales"),
    ("Panthera leo", "kg bones"),
    ("Dalbergia melanoxylon", "m3 timber"),
    ("Pterocarpus tinctorius", "m3 timber"),
)
_CARRIERS = ("MSCU", "MAEU", "CMAU", "HLCU", "COSU", "EGLU", "ONEU", "ZIMU", "PILU", "OOLU")
_SCAC = ("MEDU", "MAEU", "CMDU", "HLCU", "COSU", "EGLV", "ONEY", "ZIMU")
_AIRLINES = ("176", "157", "071", "618", "180", "784", "738", "217")


def _date(rng: random.Random, first: int, last: int) -> str:
    return f"{rng.randrange(first, last)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10**n)).zfill(n)


def container_number(rng: random.Random) -> str:
    """A random ISO 6346 container number with a valid check digit."""
    body = rng.choice(_CARRIERS) + _digits(rng, 6)
    return body + iso6346.calc_check_digit(body)


def imo_number(rng: random.Random) -> str:
    """A random IMO vessel number with a valid check digit."""
    body = str(rng.randrange(9_000_000, 9_999_999) // 10)
    return body + imo.calc_check_digit(body)


def air_waybill(rng: random.Random) -> str:
    """A random air waybill (airline prefix, serial, mod-7 check digit)."""
    serial = _digits(rng, 7)
    return f"{rng.choice(_AIRLINES)}-{serial}{int(serial) % 7}"


def phone_number(rng: random.Random, country: str, style: int) -> str:
    """A mobile number of ``country`` written in one of several ways agencies use."""
    prefix, rest = _MOBILE[country]
    national = prefix + _digits(rng, rest)
    intl = _CALLING[country] + national.lstrip("0")
    if country == "RU":
        intl = "7" + national[1:]
    if style == 0:
        return national
    if style == 1:
        return f"+{intl}"
    return (
        f"+{intl[: len(_CALLING[country])]} {intl[len(_CALLING[country]) :][:2]} "
        + f"{intl[len(_CALLING[country]) + 2 :]}"
    )


def person_name(rng: random.Random, nationality: str) -> str:
    """A plausible name in the script and order the nationality's own records use."""
    families, givens = _PEOPLE[nationality]
    family, given = rng.choice(families), rng.choice(givens)
    if nationality == "CHN":
        return family + given
    if nationality in _FAMILY_FIRST:
        return f"{family} {given}"
    return f"{given} {family}"


def _person(rng: random.Random, rid: str, agency_country: str) -> dict[str, str]:
    nat = rng.choice(tuple(_PEOPLE))
    a2 = _ALPHA2[nat]
    prefix, n = _PASSPORT[nat]
    dob = f"{rng.randrange(1950, 2003)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    row = {
        "kind": "person",
        "subject_category": rng.choice(_CATEGORIES),
        "names": person_name(rng, nat),
        "date_of_birth": dob if rng.random() < 0.85 else dob[:4],
        "nationality": nat,
        "documents": f"passport:{nat}:{prefix}{_digits(rng, n)}" if rng.random() < 0.7 else "",
        "phones": phone_number(rng, a2, rng.randrange(3)) if rng.random() < 0.6 else "",
        "country": a2,
        "offence_classes": rng.choice(_OFFENCES),
    }
    return row


def _organisation(rng: random.Random, rid: str, agency_country: str) -> dict[str, str]:
    country = rng.choice(tuple(_COMPANIES))
    bases, forms = _COMPANIES[country]
    name = f"{rng.choice(bases)} {rng.choice(forms)}".strip()
    return {
        "kind": "organisation",
        "org_name": name,
        "org_country": country,
        "registration_numbers": f"{country}-{_digits(rng, 8)}",
        "phones": phone_number(rng, country, 1) if country in _MOBILE else "",
        "offence_classes": "wildlife_trafficking",
    }


def _shipment(rng: random.Random, rid: str, agency_country: str) -> dict[str, str]:
    route = [rng.choice(_PORTS[c]) for c in rng.choice(_ROUTES)]
    species, unit = rng.choice(_SPECIES)
    origin, dest = route[0][:2], route[-1][:2]
    consignor = (
        f"{rng.choice(_COMPANIES[origin][0])} {rng.choice(_COMPANIES[origin][1])}".strip()
        if origin in _COMPANIES
        else ""
    )
    consignee = (
        f"{rng.choice(_COMPANIES[dest][0])} {rng.choice(_COMPANIES[dest][1])}".strip()
        if dest in _COMPANIES
        else ""
    )
    by_air = rng.random() < 0.2
    return {
        "kind": "shipment",
        "containers": "" if by_air else container_number(rng),
        "bills_of_lading": "" if by_air else rng.choice(_SCAC) + _digits(rng, 9),
        "air_waybills": air_waybill(rng) if by_air else "",
        "vessel_imo": "" if by_air else imo_number(rng),
        "cites_permits": f"{rng.randrange(18, 27)}{origin}{_digits(rng, 6)}"
        if rng.random() < 0.3
        else "",
        "consignor": consignor,
        "consignee": consignee,
        "route": "; ".join(route),
        "species": species,
        "quantity": f"{rng.randrange(5, 900)} {unit}",
        "seizure_date": _date(rng, 2019, 2026),
        "seizure_place": route[-1],
        "offence_classes": "wildlife_trafficking;smuggling",
    }


_MAKERS = (
    ("person", _person, 0.5),
    ("organisation", _organisation, 0.15),
    ("shipment", _shipment, 0.35),
)


def rows(
    n: int, seed: int = 0, agency: str = "KWS", country: str = "KE", start: int = 1
) -> Iterator[dict[str, str]]:
    """``n`` synthetic rows for an agency, reproducible from ``seed``."""
    rng = random.Random(seed)
    for i in range(start, start + n):
        pick = rng.random()
        acc = 0.0
        kind, make = _MAKERS[-1][:2]
        for kind, make, share in _MAKERS:  # noqa: B007 - the loop picks (kind, make)
            acc += share
            if pick < acc:
                break
        rid = f"{agency}-{kind[0].upper()}-{i:07d}"
        row = make(rng, rid, country)
        row.update(
            {
                "record_id": rid,
                "case_reference": f"{agency}/CR/{2020 + i % 6}/{i % 9973:04d}",
                "source": agency,
                "review_date": f"{2027 + i % 4}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "handling_restrictions": "H2" if i % 17 == 0 else "",
            }
        )
        yield {k: v for k, v in row.items() if v}


def restyle(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """The same facts written the way a foreign agency would: Latin capitals, other formats."""
    out = dict(row)
    if out.get("names"):
        words = anyascii(out["names"]).upper().split()
        out["names"] = " ".join(words[::-1] if rng.random() < 0.5 else words)
    if out.get("containers"):
        c = out["containers"]
        out["containers"] = f"{c[:4]} {c[4:10]}-{c[10:]}"
    if out.get("phones") and out.get("country"):
        out["phones"] = out["phones"].replace(" ", "")
    for key in ("org_name", "consignor", "consignee"):
        if out.get(key):
            out[key] = out[key].upper().replace(" LDA", ", LDA.").replace(" LTD", " LIMITED")
    return out


def write(path: Path, items: Iterable[dict[str, Any]], fmt: str | None = None) -> int:
    """Write rows as CSV, JSON Lines or XLSX (by ``fmt`` or the extension); the row count."""
    kind = fmt or path.suffix.lower().lstrip(".")
    count = 0
    if kind == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for row in items:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        return count
    if kind == "xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("records")
        sheet.append(list(ALL_COLUMNS))
        for row in items:
            sheet.append([row.get(c, "") for c in ALL_COLUMNS])
            count += 1
        book.save(path)
        return count
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ALL_COLUMNS))
        writer.writeheader()
        for row in items:
            writer.writerow(row)
            count += 1
    return count
