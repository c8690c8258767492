"""The redline as a PDF a lawyer can file: one table, each change old → new.

Drawn with fpdf2 and its built-in Helvetica, so nothing but the wheel is
needed (no browser, no system fonts). Those fonts cover Latin-1; any other
character is transliterated (anyascii) rather than dropped, so a value in
Vietnamese or Chinese still reads, unaccented or romanised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from anyascii import anyascii
from fpdf import FPDF

from node.web.redline import Change

_WIDTHS = (70, 60, 60)


def pdf_text(text: str) -> str:
    """``text`` in the PDF's Latin-1 fonts: every other character transliterated."""
    text = text.replace("→", "->")
    return "".join(c if ord(c) < 256 else anyascii(c) for c in text)


def redline_pdf(
    changes: Sequence[Change],
    *,
    agency: str,
    old_version: str,
    new_version: str,
    gettext: Callable[[str], str],
    generated_at: str,
) -> bytes:
    """The redline between two policy versions as PDF bytes."""
    _ = gettext
    title = f"{_('Redline')}: {old_version} → {new_version}"
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(pdf_text(title))
    pdf.set_creator("Spoor")
    pdf.set_author(pdf_text(agency))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(
        0,
        6,
        pdf_text(f"Spoor · {agency} · {generated_at}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_font("Helvetica", size=10)
    if not changes:
        pdf.cell(0, 8, pdf_text(_("No change in meaning.")), new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
    with pdf.table(col_widths=_WIDTHS, text_align="LEFT", line_height=5) as table:
        header = table.row()
        for label in (_("Where"), _("Was"), _("Becomes")):
            header.cell(pdf_text(label))
        for change in changes:
            row = table.row()
            row.cell(pdf_text(change.label))
            row.cell(pdf_text(change.old if change.old is not None else _("(added)")))
            row.cell(pdf_text(change.new if change.new is not None else _("(removed)")))
    return bytes(pdf.output())
