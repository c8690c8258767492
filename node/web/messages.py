"""The console's messages: what the templates and ``N_()`` say, the code labels, chart names.

``extract()`` is what a catalogue must translate. ``python -m node.web.messages``
rewrites ``locale/spoor.pot`` and merges it into every language's ``spoor.po``
(new messages arrive untranslated, which the catalogue test then reports).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from node.web.charts import SERIES
from node.web.codes import all_labels
from node.web.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
Message = str | tuple[str, str]


def extract() -> set[Message]:
    """Every msgid (a plural as a (singular, plural) pair) the console can show."""
    found: set[Message] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        TEMPLATES,
        method_map=[("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        if isinstance(message, tuple):
            singular, plural = message[0], message[1]
            if singular is not None and plural is not None:
                found.add((str(singular), str(plural)))
        elif message:
            found.add(str(message))
    for _file, _line, message, _comments, _context in extract_from_dir(
        HERE,
        method_map=[("*.py", "python")],
        keywords={"N_": None},
        comment_tags=(),
    ):
        if message:
            found.add(str(message))
    found |= all_labels()
    found |= {label for _, label in SERIES}
    return found


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def update() -> None:
    """Rewrite the template and merge it into each language (keeps existing translations)."""
    template = Catalog(domain=DOMAIN, project="Spoor")
    for message in sorted(extract(), key=lambda m: m if isinstance(m, str) else m[0]):
        template.add(message)
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True)
    for language in LANGUAGES:
        if language == "en":
            continue
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read_catalogue(language) if path.is_file() else Catalog(locale=language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as handle:
            write_po(handle, catalog, omit_header=True, sort_output=True, width=0)


if __name__ == "__main__":
    update()
    sys.stdout.write(f"catalogues updated under {LOCALE_DIR}\n")
