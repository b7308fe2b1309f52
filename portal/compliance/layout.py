"""The PDF's typography and building blocks (ReportLab): the shipped DejaVu fonts, paragraph styles, escaped
text, fact tables and data tables of the frame's width, the "N more not shown" line, and the canvas that
prints the running head and "page N of M" (portal.compliance.pdf lays the sections out with these).

The fonts are DejaVu, shipped in ``fonts/`` (their licence beside them) and embedded as subsets, so every
character the pack prints (→, ≥, —, ·, names in any script) renders the same everywhere; nothing is fetched.
"""

from __future__ import annotations

import functools
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

FONTS = Path(__file__).resolve().with_name("fonts")
SANS, BOLD, MONO = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"
MARGIN = 16 * mm
WIDTH = A4[0] - 2 * MARGIN  # the frame's width: tables are laid out in it
TEXT_MAX_CHARS = 2500  # a free text longer than this (a card field, a justification) is clipped, and says so
INK, MUTED = colors.HexColor("#1f2328"), colors.HexColor("#59636e")
RULE, ZEBRA = colors.HexColor("#d1d9e0"), colors.HexColor("#f6f8fa")
VERDICT_COLOURS = {
    "pass": "#1a7f37",
    "passed": "#1a7f37",
    "fail": "#cf222e",
    "failed": "#cf222e",
    "skip": "#59636e",
    "warn": "#9a6700",
}


@functools.cache
def register_fonts() -> None:
    """Once per process: the TrueType files are parsed here and subset into each document."""
    for name, file in ((SANS, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"), (MONO, "DejaVuSansMono.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(FONTS / file)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=BOLD, italic=SANS, boldItalic=BOLD)


def _style(name: str, **kwargs) -> ParagraphStyle:
    base = {"fontName": SANS, "fontSize": 8, "leading": 10.2, "textColor": INK, "alignment": TA_LEFT}
    return ParagraphStyle(name, **{**base, **kwargs})


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    return {
        "title": _style("title", fontName=BOLD, fontSize=20, leading=25, spaceAfter=4),
        "subtitle": _style("subtitle", fontSize=11, leading=15, textColor=MUTED, spaceAfter=10),
        # A heading, and the line that introduces a list, stay on the page of what follows them.
        "h1": _style("h1", fontName=BOLD, fontSize=13, leading=17, spaceBefore=10, spaceAfter=5, keepWithNext=1),
        "h2": _style("h2", fontName=BOLD, fontSize=9.5, leading=12.5, spaceBefore=7, spaceAfter=3, keepWithNext=1),
        "lead": _style("lead", spaceAfter=4, keepWithNext=1),
        "body": _style("body", spaceAfter=4),
        "small": _style("small", fontSize=7, leading=9, textColor=MUTED, spaceAfter=3),
        "cell": _style("cell", fontSize=7.2, leading=9),
        "head": _style("head", fontName=BOLD, fontSize=7.2, leading=9),
        "label": _style("label", fontName=BOLD, fontSize=7.5, leading=9.4, textColor=MUTED),
        "mono": _style("mono", fontName=MONO, fontSize=6.4, leading=8.4),
        "digest": _style("digest", fontName=MONO, fontSize=9.2, leading=12),
    }


# --- Text ------------------------------------------------------------------------------------------------


def clip(text: str, limit: int = TEXT_MAX_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters in Gatehouse)"


def markup(text, *, keep_lines: bool = True) -> str:
    """Untrusted text as Paragraph markup: escaped (a name holding ``<b>`` prints as written), lines kept."""
    escaped = escape(clip(str(text)))
    return escaped.replace("\n", "<br/>") if keep_lines else escaped


def para(text, style: str = "cell") -> Paragraph:
    return Paragraph(markup(text), styles()[style])


def rich(html: str, style: str = "body") -> Paragraph:
    """Markup written here (its variable parts escaped with ``markup`` by the caller)."""
    return Paragraph(html, styles()[style])


def mono(text, style: str = "mono") -> Paragraph:
    return Paragraph(markup(text), styles()[style])


def coloured(word: str, tone: str | None = None) -> Paragraph:
    """``word`` in bold, green for a pass, red for a failure, amber for a warning (``tone``, else the word)."""
    colour = VERDICT_COLOURS.get(str(tone or word).lower(), "#1f2328")
    return rich(f'<font color="{colour}"><b>{markup(word or "—")}</b></font>', "cell")


def dash(value) -> str:
    return "—" if value in (None, "", [], {}) else str(value)


def when(value) -> str:
    if not value:
        return "—"
    if not hasattr(value, "hour"):
        return value.isoformat()
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def number(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def size(value: int | None) -> str:
    if value is None:
        return "—"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.1f} {unit} ({value:,} bytes)"
    return f"{value:,} bytes"


def pairs(values: dict, digits: int = 4) -> str:
    return " · ".join(f"{k} {number(v, digits)}" for k, v in values.items()) if values else "—"


# --- Blocks ----------------------------------------------------------------------------------------------


def _grid(data, widths, *, header: bool, zebra: bool = True) -> Table:
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
    ]
    if header:
        commands += [("LINEBELOW", (0, 0), (-1, 0), 0.8, INK), ("BACKGROUND", (0, 0), (-1, 0), colors.white)]
    if zebra:
        first = 1 if header else 0
        commands += [("BACKGROUND", (0, r), (-1, r), ZEBRA) for r in range(first + 1, len(data), 2)]
    table.setStyle(TableStyle(commands))
    return table


def facts(rows: list[tuple[str, object]], *, label_width: float = 36 * mm) -> Table:
    """Label and value, one per row; a value is text or a flowable (a digest in mono, a coloured verdict)."""
    data = [
        [para(label, "label"), value if not isinstance(value, str | int | float) else para(value)]
        for label, value in rows
    ]
    return _grid(data, [label_width, WIDTH - label_width], header=False, zebra=False)


def table(header: list[str], rows: list[list], fractions: list[float]) -> Table:
    """A table of the frame's width; ``fractions`` share it between the columns. Cells are text or flowables."""
    widths = [WIDTH * f / sum(fractions) for f in fractions]
    data = [[para(h, "head") for h in header]]
    data += [[cell if not isinstance(cell, str | int | float) else para(cell) for cell in row] for row in rows]
    return _grid(data, widths, header=True)


def more(rows, what: str, *, where: str = "") -> list:
    """The line under a bounded list: how many rows it left out."""
    if not rows.more:
        return []
    text = f"{rows.more:,} more {what} not shown: the pack lists at most {len(rows.items):,} of the {rows.total:,}"
    return [rich(markup(text + (f"; {where}" if where else "") + " (GATEHOUSE_PACK_MAX_ROWS)."), "small")]


def heading(number_: int | str, title: str) -> Paragraph:
    return rich(f"{markup(number_)}. {markup(title)}", "h1")


def subheading(text: str) -> Paragraph:
    return rich(markup(text), "h2")


def block(*flowables) -> KeepTogether:
    return KeepTogether([f for f in flowables if f is not None])


def gap(height: float = 3) -> Spacer:
    return Spacer(1, height * mm)


# --- The page -------------------------------------------------------------------------------------------


def numbered_canvas(running: str):
    """A canvas that holds its pages until the end, to print "page N of M" and the running head on each."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._furniture(total)
                super().showPage()
            super().save()

        def _furniture(self, total: int) -> None:
            width, height = A4
            self.setStrokeColor(RULE)
            self.setLineWidth(0.5)
            self.setFillColor(MUTED)
            if self._pageNumber > 1:
                self.setFont(SANS, 7)
                self.drawString(MARGIN, height - 10 * mm, running)
                self.line(MARGIN, height - 11.5 * mm, width - MARGIN, height - 11.5 * mm)
            self.line(MARGIN, 11.5 * mm, width - MARGIN, 11.5 * mm)
            self.setFont(SANS, 7)
            self.drawString(MARGIN, 8 * mm, "Gatehouse compliance evidence pack")
            self.drawRightString(width - MARGIN, 8 * mm, f"Page {self._pageNumber} of {total}")

    return NumberedCanvas
