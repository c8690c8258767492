"""Person names, key scheme 2: particles per language, name variants, skeleton entropy.

Scheme 1 drops one union list of particles (de, da, do, la, le …) wherever they
stand after the first word, which loses the Vietnamese family names Lê, Đỗ and
La (``Hung Le Van``). Scheme 2 picks the particle list from the name's
language, read from the record's nationality or, without one, from the name
itself (docs/match-keys.md, *Names, scheme 2*):

- Vietnamese, Chinese, Thai, Cyrillic-script and East Slavic names have no
  particles;
- the union list applies otherwise, but a particle is dropped only when another
  word follows it (a particle joins the word after it: *da* Silva, *bin* Ali).

Name variants cover a part one agency leaves out: an East Slavic patronymic
(Петрович) and the Vietnamese middle names Văn and Thị. Consonant skeletons
are keyed only when long enough to tell people apart (:data:`MIN_SKELETON_LETTERS`,
set from the collision figures of ``spoor_dev.population``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from node.records.normalize.names import (
    _GLUE_FORWARD,
    _GLUE_FORWARD_SKELETON,
    PARTICLES,
    _drop_honorifics,
    _glue,
    _strip_script_honorifics,
)
from node.records.normalize.text import (
    drop_final_h,
    is_cjk,
    pinyin_split,
    skeleton,
    split_pinyin_words,
    tokens,
)

#: Languages without name particles, by nationality (ISO alpha-3).
NO_PARTICLES_NATIONALITIES = frozenset(
    {"VNM", "CHN", "TWN", "HKG", "MAC", "SGP", "THA", "LAO", "KHM", "RUS", "UKR", "BLR", "KAZ"}
    | {"KGZ", "UZB", "TJK", "JPN", "KOR", "PRK", "MNG", "MMR"}
)
#: Particle lists of the languages that have them, by nationality (ISO alpha-3).
_PT = frozenset({"de", "da", "do", "das", "dos", "e"})
_ES = frozenset({"de", "del", "la", "las", "los", "y"})
_FR = frozenset({"de", "du", "des", "la", "le"})
_NL = frozenset({"van", "der", "den", "de", "ter", "ten"})
_DE = frozenset({"von", "zu", "vom", "zur", "der"})
_IT = frozenset({"de", "di", "da", "del", "della"})
_AR = frozenset({"bin", "ibn", "bn", "binti", "bint", "bnt", "ben", "ould", "wad"})
_SW = frozenset({"wa", "bin", "binti"})
PARTICLES_BY_NATIONALITY: dict[str, frozenset[str]] = {
    **dict.fromkeys(("PRT", "BRA", "MOZ", "AGO", "CPV", "GNB", "STP", "TLS"), _PT),
    **dict.fromkeys(
        ("ESP", "MEX", "ARG", "COL", "PER", "VEN", "CHL", "ECU", "GTM", "CUB", "BOL"), _ES
    ),
    **dict.fromkeys(("DOM", "HND", "PRY", "SLV", "NIC", "CRI", "PAN", "URY", "GNQ"), _ES),
    **dict.fromkeys(("FRA", "BEL", "SEN", "CIV", "CMR", "COD", "COG", "GAB", "MLI"), _FR),
    **dict.fromkeys(("BFA", "NER", "TCD", "GIN", "BEN", "TGO", "MDG", "HTI", "LUX"), _FR),
    **dict.fromkeys(("NLD", "SUR"), _NL),
    **dict.fromkeys(("DEU", "AUT", "CHE", "LIE"), _DE),
    **dict.fromkeys(("ITA", "SMR"), _IT),
    **dict.fromkeys(("SAU", "ARE", "EGY", "JOR", "IRQ", "SYR", "LBN", "YEM", "OMN"), _AR),
    **dict.fromkeys(("QAT", "KWT", "BHR", "LBY", "TUN", "DZA", "MAR", "MRT", "SDN"), _AR),
    **dict.fromkeys(("SOM", "PSE"), _AR),
    **dict.fromkeys(("KEN", "TZA", "UGA", "MYS", "BRN"), _SW),
}

#: The 20 commonest Vietnamese family names, romanized.
VIETNAMESE_FAMILY_NAMES = frozenset(
    {"nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang"}
    | {"bui", "do", "ho", "ngo", "duong", "ly", "dinh", "truong", "lam", "la"}
)
#: Vietnamese middle names (Văn for men, Thị for women) that one agency may omit.
VIETNAMESE_MIDDLE = frozenset({"van", "thi"})
# Letters only Vietnamese writes: đ, ă, ơ, ư and the Latin Extended Additional
# vowels with tone marks (U+1EA0-U+1EF9).
_VIETNAMESE_LETTER = re.compile("[đĐăĂơƠưƯ\u1ea0-\u1ef9]")
# East Slavic patronymics, romanized: -ovich, -evich, -ovych, -evych, -ovna, -evna, -ichna, -ivna.
_PATRONYMIC = re.compile(r"^[a-z]{2,}(ovich|evich|ovych|evych|ovna|evna|ichna|ivna)$")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_THAI = re.compile("[\u0e00-\u0e7f]")

#: Fewest skeleton letters (all words together) for a ``name_skeleton_dob`` key.
MIN_SKELETON_LETTERS = 4
#: Fewest words for a name variant without a part (patronymic, Văn/Thị).
MIN_VARIANT_WORDS = 2


_VIETNAMESE_NATIONALITIES = frozenset({"VNM"})
_CHINESE_NATIONALITIES = frozenset({"CHN", "TWN", "HKG", "MAC", "SGP"})


def is_vietnamese(name: str, nationality: str | None) -> bool:
    """Nationality VNM, a letter only Vietnamese writes, or Văn/Thị with a common family name."""
    if nationality in _VIETNAMESE_NATIONALITIES:
        return True
    text = unicodedata.normalize("NFC", name)
    if _VIETNAMESE_LETTER.search(text):
        return True
    words = set(tokens(text))
    return bool(words & VIETNAMESE_MIDDLE and words & VIETNAMESE_FAMILY_NAMES)


def is_chinese(name: str, nationality: str | None) -> bool:
    """Chinese nationality, a Han character, or every word made of pinyin syllables."""
    if nationality in _CHINESE_NATIONALITIES or any(is_cjk(ch) for ch in name):
        return True
    words = tokens(name)
    return bool(words) and all(pinyin_split(w) is not None for w in words)


def language(name: str, nationality: str | None) -> str:
    """``none`` (no particles), a nationality whose list applies, or ``any`` (the union)."""
    if nationality in NO_PARTICLES_NATIONALITIES:
        return "none"
    if nationality in PARTICLES_BY_NATIONALITY:
        return nationality
    text = unicodedata.normalize("NFC", name)
    if _CYRILLIC.search(text) or _THAI.search(text) or any(is_cjk(ch) for ch in text):
        return "none"
    if is_vietnamese(text, None):
        return "none"
    return "any"


def _drop_particles(words: list[str], lang: str) -> list[str]:
    if lang == "none":
        return words
    particles = PARTICLES if lang == "any" else PARTICLES_BY_NATIONALITY[lang]
    out = [
        w
        for i, w in enumerate(words)
        # Never the first word, never the last: a particle joins the word after it.
        if i == 0 or i == len(words) - 1 or w not in particles
    ]
    return out


@lru_cache(maxsize=65536)
def name_words(name: str, nationality: str | None = None) -> tuple[str, ...]:
    """Words of a person's name in written order (scheme 2 particle rules)."""
    lang = language(name, nationality)
    words = list(tokens(_strip_script_honorifics(name)))
    words = _drop_honorifics(words)
    words = _drop_particles(words, lang)
    words = _glue(words, _GLUE_FORWARD)
    return split_pinyin_words(tuple(words))


def canonical(words: tuple[str, ...]) -> str:
    """Sorted words joined by one space."""
    return " ".join(sorted(words))


@lru_cache(maxsize=65536)
def person_name(name: str, nationality: str | None = None) -> str:
    """Canonical name, scheme 2 (sorted words); empty if nothing is left."""
    return canonical(name_words(name, nationality))


def _variants(name: str, nationality: str | None) -> list[tuple[str, ...]]:
    words = name_words(name, nationality)
    if len(words) <= MIN_VARIANT_WORDS:
        return []
    out: list[tuple[str, ...]] = []
    no_patronymic = tuple(w for w in words if not _PATRONYMIC.match(w))
    if len(no_patronymic) >= MIN_VARIANT_WORDS and no_patronymic != words:
        out.append(no_patronymic)
    if language(name, nationality) == "none" and set(words) & VIETNAMESE_FAMILY_NAMES:
        no_middle = tuple(w for w in words if w not in VIETNAMESE_MIDDLE)
        if len(no_middle) >= MIN_VARIANT_WORDS and no_middle != words:
            out.append(no_middle)
    return out


def skeleton_of(words: tuple[str, ...], min_letters: int = MIN_SKELETON_LETTERS) -> str:
    """Sorted consonant skeletons of ``words``; empty when they hold fewer than ``min_letters``."""
    skel = [s for s in (skeleton(w) for w in words) if s]
    skel = [drop_final_h(s) for s in _glue(skel, _GLUE_FORWARD_SKELETON)]
    if sum(len(s) for s in skel) < min_letters:
        return ""
    return " ".join(sorted(skel))


@lru_cache(maxsize=65536)
def name_forms(name: str, nationality: str | None = None) -> tuple[tuple[str, str], ...]:
    """(canonical name, skeleton) of the name and of each variant without an omitted part.

    The first form is the whole name. Variants: without an East Slavic
    patronymic (a word ending -ovich, -evich, -ovych, -evych, -ovna, -evna,
    -ichna, -ivna), and without Văn / Thị when the name is read as
    particle-free and holds a common Vietnamese family name; a variant needs
    the whole name to have at least three words and keeps at least two. A
    skeleton is empty when below the entropy threshold.
    """
    words = name_words(name, nationality)
    if not words:
        return ()
    # Vietnamese and Chinese romanizations are standardized (anyascii folds the
    # diacritics, pinyin is one spelling per character); their skeletons add
    # collisions (``Wang Wei`` → ``ng``) and no recall.
    skeletons = not (is_vietnamese(name, nationality) or is_chinese(name, nationality))
    variants = [words, *_variants(name, nationality)]
    forms = [(canonical(v), skeleton_of(v) if skeletons else "") for v in variants]
    return tuple(dict.fromkeys(forms))


def person_skeleton(name: str, nationality: str | None = None) -> str:
    """The whole name's skeleton as keyed (empty for Vietnamese, Chinese or short skeletons)."""
    forms = name_forms(name, nationality)
    return forms[0][1] if forms else ""
