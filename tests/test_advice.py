"""The advice: worked expectations from the issue and every red flag, table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.engine import Engine
from advisor.flow import default_flows_dir, load_flow
from advisor.i18n import translator
from advisor.report import build_report

FLOW = load_flow(default_flows_dir() / "advisor.yaml")
ENGINE = Engine(FLOW)
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
NEUTRAL = {
    "situation": "new_company",
    "inhouse_signals": ["none"],
    "complexity": "mostly_simple",
    "monthly_contacts": 12000,
    "duration": "ongoing",
    "goals": ["scalability"],
    "kpis_measurable": True,
    "commitment": "long_term",
    "results_expected": "12_months",
    "contract_length": "3_years_plus",
    "pricing": "per_hour",
    "history_data": "two_years_daily",
    "internal_owner": True,
    "keep_facilities": False,
    "provider_stage": "shortlisting",
    "selection_practices": ["mystery_calls", "compared_several"],
    "quality_access": ["recordings", "live_listening", "reports", "feedback_to_partner"],
    "security_checks": [
        "continuity_plan",
        "two_telecom_operators",
        "backups",
        "gdpr",
        "financial_standing",
    ],
}
ALL_SECURITY = NEUTRAL["security_checks"]
ALL_QUALITY = NEUTRAL["quality_access"]


def advise(**changes):
    return ENGINE.run({**NEUTRAL, **changes})[1].recommendation


def without(items, item):
    return [i for i in items if i != item]


FLAG_TRIGGERS = {
    "pilot_mentality": {"commitment": "pilot"},
    "quick_wins_expected": {"results_expected": "3_months"},
    "contract_too_short": {"contract_length": "1_year"},
    "contract_under_three_years": {"contract_length": "2_years"},
    "per_contact_pricing": {"pricing": "per_contact"},
    "kpis_not_measurable": {"kpis_measurable": False},
    "too_many_goals": {
        "goals": ["cost", "revenue", "scalability", "international"],
        "main_goal": "cost",
    },
    "cost_only": {"goals": ["cost"]},
    "no_history_data": {"history_data": "none"},
    "partial_history_data": {"history_data": "some"},
    "no_internal_owner": {"internal_owner": False},
    "keeps_facilities": {"keep_facilities": True},
    "complex_cases": {"complexity": "mostly_complex"},
    "cheapest_provider": {"selection_practices": ["cheapest_first", "mystery_calls"]},
    "narrow_search": {"selection_practices": ["first_search_results", "mystery_calls"]},
    "awards_driven": {"selection_practices": ["awards", "mystery_calls"]},
    "shallow_due_diligence": {"selection_practices": ["site_visit_only", "mystery_calls"]},
    "standard_contract": {"selection_practices": ["standard_sla", "mystery_calls"]},
    "no_mystery_calls": {"selection_practices": ["compared_several"]},
    "no_recordings_access": {"quality_access": without(ALL_QUALITY, "recordings")},
    "no_reporting": {"quality_access": without(ALL_QUALITY, "reports")},
    "no_feedback_loop": {"quality_access": without(ALL_QUALITY, "feedback_to_partner")},
    "no_continuity_plan": {"security_checks": without(ALL_SECURITY, "continuity_plan")},
    "single_telecom_operator": {"security_checks": without(ALL_SECURITY, "two_telecom_operators")},
    "backups_unchecked": {"security_checks": without(ALL_SECURITY, "backups")},
    "no_gdpr_procedures": {"security_checks": without(ALL_SECURITY, "gdpr")},
    "financial_standing_unchecked": {
        "security_checks": without(ALL_SECURITY, "financial_standing")
    },
}
REQUIRED_FLAGS = {
    "contract_too_short",
    "per_contact_pricing",
    "pilot_mentality",
    "no_history_data",
    "no_internal_owner",
    "cheapest_provider",
    "awards_driven",
    "shallow_due_diligence",
    "no_recordings_access",
    "no_continuity_plan",
    "no_gdpr_procedures",
    "keeps_facilities",
    "quick_wins_expected",
    "complex_cases",
}


def test_neutral_answers_raise_no_flag_and_outsource():
    rec = advise()
    assert rec.flags == ()
    assert rec.verdict == "outsource"


def test_every_flag_of_the_flow_has_a_trigger_in_this_table():
    assert {f.id for f in FLOW.flags} == set(FLAG_TRIGGERS)
    assert set(FLAG_TRIGGERS) >= REQUIRED_FLAGS


@pytest.mark.parametrize("flag", sorted(FLAG_TRIGGERS))
def test_each_flag_is_raised_by_its_answer_and_not_otherwise(flag):
    assert flag in advise(**FLAG_TRIGGERS[flag]).flags
    assert flag not in advise().flags


def test_every_flag_has_a_severity_a_why_an_instead_and_a_real_source():
    for flag in FLOW.flags:
        assert flag.severity in ("high", "medium", "low")
        assert flag.why and flag.instead and flag.sources
    rules = [*FLOW.reasons, *FLOW.verdict_rules, *FLOW.flags, *FLOW.advice, *FLOW.kpis.values()]
    for rule in rules:
        assert rule.sources and set(rule.sources) <= set(FLOW.sources)
    if SEEDS.is_dir():
        assert all((SEEDS / name).is_file() for name in FLOW.sources)


def test_integrated_specialist_feedback_and_complex_cases_stay_in_house():
    rec = advise(
        inhouse_signals=["integrated_systems", "specialist_knowledge", "direct_feedback"],
        complexity="mostly_complex",
        situation="exploring",
    )
    assert rec.verdict == "in_house"
    assert {
        "integrated_systems",
        "specialist_knowledge",
        "direct_feedback",
        "complex_questions",
    } <= set(rec.reasons)


def test_recurring_peaks_mixed_and_ongoing_give_overflow_with_the_steady_stream():
    rec = advise(situation="peaks", complexity="mixed", duration="ongoing")
    assert rec.verdict == "overflow"
    assert "recurring_peaks" in rec.reasons
    assert "overflow_steady_stream" in rec.advice


def test_a_new_growing_company_with_simple_questions_outsources_without_high_flags():
    rec = advise(
        situation="new_company",
        complexity="mostly_simple",
        goals=["scalability"],
        commitment="long_term",
        contract_length="3_years_plus",
        pricing="per_hour",
    )
    severities = {f.id: f.severity for f in FLOW.flags}
    assert rec.verdict == "outsource"
    assert not [f for f in rec.flags if severities[f] == "high"]
    assert rec.main_goal == "scalability" and "service_level" in rec.kpis


def test_pilot_one_year_per_contact_and_quick_results_raise_the_four_flags():
    rec = advise(
        commitment="pilot",
        contract_length="1_year",
        pricing="per_contact",
        results_expected="3_months",
    )
    assert {
        "pilot_mentality",
        "contract_too_short",
        "per_contact_pricing",
        "quick_wins_expected",
    } <= set(rec.flags)
    assert rec.expected_month == 3


def test_no_history_and_no_owner_means_prepare_first_unless_in_house_dominates():
    assert advise(history_data="none", internal_owner=False).verdict == "prepare_first"
    dominated = advise(
        history_data="none",
        internal_owner=False,
        situation="exploring",
        inhouse_signals=["integrated_systems", "specialist_knowledge"],
        complexity="mostly_complex",
    )
    assert dominated.verdict == "in_house"


def test_a_short_campaign_below_the_scale_says_so():
    rec = advise(duration="short_campaign", monthly_contacts=2000)
    assert "small_campaign" in rec.reasons + rec.counterpoints
    text = next(r.text for r in FLOW.reasons if r.id == "small_campaign")
    assert "5 000 to 10 000" in text


def test_main_goal_decides_the_kpis_when_there_are_several_goals():
    rec = advise(goals=["revenue", "cost"], main_goal="revenue")
    assert rec.main_goal == "revenue" and rec.kpis == FLOW.goal_kpis["revenue"]


@pytest.mark.parametrize(
    ("stage", "step"),
    [
        ("not_started", "step_tender"),
        ("shortlisting", "step_mystery_calls"),
        ("negotiating", "step_negotiate"),
        ("signed", "step_transition"),
    ],
)
def test_next_steps_follow_the_provider_stage(stage, step):
    assert step in advise(provider_stage=stage).advice


def test_the_timeline_warns_only_when_results_are_expected_too_early():
    t = translator("en")
    early = build_report(FLOW, advise(results_expected="3_months"), t).section("timeline")
    late = build_report(FLOW, advise(results_expected="12_months"), t).section("timeline")
    assert any("before the stable phase" in i.text for i in early.items)
    assert not any("before the stable phase" in i.text for i in late.items)
