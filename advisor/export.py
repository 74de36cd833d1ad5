"""Summaries leaving the chat: a PDF report, Markdown, and CSV/JSON for operators.

Every format renders the same translated `Report` the chat shows, so they say the same
thing. The PDF embeds Source Sans Pro (from the `font-source-sans-pro` package), so Polish,
Swedish and Finnish letters print whatever fonts the machine has.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

import font_source_sans_pro
from fpdf import FPDF

from .advice import Recommendation
from .flow import Flow
from .i18n import N_, Translator
from .report import (
    INSTEAD,
    RECOMMENDATION,
    SOURCES,
    Report,
    build_report,
    cite,
    severity_label,
    to_json,
)

FONT_DIR = Path(font_source_sans_pro.font_directory)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEVERITY_COLOURS = {"high": (192, 57, 43), "medium": (230, 126, 34), "low": (241, 196, 15)}


def summary_date(created_at: str) -> date:
    return datetime.fromisoformat(created_at).date()


def report_for(flow: Flow, rec: Recommendation, t: Translator, created_at: str) -> Report:
    return build_report(flow, rec, t, summary_date(created_at))


# -- Markdown ---------------------------------------------------------------------------------


def markdown(flow: Flow, rec: Recommendation, t: Translator, created_at: str) -> str:
    """The recommendation as a Markdown document, for e-mail, wikis and boards."""
    report = report_for(flow, rec, t, created_at)
    lines = [f"# {report.title}", "", f"*{report.date}*", ""]
    lines += [f"## {t(RECOMMENDATION)}: {report.verdict_title}", "", report.verdict_text, ""]
    lines += [f"## {t(N_('Readiness scorecard'))}", "", "| | |", "|---|---:|"]
    lines += [f"| {title} | {score} / 100 |" for _, title, score in report.scorecard]
    lines.append("")
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        if section.note:
            lines += [f"*{section.note}*", ""]
        for item in section.items:
            cited = f" [{cite(item)}]" if item.sources else ""
            if item.severity:
                label = severity_label(item.severity, t)
                lines.append(f"- **{item.text}** ({label}){cited}  ")
                lines.append(f"  {item.detail}  ")
                lines.append(f"  {t(INSTEAD)} {item.instead}")
            elif section.key == "next_steps":
                lines.append(f"- [ ] {item.text}{cited}")
            else:
                lines.append(f"- {item.text}{cited}")
        lines.append("")
    lines += [f"## {t(SOURCES)}", ""]
    lines += [f"- [{number}] {title}" for number, title in report.sources]
    return "\n".join(lines) + "\n"


# -- PDF ----------------------------------------------------------------------------------------


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
        self.set_title(title)

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


def pdf(flow: Flow, rec: Recommendation, t: Translator, created_at: str) -> bytes:
    """A one-to-three-page PDF report with a readiness scorecard."""
    report = report_for(flow, rec, t, created_at)
    doc = _ReportPdf(t, report.title)
    doc.add_page()
    doc.set_font("Sans", "B", 20)
    doc.multi_cell(0, 9, report.title, new_x="LMARGIN", new_y="NEXT")
    doc.paragraph(report.date, 10, "I")
    doc.ln(3)
    _verdict_box(doc, report)
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


def _item(doc: _ReportPdf, key: str, item, t: Translator) -> None:
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


# -- operators: CSV and JSON ---------------------------------------------------------------


def neutralise(value: str) -> str:
    """Stop a spreadsheet from running a cell as a formula (`=cmd()` becomes `'=cmd()`)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_columns(flow: Flow) -> list[str]:
    fixed = [
        "summary_id",
        "conversation_id",
        "user_id",
        "language",
        "created_at",
        "flow_id",
        "flow_version",
        "verdict",
        "flags",
        "main_goal",
    ]
    return fixed + [f"answer_{q.id}" for q in flow.questions]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def csv_row(flow: Flow, summary) -> list[str]:
    rec = summary.recommendation
    fixed = [
        summary.id,
        summary.conversation_id,
        summary.user_id,
        summary.language,
        summary.created_at,
        summary.flow_id,
        summary.flow_version,
        rec.verdict,
        list(rec.flags),
        rec.main_goal,
    ]
    answers = [rec.answers.get(q.id) for q in flow.questions]
    return [neutralise(_cell(v)) for v in fixed + answers]


def write_csv(flow: Flow, summaries: Iterable, out: TextIO) -> int:
    """One row per summary; UTF-8 with a BOM so Excel reads the letters right. Streams."""
    out.write("\ufeff")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(csv_columns(flow))
    count = 0
    for summary in summaries:
        writer.writerow(csv_row(flow, summary))
        count += 1
    return count


def csv_bytes(flow: Flow, summaries: Iterable) -> bytes:
    buffer = io.StringIO()
    write_csv(flow, summaries, buffer)
    return buffer.getvalue().encode("utf-8")


def summary_json(flow: Flow, summary, t: Translator) -> dict[str, Any]:
    return {
        "summary_id": summary.id,
        "conversation_id": summary.conversation_id,
        "user_id": summary.user_id,
        "language": summary.language,
        "created_at": summary.created_at,
        **to_json(flow, summary.recommendation, t),
    }


def write_json(flow: Flow, summaries: Iterable, t: Translator, out: TextIO) -> int:
    """A JSON array written one summary at a time, so a large export never sits in memory."""
    out.write("[")
    count = 0
    for summary in summaries:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(summary_json(flow, summary, t), ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count


def file_name(summary, extension: str) -> str:
    return f"outsourcing-advice-{summary.created_at[:10]}-{summary.conversation_id}.{extension}"


def progress(items: Iterable, every: int, report) -> Iterator:
    """Pass items through, calling `report(count)` every `every` items."""
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            report(count)
