"""The reader's language: gettext catalogues for the console and for the policy's codes.

Structured parts of a request or an answer travel as language-neutral codes
(``criminal_investigation``, ``NOT_RELEASABLE``, ``H2``). The console shows
each code under a label in the reader's language, with the code beside it;
free text (a justification, an officer's reason) is shown as written and
marked untranslated. Catalogues live in ``locale/<lang>/LC_MESSAGES/spoor.po``
and are compiled in memory when first used.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path
from typing import Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "spoor"
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "pt": "Português",
    "vi": "Tiếng Việt",
    "zh": "中文",
}


def N_(message: str) -> str:  # noqa: N802 the gettext convention for "translate later"
    """Mark a console message in Python code for the catalogues; shown through ``_()``."""
    return message


class _HasLanguage(Protocol):
    language: str | None


class _Gettext(Protocol):
    def gettext(self, message: str) -> str: ...


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``language`` (English: the messages themselves)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def language_of(session: _HasLanguage | None, accept_language: str | None) -> str:
    """The session's chosen language, else the browser's first supported one, else English."""
    if session is not None and session.language in LANGUAGES:
        return session.language
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def code_label(catalogue: _Gettext, kind: str, value: str) -> str:
    """The reader's label for a code of ``kind`` (the code itself when there is none)."""
    from node.web.codes import LABELS

    english = LABELS.get(kind, {}).get(value)
    if english is None:
        return value
    return catalogue.gettext(english)
