"""The whole bot as a process against the Bot API emulator: start-up, memory, throughput."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storage import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from botapi_emulator import BotApiEmulator

# the answers by button label (a typed number for the one number question)
PATH = [
    ["We have recurring peaks that our team cannot absorb"],
    ["None of these", "Done"],
    ["A mix of simple and complex"],
    "12000",
    ["An ongoing customer service"],
    ["Lower cost", "Done"],
    ["Yes"],
    ["A long-term partnership from the start"],
    ["Within a year"],
    ["Three years or more"],
    ["Per hour"],
    ["Daily figures for the last two years"],
    ["Yes"],
    ["No"],
    ["Not started"],
    ["Access to recorded calls soon after the call", "Done"],
    ["GDPR procedures for personal data", "Done"],
]


class BotProcess:
    def __init__(self, emulator: BotApiEmulator, db: Path) -> None:
        self.emulator = emulator
        self.db = db
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start `advisor run`; seconds until its first getUpdates."""
        polls = len(self.emulator.calls_to("getUpdates"))
        began = time.perf_counter()
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
                "ADVISOR_MAX_RATE": "100000",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.emulator.wait_for(
            lambda: len(self.emulator.calls_to("getUpdates")) > polls, timeout=60, what="polling"
        )
        return time.perf_counter() - began

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def populate(db: Path, conversations: int) -> None:
    """Stored conversations made fast with one bulk insert (10% unfinished)."""
    Store(db).close()
    now = "2026-11-01T00:00:00+00:00"
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO users (channel, external_id, name, created_at, updated_at) "
            "VALUES ('bench', ?, ?, ?, ?)",
            ((str(i), f"user {i}", now, now) for i in range(conversations)),
        )
        answers = json.dumps({"situation": "peaks"})
        conn.executemany(
            "INSERT INTO conversations (user_id, flow_id, flow_version, state, answers, path, "
            "language, status, seq, started_at, updated_at) "
            "VALUES (?, 'advisor', 'old', ?, ?, ?, 'en', ?, 1, ?, ?)",
            (
                (
                    i + 1,
                    "inhouse_signals" if i % 10 == 0 else "summary",
                    answers,
                    '["situation"]',
                    "open" if i % 10 == 0 else "finished",
                    now,
                    now,
                )
                for i in range(conversations)
            ),
        )


def drive(emulator: BotApiEmulator, users: int, first_id: int) -> tuple[int, list[float]]:
    """Closed loop: every user walks the whole path; returns updates sent and latencies."""
    people = [emulator.user(first_id + i, first_name=f"B{i}") for i in range(users)]
    sent: list[tuple[int, float]] = []

    def send(user, action) -> None:
        sent.append((user.id, time.time()))
        action()

    def question(user, number):
        """The message asking question `number` (its text starts with "number/")."""
        return next(
            (
                m
                for m in reversed(user.messages)
                if m.from_bot and (m.plain_text or "").startswith(f"{number}/")
            ),
            None,
        )

    for user in people:
        send(user, lambda user=user: user.send("/start"))
    for number, step in enumerate(PATH, 1):
        emulator.wait_for(
            lambda number=number: all(question(u, number) for u in people), timeout=120
        )
        questions = {u.id: question(u, number) for u in people}
        if isinstance(step, str):
            for user in people:
                send(user, lambda user=user, step=step: user.send(step))
            continue
        *ticks, last = step
        for label in ticks:
            for user in people:
                send(
                    user, lambda user=user, q=questions[user.id], label=label: user.press(label, q)
                )
            emulator.wait_for(
                lambda label=label, questions=questions: all(
                    f"✅ {label}" in u.message(questions[u.id]).buttons for u in people
                ),
                timeout=120,
            )
        for user in people:
            send(user, lambda user=user, q=questions[user.id], last=last: user.press(last, q))
    emulator.wait_for(
        lambda: all(
            any("/summary" in (m.plain_text or "") for m in u.messages[-3:]) for u in people
        ),
        timeout=120,
    )
    return len(sent), _latencies(emulator, sent)


def _latencies(emulator: BotApiEmulator, sent: list[tuple[int, float]]) -> list[float]:
    """From each update to the bot's next call for that chat (a reply, edit or answer)."""
    replies: dict[int, list[float]] = {}
    for call in emulator.calls:
        chat = call.params.get("chat_id")
        if chat is not None:
            replies.setdefault(int(chat), []).append(call.time)
    for times in replies.values():
        times.sort()
    latencies = []
    for chat, at in sent:
        later = [t for t in replies.get(chat, []) if t >= at]
        if later:
            latencies.append(later[0] - at)
    return latencies


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def run(quick: bool) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name, BotApiEmulator() as emulator:
        folder = Path(name)
        starts = []
        for i in range(2 if quick else 3):
            bot = BotProcess(emulator, folder / f"start{i}.db")
            starts.append(bot.start())
            bot.stop()
        results["startup_s_median"] = statistics.median(starts)
        for stored in (1_000, 10_000 if quick else 100_000):
            db = folder / f"mem{stored}.db"
            populate(db, stored)
            bot = BotProcess(emulator, db)
            bot.start()
            results[f"rss_mb_{stored}_stored"] = bot.rss_mb()
            bot.stop()
        for users in (1, 10) if quick else (1, 50, 500):
            bot = BotProcess(emulator, folder / f"users{users}.db")
            bot.start()
            cpu_before, began = bot.cpu_seconds(), time.perf_counter()
            updates, latencies = drive(emulator, users, 700_000 + users * 1000)
            elapsed, cpu = time.perf_counter() - began, bot.cpu_seconds() - cpu_before
            results[f"updates_per_s_{users}_users"] = updates / elapsed
            results[f"cpu_ms_per_update_{users}_users"] = 1000 * cpu / updates
            for p in (50, 95, 99):
                results[f"latency_ms_p{p}_{users}_users"] = 1000 * percentile(latencies, p)
            results[f"rss_mb_after_{users}_users"] = bot.rss_mb()
            bot.stop()
    return results
