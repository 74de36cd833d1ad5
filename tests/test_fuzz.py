"""Random update sequences against the real application: nothing crashes, every reply is a
valid Bot API call, and every stored conversation is in a state the flow allows."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.engine import Conversation, Engine
from testkit.botapi import BotApiEmulator
from testkit.harness import FLOW, BotRunner

ENGINE = Engine(FLOW)
USERS = [90_001, 90_002, 90_003, 90_004]
COMMANDS = [
    "/start",
    "/back",
    "/restart",
    "/summary",
    "/help",
    "/language",
    "/settings",
    "/privacy",
    "/delete",
    "/clients",
    "/mylink",
    "/export",
    "/consultant",
    "/nonsense",
]
ODD = [
    "🙂" * 50,
    "\u202eRTL\u202c",
    "\x00\x07ctl",
    "<b>&amp;</b>",
    "&",
    "12 000",
    "12.000,5",
    "-1",
    "1e9",
    "x" * 4096,
    "٣٤٥",
    "/start " + "a" * 65,
    "/start bad$payload",
]

texts = st.one_of(st.sampled_from(ODD), st.text(min_size=1, max_size=200).filter(str.strip))
commands = st.builds(
    lambda c, arg: f"{c} {arg}".strip(),
    st.sampled_from(COMMANDS),
    st.one_of(st.just(""), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", max_size=70)),
)
forged = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda a, c, s, o, m: f"{a}:{c}:{s}:{o}:{m}",
        st.sampled_from("atdbrkxle"),
        st.integers(0, 10**6),
        st.integers(0, 99),
        st.integers(0, 999),
        st.integers(0, 10**6),
    ),
    st.sampled_from(["e:pdf", "e:md", "x:delete", "x:keep", "l:pl", "l:xx", "k:1:1", "k:a:b"]),
)
steps = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.one_of(
            st.tuples(st.just("text"), texts),
            st.tuples(st.just("command"), commands),
            st.tuples(st.just("press"), st.integers(0, 30)),
            st.tuples(st.just("forge"), forged, st.integers(0, 500)),
        ),
    ),
    min_size=5,
    max_size=30,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "bot.db"
    with BotApiEmulator() as emulator, BotRunner(emulator, db):
        yield emulator, db


def latest_with_buttons(user):
    return next((m for m in reversed(user.messages) if m.from_bot and m.buttons), None)


def perform(emulator, user, action) -> None:
    kind = action[0]
    if kind in ("text", "command"):
        before = len([m for m in user.messages if m.from_bot])
        user.send(action[1])
        user.wait_for(lambda: len([m for m in user.messages if m.from_bot]) > before, 10)
        return
    if kind == "press":
        message = latest_with_buttons(user)
        if message is None:
            return
        label = message.buttons[action[1] % len(message.buttons)]
        update_id = user.press(label, message)
    else:
        update_id = user.press_data(action[1], action[2])
    user.wait_callback_answered(update_id, 10)


ALLOWED_400 = ("message is not modified", "message to edit not found")


def check(emulator, db) -> None:
    for call in emulator.calls:
        if call.method == "sendMessage":
            assert 1 <= len(str(call.params.get("text", ""))) <= 4096
            markup = call.params.get("reply_markup")
            markup = json.loads(markup) if isinstance(markup, str) else markup or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    assert len(button["callback_data"].encode()) <= 64
            assert "Something went wrong" not in str(call.params.get("text"))
        if call.status and call.status >= 400 and call.method != "getUpdates":
            assert call.method.startswith("edit"), (call.method, call.status, call.params)
    with sqlite3.connect(db) as conn:
        for flow_id, version, state, answers, path in conn.execute(
            "SELECT flow_id, flow_version, state, answers, path FROM conversations"
        ):
            assert state in FLOW.by_id or state == "summary"
            answers, path = json.loads(answers), json.loads(path)
            replay = ENGINE.start().conversation
            for question in path:
                assert replay.state == question
                replay = ENGINE.answer(replay, answers[question]).conversation
            assert replay.state == state, (path, state)
            assert Conversation(flow_id, version, state).flow_version == FLOW.version


def test_random_updates_never_break_the_bot(world):
    """200 random sequences of presses, typed text and commands by three people; after each
    the stored conversations still replay, and the bot really answered along the way."""
    emulator, db = world
    users = {uid: emulator.user(uid, first_name=f"F{uid}", language_code="pl") for uid in USERS}

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(sequence=steps)
    def sequences(sequence):
        for uid, action in sequence:
            perform(emulator, users[uid], action)
        check(emulator, db)

    sequences()
    replies = sum(1 for c in emulator.calls if c.method == "sendMessage")
    presses = sum(1 for c in emulator.calls if c.method == "answerCallbackQuery")
    assert replies + presses > 2000, (replies, presses)
