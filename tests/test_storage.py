"""Storage: one SQLite file, migrated on open, every step committed, locks and faults."""

from __future__ import annotations

import os
import sqlite3

import pytest
from sqlite_utils import Database

from advisor.engine import Engine
from advisor.flow import default_flows_dir, load_flow
from storage import StaleConversation, StorageError, Store
from storage.schema import migrations

FLOW = load_flow(default_flows_dir() / "advisor.yaml")
ENGINE = Engine(FLOW)


def test_a_new_file_is_owner_only_in_wal_mode_with_the_schema(tmp_path):
    with Store(tmp_path / "a.db") as store:
        mode = store.file.reader().execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        assert store.schema_version() == [m.name for m in migrations._migrations]
    assert (tmp_path / "a.db").stat().st_mode & 0o777 == 0o600


def test_an_older_database_is_upgraded_on_open_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="m002_consultants")
    db.execute(
        "INSERT INTO users (channel, external_id, name, created_at, updated_at) "
        "VALUES ('terminal', 'ann', 'Ann', 'x', 'x')"
    )
    db.conn.close()
    with Store(path) as store:
        assert "m002_consultants" in store.schema_version()
        assert store.user("terminal", "ann").name == "Ann"
        assert store.consultants.all() == []


def test_every_step_is_a_row_in_order_and_a_reopened_file_resumes(tmp_path):
    path = tmp_path / "a.db"
    with Store(path) as store:
        user = store.user("terminal", "bo")
        stored = store.start_conversation(user.id, ENGINE.start().conversation)
        for value in ("ongoing", "peaks", ["none"]):
            turn = ENGINE.answer(stored.conversation, value)
            question = stored.conversation.state
            stored = store.record(
                stored, turn.conversation, action="answer", question_id=question, value=value
            )
        back = ENGINE.back(stored.conversation)
        stored = store.record(stored, back.conversation, action="back", question_id="complexity")
    with Store(path) as store:
        again = store.open_conversation(user.id)
        assert again.conversation == stored.conversation
        assert again.conversation.state == "inhouse_signals"
        steps = [(s["action"], s["question_id"]) for s in store.steps(again.id)]
    assert steps == [
        ("answer", "duration"),
        ("answer", "situation"),
        ("answer", "inhouse_signals"),
        ("back", "complexity"),
    ]


def test_a_stale_step_is_refused_and_writes_nothing(tmp_path):
    with Store(tmp_path / "a.db") as store:
        user = store.user("terminal", "cy")
        first = store.start_conversation(user.id, ENGINE.start().conversation)
        turn = ENGINE.answer(first.conversation, "ongoing")
        store.record(first, turn.conversation, action="answer", question_id="duration")
        with pytest.raises(StaleConversation):
            store.record(first, turn.conversation, action="answer", question_id="duration")
        assert len(store.steps(first.id)) == 1


def test_finishing_saves_a_summary_that_round_trips(tmp_path):
    answers = {
        "situation": "peaks",
        "inhouse_signals": ["none"],
        "complexity": "mixed",
        "monthly_contacts": 9000,
        "duration": "ongoing",
        "goals": ["cost"],
        "kpis_measurable": True,
        "commitment": "pilot",
        "results_expected": "3_months",
        "contract_length": "1_year",
        "pricing": "per_contact",
        "history_data": "some",
        "internal_owner": True,
        "keep_facilities": False,
        "provider_stage": "not_started",
        "quality_access": ["none"],
        "security_checks": ["none"],
    }
    conversation, turn = ENGINE.run(answers)
    with Store(tmp_path / "a.db") as store:
        user = store.user("terminal", "di")
        stored = store.start_conversation(user.id, ENGINE.start().conversation)
        store.record(
            stored,
            conversation,
            action="answer",
            question_id="security_checks",
            recommendation=turn.recommendation,
        )
        summary = store.latest_summary(user.id)
        assert summary.recommendation == turn.recommendation
        assert store.open_conversation(user.id) is None


def test_a_locked_database_is_waited_for_then_reported_busy_without_a_write(tmp_path):
    path = tmp_path / "a.db"
    with Store(path, timeout=0.2) as store:
        user = store.user("terminal", "ed")
        blocker = sqlite3.connect(path)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError) as caught:
            store.start_conversation(user.id, ENGINE.start().conversation)
        blocker.rollback()
        blocker.close()
        assert caught.value.code == "busy"
        assert store.open_conversation(user.id) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_file_is_refused_when_it_is_opened(tmp_path):
    path = tmp_path / "a.db"
    Store(path).close()
    path.chmod(0o400)
    with pytest.raises(StorageError) as caught:
        Store(path)
    assert caught.value.code == "unavailable" and "cannot write" in str(caught.value)


def test_a_read_only_connection_is_reported_unavailable(tmp_path):
    path = tmp_path / "a.db"
    with Store(path) as store:
        store.file.writer.submit(lambda conn: conn.execute("PRAGMA query_only = ON"), alone=True)
        with pytest.raises(StorageError) as caught:
            store.user("terminal", "gus")
    assert caught.value.code == "unavailable"


def test_a_purge_by_another_process_is_noticed_before_the_next_write(tmp_path):
    db = tmp_path / "a.db"
    with Store(db) as bot:
        vera = bot.user("telegram", "1", name="Vera")
        bot.start_conversation(vera.id, ENGINE.start().conversation)
        assert bot.open_conversation(vera.id) is not None  # remembered by the running bot
        with Store(db) as tool:  # `advisor purge` in another process: its own connection
            assert tool.purge("9999-12-31") == 1
        sam = bot.user("telegram", "2", name="Sam")  # the next write notices the purge
        assert bot.open_conversation(vera.id) is None
        assert bot.open_conversation(sam.id) is None  # even if Sam got Vera's id back
