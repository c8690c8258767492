"""Person names: honorifics, particles, name order, scripts.

A person's canonical name is the sorted list of its romanized words, so
"Nguyễn Văn Hùng", "NGUYEN VAN HUNG" and "Hung Nguyen Van" all become
``hung nguyen van``: the order in which an agency writes family and given names
cannot be known from the text, and sorting makes it irrelevant.

Before sorting:

- honorifics written before the name are dropped (Mr, Dr, Ông, Bà, господин,
  السيد, นาย …), and those written after it in Chinese (先生, 女士);
- connecting particles that agencies drop or keep at will (de, da, dos, van der,
  bin, binti …) are dropped unless they open the name;
- the Arabic article and ``Abd``/``Abdul`` are glued to the following word, as
  Arabic script writes them (عبد الرحمن / Abdul Rahman / Abdulrahman);
- pinyin written in Latin letters is split into syllables, like Chinese characters.

These lists are small curated data about how names are written, not a
transliteration table; transliteration itself is anyascii's.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from node.records.normalize.text import drop_final_h, skeleton, split_pinyin_words, tokens

# Honorifics and titles, romanized and without punctuation. Dropped only when
# they open the name and at least two words remain, so a given name such as
# "Anh" (Vietnamese) or "Ba" is never lost.
HONORIFICS = frozenset(
    {
        # English, French, German, Spanish, Portuguese, Italian
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "mme",
        "mlle",
        "herr",
        "frau",
        "sr",
        "sra",
        "srta",
        "senhor",
        "senhora",
        "sig",
        "sigra",
        "dom",
        "dona",
        "rev",
        "hon",
        "capt",
        "col",
        "gen",
        "maj",
        "lt",
        # Arabic, Swahili, West Africa, South Asia
        "sheikh",
        "shaikh",
        "sheik",
        "shaykh",
        "haji",
        "hajji",
        "hajj",
        "alhaji",
        "alhaj",
        "sayyid",
        "sayed",
        "alsayed",
        "alsyd",
        "syd",
        "bwana",
        "mzee",
        "chief",
        # Russian
        "gospodin",
        "gospozha",
        "tovarishch",
    }
)

# Honorifics written in their own script, removed from the raw text because
# they are attached to the name without a space (นายสมชาย) or follow it (陈先生).
# Vietnamese honorifics count only with their diacritics: "Anh" or "Chi" without
# them are ordinary given names and Chinese syllables.
_SCRIPT_PREFIXES = (
    "นางสาว",
    "นาย",
    "นาง",
    "ด.ช.",
    "ด.ญ.",
    "السيد ",
    "السيدة ",
    "الشيخ ",
    "ông ",
    "bà ",
    "chị ",
    "cô ",
)
_SCRIPT_SUFFIXES = ("先生", "女士", "小姐", "太太")

# Particles that join a family name and that records keep or drop at random.
PARTICLES = frozenset(
    {
        "de",
        "da",
        "do",
        "das",
        "dos",
        "del",
        "della",
        "di",
        "du",
        "des",
        "la",
        "le",
        "von",
        "van",
        "der",
        "den",
        "ter",
        "ten",
        "y",
        "e",
        "bin",
        "ibn",
        "bn",
        "binti",
        "bint",
        "bnt",
        "ben",
        "ould",
        "wa",
        "wad",
    }
)
# "van" is a Vietnamese middle name (Văn) as often as a Dutch particle: keep it
# when the name is otherwise Vietnamese-looking, i.e. it is not followed by "der"/"den".
_KEEP_VAN_UNLESS_BEFORE = frozenset({"der", "den"})

# Words glued to the word that follows them (Arabic article, "servant of").
_GLUE_FORWARD = frozenset({"al", "el", "ul", "abd", "abdul", "abdel", "abdal"})
# The same, as consonant skeletons (Arabic script gives "l", "bd" without vowels).
_GLUE_FORWARD_SKELETON = frozenset({"l", "bd"})

_MIN_WORDS = 2


def _strip_script_honorifics(name: str) -> str:
    text = unicodedata.normalize("NFC", name).strip()
    folded = text.lower()
    for prefix in _SCRIPT_PREFIXES:
        if folded.startswith(prefix) and len(text) > len(prefix) + 1:
            text = text[len(prefix) :].strip()
            break
    for suffix in _SCRIPT_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)].strip()
            break
    return text


def _drop_honorifics(words: list[str]) -> list[str]:
    while len(words) > _MIN_WORDS and words[0] in HONORIFICS:
        words = words[1:]
    return words


def _drop_particles(words: list[str]) -> list[str]:
    out: list[str] = []
    for i, w in enumerate(words):
        if i == 0 or w not in PARTICLES:
            out.append(w)
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w == "van" and nxt not in _KEEP_VAN_UNLESS_BEFORE:
            out.append(w)
    return out if len(out) >= 1 else words


def _glue(words: list[str], glue: frozenset[str]) -> list[str]:
    out: list[str] = []
    carry = ""
    for i, w in enumerate(words):
        if w in glue and i + 1 < len(words):
            carry += w
            continue
        out.append(carry + w)
        carry = ""
    return out


@lru_cache(maxsize=65536)
def name_words(name: str) -> tuple[str, ...]:
    """The words of a person's name after honorifics, particles and pinyin, in written order."""
    words = list(tokens(_strip_script_honorifics(name)))
    words = _drop_honorifics(words)
    words = _drop_particles(words)
    words = _glue(words, _GLUE_FORWARD)
    return split_pinyin_words(tuple(words))


@lru_cache(maxsize=65536)
def person_name(name: str) -> str:
    """Canonical name: sorted romanized words (``hung nguyen van``); empty if nothing is left."""
    return " ".join(sorted(name_words(name)))


@lru_cache(maxsize=65536)
def person_skeleton(name: str) -> str:
    """Sorted consonant skeletons of the name's words (``hng ngn wn``); empty if none."""
    skel = [s for s in (skeleton(w) for w in name_words(name)) if s]
    # A final h goes after gluing: Arabic ة is romanized "h" and rarely written
    # in Latin letters (فاطمة / Fatima, عبد الله / Abdullah).
    skel = [drop_final_h(s) for s in _glue(skel, _GLUE_FORWARD_SKELETON)]
    return " ".join(sorted(skel))
