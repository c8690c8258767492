# ruff: noqa: RUF001 - names are written in their own scripts
"""A large synthetic population with realistic name frequencies, for key collision rates.

Each nationality draws family and given names from weighted lists: the shares
of the commonest family names follow published figures (Nguyễn ≈ 38 % of
Vietnamese, 王 / 李 / 张 ≈ 7 % each of Chinese, Silva ≈ 10 % of Brazilians,
Mohamed as the commonest Arabic given name), the rest of each list follows a
Zipf curve. The lists are shorter than real name inventories, so collision
rates measured here are an upper bound. Dates of birth are uniform over
1950-2004.

:func:`collision_rates` derives the scheme-2 person keys of every synthetic
person and reports, per key type, the share of persons whose key is also the
key of another person: the chance that an unrelated record hits.

    .venv/bin/python -m spoor_dev.population [--per-nationality 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.records.normalize import names_v2

Weighted = tuple[Sequence[str], Sequence[float]]


def _zipf(items: Sequence[str], head: Sequence[float] = ()) -> Weighted:
    """Weights: the given head shares, then a Zipf tail sharing what remains."""
    rest = len(items) - len(head)
    tail_total = max(0.0, 100.0 - sum(head))
    harmonic = sum(1 / (i + 1) for i in range(rest)) or 1.0
    tail = [tail_total / harmonic / (i + 1) for i in range(rest)]
    return items, [*head, *tail]


_DATA = json.loads((Path(__file__).with_name("population_names.json")).read_text(encoding="utf-8"))


def _table(key: str) -> Weighted:
    entry = _DATA["tables"][key]
    return _zipf(entry["names"], entry.get("head_shares_percent", ()))


_VN_FAMILY = _table("vn_family")
_VN_MIDDLE_M = _table("vn_middle_m")
_VN_MIDDLE_F = _table("vn_middle_f")
_VN_GIVEN_M = _table("vn_given_m")
_VN_GIVEN_F = _table("vn_given_f")
_CN_FAMILY = _table("cn_family")
_CN_GIVEN_1 = _table("cn_given_1")
_CN_GIVEN_2 = _table("cn_given_2")
_AR_GIVEN_M = _table("ar_given_m")
_AR_GIVEN_F = _table("ar_given_f")
_AR_FAMILY = _table("ar_family")
_RU_FAMILY = _table("ru_family")
_RU_GIVEN_M = _table("ru_given_m")
_RU_GIVEN_F = _table("ru_given_f")
_PT_GIVEN = _table("pt_given")
_PT_FAMILY = _table("pt_family")
_FR_GIVEN = _table("fr_given")
_FR_FAMILY = _table("fr_family")
_SW_GIVEN = _table("sw_given")
_SW_FAMILY = _table("sw_family")
_TH_SYLLABLES: list[str] = _DATA["tables"]["th_syllables"]["names"]
_TH_GIVEN = _table("th_given")


def _pick(rng: random.Random, table: Weighted) -> str:
    return rng.choices(table[0], weights=table[1])[0]


def _vietnamese(rng: random.Random) -> str:
    female = rng.random() < 0.5
    middle = _pick(rng, _VN_MIDDLE_F if female else _VN_MIDDLE_M)
    given = _pick(rng, _VN_GIVEN_F if female else _VN_GIVEN_M)
    return f"{_pick(rng, _VN_FAMILY)} {middle} {given}"


def _chinese(rng: random.Random) -> str:
    family = _pick(rng, _CN_FAMILY)
    if rng.random() < 0.3:
        return family + _pick(rng, _CN_GIVEN_1)
    return family + _pick(rng, _CN_GIVEN_2) + _pick(rng, _CN_GIVEN_1)


def _arabic(rng: random.Random) -> str:
    given = _pick(rng, _AR_GIVEN_F if rng.random() < 0.5 else _AR_GIVEN_M)
    return f"{given} {_pick(rng, _AR_GIVEN_M)} {_pick(rng, _AR_FAMILY)}"


def _russian(rng: random.Random) -> str:
    female = rng.random() < 0.5
    family = _pick(rng, _RU_FAMILY) + ("а" if female else "")
    father = _pick(rng, _RU_GIVEN_M).rstrip("йь")
    patronymic = father + ("овна" if female else "ович")
    return f"{family} {_pick(rng, _RU_GIVEN_F if female else _RU_GIVEN_M)} {patronymic}"


def _portuguese(rng: random.Random) -> str:
    given = _pick(rng, _PT_GIVEN)
    if rng.random() < 0.4:
        given += " " + _pick(rng, _PT_GIVEN)
    particle = rng.choice(("", "", "da ", "dos ", "de "))
    return f"{given} {particle}{_pick(rng, _PT_FAMILY)} {_pick(rng, _PT_FAMILY)}"


def _french(rng: random.Random) -> str:
    return f"{_pick(rng, _FR_GIVEN)} {_pick(rng, _FR_FAMILY)}"


def _swahili(rng: random.Random) -> str:
    return f"{_pick(rng, _SW_GIVEN)} {_pick(rng, _SW_GIVEN)} {_pick(rng, _SW_FAMILY)}"


def _thai(rng: random.Random) -> str:
    family = "".join(rng.choice(_TH_SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4))))
    return f"{_pick(rng, _TH_GIVEN)} {family.capitalize()}"


NATIONALITIES = {
    "VNM": _vietnamese,
    "CHN": _chinese,
    "EGY": _arabic,
    "RUS": _russian,
    "BRA": _portuguese,
    "FRA": _french,
    "KEN": _swahili,
    "THA": _thai,
}
_FIRST_DAY = dt.date(1950, 1, 1)
_DAYS = (dt.date(2004, 12, 31) - _FIRST_DAY).days + 1


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic person: nationality, name as written and date of birth."""

    nationality: str
    name: str
    dob: str


def population(per_nationality: int, seed: int = 16) -> Iterator[Person]:
    """``per_nationality`` synthetic persons of each nationality."""
    rng = random.Random(seed)
    for nat, make in NATIONALITIES.items():
        for _ in range(per_nationality):
            day = _FIRST_DAY + dt.timedelta(days=rng.randrange(_DAYS))
            yield Person(nat, make(rng), day.isoformat())


def person_keys(p: Person, *, with_nationality: bool) -> dict[str, set[str]]:
    """Scheme-2 person keys of one synthetic person, by key type, without thresholds."""
    nat = p.nationality if with_nationality else None
    forms = names_v2.name_forms(p.name, nat)
    words = names_v2.name_words(p.name, nat)
    out: dict[str, set[str]] = defaultdict(set)
    for name, _ in forms:
        out["name_dob"].add(f"{name}|{p.dob}")
    raw = names_v2.skeleton_of(words, min_letters=0)
    out[f"skeleton_len_{min(len(raw.replace(' ', '')), 9)}"].add(f"{raw}|{p.dob}")
    for _, keyed in forms:
        if keyed:
            out["name_skeleton_dob"].add(f"{keyed}|{p.dob}")
    out["name_yob"].add(f"{forms[0][0]}|{p.dob[:4]}")
    return out


def collision_rates(
    per_nationality: int, seed: int = 16
) -> dict[str, dict[str, tuple[int, float]]]:
    """Per nationality and key type: (persons with such a key, share who share it wrongly).

    A person's key collides when another person of the population with a
    different canonical name holds the same key (for name keys: the same
    canonical name and date; namesakes born the same day cannot be told apart
    by any key and count too).
    """
    holders: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    keyed: list[tuple[str, str, dict[str, set[str]]]] = []
    for i, p in enumerate(population(per_nationality, seed)):
        keys = person_keys(p, with_nationality=False)
        who = str(i)
        keyed.append((p.nationality, who, keys))
        for key_type, values in keys.items():
            for v in values:
                holders[(p.nationality, key_type)][v].add(who)
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for nat, who, keys in keyed:
        for key_type, values in keys.items():
            cell = counts[nat][key_type]
            cell[0] += 1
            if any(holders[(nat, key_type)][v] - {who} for v in values):
                cell[1] += 1
    return {
        nat: {kt: (n, shared / n) for kt, (n, shared) in sorted(types.items())}
        for nat, types in counts.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-nationality", type=int, default=50_000)
    args = parser.parse_args()
    rates = collision_rates(args.per_nationality)
    print(f"persons per nationality: {args.per_nationality}; dates of birth 1950-2004")
    print(f"{'nationality':<12}{'key type':<18}{'persons':>9}{'collide %':>11}")
    for nat, types in rates.items():
        for key_type, (n, rate) in types.items():
            print(f"{nat:<12}{key_type:<18}{n:>9}{rate * 100:>10.3f}%")


if __name__ == "__main__":
    main()
