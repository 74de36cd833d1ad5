"""Crash safety: the bot is killed with SIGKILL while 100 conversations run, and restarted.

Users whose press was lost press again, as people do; at the end every conversation is
finished, no answer is recorded twice, every summary is what the engine gives, every
update the bot kept was handled, and every report went out (the outbox is empty).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading

from advisor.engine import Engine
from advisor.flow import default_flows_dir, load_flow
from testkit.people import PEAKS, PEAKS_PATH, PROGRESS, SAVED, rows

USERS = 100
BATCH = 25
KILLS = 5


class CrashingBot:
    """`advisor run` as a process that a thread kills at random moments and restarts."""

    def __init__(self, emulator, db, seed: int) -> None:
        self.emulator = emulator
        self.db = db
        self.random = random.Random(seed)
        self.process: subprocess.Popen | None = None
        self.kills = 0
        self.done = threading.Event()

    def start(self) -> None:
        polls = len(self.emulator.calls_to("getUpdates"))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--db",
                str(self.db),
                "--api-url",
                self.emulator.base_url,
            ],
            env={
                **os.environ,
                "TELEGRAM_BOT_TOKEN": self.emulator.token,
                "ADVISOR_MAX_RATE": "1000",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.emulator.wait_for(
            lambda: len(self.emulator.calls_to("getUpdates")) > polls, timeout=30, what="polling"
        )

    def killer(self) -> None:
        """Kill after a random number of further Bot API calls, restart, repeat."""
        while self.kills < KILLS and not self.done.is_set():
            target = len(self.emulator.calls) + self.random.randint(40, 400)
            try:
                self.emulator.wait_for(
                    lambda target=target: self.done.is_set() or len(self.emulator.calls) >= target,
                    timeout=60,
                )
            except AssertionError:
                return
            if self.done.is_set():
                return
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1
            self.start()

    def stop(self) -> None:
        self.done.set()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def step_of(message) -> int:
    match = PROGRESS.match(message.plain_text or "")
    return int(match.group(1)) if match else 0


def latest_question(user):
    questions = [m for m in user.messages if m.from_bot and step_of(m)]
    return questions[-1] if questions else None


def finished(user) -> bool:
    return any(SAVED in (m.plain_text or "") for m in user.messages)


def act(user, index: int) -> None:
    """Give the answer to question number index+1 on its latest message, as far as needed."""
    message = latest_question(user)
    if message is None or step_of(message) != index + 1:
        return
    if not user.message(message).buttons:
        # answered and saved, but the process died before the next question went out:
        # the person asks again, as anyone would
        user.send("/start")
        return
    given = PEAKS_PATH[index][1]
    if isinstance(given, str):
        user.send(given)
        return
    *ticks, last = given
    for label in ticks:
        if f"✅ {label}" not in user.message(message).buttons:
            user.press(label, message)
            try:
                user.wait_for(lambda label=label: f"✅ {label}" in user.message(message).buttons, 2)
            except AssertionError:
                return  # lost with the process: the next round presses again
    user.press(last, message)


def moved_on(user, index: int) -> bool:
    if index == len(PEAKS_PATH) - 1:
        return finished(user)
    question = latest_question(user)
    return question is not None and step_of(question) > index + 1


def test_killed_at_random_the_bot_loses_nothing_and_records_nothing_twice(emulator, tmp_path):
    db = tmp_path / "bot.db"
    bot = CrashingBot(emulator, db, seed=20261124)
    bot.start()
    killer = threading.Thread(target=bot.killer, daemon=True)
    killer.start()
    users = [emulator.user(50_000 + i, first_name=f"C{i}") for i in range(USERS)]
    try:
        for start in range(0, USERS, BATCH):
            batch = users[start : start + BATCH]
            for user in batch:
                user.send("/start")
            for _ in range(20):
                try:
                    emulator.wait_for(lambda b=batch: all(latest_question(u) for u in b), 3)
                    break
                except AssertionError:
                    for user in batch:
                        if latest_question(user) is None:
                            user.send("/start")
            for index in range(len(PEAKS_PATH)):
                pending = list(batch)
                for _ in range(20):
                    for user in pending:
                        act(user, index)
                    # one wait for the whole batch: a kill costs a round, not a user
                    with contextlib.suppress(AssertionError):
                        emulator.wait_for(
                            lambda pending=pending, index=index: all(
                                moved_on(u, index) for u in pending
                            ),
                            3,
                        )
                    pending = [user for user in pending if not moved_on(user, index)]
                    if not pending:
                        break
                assert not pending, f"{len(pending)} users stuck at question {index + 1}"
    finally:
        bot.stop()
        killer.join(5)
    assert bot.kills >= 1

    expected_path = [q for q, _ in PEAKS_PATH]
    conversations = rows(db, "SELECT id, status FROM conversations")
    assert len(conversations) == USERS
    assert {status for _, status in conversations} == {"finished"}
    for conversation_id, _ in conversations:
        answered = rows(
            db,
            "SELECT question_id FROM answers WHERE action = 'answer' "
            f"AND conversation_id = {conversation_id} ORDER BY seq",
        )
        assert [q for (q,) in answered] == expected_path
    summaries = rows(db, "SELECT conversation_id, verdict FROM summaries")
    assert len(summaries) == USERS == len({c for c, _ in summaries})
    engine = Engine(load_flow(default_flows_dir() / "advisor.yaml"))
    assert {verdict for _, verdict in summaries} == {engine.run(PEAKS)[1].recommendation.verdict}
    assert rows(db, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == [(0,)]
    assert rows(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]
    assert all(finished(user) for user in users)
