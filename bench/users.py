"""Simulated Telegram users: each walks the whole flow in the emulator, reacting to the bot.

A user acts when the bot's reply makes the next action possible (the next question arrived, a
tick shows on the keyboard), after a think time; that is a closed loop per user. Everything
runs in the emulator's event loop, triggered by the bot's own calls, so the driver costs a
few microseconds per call and never polls.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from testkit.botapi import BotApiEmulator, Call, ChatMessage, FakeUser

from .path import PATH


@dataclass(frozen=True)
class Action:
    """One update a user sends, once `ready` holds for their chat."""

    question: int  # the question it answers (1-based), 0 for /start
    text: str | None = None  # typed text
    label: str | None = None  # or the button pressed on the question's message
    ticked: tuple[str, ...] = ()  # labels that must show as ticked first


def script() -> list[Action]:
    actions = [Action(0, text="/start")]
    for number, (_, step) in enumerate(PATH, 1):
        if isinstance(step, str):
            actions.append(Action(number, text=step))
            continue
        for i, label in enumerate(step):
            actions.append(Action(number, label=label, ticked=tuple(step[:i])))
    return actions


SCRIPT = script()


def question(user: FakeUser, number: int) -> ChatMessage | None:
    """The bot's message asking question `number` (its text starts with "number/")."""
    prefix = f"{number}/"
    for message in reversed(user.messages):
        if message.from_bot and (message.plain_text or "").startswith(prefix):
            return message
    return None


def ready(user: FakeUser, action: Action) -> bool:
    if action.question == 0:
        return True
    asked = question(user, action.question)
    if asked is None:
        return False
    return all(f"✅ {label}" in asked.buttons for label in action.ticked)


@dataclass
class _Walker:
    user: FakeUser
    position: int = 0  # index of the next action in SCRIPT
    sent_at: float | None = None  # when the last update went out, until its reply came
    done: bool = False


@dataclass
class Outcome:
    updates: int
    seconds: float
    latencies: list[float] = field(default_factory=list)


class Crowd:
    """`count` users walking SCRIPT against whatever bot polls `emulator`.

    `think` is the mean pause (uniform between 0 and twice it) between a reply and the user's
    next update; 0 makes a saturating closed loop. `finished(user)` says when the bot's answer
    to the last action is complete (a bot may send several messages at the end).
    """

    def __init__(
        self,
        emulator: BotApiEmulator,
        count: int,
        first_id: int,
        finished: Callable[[FakeUser], bool],
        *,
        think: float = 0.0,
        seed: int = 1,
    ) -> None:
        self.emulator = emulator
        self.finished = finished
        self.think = think
        self.random = random.Random(seed)
        self.walkers = {
            first_id + i: _Walker(emulator.user(first_id + i, first_name=f"B{i}"))
            for i in range(count)
        }
        self.latencies: list[float] = []
        self.updates = 0
        self.remaining = count
        self.all_done = threading.Event()
        emulator.on_call(self._on_call)

    def run(self, timeout: float = 600) -> Outcome:
        began = time.time()
        for walker in self.walkers.values():
            delay = self.random.uniform(0, 2 * self.think) if self.think else 0.0
            self.emulator.call_later(delay, lambda walker=walker: self._act(walker))
        if not self.all_done.wait(timeout):
            stuck = [w for w in self.walkers.values() if not w.done][:3]
            raise AssertionError(
                f"{self.remaining} users did not finish in {timeout} s; e.g. "
                + ", ".join(f"{w.user} at action {w.position}" for w in stuck)
                + "\n"
                + self.emulator.describe_calls()
            )
        return Outcome(self.updates, time.time() - began, self.latencies)

    def _act(self, walker: _Walker) -> None:
        action = SCRIPT[walker.position]
        walker.position += 1
        walker.sent_at = time.time()
        self.updates += 1
        if action.label is None:
            walker.user.send(action.text)
        else:
            walker.user.press(action.label, question(walker.user, action.question))

    def _on_call(self, call: Call) -> None:
        walker = self.walkers.get(_chat_of(call))
        if walker is None or walker.done:
            return
        last = walker.position == len(SCRIPT)
        if walker.sent_at is not None and (last or ready(walker.user, SCRIPT[walker.position])):
            self.latencies.append(call.time - walker.sent_at)
            walker.sent_at = None
            if not last:
                delay = self.random.uniform(0, 2 * self.think) if self.think else 0.0
                self.emulator.call_later(delay, lambda: self._act(walker))
                return
        if last and walker.sent_at is None and self.finished(walker.user):
            walker.done = True
            self.remaining -= 1
            if not self.remaining:
                self.all_done.set()


def _chat_of(call: Call) -> int | None:
    try:
        return int(call.params.get("chat_id"))
    except (TypeError, ValueError):
        return None
