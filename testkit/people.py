"""People for the emulator: the answers they give and how they give them.

Playing a user through `testkit.botapi.FakeUser`: wait for the next question, press a
button and wait until the press is answered, tick options, walk a whole path.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from advisor.engine import Asking, Engine, Prompt
from advisor.flow import default_flows_dir, load_flow, yes_no_option

PROGRESS = re.compile(r"^(\d+)/(\d+) ")
FLOW = load_flow(default_flows_dir() / "advisor.yaml")
SAVED = "/summary shows this again"  # the end of the recommendation in the chat
# The manager with recurring peaks, one answer per question asked (the advice: overflow).
# Tests that need another manager change a few answers of this one.
PEAKS = {
    "duration": "ongoing",
    "situation": "peaks",
    "inhouse_signals": ["none"],
    "complexity": "mixed",
    "monthly_contacts": 12000,
    "customer_languages": "one",
    "goals": ["cost", "customer_experience"],
    "main_goal": "cost",
    "kpis_measurable": True,
    "commitment": "long_term",
    "results_expected": "12_months",
    "contract_length": "3_years_plus",
    "pricing": "per_hour",
    "history_data": "two_years_daily",
    "processes_documented": "yes",
    "internal_owner": True,
    "keep_facilities": False,
    "provider_stage": "not_started",
    "quality_access": ["recordings", "reports"],
    "security_checks": ["continuity_plan", "gdpr"],
}


def asked(flow, answers) -> list[tuple[Prompt, Any]]:
    """The questions a person with these answers is asked, in order, each with its answer."""
    engine = Engine(flow)
    turn = engine.start()
    steps = []
    while isinstance(turn, Asking):
        value = answers[turn.prompt.id]
        steps.append((turn.prompt, value))
        turn = engine.answer(turn.conversation, value)
    return steps


def buttons(flow, answers, t=None) -> list[tuple[str, list[str] | str]]:
    """The path on Telegram: per question, the labels to press (ticks, then Done) or the
    text to type; in the language of the translator `t`, if given."""
    t = t or (lambda text: text)
    path: list[tuple[str, list[str] | str]] = []
    for prompt, value in asked(flow, answers):
        if prompt.kind == "number":
            path.append((prompt.id, t.number(value) if hasattr(t, "number") else _grouped(value)))
            continue
        if prompt.kind == "text":
            path.append((prompt.id, value))
            continue
        chosen = _option_ids(prompt, value)
        labels = [t(o.button) for i in chosen for o in prompt.options if o.id == i]
        path.append((prompt.id, [*labels, t("Done")] if prompt.multiple else labels))
    return path


def _grouped(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def typed_lines(flow, answers) -> list[str]:
    """The path in the terminal chat: option numbers (with commas), or the text."""
    lines = []
    for prompt, value in asked(flow, answers):
        if prompt.kind in ("number", "text"):
            lines.append(f"{value:,}".replace(",", " ") if prompt.kind == "number" else value)
            continue
        numbers = {o.id: str(n) for n, o in enumerate(prompt.options, 1)}
        lines.append(",".join(numbers[i] for i in _option_ids(prompt, value)))
    return lines


def _option_ids(prompt: Prompt, value: Any) -> list[str]:
    if prompt.kind == "yes_no":
        return [yes_no_option(value) or ""]
    return [value] if isinstance(value, str) else list(value)


PEAKS_PATH = buttons(FLOW, PEAKS)


def next_question(user, timeout: float = 10):
    """Skip tips and greetings up to the next question message."""
    while True:
        message = user.next_message(timeout)
        if PROGRESS.match(message.plain_text or ""):
            return message


def press(user, message, label: str) -> None:
    """Press a button on a question and wait until the press was answered."""
    update_id = user.press(label, message)
    user.wait_callback_answered(update_id)


def toggle(user, message, label: str) -> None:
    press(user, message, label)
    user.wait_for(
        lambda: f"✅ {label}" in user.message(message).buttons, what=f"a tick on {label!r}"
    )


def give(user, message, given) -> None:
    """One answer on a question message: typed text, or ticks then a last press."""
    if isinstance(given, str):
        user.send(given)
        return
    *ticks, last = given
    for label in ticks:
        toggle(user, message, label)
    press(user, message, last)


def walk(user, path, message=None):
    """Answer the questions of `path` in order; returns the last question message."""
    message = message or next_question(user)
    for i, (_, given) in enumerate(path):
        give(user, message, given)
        if i < len(path) - 1:
            message = next_question(user)
    return message


def report_text(user, contains: str) -> str:
    user.wait_for(
        lambda: any(contains in (m.plain_text or "") for m in user.messages),
        what=f"a message containing {contains!r}",
    )
    return "\n".join(m.plain_text or "" for m in user.messages if m.from_bot)


def rows(db_path, sql, *params):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()
