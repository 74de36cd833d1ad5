"""The engine: every path, back, restart, bad input, tips, migration, and one shared machine."""

from __future__ import annotations

import pytest

from advisor.engine import AnswersError, Conversation, Engine, InvalidAnswer
from advisor.flow import default_flows_dir, load_flow
from advisor.numbers import parse_number
from testkit.people import PEAKS

FLOW = load_flow(default_flows_dir() / "advisor.yaml")
ENGINE = Engine(FLOW)
BASE = {**PEAKS, "goals": ["cost"], "quality_access": ["recordings"], "security_checks": ["gdpr"]}


def walk(answers, upto=None):
    conversation = ENGINE.start().conversation
    while not conversation.finished and conversation.state != upto:
        conversation = ENGINE.answer(conversation, answers[conversation.state]).conversation
    return conversation


def test_start_asks_the_first_question_with_progress():
    prompt = ENGINE.start().prompt
    assert (prompt.id, prompt.step) == ("duration", 1)
    assert prompt.total == len(FLOW.questions)  # all may still come
    assert [o.id for o in prompt.options] == ["ongoing", "short_campaign"]


def test_main_goal_is_asked_only_for_several_goals_with_those_goals_as_options():
    one = walk(BASE)
    assert "main_goal" not in one.path
    several = walk({**BASE, "goals": ["cost", "revenue"]}, upto="main_goal")
    prompt = ENGINE.prompt(several)
    assert [o.id for o in prompt.options] == ["revenue", "cost"]


@pytest.mark.parametrize(
    ("stage", "asked"),
    [("not_started", False), ("shortlisting", True), ("negotiating", True), ("signed", True)],
)
def test_selection_practices_are_asked_only_when_choosing_a_provider(stage, asked):
    answers = {**BASE, "provider_stage": stage, "selection_practices": ["compared_several"]}
    assert ("selection_practices" in walk(answers).path) is asked


def test_back_restores_the_previous_answer_as_the_default():
    conversation = walk(BASE, upto="monthly_contacts")
    turn = ENGINE.back(conversation)
    assert turn.prompt.id == "complexity"
    assert turn.prompt.default == "mixed"
    assert turn.prompt.step == 4


def test_back_at_the_first_question_is_refused():
    with pytest.raises(InvalidAnswer) as caught:
        ENGINE.back(ENGINE.start().conversation)
    assert caught.value.code == "nothing_to_go_back_to"


def test_changing_an_answer_after_back_reevaluates_what_follows():
    two_goals = walk(
        {**BASE, "goals": ["cost", "revenue"], "main_goal": "revenue"}, upto="kpis_measurable"
    )
    assert two_goals.answers["main_goal"] == "revenue"
    back_to_goals = ENGINE.back(ENGINE.back(two_goals).conversation).conversation
    assert back_to_goals.state == "goals"
    one_goal = ENGINE.answer(back_to_goals, ["cost"]).conversation
    assert one_goal.state == "kpis_measurable"
    finished = walk(BASE)
    conversation = one_goal
    while not conversation.finished:
        turn = ENGINE.answer(conversation, BASE[conversation.state])
        conversation = turn.conversation
    assert turn.recommendation.main_goal == "cost"
    assert "main_goal" not in turn.recommendation.answers
    assert finished.current_answers() == conversation.current_answers()


def test_a_new_start_does_not_share_state_with_another_conversation():
    one = walk(BASE, upto="complexity")
    other = ENGINE.start().conversation
    assert other.state == "duration" and other.answers == {}
    assert one.state == "complexity" and one.answers["situation"] == "peaks"


@pytest.mark.parametrize(
    ("state", "value", "code"),
    [
        ("situation", "unknown", "unknown_option"),
        ("situation", ["peaks"], "unknown_option"),
        ("inhouse_signals", [], "choose_at_least_one"),
        ("inhouse_signals", ["none", "strict_secrecy"], "exclusive_option"),
        ("monthly_contacts", "a lot", "not_a_number"),
        ("monthly_contacts", "-5", "below_minimum"),
        ("monthly_contacts", "1e12", "not_a_number"),
        ("kpis_measurable", "perhaps", "not_yes_no_dont_know"),
        ("internal_owner", "perhaps", "not_yes_no"),
    ],
)
def test_bad_input_is_a_typed_error_and_changes_nothing(state, value, code):
    conversation = walk({**BASE, "goals": ["cost"]}, upto=state)
    with pytest.raises(InvalidAnswer) as caught:
        ENGINE.answer(conversation, value)
    assert caught.value.code == code
    assert conversation.state == state


@pytest.mark.parametrize("typed", ["12000", "12 000", "12,000", "12\u00a0000", " 12000 "])
def test_numbers_are_read_the_way_people_type_them(typed):
    conversation = walk(BASE, upto="monthly_contacts")
    answered = ENGINE.answer(conversation, typed).conversation
    assert answered.answers["monthly_contacts"] == 12000


@pytest.mark.parametrize(
    ("text", "locale", "number"),
    [
        ("12 000", "sv", 12000),
        ("12.000", "nl", 12000),
        ("2,5", "sv", 2.5),
        ("2.5", "en", 2.5),
        ("12,000", "en", 12000),
        ("1,2,3", "en", None),
        ("abc", "pl", None),
        ("12.000,00", "en", None),  # the other custom's twelve thousand: never a quiet 12
        ("5.000,00", "en", None),
        ("12,000.00", "nl", None),
        ("12,000.50", "en", 12000.5),
    ],
)
def test_numbers_are_parsed_per_locale(text, locale, number):
    assert parse_number(text, locale) == number


@pytest.mark.parametrize(
    ("typed", "locale", "contacts"),
    [
        ("12.000", "en", 12000),
        ("12,000", "sv", 12000),
        ("12,500", "pl", 12500),
        ("12,000,000", "nl", 12_000_000),
        ("1.500", "fi", 1500),
    ],
)
def test_contacts_typed_with_another_locales_separator_are_never_a_quiet_twelve(
    typed, locale, contacts
):
    """A count has no decimals: a separator before three digits groups thousands anywhere."""
    conversation = walk(BASE, upto="monthly_contacts")
    answered = ENGINE.answer(conversation, typed, locale).conversation
    assert answered.answers["monthly_contacts"] == contacts


def test_a_risky_answer_gives_a_tip_once():
    conversation = walk(BASE, upto="contract_length")
    turn = ENGINE.answer(conversation, "1_year")
    assert [flag.id for flag in turn.tips] == ["contract_too_short"]
    assert ENGINE.answer(turn.conversation, "per_hour").tips == ()


def test_a_conversation_of_another_flow_version_is_refused_then_migrated():
    conversation = walk(BASE, upto="customer_languages")
    old = Conversation(
        conversation.flow_id, "0ld", conversation.state, conversation.answers, conversation.path
    )
    with pytest.raises(InvalidAnswer) as caught:
        ENGINE.answer(old, "one")
    assert caught.value.code == "flow_changed"
    migrated = ENGINE.migrate(old)
    assert migrated.flow_version == FLOW.version and migrated.state == "customer_languages"


def test_run_reaches_the_summary_or_names_the_questions_with_problems():
    conversation, turn = ENGINE.run(BASE)
    assert conversation.finished and turn.recommendation.verdict == "overflow"
    with pytest.raises(AnswersError) as caught:
        ENGINE.run({**BASE, "pricing": "barter", "colour": "blue"})
    assert set(caught.value.problems) == {"pricing", "colour"}
    missing = dict(BASE)
    del missing["history_data"]
    with pytest.raises(AnswersError) as caught:
        ENGINE.run(missing)
    assert caught.value.problems["history_data"].code == "missing_answer"


def test_the_machine_is_built_once_per_flow():
    assert ENGINE.machine.models == []
    assert len(ENGINE.machine.states) == len(FLOW.questions) + 1


@pytest.mark.parametrize("typed", ["dont_know", "don't know", "?"])
def test_a_yes_no_question_with_dont_know_takes_it_and_others_do_not(typed):
    kpis = walk(BASE, upto="kpis_measurable")
    assert ENGINE.answer(kpis, typed).conversation.answers["kpis_measurable"] == "dont_know"
    owner = walk(BASE, upto="internal_owner")
    with pytest.raises(InvalidAnswer):
        ENGINE.answer(owner, typed)


def test_a_campaign_skips_the_questions_about_an_ongoing_service():
    campaign = {**BASE, "duration": "short_campaign", "campaign_direction": "outbound"}
    path = walk(campaign).path
    assert "campaign_direction" in path
    assert not {"situation", "complexity", "commitment", "contract_length"} & set(path)


def test_the_progress_counter_never_goes_back():
    conversation = ENGINE.start().conversation
    last = 0.0
    for answers in (BASE, {**BASE, "goals": ["cost", "revenue"], "main_goal": "cost"}):
        conversation = ENGINE.start().conversation
        while not conversation.finished:
            prompt = ENGINE.prompt(conversation)
            assert prompt.step / prompt.total >= last
            last = prompt.step / prompt.total
            conversation = ENGINE.answer(conversation, answers[conversation.state]).conversation
        assert prompt.step == prompt.total
        last = 0.0
