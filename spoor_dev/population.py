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
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from node.records.normalize import names_v2

Weighted = tuple[Sequence[str], Sequence[float]]


def _zipf(items: Sequence[str], head: Sequence[float] = ()) -> Weighted:
    """Weights: the given head shares, then a Zipf tail sharing what remains."""
    rest = len(items) - len(head)
    tail_total = max(0.0, 100.0 - sum(head))
    harmonic = sum(1 / (i + 1) for i in range(rest)) or 1.0
    tail = [tail_total / harmonic / (i + 1) for i in range(rest)]
    return items, [*head, *tail]


_VN_FAMILY = _zipf(
    [
        "Nguyễn",
        "Trần",
        "Lê",
        "Phạm",
        "Hoàng",
        "Huỳnh",
        "Phan",
        "Vũ",
        "Võ",
        "Đặng",
        "Bùi",
        "Đỗ",
        "Hồ",
        "Ngô",
        "Dương",
        "Lý",
        "Đinh",
        "Trương",
        "Lâm",
        "La",
    ],
    (38, 11, 9.5, 7.1, 5.1, 5.1, 4.5, 3.9, 3.9, 2.1, 2.0, 1.4, 1.3, 1.3, 1.0, 0.5),
)
_VN_MIDDLE_M = _zipf(
    ["Văn", "Đức", "Minh", "Quốc", "Hữu", "Thanh", "Xuân", "Công", "Ngọc", "Duy"], (45,)
)
_VN_MIDDLE_F = _zipf(
    ["Thị", "Ngọc", "Thanh", "Minh", "Thu", "Kim", "Mỹ", "Bích", "Hồng", "Phương"], (50,)
)
_VN_GIVEN_M = _zipf(
    [
        "Hùng",
        "Nam",
        "Dũng",
        "Tuấn",
        "Minh",
        "Hải",
        "Long",
        "Thắng",
        "Sơn",
        "Anh",
        "Cường",
        "Khánh",
        "Bảo",
        "Phước",
        "Quân",
        "Huy",
        "Đức",
        "Tú",
        "Việt",
        "Hiếu",
        "Trung",
        "Phong",
        "Thành",
        "Tài",
        "Lâm",
        "Kiên",
        "Vinh",
        "Hoà",
        "Nghĩa",
        "Toàn",
    ]
)
_VN_GIVEN_F = _zipf(
    [
        "Hoa",
        "Lan",
        "Mai",
        "Hương",
        "Linh",
        "Trang",
        "Thảo",
        "Hà",
        "Ngọc",
        "Phương",
        "Hằng",
        "Nga",
        "Yến",
        "Nhung",
        "Loan",
        "Vân",
        "Thủy",
        "Dung",
        "Huyền",
        "Quỳnh",
        "Trâm",
        "Hạnh",
        "Thúy",
        "Oanh",
        "Diệp",
        "Tâm",
        "Châu",
        "Giang",
        "Liên",
        "Xuân",
    ]
)
_CN_FAMILY = _zipf(
    list(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    ),
    (7.1, 7.0, 6.7, 5.4, 4.5, 3.1, 2.2, 2.1, 2.0, 1.9, 1.6, 1.5, 1.5, 1.3, 1.3, 1.2, 1.2, 1.1),
)
_CN_GIVEN_1 = _zipf(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红玉兰峰波辉鹏"))
_CN_GIVEN_2 = _zipf(list("秀桂建志海明晓丽文春玉国永俊子宇浩思欣嘉雨佳梓泽一"))
_AR_GIVEN_M = _zipf(
    [
        "Mohamed",
        "Ahmed",
        "Mahmoud",
        "Ali",
        "Hassan",
        "Omar",
        "Mustafa",
        "Abdullah",
        "Ibrahim",
        "Khaled",
        "Youssef",
        "Hussein",
        "Said",
        "Salem",
        "Saleh",
        "Karim",
        "Tarek",
        "Walid",
        "Adel",
        "Nasser",
        "Hamza",
        "Yasser",
        "Amr",
        "Samir",
        "Fathi",
    ],
    (14, 7, 4),
)
_AR_GIVEN_F = _zipf(
    [
        "Fatima",
        "Aisha",
        "Mariam",
        "Nour",
        "Sara",
        "Huda",
        "Amina",
        "Khadija",
        "Zainab",
        "Layla",
        "Salma",
        "Hana",
        "Rania",
        "Mona",
    ]
)
_AR_FAMILY = _zipf(
    [
        "Al-Masri",
        "Al-Sayed",
        "Hassan",
        "Ibrahim",
        "Mahmoud",
        "Abdel-Rahman",
        "Al-Ahmad",
        "Khalil",
        "Haddad",
        "Nasser",
        "Al-Harbi",
        "Al-Qahtani",
        "Al-Ghamdi",
        "Al-Otaibi",
        "Al-Zahrani",
        "Salem",
        "Saleh",
        "Mansour",
        "Youssef",
        "Farouk",
        "Al-Amin",
        "Rashid",
        "Suleiman",
        "Hamdan",
        "Badawi",
        "Shehata",
        "Fawzi",
        "Gomaa",
        "Hegazy",
        "Ashour",
    ]
)
_RU_FAMILY = _zipf(
    [
        "Иванов",
        "Смирнов",
        "Кузнецов",
        "Попов",
        "Васильев",
        "Петров",
        "Соколов",
        "Михайлов",
        "Новиков",
        "Фёдоров",
        "Морозов",
        "Волков",
        "Алексеев",
        "Лебедев",
        "Семёнов",
        "Егоров",
        "Павлов",
        "Козлов",
        "Степанов",
        "Николаев",
        "Орлов",
        "Андреев",
        "Макаров",
        "Никитин",
        "Захаров",
        "Зайцев",
        "Соловьёв",
        "Борисов",
        "Яковлев",
        "Григорьев",
    ]
)
_RU_GIVEN_M = _zipf(
    [
        "Александр",
        "Сергей",
        "Дмитрий",
        "Андрей",
        "Алексей",
        "Иван",
        "Максим",
        "Евгений",
        "Владимир",
        "Михаил",
        "Николай",
        "Павел",
        "Артём",
        "Игорь",
        "Юрий",
        "Олег",
        "Виктор",
        "Денис",
        "Роман",
        "Антон",
    ]
)
_RU_GIVEN_F = _zipf(
    [
        "Елена",
        "Ольга",
        "Наталья",
        "Татьяна",
        "Ирина",
        "Анна",
        "Светлана",
        "Мария",
        "Екатерина",
        "Юлия",
        "Анастасия",
        "Марина",
        "Галина",
        "Людмила",
        "Дарья",
        "Оксана",
        "Вера",
        "Нина",
        "Ксения",
        "Алина",
    ]
)
_PT_GIVEN = _zipf(
    [
        "Maria",
        "Ana",
        "José",
        "João",
        "António",
        "Francisco",
        "Carlos",
        "Paulo",
        "Pedro",
        "Lucas",
        "Luís",
        "Manuel",
        "Fernando",
        "Rita",
        "Joana",
        "Célia",
        "Graça",
        "Inês",
        "Armando",
        "Alberto",
        "Tomás",
        "Marcos",
        "Rafael",
        "Beatriz",
        "Sofia",
    ],
    (12, 5, 5, 4),
)
_PT_FAMILY = _zipf(
    [
        "Silva",
        "Santos",
        "Oliveira",
        "Souza",
        "Rodrigues",
        "Ferreira",
        "Alves",
        "Pereira",
        "Lima",
        "Gomes",
        "Costa",
        "Ribeiro",
        "Martins",
        "Carvalho",
        "Almeida",
        "Lopes",
        "Soares",
        "Fernandes",
        "Vieira",
        "Barbosa",
        "Rocha",
        "Dias",
        "Nascimento",
        "Andrade",
        "Moreira",
        "Nunes",
        "Marques",
        "Machado",
        "Mendes",
        "Freitas",
        "Tembe",
        "Macuácua",
        "Chissano",
        "Sitoe",
    ],
    (10, 6, 4),
)
_FR_GIVEN = _zipf(
    [
        "Jean",
        "Marie",
        "Pierre",
        "Michel",
        "Philippe",
        "Nathalie",
        "Isabelle",
        "Alain",
        "Nicolas",
        "Sophie",
        "Catherine",
        "François",
        "Christophe",
        "Sylvie",
        "Laurent",
        "Julien",
        "Céline",
        "Thomas",
        "Camille",
        "Julie",
    ]
)
_FR_FAMILY = _zipf(
    [
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefebvre",
        "Michel",
        "Garcia",
        "David",
        "Bertrand",
        "Roux",
        "Vincent",
        "Fournier",
        "Morel",
        "Girard",
        "André",
        "Mercier",
        "Dupont",
        "Lambert",
        "Bonnet",
        "François",
        "Martinez",
        "Legrand",
    ]
)
_SW_GIVEN = _zipf(
    [
        "John",
        "Mary",
        "Peter",
        "Joseph",
        "Grace",
        "Juma",
        "Hassan",
        "Amina",
        "Fatuma",
        "Mwanaisha",
        "Baraka",
        "Zawadi",
        "Daniel",
        "Mercy",
        "Faith",
        "Samuel",
        "Esther",
        "Omar",
        "Rehema",
        "Neema",
        "Salim",
        "Halima",
        "Musa",
        "Asha",
        "Ibrahim",
    ]
)
_SW_FAMILY = _zipf(
    [
        "Mwangi",
        "Kamau",
        "Otieno",
        "Odhiambo",
        "Wanjiru",
        "Njoroge",
        "Kariuki",
        "Juma",
        "Mohamed",
        "Ali",
        "Hamisi",
        "Mussa",
        "Mutua",
        "Omondi",
        "Kiprono",
        "Chebet",
        "Ochieng",
        "Onyango",
        "Mbwana",
        "Salim",
        "Abdallah",
        "Rashidi",
        "Shabani",
        "Mollel",
        "Massawe",
        "Lyimo",
        "Swai",
        "Temba",
        "Kimaro",
        "Ngowi",
    ]
)
_TH_SYLLABLES = [
    "som",
    "chai",
    "sak",
    "porn",
    "sri",
    "wong",
    "rat",
    "kul",
    "thong",
    "suk",
    "pong",
    "sin",
    "nak",
    "thip",
    "kaew",
    "charoen",
    "siri",
    "wat",
    "prasert",
    "boon",
    "mee",
    "jai",
    "dee",
    "yen",
    "chan",
    "sawat",
    "anan",
    "kit",
]
_TH_GIVEN = _zipf(
    [
        "Somchai",
        "Somsak",
        "Somporn",
        "Malee",
        "Siriporn",
        "Suda",
        "Prasert",
        "Wichai",
        "Kanya",
        "Niran",
        "Anong",
        "Boonmee",
        "Chaiya",
        "Daeng",
        "Kittisak",
        "Lamai",
        "Nattapong",
        "Pornthip",
        "Sombat",
        "Thanawat",
        "Wanida",
        "Yupin",
    ]
)


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
