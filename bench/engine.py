"""Engine and storage: durable answers per second, against SQLite's own commit rate."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from advisor.flow import default_flows_dir, load_flow
from bot.service import AdvisorService
from storage import Store, User
from testkit.people import PEAKS

FLOW = load_flow(default_flows_dir() / "advisor.yaml")
# the answers of the manager with peaks, as typed (the number with a thousands space)
ANSWERS = {**PEAKS, "goals": ["cost"], "monthly_contacts": "12 000"}


def raw_commits(folder: Path, count: int) -> float:
    """Commits per second of a one-row insert, same pragmas as the Store, same disk."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    start = time.perf_counter()
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (str(i),))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def answer_statements(folder: Path, count: int) -> float:
    """The SQL of one durable answer with its values prepared in advance, per second: read the
    open conversation, then update it and append the answer in one committed transaction.
    This is the storage design's own ceiling, with no engine and no Python objects."""
    with Store(folder / "statements.db") as store:
        user = store.user("bench", "statements")
    conn = sqlite3.connect(folder / "statements.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    now = "2026-11-01T00:00:00.000000+00:00"
    answers, path = json.dumps(ANSWERS), json.dumps(list(ANSWERS))
    conversation = conn.execute(
        "INSERT INTO conversations (user_id, flow_id, flow_version, state, answers, path, "
        "language, status, seq, started_at, updated_at) "
        "VALUES (?, 'advisor', 'v', 'situation', '{}', '[]', 'en', 'open', 0, ?, ?)",
        (user.id, now, now),
    ).lastrowid
    start = time.perf_counter()
    for seq in range(count):
        conn.execute(
            "SELECT * FROM conversations WHERE user_id = ? AND status = 'open' "
            "ORDER BY id DESC LIMIT 1",
            (user.id,),
        ).fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE conversations SET flow_version = ?, state = ?, answers = ?, path = ?, "
            "seq = ?, updated_at = ?, status = 'open', finished_at = NULL "
            "WHERE id = ? AND seq = ? AND status = 'open'",
            ("v", "complexity", answers, path, seq + 1, now, conversation, seq),
        )
        conn.execute(
            "INSERT INTO answers (conversation_id, seq, action, question_id, value, created_at)"
            " VALUES (?, ?, 'answer', 'situation', '\"peaks\"', ?)",
            (conversation, seq + 1, now),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def durable_answers(folder: Path, conversations: int, rounds: int) -> float:
    """Answers per second through the service (engine + one committed transaction each),
    with `conversations` interleaved: each round answers one question in every one."""
    with Store(folder / f"engine-{conversations}.db") as store:
        service = AdvisorService(FLOW, store)
        users = [store.user("bench", f"u{i}") for i in range(conversations)]
        # what each user is asked next; a front end knows it from the message it answers
        asked = {user.id: service.current(user).stored.conversation.state for user in users}
        answered = 0
        start = time.perf_counter()
        for _ in range(rounds):
            for user in users:
                if asked[user.id] == "summary":
                    asked[user.id] = service.restart(user).stored.conversation.state
                step = service.answer(user, ANSWERS[asked[user.id]])
                asked[user.id] = step.stored.conversation.state
                answered += 1
        return answered / (time.perf_counter() - start)


def concurrent_answers(folder: Path, conversations: int, rounds: int) -> tuple[float, ...]:
    """Answers per second with `conversations` answering at once, each with one answer in
    flight: every answer is one job of the database's writer (read, engine step and write,
    as the Telegram bot submits it), and the writer commits what has queued up together.
    Also the p50 and p99 of one answer's latency (from its submission to its commit, in ms)
    and the answers per commit."""
    with Store(folder / f"concurrent-{conversations}.db") as store:
        service = AdvisorService(FLOW, store)
        users = [store.user("bench", f"c{i}") for i in range(conversations)]
        asked = {user.id: service.current(user).stored.conversation.state for user in users}
        latencies: list[float] = []

        def answer(user: User) -> str:
            if asked[user.id] == "summary":
                asked[user.id] = service.restart(user).stored.conversation.state
            state = service.answer(user, ANSWERS[asked[user.id]]).stored.conversation.state
            asked[user.id] = state
            return state

        def timed(began: float) -> Callable[[object], None]:
            return lambda _: latencies.append(time.perf_counter() - began)

        commits = store.file.writer.commits
        start = time.perf_counter()
        for _ in range(rounds):
            pending = []
            for user in users:
                future = service.submit(answer, user)
                future.add_done_callback(timed(time.perf_counter()))
                pending.append(future)
            for future in pending:
                future.result()
        elapsed = time.perf_counter() - start
        batches = store.file.writer.commits - commits
    latencies.sort()
    p50, p99 = (latencies[int(len(latencies) * q)] * 1000 for q in (0.5, 0.99))
    return len(latencies) / elapsed, p50, p99, len(latencies) / max(batches, 1)


def run(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        raw = raw_commits(folder, 2_000 if quick else 20_000)
        statements = answer_statements(folder, 2_000 if quick else 20_000)
        one = durable_answers(folder, 1, 300 if quick else 5_000)
        many = durable_answers(folder, 100 if quick else 1_000, 3 if quick else 10)
        together, p50, p99, per_commit = concurrent_answers(
            folder, 100 if quick else 1_000, 3 if quick else 10
        )
    return {
        "raw_sqlite_commits_per_s": raw,
        "answer_statements_per_s": statements,
        "answers_per_s_1_conversation": one,
        "answers_per_s_interleaved": many,
        "answers_per_s_concurrent": together,
        "concurrent_answer_p50_ms": p50,
        "concurrent_answer_p99_ms": p99,
        "answers_per_commit": per_commit,
        "ratio_raw_to_answers": raw / one,
        "ratio_statements_to_answers": statements / one,
    }
