"""The report a manager reads: the same sections everywhere, and a chat form for a phone."""

from __future__ import annotations

import random
from html import escape
from pathlib import Path

import pytest
import yaml

from advisor.engine import Engine
from advisor.flow import DONT_KNOW, default_flows_dir, load_flow
from advisor.i18n import LANGUAGES, translator
from advisor.report import as_text, brief, build_report, verdict_title
from bot.telegram.render import MESSAGE_LIMIT, report_messages

FLOW = load_flow(default_flows_dir() / "advisor.yaml")
ENGINE = Engine(FLOW)
SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
# everything at once that can go wrong: the longest "Why" and the most red flags
WORST = {
    "duration": "ongoing",
    "situation": "workload_growth",
    "inhouse_signals": ["direct_feedback", "strict_secrecy"],
    "complexity": "dont_know",
    "monthly_contacts": 400,
    "customer_languages": "several",
    "goals": ["cost"],
    "kpis_measurable": DONT_KNOW,
    "commitment": "pilot",
    "results_expected": "3_months",
    "contract_length": "1_year",
    "pricing": "per_minute",
    "history_data": "none",
    "processes_documented": "no",
    "internal_owner": False,
    "keep_facilities": True,
    "provider_stage": "negotiating",
    "selection_practices": ["cheapest_first", "first_search_results", "awards", "standard_sla"],
    "quality_access": ["none"],
    "security_checks": ["none"],
}


def random_answers(seed: int) -> dict:
    """A random but complete set of answers, walking the flow as a person would."""
    rng = random.Random(seed)
    conversation = ENGINE.start().conversation
    while not conversation.finished:
        prompt = ENGINE.prompt(conversation)
        if prompt.kind == "number":
            value = rng.choice([300, 4000, 12000, 90000])
        elif prompt.kind == "yes_no":
            value = rng.choice([True, False, *((DONT_KNOW,) if prompt.question.dont_know else ())])
        elif prompt.kind == "multiple":
            plain = [o.id for o in prompt.options if not o.exclusive]
            value = rng.sample(plain, rng.randint(1, len(plain)))
        else:
            value = rng.choice(prompt.options).id
        conversation = ENGINE.answer(conversation, value).conversation
    return conversation.current_answers()


CASES = [WORST, *(yaml.safe_load(p.read_text())["answers"] for p in SCENARIOS)]
CASES += [random_answers(seed) for seed in range(40)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_chat_recommendation_is_at_most_two_messages_in_every_language(language):
    t = translator(language)
    for answers in CASES:
        rec = ENGINE.run(answers)[1].recommendation
        messages = report_messages(build_report(FLOW, rec, t), t)
        assert 1 <= len(messages) <= 2, (language, rec.verdict, [len(m) for m in messages])
        assert all(len(m) <= MESSAGE_LIMIT for m in messages)
        assert escape(verdict_title(FLOW, rec, t)) in messages[0]


def test_the_brief_keeps_the_worst_flags_and_counts_what_it_leaves_out():
    t = translator("en")
    rec = ENGINE.run(WORST)[1].recommendation
    report = build_report(FLOW, rec, t)
    short = brief(report, t)
    flags = short.section("flags")
    assert len(flags.items) <= 5 and flags.left_out == len(report.section("flags").items) - 5
    assert all(item.severity == "high" for item in flags.items)
    changes = short.section("changes")
    assert len(changes.items) <= 2
    assert {s.key for s in short.sections} <= {"reasons", "changes", "flags", "next_steps"}
    text = "\n".join(report_messages(report, t))
    assert f"… and {flags.left_out} more in the report" in text


def test_a_tip_shown_during_the_chat_is_only_named_in_the_recommendation():
    t = translator("en")
    rec = ENGINE.run(WORST)[1].recommendation
    text = "\n".join(report_messages(build_report(FLOW, rec, t), t))
    flags = {f.id: f for f in FLOW.flags}
    tip = flags["contract_too_short"]
    assert tip.tip and tip.id in rec.flags
    assert tip.why not in text


def test_what_would_change_is_in_the_json_the_text_and_the_pdf_report_in_full():
    municipality = Path(__file__).parent / "scenarios" / "se_municipality_peaks_secrecy.yaml"
    rec = ENGINE.run(yaml.safe_load(municipality.read_text(encoding="utf-8"))["answers"])[1]
    report = build_report(FLOW, rec.recommendation, translator("en"))
    shown = [c for c in rec.recommendation.changes if FLOW.by_id[c.question].what_if]
    assert len(report.section("changes").items) == len(shown) > 2
    assert "What would change the verdict" in as_text(report, translator("en"))
