"""People for the emulator: the answers they give and how they give them.

Playing a user through `testkit.botapi.FakeUser`: wait for the next question, press a
button and wait until the press is answered, tick options, walk a whole path.
"""

from __future__ import annotations

import re
import sqlite3

PROGRESS = re.compile(r"^(\d+)/(\d+) ")
SAVED = "/summary shows this again"  # the end of the recommendation in the chat
PEAKS_PATH = [
    ("duration", ["An ongoing customer service"]),
    ("situation", ["We have recurring peaks that our team cannot absorb"]),
    ("inhouse_signals", ["None of these", "Done"]),
    ("complexity", ["A mix of simple and complex"]),
    ("monthly_contacts", "12 000"),
    ("customer_languages", ["One language"]),
    ("goals", ["Lower cost", "A better customer experience and more satisfied customers", "Done"]),
    ("main_goal", ["Lower cost"]),
    ("kpis_measurable", ["Yes"]),
    ("commitment", ["A long-term partnership from the start"]),
    ("results_expected", ["Within a year"]),
    ("contract_length", ["Three or four years"]),
    ("pricing", ["Per hour"]),
    ("history_data", ["Daily figures for the last two years"]),
    ("processes_documented", ["Yes, and they are up to date"]),
    ("internal_owner", ["Yes"]),
    ("keep_facilities", ["No"]),
    ("provider_stage", ["Not started"]),
    (
        "quality_access",
        [
            "Access to recorded calls soon after the call",
            "Regular reports from the partner",
            "Done",
        ],
    ),
    ("security_checks", ["Business continuity plan", "GDPR procedures for personal data", "Done"]),
]


def is_question(message) -> bool:
    return bool(
        message.from_bot
        and PROGRESS.match(message.plain_text or "")
        and message.buttons is not None
    )


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
