"""Nothing lost, nothing twice: the inbox, the outbox, a locked file, a deleted file, erasure.

The bot runs in-process against the Bot API emulator (or as `advisor run` where it must die);
the SQLite file is read back, down to its bytes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from bot.service import AdvisorService, Asking
from storage import Store
from testkit.harness import FLOW, BotRunner
from testkit.people import PEAKS, PEAKS_PATH, SAVED, next_question, press, rows, walk


def bot_texts(user) -> list[str]:
    return [m.plain_text or "" for m in user.messages if m.from_bot]


def start_update(user, update_id: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": user.chat_json(),
            "from": user.as_json(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def finish_without_the_bot(db, user_id: int) -> None:
    """Answer every question through the service alone: the answers are committed, and what
    finishing owes waits in the outbox, as if the bot had died before sending it."""
    with Store(db) as store:
        service = AdvisorService(FLOW, store)
        person = service.people.person("telegram", user_id, name="Ola")
        step = service.current(person)
        while isinstance(step.turn, Asking):
            step = service.answer(person, PEAKS[step.turn.prompt.id])


def test_an_update_kept_but_not_handled_is_handled_once_after_a_restart(emulator, tmp_path):
    db = tmp_path / "bot.db"
    kim = emulator.user(9101)
    update = start_update(kim, 5_000)
    with Store(db) as store:  # received and kept, then the process died
        store.deliveries.receive([(5_000, json.dumps(update))]).result()
    emulator.push(update)  # and Telegram, never told it arrived, sends it again
    with BotRunner(emulator, db):
        next_question(kim)
        kim.send("/help")
        kim.wait_for(lambda: any("/privacy" in text for text in bot_texts(kim)))
    assert sum(text.startswith("1/") for text in bot_texts(kim)) == 1
    assert rows(db, "SELECT count(*) FROM conversations") == [(1,)]
    assert rows(db, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == [(0,)]
    assert rows(db, "SELECT count(*) FROM inbox WHERE body IS NOT NULL") == [(0,)]


def test_what_finishing_owed_is_sent_at_start_up_to_the_person_and_the_consultant(
    emulator, tmp_path
):
    db = tmp_path / "bot.db"
    with Store(db) as store:
        anna = store.consultants.add("Anna Consult", telegram_id=9201)
        store.user("telegram", 9201, name="Anna")  # the consultant has written to the bot
        client = store.user("telegram", 9202, name="Ola")
        store.consultants.link_client(client.id, anna)
        store.consultants.set_consent(client.id, anna.id, True)
    finish_without_the_bot(db, 9202)
    assert rows(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(2,)]
    ola, consultant = emulator.user(9202), emulator.user(9201)
    with BotRunner(emulator, db):
        ola.wait_for(lambda: any(SAVED in text for text in bot_texts(ola)))
        consultant.wait_for(lambda: any("has finished" in text for text in bot_texts(consultant)))
    assert rows(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]
    with BotRunner(emulator, db):  # sent once: nothing again at the next start
        ola.send("/help")
        ola.wait_for(lambda: any("/privacy" in text for text in bot_texts(ola)))
    assert sum(SAVED in text for text in bot_texts(ola)) == 1


def test_a_report_that_did_not_get_through_comes_with_the_note_and_once(bot, emulator, tmp_path):
    max_ = emulator.user(9301)
    max_.send("/start")
    walk(max_, PEAKS_PATH[:-1])
    last = next_question(max_)
    emulator.inject("sendMessage", error_code=500, chat_id=9301)  # the report's first message
    *ticks, done = PEAKS_PATH[-1][1]
    for label in ticks:
        press(max_, last, label)
    press(max_, last, done)
    max_.wait_for(lambda: any(SAVED in text for text in bot_texts(max_)))
    assert any("did not get through" in text for text in bot_texts(max_))
    unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    max_.wait_for(lambda: rows(tmp_path / "bot.db", unsent) == [(0,)])  # marked once sent


def test_help_is_answered_at_once_while_another_process_holds_the_write_lock(emulator, tmp_path):
    db = tmp_path / "bot.db"
    known = emulator.user(9401)
    with BotRunner(emulator, db):
        known.send("/start")
        next_question(known)
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # a long purge, a tool: held for as long as it takes
        try:
            newcomer = emulator.user(9402)
            began = time.monotonic()
            known.send("/help")
            newcomer.send("/help")
            known.wait_for(lambda: any("/privacy" in text for text in bot_texts(known)), 4)
            newcomer.wait_for(lambda: any("/privacy" in text for text in bot_texts(newcomer)), 4)
            # well before the five seconds a write waits for the lock
            assert time.monotonic() - began < 4
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        known.send("/help")  # and once the lock is gone, what arrived meanwhile is kept
        known.wait_for(lambda: sum("/privacy" in text for text in bot_texts(known)) == 2)
    assert rows(db, "SELECT count(*) FROM inbox WHERE done_at IS NULL") == [(0,)]


def test_deleting_the_database_under_the_bot_stops_it_before_anything_is_acknowledged(
    emulator, tmp_path
):
    db = tmp_path / "bot.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--db", str(db), "--api-url", emulator.base_url],
        env={**os.environ, "TELEGRAM_BOT_TOKEN": emulator.token, "ADVISOR_MAX_RATE": "1000"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pia = emulator.user(9501)
        pia.send("/start")
        first = next_question(pia, timeout=30)
        db.unlink()  # an operator's mistake, or a clean-up script
        pia.press("An ongoing customer service", first)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
    assert process.returncode == 1, err
    assert "was deleted or replaced" in err
    assert not any(text.startswith("2/") for text in bot_texts(pia))  # nothing acknowledged


def test_after_delete_no_byte_of_the_person_is_left_in_the_file_or_its_wal(bot, emulator, tmp_path):
    zed = emulator.user(987_654_301, first_name="Zelmira", last_name="Quaxworth")
    zed.send("/start")
    walk(zed, [*PEAKS_PATH[:4], ("monthly_contacts", "73 519")])
    next_question(zed)
    db = tmp_path / "bot.db"
    files = [db, db.with_name("bot.db-wal")]
    assert any(b"Zelmira" in path.read_bytes() for path in files)
    zed.send("/delete")
    confirm = zed.wait_for(
        lambda: next((m for m in zed.messages if "Delete everything" in m.buttons), None)
    )
    press(zed, confirm, "Delete everything")
    zed.wait_for(lambda: "your data is erased" in zed.message(confirm).plain_text)
    for path in files:
        data = path.read_bytes() if path.exists() else b""
        for trace in (b"Zelmira", b"Quaxworth", b"73519", b"peaks", b"987654301"):
            assert trace not in data, f"{trace!r} is still in {path.name}"


def test_an_update_twice_in_one_batch_is_handled_once(emulator, tmp_path):
    kim = emulator.user(9501)
    emulator.push(start_update(kim, 6_000))
    emulator.push(start_update(kim, 6_000))  # both come in the bot's first getUpdates
    with BotRunner(emulator, tmp_path / "bot.db"):
        next_question(kim)
        kim.send("/help")
        kim.wait_for(lambda: any("/privacy" in text for text in bot_texts(kim)))
    assert sum(text.startswith("1/") for text in bot_texts(kim)) == 1
    assert not any("Please answer with the buttons" in text for text in bot_texts(kim))


def test_a_report_whose_picture_fails_goes_on_from_the_picture_and_nothing_comes_twice(
    bot, emulator, tmp_path
):
    una = emulator.user(9302)
    una.send("/start")
    walk(una, PEAKS_PATH[:-1])
    last = next_question(una)
    emulator.inject("sendPhoto", error_code=500, chat_id=9302)  # the scorecard, once
    *ticks, done = PEAKS_PATH[-1][1]
    for label in ticks:
        press(una, last, label)
    press(una, last, done)
    unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    una.wait_for(lambda: rows(tmp_path / "bot.db", unsent) == [(0,)])
    assert sum(SAVED in text for text in bot_texts(una)) == 1  # the texts went out once
    assert len([m for m in una.messages if m.photo]) == 1  # and the picture, once, after


def test_an_update_the_library_cannot_read_is_skipped_and_the_others_answered(bot, emulator):
    mallory, alice = emulator.user(9601), emulator.user(9602)
    # a poll as an older self-hosted Bot API server sends it, without fields PTB 22 requires
    poll = {"id": "1", "question": "q", "options": [], "total_voter_count": 0}
    emulator.push(
        {
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": mallory.chat_json(),
                "from": mallory.as_json(),
                "poll": poll,
            }
        }
    )
    alice.send("/start")
    assert next_question(alice).plain_text.startswith("1/")


def test_a_newcomer_during_a_long_lock_is_told_once_that_the_advisor_is_busy(emulator, tmp_path):
    db = tmp_path / "bot.db"
    with BotRunner(emulator, db, busy_timeout=0.2):  # a write gives up on a lock after 0.2 s
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            newcomer = emulator.user(9403)
            newcomer.send("/start")
            newcomer.wait_for(lambda: any("busy" in text for text in bot_texts(newcomer)))
            newcomer.send("/help")  # answered without a write: everything before it is out
            newcomer.wait_for(lambda: any("/privacy" in text for text in bot_texts(newcomer)))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
    assert not any("went wrong" in text for text in bot_texts(newcomer))
    assert sum("busy" in text for text in bot_texts(newcomer)) == 1
