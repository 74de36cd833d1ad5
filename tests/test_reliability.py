"""Faults and privacy: Telegram errors, a locked database, deletion, retention, backups."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from storage import Store
from testkit.harness import BotRunner
from testkit.people import PEAKS_PATH, next_question, press, rows, walk


def test_a_429_is_waited_out_and_the_message_still_arrives(bot, emulator):
    ann = emulator.user(1101)
    emulator.inject("sendMessage", error_code=429, retry_after=1, times=1, chat_id=1101)
    ann.send("/start")
    assert next_question(ann).plain_text.startswith("1/")


def test_network_errors_are_retried(bot, emulator):
    ben = emulator.user(1102)
    emulator.inject_network_error("sendMessage", times=2, chat_id=1102)
    ben.send("/start")
    assert next_question(ben).plain_text.startswith("1/")


def test_a_user_who_blocked_the_bot_is_marked_inactive_and_others_are_served(
    bot, emulator, tmp_path
):
    cid = emulator.user(1103)
    emulator.block(1103)
    cid.send("/start")
    emulator.wait_for(
        lambda: (
            rows(tmp_path / "bot.db", "SELECT active FROM users WHERE external_id = '1103'")
            == [(0,)]
        ),
        what="the blocked user marked inactive",
    )
    dan = emulator.user(1104)
    dan.send("/start")
    assert next_question(dan).plain_text.startswith("1/")
    emulator.unblock(1103)
    cid.send("/start")
    assert next_question(cid).plain_text.startswith("1/")
    assert rows(tmp_path / "bot.db", "SELECT active FROM users WHERE external_id = '1103'") == [
        (1,)
    ]


def test_an_edit_that_changes_nothing_is_ignored(bot, emulator):
    eva = emulator.user(1105)
    eva.send("/start")
    walk(eva, PEAKS_PATH[:2])
    signals = next_question(eva)
    emulator.inject(
        "editMessageReplyMarkup",
        error_code=400,
        description="Bad Request: message is not modified: specified new message content and "
        "reply markup are exactly the same as a current content and reply markup of the message",
    )
    update_id = eva.press("None of these", signals)
    eva.wait_callback_answered(update_id)
    # the bot keeps serving this chat, and the tick that could not be shown still counts
    press(eva, signals, "Specialist knowledge")
    eva.wait_for(lambda: "✅ Specialist knowledge" in eva.message(signals).buttons)
    assert "✅ None of these" not in eva.message(signals).buttons  # the other option cleared it


def test_delete_erases_everything_after_a_confirmation(bot, emulator, tmp_path):
    fay = emulator.user(1106)
    fay.send("/start")
    walk(fay, PEAKS_PATH[:3])
    fay.send("/delete")
    confirm = fay.wait_for(
        lambda: next((m for m in fay.messages if "Delete everything" in m.buttons), None)
    )
    press(fay, confirm, "Cancel")
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM answers") == [(3,)]
    fay.send("/delete")
    confirm = fay.wait_for(
        lambda: next((m for m in reversed(fay.messages) if "Delete everything" in m.buttons), None)
    )
    press(fay, confirm, "Delete everything")
    fay.wait_for(lambda: "your data is erased" in fay.message(confirm).plain_text)
    db = tmp_path / "bot.db"
    assert rows(db, "SELECT count(*) FROM answers") == [(0,)]
    assert rows(db, "SELECT count(*) FROM conversations") == [(0,)]
    assert rows(db, "SELECT name FROM users WHERE external_id = '1106'") == []  # no row left


def test_a_locked_database_gets_a_try_again_later_and_loses_nothing(emulator, tmp_path):
    db = tmp_path / "bot.db"
    gil = emulator.user(1107)
    with BotRunner(emulator, db, busy_timeout=0.1):
        gil.send("/start")
        first = next_question(gil)
        blocker = sqlite3.connect(db)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            gil.press("An ongoing customer service", first)
            busy = gil.next_message()
            assert "try again" in busy.plain_text
        finally:
            blocker.rollback()
            blocker.close()
        press(gil, first, "An ongoing customer service")
        assert next_question(gil).plain_text.startswith("2/")
    assert rows(db, "SELECT question_id FROM answers") == [("duration",)]


def advisor(*args):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_purge_deletes_old_finished_and_abandoned_conversations_only(tmp_path):
    from advisor.engine import Engine
    from testkit.harness import FLOW

    db = tmp_path / "a.db"
    engine = Engine(FLOW)
    long_ago = "2020-01-01T00:00:00"
    with Store(db) as store:
        old = store.user("telegram", "111", name="Olga Oldfield", now=long_ago)
        new = store.user("terminal", "new")
        anna = store.consultants.add("Anna Consult")
        store.consultants.link_client(old.id, anna, now=long_ago)
        store.consultants.set_consent(old.id, anna.id, True, now=long_ago)
        store.start_conversation(old.id, engine.start().conversation, now=long_ago)
        store.start_conversation(new.id, engine.start().conversation)
    result = advisor("purge", "--older-than", "30", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "deleted 1" in result.stdout
    assert rows(db, "SELECT user_id FROM conversations") == [(new.id,)]
    # the person left with nothing goes too: name, Telegram id and consent history
    assert rows(db, "SELECT external_id FROM users") == [("new",)]
    assert rows(db, "SELECT count(*) FROM clients") == [(0,)]
    assert rows(db, "SELECT count(*) FROM consent_events") == [(0,)]


def test_backup_copies_the_live_database_owner_only(tmp_path):
    db = tmp_path / "a.db"
    with Store(db) as store:
        store.user("terminal", "someone", name="Someone")
        result = advisor("backup", str(tmp_path / "copy.db"), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert rows(tmp_path / "copy.db", "SELECT name FROM users") == [("Someone",)]
    assert (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o600
    assert db.stat().st_mode & 0o777 == 0o600
