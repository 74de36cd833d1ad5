"""The PDF report: the same Report the chat shows, on A4 with embedded fonts.

Source Sans Pro (the `font-source-sans-pro` package) prints the report's own languages. A
character it lacks, typically in what a person typed (an emoji, Arabic, Hebrew, Greek,
Cyrillic, Indic or Thai letters, symbols), is printed with a Noto font from the
`manimgx-fonts` package, embedded only in the reports that use it; Arabic, Hebrew and the
other scripts whose letters join or run right to left are shaped by HarfBuzz (`uharfbuzz`).
Nothing is taken from the machine's own fonts, so a report looks the same on every server.
A character no font has (Chinese, Japanese and Korean: their fonts weigh tens of megabytes)
prints as U+FFFD "�", one for each character: visible, never a silent gap, so fpdf2 never
has a glyph to warn about.

Imported on first use (through `export.pdf`): fpdf2 and its font tools are a sixth of the
bot's start-up, and most processes never make a PDF.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from dataclasses import dataclass
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
MISSING = "\ufffd"  # in Noto Sans, the first fallback


@dataclass(frozen=True)
class Fallback:
    """A font for the characters Source Sans Pro lacks; `shaped`: its script needs HarfBuzz."""

    family: str
    file: str
    italic: str | None = None
    shaped: bool = True


# tried in this order; each is a variable font printed at its default (regular) weight
FALLBACKS = (
    Fallback("NotoSans", "NotoSans[wght].ttf", "NotoSans-Italic[wght].ttf", shaped=False),
    Fallback("NotoEmoji", "NotoEmoji[wght].ttf", shaped=False),
    Fallback("NotoSymbols", "NotoSansSymbols[wght].ttf", shaped=False),
    *(
        Fallback(f"Noto{script}", f"NotoSans{script}[wght].ttf")
        for script in (
            "Arabic", "Hebrew", "Armenian", "Georgian", "Ethiopic", "Thai", "Lao", "Khmer",
            "Myanmar", "Devanagari", "Bengali", "Gujarati", "Gurmukhi", "Kannada",
            "Malayalam", "Oriya", "Sinhala", "Tamil", "Telugu",
        )
    ),
)  # fmt: skip


def fallback_dir() -> Path:
    """The `manimgx-fonts` folder, found without importing the package: only its files
    are used, so none of its code runs."""
    spec = importlib.util.find_spec("manimgx_fonts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the PDF needs the manimgx-fonts package: pip install manimgx-fonts")
    return Path(next(iter(spec.submodule_search_locations)))


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
        self.fallbacks: list[Fallback] = []  # those added, as a report needs them
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
        self._fallback_for(MISSING)
        return MISSING

    def _fallback_for(self, char: str) -> bool:
        """Add the first fallback font that has `char`, unless it is in already."""
        folder = fallback_dir()
        code = ord(char)
        for fallback in FALLBACKS:
            files = [fallback.file] + ([fallback.italic] if fallback.italic else [])
            if any(code in characters(folder / f) for f in files):
                if fallback not in self.fallbacks:
                    self._add_fallback(folder, fallback)
                return True
        return False

    def _add_fallback(self, folder: Path, fallback: Fallback) -> None:
        self.add_font(fallback.family, "", str(folder / fallback.file))
        if fallback.italic:
            self.add_font(fallback.family, "I", str(folder / fallback.italic))
        self.fallbacks.append(fallback)
        # in FALLBACKS' order, as `_fallback_for` chose; bold text takes the regular weight
        families = [f.family for f in FALLBACKS if f in self.fallbacks]
        self.set_fallback_fonts(families, exact_match=False)
        if fallback.shaped and not self.text_shaping:
            # from here on: shaping costs three times the time, and most reports need none
            self.set_text_shaping(True)

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
