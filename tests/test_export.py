"""Exports: the PDF and Markdown reports, CSV and JSON for operators, and /export in the chat."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from pypdf import PdfReader

from advisor import export
from advisor.engine import Engine
from advisor.i18n import translator
from bot.service import AdvisorService, Asking
from storage import Store
from testkit.harness import FLOW, BotRunner
from testkit.people import PEAKS_PATH, SAVED, press, report_text, walk

RISKY = {
    "duration": "ongoing",
    "situation": "new_company",
    "inhouse_signals": ["none"],
    "complexity": "mostly_simple",
    "monthly_contacts": 12000,
    "customer_languages": "one",
    "goals": ["scalability"],
    "kpis_measurable": True,
    "commitment": "pilot",
    "results_expected": "3_months",
    "contract_length": "1_year",
    "pricing": "per_contact",
    "history_data": "some",
    "processes_documented": "partly",
    "internal_owner": True,
    "keep_facilities": False,
    "provider_stage": "not_started",
    "quality_access": ["recordings", "reports"],
    "security_checks": ["continuity_plan", "gdpr"],
}
CREATED = "2026-11-24T10:00:00+00:00"


def recommendation(answers=RISKY):
    return Engine(FLOW).run(answers)[1].recommendation


def finished_db(tmp_path, people=3):
    db = tmp_path / "x.db"
    with Store(db) as store:
        service = AdvisorService(FLOW, store)
        for i in range(people):
            user = store.user("terminal", f"u{i}", language="pl" if i == 0 else "en")
            service.current(user)
            step = service.current(user)
            while isinstance(step.turn, Asking):
                step = service.answer(user, RISKY[step.turn.prompt.id])
        unfinished = store.user("terminal", "late", language="en")
        service.current(unfinished)
        service.answer(unfinished, "ongoing")
        service.answer(unfinished, "peaks")
    return db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_has_the_verdict_a_flag_and_polish_letters():
    t = translator("pl")
    rec = recommendation()
    text = pdf_text(export.pdf(FLOW, rec, t, CREATED))
    flags = {f.id: f for f in FLOW.flags}
    assert t(FLOW.verdicts[rec.verdict].title) in text
    assert t(flags["contract_too_short"].title) in text
    assert t(FLOW.verdicts["prepare_first"].title) in text
    assert any(letter in text for letter in "ąęłśżźćń")


def test_the_markdown_has_headings_checklist_and_scorecard():
    text = export.markdown(FLOW, recommendation(), translator("en"), CREATED)
    assert text.startswith("# Outsourcing advisor for customer service")
    assert "## Red flags" in text and "- [ ] " in text
    # a one-year contract (high, -50) and paying per contact (medium, -25)
    assert "| Contract and pricing | 25 / 100 |" in text


def test_csv_round_trips_with_stable_columns_and_neutralised_formulas(tmp_path):
    db = finished_db(tmp_path)
    with Store(db) as store:
        summaries = list(store.reports.summaries())
    data = export.csv_bytes(FLOW, summaries).decode("utf-8")
    assert data.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(data[1:])))
    assert len(rows) == 3
    assert list(rows[0])[:10] == export.csv_columns(FLOW)[:10]
    assert rows[0]["verdict"] == "prepare_first"
    assert "contract_too_short" in rows[0]["flags"].split()
    assert rows[0]["answer_pricing"] == "per_contact"
    assert rows[0]["answer_internal_owner"] == "yes"
    for typed in ("=cmd()", "+1", "-2", "@SUM(A1)"):
        assert export.neutralise(typed) == "'" + typed
    assert export.neutralise("plain") == "plain"


def test_cli_export_json_csv_pdf_and_stats(tmp_path):
    db = finished_db(tmp_path)

    def advisor(*args):
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args, "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    summaries = json.loads(advisor("export", "--format", "json", "--lang", "sv"))
    assert [s["verdict"]["id"] for s in summaries] == ["prepare_first"] * 3
    title = translator("sv")(FLOW.verdicts["prepare_first"].title)
    assert summaries[0]["verdict"]["title"] == title
    advisor("export", "--format", "csv", "--out", str(tmp_path / "all.csv"))
    assert (tmp_path / "all.csv").read_text(encoding="utf-8-sig").count("\n") == 4
    advisor("export", "--format", "pdf", "--out", str(tmp_path / "pdfs"), "--conversation", "1")
    (pdf,) = (tmp_path / "pdfs").iterdir()
    assert "Prepare before you outsource" in pdf_text(pdf.read_bytes())
    no_folder = subprocess.run(
        [sys.executable, "-m", "bot.cli", "export", "--format", "pdf", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_folder.returncode == 2 and "needs --out FOLDER" in no_folder.stderr
    stats = json.loads(advisor("stats", "--format", "json"))
    assert stats["en"]["finished"] == 2 and stats["pl"]["finished"] == 1
    assert stats["en"]["open"] == 1 and stats["en"]["stopped_at"] == {"inhouse_signals": 1}
    assert stats["en"]["flags"]["contract_too_short"] == 2
    assert "stopped at" in advisor("stats")


def test_export_in_the_chat_sends_the_pdf(emulator, tmp_path):
    with BotRunner(emulator, tmp_path / "bot.db"):
        ivy = emulator.user(1201, first_name="Ivy")
        ivy.send("/export")
        assert "no finished recommendation" in ivy.next_message().plain_text
        ivy.send("/start")
        walk(ivy, PEAKS_PATH)
        report_text(ivy, SAVED)
        saved = next(m for m in ivy.messages if SAVED in (m.plain_text or ""))
        ivy.send("/export")
        document = ivy.wait_for(lambda: next((m for m in ivy.messages if m.document), None))
        assert document.document.filename.endswith(".pdf")
        assert "Outsource the overflow" in pdf_text(document.document.data)
        press(ivy, saved, "📝 Markdown")
        markdown = ivy.wait_for(
            lambda: next(
                (m for m in ivy.messages if m.document and m.document.filename.endswith(".md")),
                None,
            )
        )
        assert b"## Why" in markdown.document.data
        assert b"## What would change the verdict" in markdown.document.data
