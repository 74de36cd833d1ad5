"""Summaries leaving the chat: a PDF report, Markdown, and CSV/JSON for operators.

Every format renders the same translated `Report` the chat shows, so they say the same
thing. Each treats what a person typed as text, never as markup or a formula: the Markdown
escapes every text (advisor/markdown.py), the PDF prints every character with an embedded
font or as a visible U+FFFD (advisor/pdf.py), and a CSV cell a spreadsheet would run gets
a leading `'`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any, Protocol, TextIO, TypeVar

from . import markdown as markdown_report
from .advice import Recommendation
from .flow import Flow
from .i18n import Translator
from .report import Report, build_report, to_json

T = TypeVar("T")
# what makes a spreadsheet read a cell as a formula (OWASP's list: = + - @ tab CR), with
# line feed, and the full-width forms, in case a spreadsheet or a locale folds them
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def summary_date(created_at: str) -> date:
    return datetime.fromisoformat(created_at).date()


def report_for(flow: Flow, rec: Recommendation, t: Translator, created_at: str) -> Report:
    return build_report(flow, rec, t, summary_date(created_at))


# -- Markdown ---------------------------------------------------------------------------------


def markdown(flow: Flow, rec: Recommendation, t: Translator, created_at: str) -> str:
    """The recommendation as a Markdown document, for e-mail, wikis and boards. Every text in
    it, the user's and ours, is escaped to read as written (advisor/markdown.py)."""
    return markdown_report.render(report_for(flow, rec, t, created_at), t)


# -- PDF ----------------------------------------------------------------------------------------


def pdf(flow: Flow, rec: Recommendation, t: Translator, created_at: str) -> bytes:
    """A one-to-three-page PDF report with a readiness scorecard."""
    from . import pdf as pdf_report  # fpdf2 loads only when a PDF is made

    return pdf_report.render(report_for(flow, rec, t, created_at), t)


# -- operators: CSV and JSON ---------------------------------------------------------------


def neutralise(value: str) -> str:
    """Stop a spreadsheet from running a cell as a formula (`=cmd()` becomes `'=cmd()`),
    also behind leading spaces, which some spreadsheets skip (` =cmd()`)."""
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


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


class StoredSummary(Protocol):
    """A recommendation as storage keeps it (storage.Summary), as the exports read it."""

    @property
    def id(self) -> int: ...
    @property
    def conversation_id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def flow_id(self) -> str: ...
    @property
    def flow_version(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def created_at(self) -> str: ...
    @property
    def recommendation(self) -> Recommendation: ...


def csv_row(flow: Flow, summary: StoredSummary) -> list[str]:
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


def write_csv(flow: Flow, summaries: Iterable[StoredSummary], out: TextIO) -> int:
    """One row per summary; UTF-8 with a BOM so Excel reads the letters right. Streams."""
    out.write("\ufeff")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(csv_columns(flow))
    count = 0
    for summary in summaries:
        writer.writerow(csv_row(flow, summary))
        count += 1
    return count


def csv_bytes(flow: Flow, summaries: Iterable[StoredSummary]) -> bytes:
    buffer = io.StringIO()
    write_csv(flow, summaries, buffer)
    return buffer.getvalue().encode("utf-8")


def summary_json(flow: Flow, summary: StoredSummary, t: Translator) -> dict[str, Any]:
    return {
        "summary_id": summary.id,
        "conversation_id": summary.conversation_id,
        "user_id": summary.user_id,
        "language": summary.language,
        "created_at": summary.created_at,
        **to_json(flow, summary.recommendation, t),
    }


def write_json(flow: Flow, summaries: Iterable[StoredSummary], t: Translator, out: TextIO) -> int:
    """A JSON array written one summary at a time, so a large export never sits in memory."""
    out.write("[")
    count = 0
    for summary in summaries:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(summary_json(flow, summary, t), ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count


def file_name(summary: StoredSummary, extension: str) -> str:
    return f"outsourcing-advice-{summary.created_at[:10]}-{summary.conversation_id}.{extension}"


def progress(items: Iterable[T], every: int, report: Callable[[int], object]) -> Iterator[T]:
    """Pass items through, calling `report(count)` every `every` items."""
    for count, item in enumerate(items, 1):
        yield item
        if count % every == 0:
            report(count)
