"""The whole bot as a process against the Bot API emulator: start-up, memory, throughput, latency,
and the same figures for the usual way of building it (bench/baseline.py)."""

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage import Store
from testkit.botapi import BotApiEmulator, FakeUser

from . import baseline
from .engine import ANSWERS
from .path import PATH
from .users import Crowd


def advisor_finished(user: FakeUser) -> bool:
    """The recommendation has arrived: its last message carries the export buttons."""
    last = user.last_message()
    return last is not None and "📝 Markdown" in last.buttons


def baseline_finished(user: FakeUser) -> bool:
    last = user.last_message()
    return last is not None and last.plain_text == baseline.CLOSING


@dataclass(frozen=True)
class Kind:
    """A bot to measure: how to start it, how to fill its storage, when a user is done."""

    name: str
    argv: tuple[str, ...]
    fill: Callable[[Path, int], None]
    finished: Callable[[FakeUser], bool]


def _fill_baseline(db: Path, conversations: int) -> None:
    baseline.fill(db, conversations, dict(PATH))


class BotProcess:
    def __init__(self, emulator: BotApiEmulator, kind: Kind, db: Path) -> None:
        self.emulator = emulator
        self.kind = kind
        self.db = db
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start the bot; seconds until its first getUpdates."""
        polls = len(self.emulator.calls_to("getUpdates"))
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *self.kind.argv,
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
            stderr=self.db.with_suffix(".log").open("wb"),
        )
        self.emulator.wait_for(
            lambda: len(self.emulator.calls_to("getUpdates")) > polls or self.process.poll(),
            timeout=120,
            what="polling",
        )
        if self.process.poll() is not None:
            log = self.db.with_suffix(".log").read_text(errors="replace")
            raise RuntimeError(f"{self.kind.name} exited at start:\n{log[-3000:]}")
        return time.perf_counter() - began

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> float:
        """Stop it as an operator would (Ctrl-C) and wait: its CPU seconds over its whole life,
        including what it does to save its data on the way out."""
        self.process.send_signal(signal.SIGINT)
        try:
            _, _, usage = os.wait4(self.process.pid, 0)
        except ChildProcessError:
            return float("nan")
        self.process.returncode = 0
        return usage.ru_utime + usage.ru_stime


def populate(db: Path, conversations: int) -> None:
    """Stored conversations made fast with one bulk insert (10% unfinished)."""
    Store(db).close()
    now = "2026-11-01T00:00:00+00:00"
    finished = json.dumps(ANSWERS)
    path = json.dumps(list(ANSWERS))
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO users (channel, external_id, name, created_at, updated_at) "
            "VALUES ('telegram', ?, ?, ?, ?)",
            ((str(100_000_000 + i), f"user {i}", now, now) for i in range(conversations)),
        )
        conn.executemany(
            "INSERT INTO conversations (user_id, flow_id, flow_version, state, answers, path, "
            "language, status, seq, started_at, updated_at) "
            "VALUES (?, 'advisor', 'old', ?, ?, ?, 'en', ?, 17, ?, ?)",
            (
                (
                    i + 1,
                    "inhouse_signals",
                    '{"situation":"peaks"}',
                    '["situation"]',
                    "open",
                    now,
                    now,
                )
                if i % 10 == 0
                else (i + 1, "summary", finished, path, "finished", now, now)
                for i in range(conversations)
            ),
        )


ADVISOR = Kind("advisor", ("bot.cli", "run"), populate, advisor_finished)
BASELINE = Kind("baseline", ("bench.baseline",), _fill_baseline, baseline_finished)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def load(
    emulator: BotApiEmulator,
    kind: Kind,
    db: Path,
    users: int,
    first_id: int,
    *,
    think: float = 0.0,
    label: str,
) -> dict[str, float]:
    """Start the bot on `db`, walk `users` through the flow, stop it: the figures of that run."""
    bot = BotProcess(emulator, kind, db)
    results = {f"startup_s_{label}": bot.start(), f"rss_mb_idle_{label}": bot.rss_mb()}
    cpu_before = bot.cpu_seconds()
    outcome = Crowd(emulator, users, first_id, kind.finished, think=think).run()
    serving = bot.cpu_seconds() - cpu_before
    results[f"rss_mb_after_{label}"] = bot.rss_mb()
    # PicklePersistence writes its file at intervals and on the way out: count that too
    with_save = bot.stop() - cpu_before
    results[f"updates_per_s_{label}"] = outcome.updates / outcome.seconds
    results[f"cpu_ms_per_update_{label}"] = 1000 * serving / outcome.updates
    results[f"cpu_ms_per_update_with_save_{label}"] = 1000 * with_save / outcome.updates
    for p in (50, 95, 99):
        results[f"latency_ms_p{p}_{label}"] = 1000 * percentile(outcome.latencies, p)
    return results


def run(quick: bool) -> dict[str, float]:
    results: dict[str, float] = {}
    stored_sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    side_by_side_users = 10 if quick else 20
    crowd, think = (50, 0.1) if quick else (500, 2.0)
    with tempfile.TemporaryDirectory() as name, BotApiEmulator() as emulator:
        folder = Path(name)
        first_id = 1_000_000

        def next_users(count: int) -> int:
            nonlocal first_id
            first_id += count
            return first_id - count

        starts = []
        for i in range(3):
            bot = BotProcess(emulator, ADVISOR, folder / f"start{i}.db")
            starts.append(bot.start())
            bot.stop()
        results["startup_s_empty"] = statistics.median(starts)

        # one user alone, then a crowd as fast as it can go, then the crowd at its own pace
        for users, pause, label in (
            (1, 0.0, "1_user"),
            (crowd, 0.0, f"{crowd}_users_flat_out"),
            (crowd, think, f"{crowd}_users_paced"),
        ):
            db = folder / f"{label}.db"
            results.update(
                load(emulator, ADVISOR, db, users, next_users(users), think=pause, label=label)
            )

        # side by side with the usual way, on the same stored conversations
        for stored in stored_sizes:
            for kind in (ADVISOR, BASELINE):
                db = folder / f"{kind.name}-{stored}.db"
                kind.fill(db, stored)
                label = f"{kind.name}_{stored}_stored"
                users = side_by_side_users
                results.update(load(emulator, kind, db, users, next_users(users), label=label))
    return results
