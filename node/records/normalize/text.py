"""Scripts, diacritics, spacing and punctuation.

``romanize`` turns any script into lowercase ASCII with anyascii, writing each
Chinese character as its own pinyin syllable (anyascii alone glues them into
one word: 陈明华 → ``ChenMingHua``). ``tokens`` splits romanized text into words,
dropping punctuation; apostrophes and hyphens inside a word join its parts
(``O'Brien`` → ``obrien``, ``Ming-Hua`` → ``minghua``), because agencies write
them inconsistently.

Pinyin written in Latin letters ("Chen Minghua") is split into the same
syllables as the characters ("chen ming hua") when every word of the name is
made of pinyin syllables. The syllable inventory is read from anyascii's own
readings of the CJK Unified Ideographs block, not from a hand table.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

_CJK_RANGES = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # Unified Ideographs
    (0xF900, 0xFAFF),  # Compatibility Ideographs
    (0x20000, 0x2FFFF),  # Extensions B and later
)

# Thai marks a silent consonant (with an optional vowel sign) by the
# thanthakhat ์; anyascii would spell it out (สมศักดิ์ → "smsakdi", said "somsak").
_THAI_SILENT = re.compile("[\u0e01-\u0e2e][\u0e34-\u0e39]?\u0e4c")
# Apostrophes (ASCII, U+2019, U+02BC, grave, acute) and hyphens (ASCII, U+2010,
# U+2011) join the parts of a word.
_JOINERS = re.compile("['\u2019\u02bc`\u00b4\\-\u2010\u2011]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_MAX_SYLLABLE = 6


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a Chinese character (Han ideograph)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


@lru_cache(maxsize=65536)
def romanize(text: str) -> str:
    """Lowercase ASCII transliteration; each Chinese character becomes a separate syllable."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFC", text)
    if "\u0e4c" in text:
        text = _THAI_SILENT.sub("", text)
    parts: list[str] = []
    run: list[str] = []
    for ch in text:
        if is_cjk(ch):
            if run:
                parts.append(anyascii("".join(run)))
                run = []
            parts.append(f" {anyascii(ch)} ")
        else:
            run.append(ch)
    if run:
        parts.append(anyascii("".join(run)))
    return "".join(parts).lower()


@lru_cache(maxsize=65536)
def tokens(text: str) -> tuple[str, ...]:
    """Words of ``text`` after romanization, without punctuation; joiners glue word parts."""
    flat = _JOINERS.sub("", romanize(text))
    return tuple(t for t in _NON_WORD.split(flat) if t)


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every pinyin syllable anyascii writes for the CJK Unified Ideographs block."""
    out: set[str] = set()
    for cp in range(0x4E00, 0xA000):
        syl = anyascii(chr(cp)).lower()
        # Drop empty readings and the vowel-less interjections (m, ng, hm), which
        # would otherwise split ordinary names such as "hung" into "hu ng".
        if syl.isalpha() and len(syl) <= _MAX_SYLLABLE and any(v in syl for v in "aeiouv"):
            out.add(syl)
    return frozenset(out)


@lru_cache(maxsize=65536)
def pinyin_split(word: str) -> tuple[str, ...] | None:
    """``word`` as the fewest pinyin syllables, or None when it is not pinyin."""
    syllables = pinyin_syllables()
    n = len(word)
    # best[i]: fewest syllables covering word[:i], with the split that achieves it.
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(1, n + 1):
        for j in range(max(0, i - _MAX_SYLLABLE), i):
            prev = best[j]
            if prev is None or word[j:i] not in syllables:
                continue
            cand = (*prev, word[j:i])
            cur = best[i]
            if cur is None or len(cand) < len(cur):
                best[i] = cand
    return best[n]


def split_pinyin_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """Split every word into pinyin syllables when all of them are pinyin; else unchanged."""
    if not words:
        return words
    splits = [pinyin_split(w) for w in words]
    if any(s is None for s in splits):
        return words
    return tuple(syl for s in splits if s is not None for syl in s)


# Consonant skeletons. Arabic script carries no short vowels and Thai writes
# vowels around consonants, so anyascii gives "mhmd" for محمد and "smchay" for
# สมชาย. Comparing consonants only — after folding letters that transliteration
# schemes swap (q/k, j/ch, x/ks, and aspirated kh/th/ph, which Thai and Arabic
# romanizations write and Latin spellings often drop) — lets "Mohammed",
# "Muhammad" and محمد meet. The semivowels w and y count as vowels: Arabic و and
# ي stand for long vowels in names (يوسف → "ywsf" against "Yusuf").
_FOLDS = (
    ("ck", "k"),
    ("kh", "k"),
    ("th", "t"),
    ("ph", "p"),
    ("gh", "g"),
    ("q", "k"),
    ("j", "ch"),
    ("x", "ks"),
)
_VOWELS = re.compile(r"[aeiouyw0-9]")
_DOUBLES = re.compile(r"(.)\1+")
_MIN_SKELETON = 2


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """Consonant skeleton of a romanized word: folded, vowels dropped, doubles collapsed."""
    for src, dst in _FOLDS:
        word = word.replace(src, dst)
    return _DOUBLES.sub(r"\1", _VOWELS.sub("", word))


def drop_final_h(skel: str) -> str:
    """A skeleton without a final h after a consonant other than c, s (keeps ch, sh)."""
    if len(skel) > _MIN_SKELETON and skel[-1] == "h" and skel[-2] not in "cs":
        return skel[:-1]
    return skel
