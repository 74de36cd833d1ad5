"""The PDF report: the same Report the chat shows, on A4 with embedded fonts.

Source Sans Pro (the `font-source-sans-pro` package) prints the report's own languages. A
character it lacks, typically in what a person typed (an emoji, Arabic, Hebrew, Greek,
Cyrillic, Chinese ...), is printed with the first font that has it in the folder named by
`ADVISOR_PDF_FONTS` (fonts the operator chose, such as the Noto fonts of their system),
embedded only in the reports that use it; right-to-left scripts are shaped by HarfBuzz when
`uharfbuzz` is installed. A character no font has prints as U+FFFD "�" (or "?" where no
font has that either), one for each character: visible, never a silent gap, so fpdf2 never
has a glyph to warn about.

Imported on first use (through `export.pdf`): fpdf2 and its font tools are a sixth of the
bot's start-up, and most processes never make a PDF.
"""

from __future__ import annotations

import importlib.util
import os
import unicodedata
from functools import cache
from pathlib import Path

import font_source_sans_pro
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import TTFFont

from .i18n import N_, Translator
from .report import BIDI_CONTROLS, INSTEAD, Item, Report, cite, severity_label

FONT_DIR = Path(font_source_sans_pro.font_directory)
SEVERITY_COLOURS = {"high": (192, 57, 43), "medium": (230, 126, 34), "low": (241, 196, 15)}
MISSING = "\ufffd"  # where a fallback font has it; else "?"


FALLBACK_FONTS = "ADVISOR_PDF_FONTS"  # a folder of .ttf/.otf fonts, tried in name order


def fallback_fonts() -> tuple[Path, ...]:
    """The fonts for characters Source Sans Pro lacks: none unless the operator names some."""
    folder = os.environ.get(FALLBACK_FONTS)
    if not folder or not Path(folder).is_dir():
        return ()
    return tuple(sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".ttf", ".otf")))


def can_shape() -> bool:
    """Whether HarfBuzz is there to join and order right-to-left letters (optional)."""
    return importlib.util.find_spec("uharfbuzz") is not None


@cache
def characters(path: Path) -> frozenset[int]:
    """The code points a font has a glyph for; read once per process."""
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def invisible(char: str) -> bool:
    """A format character or variation selector: shows nothing of its own, so dropping it
    when no font has it leaves no gap."""
    code = ord(char)
    return (
        unicodedata.category(char) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF
    )


class _ReportPdf(FPDF):
    def __init__(self, t: Translator, title: str) -> None:
        super().__init__(format="A4")
        self.t = t
        self.report_title = title
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.add_font("Sans", "", str(FONT_DIR / "SourceSansPro-Regular.ttf"))
        self.add_font("Sans", "B", str(FONT_DIR / "SourceSansPro-Bold.ttf"))
        self.add_font("Sans", "I", str(FONT_DIR / "SourceSansPro-It.ttf"))
        self.fallbacks: list[Path] = []  # those added, as a report needs them
        self.set_title(title)

    def normalize_text(self, text: str) -> str:
        """Every character as a font in the document prints it, or U+FFFD (fpdf2 calls this
        on each text before laying it out)."""
        text = super().normalize_text(text)
        have = self.current_font.cmap if isinstance(self.current_font, TTFFont) else {}
        # a font may map a control character (NUL, most often) to an empty glyph
        missing = {
            c
            for c in set(text)
            if c != "\n" and (ord(c) not in have or unicodedata.category(c) == "Cc")
        }
        if not missing:
            return text
        stand_ins = {c: self._stand_in(c) for c in missing}
        return "".join(stand_ins.get(c, c) for c in text)

    def _stand_in(self, char: str) -> str:
        if char in BIDI_CONTROLS:
            return ""
        if unicodedata.category(char) != "Cc" and self._fallback_for(char):
            return char
        if char.isspace():
            return " "
        if invisible(char):
            return ""
        return MISSING if self._fallback_for(MISSING) else "?"

    def _fallback_for(self, char: str) -> bool:
        """Add the first fallback font that has `char`, unless it is in already."""
        code = ord(char)
        for path in fallback_fonts():
            if code in characters(path):
                if path not in self.fallbacks:
                    self._add_fallback(path)
                if unicodedata.bidirectional(char) in ("R", "AL") and can_shape():
                    # from here on: shaping costs three times the time, and most need none
                    self.set_text_shaping(True)
                return True
        return False

    def _add_fallback(self, path: Path) -> None:
        self.add_font(f"Fallback{len(self.fallbacks)}", "", str(path))
        self.fallbacks.append(path)
        families = [f"Fallback{index}" for index in range(len(self.fallbacks))]
        self.set_fallback_fonts(families, exact_match=False)  # bold takes the regular weight

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Sans", "", 8)
        self.set_text_color(120, 120, 120)
        page = self.t(N_("Page {page} of {pages}"), page=self.page_no(), pages="{nb}")
        self.cell(0, 5, f"{self.report_title} · {page}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(3)
        self.set_font("Sans", "B", 13)
        self.set_text_color(31, 78, 121)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(1)

    def paragraph(self, text: str, size: float = 10.5, style: str = "") -> None:
        self.set_font("Sans", style, size)
        self.multi_cell(0, 5.4, text, new_x="LMARGIN", new_y="NEXT")


def render(report: Report, t: Translator) -> bytes:
    """A one-to-three-page PDF report with a readiness scorecard."""
    doc = _ReportPdf(t, report.title)
    doc.add_page()
    doc.set_font("Sans", "B", 20)
    doc.multi_cell(0, 9, report.title, new_x="LMARGIN", new_y="NEXT")
    doc.paragraph(report.date, 10, "I")
    doc.ln(3)
    _verdict_box(doc, report)
    if report.scorecard:  # none when customer service stays in-house: there is no provider
        doc.heading(t(N_("Readiness scorecard")))
        _scorecard(doc, report)
    for section in report.sections:
        doc.heading(section.title)
        if section.note:
            doc.paragraph(section.note, 10, "I")
        for item in section.items:
            _item(doc, section.key, item, t)
    doc.heading(t(N_("Sources")))
    for number, title in report.sources:
        doc.paragraph(f"[{number}] {title}", 9.5)
    return bytes(doc.output())


def _verdict_box(doc: _ReportPdf, report: Report) -> None:
    doc.set_fill_color(234, 242, 248)
    doc.set_font("Sans", "B", 14)
    top = doc.get_y()
    doc.multi_cell(
        0, 8, report.verdict_title, fill=True, padding=(3, 4, 1, 4), new_x="LMARGIN", new_y="NEXT"
    )
    doc.set_font("Sans", "", 10.5)
    doc.multi_cell(
        0, 5.4, report.verdict_text, fill=True, padding=(1, 4, 3, 4), new_x="LMARGIN", new_y="NEXT"
    )
    doc.set_draw_color(31, 78, 121)
    doc.line(doc.l_margin, top, doc.l_margin, doc.get_y())
    doc.ln(2)


def _scorecard(doc: _ReportPdf, report: Report) -> None:
    label_width, bar_width, height = 55, doc.epw - 55 - 18, 5
    for _, title, score in report.scorecard:
        y = doc.get_y()
        doc.set_font("Sans", "", 9.5)
        doc.cell(label_width, height, title)
        doc.set_fill_color(230, 230, 230)
        doc.rect(doc.l_margin + label_width, y + 0.8, bar_width, height - 1.6, style="F")
        colour = (39, 174, 96) if score >= 75 else (230, 126, 34) if score >= 50 else (192, 57, 43)
        doc.set_fill_color(*colour)
        if score:
            width = bar_width * score / 100
            doc.rect(doc.l_margin + label_width, y + 0.8, width, height - 1.6, style="F")
        doc.set_x(doc.l_margin + label_width + bar_width + 2)
        doc.cell(16, height, f"{score}", align="R")
        doc.ln(height + 1)


def _item(doc: _ReportPdf, key: str, item: Item, t: Translator) -> None:
    cited = f"  [{cite(item)}]" if item.sources else ""
    x = doc.l_margin
    if doc.get_y() > doc.h - 30:
        doc.add_page()
    y = doc.get_y()
    if item.severity:
        doc.set_fill_color(*SEVERITY_COLOURS.get(item.severity, (150, 150, 150)))
        doc.rect(x, y + 1.2, 2.6, 2.6, style="F")
    elif key == "next_steps":
        doc.set_draw_color(90, 90, 90)
        doc.rect(x, y + 1.0, 3, 3)
    else:
        doc.set_fill_color(31, 78, 121)
        doc.ellipse(x + 0.6, y + 1.8, 1.4, 1.4, style="F")
    doc.set_left_margin(x + 5)
    doc.set_x(x + 5)
    if item.severity:
        doc.set_font("Sans", "B", 10.5)
        doc.multi_cell(
            0,
            5.4,
            f"{item.text} ({severity_label(item.severity, t)}){cited}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        doc.paragraph(item.detail or "", 10)
        doc.paragraph(f"{t(INSTEAD)} {item.instead}", 10, "I")
    else:
        doc.paragraph(f"{item.text}{cited}", 10.5)
    doc.set_left_margin(x)
    doc.ln(1.2)
