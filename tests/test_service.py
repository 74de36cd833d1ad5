"""The service both front ends use: flow changes with open conversations are migrated."""

from __future__ import annotations

from pathlib import Path

from advisor.flow import default_flows_dir, load_flow
from bot.service import AdvisorService
from storage import Store

SHIPPED = default_flows_dir() / "advisor.yaml"


def changed_flow(tmp_path: Path, *changes: tuple[str, str]):
    path = tmp_path / "advisor.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return load_flow(path)


def test_an_open_conversation_continues_on_a_changed_flow_with_its_answers(tmp_path):
    flow = load_flow(SHIPPED)
    with Store(tmp_path / "a.db") as store:
        user = store.user("terminal", "ann")
        service = AdvisorService(flow, store)
        service.current(user)
        service.answer(user, "ongoing")
        service.answer(user, "peaks")
        service.answer(user, ["none"])
        service.answer(user, "mixed")
        # the complexity options change: "mixed" no longer exists
        newer = changed_flow(
            tmp_path,
            ("      - id: mixed\n", "      - id: mixed_bag\n"),
            ("[mixed,", "[mixed_bag,"),
            ("mostly_simple, mixed]", "mostly_simple, mixed_bag]"),
        )
        assert newer.version != flow.version
        step = AdvisorService(newer, store).current(user)
    assert step.migrated
    assert step.stored.conversation.flow_version == newer.version
    assert step.turn.prompt.id == "complexity"
    assert step.stored.conversation.answers["situation"] == "peaks"
    assert step.stored.conversation.path == ("duration", "situation", "inhouse_signals")


def test_a_changed_text_keeps_every_answer_and_the_question_reached(tmp_path):
    flow = load_flow(SHIPPED)
    with Store(tmp_path / "a.db") as store:
        user = store.user("terminal", "bo")
        service = AdvisorService(flow, store)
        service.current(user)
        service.answer(user, "ongoing")
        service.answer(user, "new_company")
        newer = changed_flow(
            tmp_path, ("How complex are the questions", "How complex are the cases")
        )
        step = AdvisorService(newer, store).current(user)
        assert step.migrated and step.turn.prompt.id == "inhouse_signals"
        again = AdvisorService(newer, store).current(user)
        assert not again.migrated
        steps = store.steps(step.stored.id)
    assert [s["action"] for s in steps] == ["answer", "answer", "migrate"]
