"""Engine and storage: durable answers per second, against SQLite's own commit rate."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

from advisor.flow import default_flows_dir, load_flow
from bot.service import AdvisorService
from storage import Store
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


def run(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        raw = raw_commits(folder, 2_000 if quick else 20_000)
        statements = answer_statements(folder, 2_000 if quick else 20_000)
        one = durable_answers(folder, 1, 300 if quick else 5_000)
        many = durable_answers(folder, 100 if quick else 1_000, 3 if quick else 10)
    return {
        "raw_sqlite_commits_per_s": raw,
        "answer_statements_per_s": statements,
        "answers_per_s_1_conversation": one,
        "answers_per_s_interleaved": many,
        "ratio_raw_to_answers": raw / one,
        "ratio_statements_to_answers": statements / one,
    }
