# ruff: noqa: RUF002 - the fullwidth ampersand is a real input
# ruff: noqa: RUF001, RUF003 - names and legal forms are written in their own scripts
"""Company names without their legal form.

"Tembe Trading Lda", "TEMBE TRADING, LDA." and "Tembe Trading Limitada" are one
company to an investigator; so are "Công ty TNHH Hải Phòng Logistics" and
"Hai Phong Logistics Co., Ltd". The canonical name is the romanized words in
written order with legal-form words removed from either end. The legal forms
are a small curated list per legal system; transliteration is anyascii's.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from node.records.normalize.text import split_pinyin_words, tokens

# Legal forms written in a script where anyascii would mangle them or where
# they are glued to the name (no spaces in Chinese).
_SCRIPT_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "株式会社",
    "有限会社",
    "公司",
    "ذ.م.م",
    "ش.م.م",
    "ش.م.ع",
    "ش.ذ.م.م",
    "(มหาชน)",
    "จำกัด",
)
_SCRIPT_PREFIXES = ("شركة ", "บริษัท", "ห้างหุ้นส่วนจำกัด")

# Legal-form phrases as romanized words, longest first when matched.
LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            tuple(p.split())
            for p in (
                # English-speaking and Commonwealth
                "ltd",
                "limited",
                "co ltd",
                "company limited",
                "co limited",
                "company",
                "co",
                "llc",
                "llp",
                "lp",
                "inc",
                "incorporated",
                "corp",
                "corporation",
                "plc",
                "pty",
                "pty ltd",
                "pvt",
                "pvt ltd",
                "private limited",
                "pte",
                "pte ltd",
                "sdn bhd",
                "bhd",
                "cc",
                "fze",
                "fzco",
                "fzc",
                "fz llc",
                "wll",
                "est",
                # Portuguese and Spanish
                "lda",
                "ltda",
                "limitada",
                "sa",
                "s a",
                "sociedade anonima",
                "sociedad anonima",
                "sociedade por quotas",
                "sl",
                "srl",
                "slu",
                "eireli",
                "me",
                "epp",
                # French, Italian, German, Dutch
                "sarl",
                "sarlu",
                "sas",
                "sasu",
                "eurl",
                "sprl",
                "societe anonyme",
                "snc",
                "spa",
                "gmbh",
                "ag",
                "kg",
                "ug",
                "bv",
                "nv",
                # Russian and post-Soviet (ООО, АО, ЗАО, ОАО, ПАО, ИП, ТОО)
                "ooo",
                "ao",
                "zao",
                "oao",
                "pao",
                "ip",
                "too",
                "chp",
                "obshchestvo s ogranichennoy otvetstvennostyu",
                "aktsionernoe obshchestvo",
                # Vietnamese (Công ty TNHH, Công ty Cổ phần, MTV)
                "cong ty",
                "cong ty tnhh",
                "cong ty tnhh mtv",
                "cong ty co phan",
                "tnhh",
                "tnhh mtv",
                "mtv",
                "co phan",
                "trach nhiem huu han",
                "jsc",
                "ojsc",
                "cjsc",
                "pjsc",
                "jsco",
                # Thai, Indonesian, Malay
                "borisat",
                "bo ri sat",
                "chamkat",
                "cham kat",
                "pt",
                "tbk",
                # Chinese legal forms written in pinyin
                "you xian gong si",
                "youxian gongsi",
                "gong si",
                "gongsi",
                # Japanese in Latin letters
                "kk",
                "kabushiki kaisha",
                # leading article
                "the",
            )
        ),
        key=len,
        reverse=True,
    )
)


def _strip_script_forms(name: str) -> str:
    text = unicodedata.normalize("NFC", name).strip()
    for prefix in _SCRIPT_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip()
    changed = True
    while changed:
        changed = False
        for form in _SCRIPT_FORMS:
            if text.endswith(form) and len(text) > len(form):
                text = text[: -len(form)].rstrip(" ,.()（）")
                changed = True
    return text.replace(".", "")


def _strip_forms(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for form in LEGAL_FORMS:
            n = len(form)
            if len(words) > n and tuple(words[-n:]) == form:
                words = words[:-n]
                changed = True
                break
            if len(words) > n and tuple(words[:n]) == form:
                words = words[n:]
                changed = True
                break
    return words


@lru_cache(maxsize=65536)
def company_name(name: str) -> str:
    """Canonical company name (``tembe trading``); empty when nothing but a legal form remains."""
    words = _strip_forms(list(tokens(_strip_script_forms(name))))
    return " ".join(split_pinyin_words(tuple(words)))


# ---------------------------------------------------------------- scheme 2

#: Words that join two names in a company name, in the languages agencies write.
CONNECTIVES = frozenset({"and", "et", "e", "y", "und"})
_AMPERSAND = ("&", "＆", "+")


@lru_cache(maxsize=1)
def cleanco_forms() -> tuple[tuple[str, ...], ...]:
    """cleanco's legal-form terms (every country and type) as word tuples, longest first."""
    from cleanco.termdata import terms_by_country, terms_by_type

    terms = {t for group in (terms_by_country, terms_by_type) for ts in group.values() for t in ts}
    out = set()
    for term in terms:
        words = _connected_tokens(term.replace(".", ""))
        if words and sum(len(w) for w in words) >= 2:
            out.add(words)
    return tuple(sorted(out, key=lambda f: (-len(f), f)))


def _connected_tokens(text: str) -> tuple[str, ...]:
    for amp in _AMPERSAND:
        text = text.replace(amp, " and ")
    words = tokens(text)
    if len(words) <= 2:
        return words
    inner = tuple("and" if w in CONNECTIVES else w for w in words[1:-1])
    return (words[0], *inner, words[-1])


def _strip_trailing(words: list[str], forms: tuple[tuple[str, ...], ...]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for form in forms:
            n = len(form)
            if len(words) > n and tuple(words[-n:]) == form:
                words = words[:-n]
                changed = True
                break
    return words


@lru_cache(maxsize=65536)
def company_name_v2(name: str) -> str:
    """Canonical company name, scheme 2.

    As scheme 1, and: ``&``, ``＆`` and ``+`` are the word ``and``; ``et``, ``e``,
    ``y`` and ``und`` between two words are ``and``; cleanco's legal-form terms
    of every country are removed from the end after the curated list.
    """
    words = list(_connected_tokens(_strip_script_forms(name)))
    words = _strip_forms(words)
    words = _strip_trailing(words, cleanco_forms())
    words = _strip_forms(words)
    return " ".join(split_pinyin_words(tuple(words)))
