"""What an attacker's review of the Telegram front end found, kept as tests.

Hostile names, a slow Telegram, a flood limit for one chat, one person's flood, words that
look like codes, groups, service messages, and failures at the worst moment.
"""

from __future__ import annotations

import asyncio
import time

from telegram import Update

from advisor.i18n import translator
from bot.telegram.ordering import MAX_WAITING, PerUserUpdateProcessor
from storage import Store
from testkit.harness import BotRunner
from testkit.people import PEAKS_PATH, SAVED, next_question, press, rows, walk


def bot_messages(user) -> list:
    return [m for m in user.messages if m.from_bot]


def texts(user) -> str:
    return "\n".join(m.plain_text or "" for m in bot_messages(user))


def settle(user) -> None:
    """Wait until the bot has handled all the user sent before (it keeps each user's order)."""
    before = len(bot_messages(user))
    user.send("/help")
    user.wait_for(
        lambda: any("/privacy" in (m.plain_text or "") for m in bot_messages(user)[before:])
    )


def finish_through(user, code: str) -> None:
    user.send(f"/start c{code}")
    prompt = user.wait_for(
        lambda: next((m for m in user.messages if "invited you" in (m.plain_text or "")), None)
    )
    press(user, prompt, "Yes, share")
    walk(user, PEAKS_PATH)
    user.wait_for(lambda: SAVED in texts(user))


# -- consultants -------------------------------------------------------------------------------


def test_a_client_named_with_html_does_not_keep_back_the_consultants_reports(emulator, tmp_path):
    db = tmp_path / "bot.db"
    with Store(db) as store:
        anna = store.consultants.add("Anna Consult", telegram_id=8201)
    with BotRunner(emulator, db):
        cleo = emulator.user(8202, first_name="Cleo", last_name="<3 & <b>")
        finish_through(cleo, anna.code)
        dan = emulator.user(8203, first_name="Dan")
        finish_through(dan, anna.code)
        consultant = emulator.user(8201, first_name="Anna")
        consultant.send("/clients export")
        consultant.wait_for(lambda: len([m for m in consultant.messages if m.document]) == 3)
    captions = sorted(m.plain_text or "" for m in consultant.messages if m.document)
    assert "Cleo <3 & <b>" in captions and "Dan" in captions


def registered_consultant(db, telegram_id: int):
    with Store(db) as store:
        return store.consultants.add("Anna Consult", telegram_id=telegram_id)


def consultant_who_wrote(emulator, telegram_id: int):
    """The consultant has written to the bot once, so Telegram lets it write to them."""
    consultant = emulator.user(telegram_id, first_name="Anna")
    consultant.send("/mylink")
    consultant.next_message()
    return consultant


def test_the_consultant_hears_of_a_finish_even_if_the_clients_picture_fails(emulator, tmp_path):
    db = tmp_path / "bot.db"
    anna = registered_consultant(db, 8211)
    with BotRunner(emulator, db):
        consultant = consultant_who_wrote(emulator, 8211)
        emulator.inject("sendPhoto", error_code=500, chat_id=8212)
        finish_through(emulator.user(8212, first_name="Eve"), anna.code)
        consultant.wait_for(lambda: "has finished" in texts(consultant))


def test_a_clients_name_cannot_turn_the_consultants_messages_around(emulator, tmp_path):
    db = tmp_path / "bot.db"
    anna = registered_consultant(db, 8213)
    with BotRunner(emulator, db):
        consultant = consultant_who_wrote(emulator, 8213)
        finish_through(emulator.user(8214, first_name="Eve\u202eevil"), anna.code)
        consultant.wait_for(lambda: "has finished" in texts(consultant))
        consultant.send("/clients")
        consultant.wait_for(lambda: texts(consultant).count("Eveevil") >= 2)
    assert "\u202e" not in texts(consultant)


# -- a slow Telegram ---------------------------------------------------------------------------


def test_a_question_telegram_answers_late_is_not_sent_twice(emulator, tmp_path):
    vic = emulator.user(8301)
    with BotRunner(emulator, tmp_path / "bot.db", read_timeout=0.3):
        vic.send("/start")
        first = next_question(vic)
        emulator.inject_late_answer("sendMessage", 1.0, chat_id=8301)
        press(vic, first, "An ongoing customer service")
        settle(vic)
    situations = [m for m in bot_messages(vic) if m.plain_text.startswith("2/")]
    assert len(situations) == 1


def test_a_flood_limit_for_one_chat_pauses_that_chat_only(bot, emulator):
    ann, bob = emulator.user(8501), emulator.user(8502)
    emulator.inject("sendMessage", error_code=429, retry_after=3, chat_id=8501)
    ann.send("/help")
    emulator.wait_for(lambda: any(c.status == 429 for c in emulator.calls_to("sendMessage")))
    bob.send("/help")
    bob.next_message()
    assert not bot_messages(ann), "Bob's answer waited for Ann's flood limit"
    ann.next_message(timeout=10)  # Ann's own message comes once her pause is over


def test_a_flood_limit_earned_in_a_strangers_group_pauses_that_group_only(bot, emulator):
    ann, mallory = emulator.user(8503), emulator.user(8504)
    spam = emulator.group(-100777, "Spam", kind="supergroup")
    emulator.inject("sendMessage", error_code=429, retry_after=5, chat_id=-100777)
    spam.send(mallory, "/start")  # the pointer to the private chat earns the group a 429
    emulator.wait_for(lambda: any(c.status == 429 for c in emulator.calls_to("sendMessage")))
    ann.send("/help")
    ann.next_message(timeout=3)  # at once, not after the group's five seconds


# -- one person's flood ----------------------------------------------------------------------


def update_from(user_id: int, update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "U"},
                "text": "/help",
            },
        },
        None,
    )


def test_one_persons_flood_neither_queues_others_nor_grows_without_end():
    async def scenario() -> tuple[list[int], list[int]]:
        processor = PerUserUpdateProcessor(max_concurrent_updates=4)
        release = asyncio.Event()
        handled: list[int] = []

        async def handle(update_id: int) -> None:
            if update_id < 1000:  # the flooding person's first update is slow
                await release.wait()
            handled.append(update_id)

        flood = [
            asyncio.create_task(processor.process_update(update_from(1, n), handle(n)))
            for n in range(100)
        ]
        await asyncio.sleep(0)  # every flood update has arrived and waits
        other = asyncio.create_task(processor.process_update(update_from(2, 1000), handle(1000)))
        await asyncio.wait_for(other, 5)
        first_handled = list(handled)
        release.set()
        await asyncio.gather(*flood)
        return first_handled, handled

    before_release, handled = asyncio.run(scenario())
    assert before_release == [1000], "someone else waited for the flooding person"
    assert len(handled) - 1 <= MAX_WAITING  # the flood beyond the waiting room was dropped


# -- words, groups and service messages -----------------------------------------------------


def test_a_sixteen_letter_word_after_finishing_starts_nothing(bot, emulator, tmp_path):
    ida = emulator.user(8601)
    ida.send("/start")
    walk(ida, PEAKS_PATH)
    ida.wait_for(lambda: SAVED in texts(ida))
    ida.send("Responsibilities")
    settle(ida)
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM conversations") == [(1,)]
    assert "Hello" not in texts(ida).split(SAVED)[-1]


def test_a_group_pointer_keeps_a_link_code_speaks_the_chosen_language_and_ignores_others(
    bot, emulator, tmp_path
):
    with Store(tmp_path / "bot.db") as store:
        anna = store.consultants.add("Anna Consult", telegram_id=8700)
    pia = emulator.user(8701, language_code="en")
    pia.send("/language")
    chooser = pia.wait_for(lambda: next((m for m in pia.messages if "Polski" in m.buttons), None))
    press(pia, chooser, "Polski")
    team = emulator.group(-100_870, "Team", kind="supergroup")
    team.send(pia, "/help@weather_bot")
    team.send(pia, f"/start c{anna.code}")
    emulator.wait_for(lambda: len(team.from_bot()) == 1)
    settle(pia)  # (the group's updates came before it)
    (pointer,) = team.from_bot()
    assert pointer.plain_text == translator("pl")(
        "I work in a private chat only, so that your answers stay yours. Talk to me there:"
    )
    assert pointer.inline_buttons[0]["url"].endswith(f"?start=c{anna.code}")


def test_a_service_message_in_the_private_chat_gets_no_hint(bot, emulator):
    kai = emulator.user(8801)
    emulator.push(
        {
            "message": {
                "message_id": 88_010,
                "date": int(time.time()),
                "chat": kai.chat_json(),
                "from": kai.as_json(),
                "message_auto_delete_timer_changed": {"message_auto_delete_time": 86400},
            }
        }
    )
    settle(kai)
    assert len(bot_messages(kai)) == 1  # the help, and nothing about buttons before it


# -- failures at the worst moment -------------------------------------------------------------


def test_a_failed_delete_confirmation_still_says_the_data_is_erased(bot, emulator, tmp_path):
    lea = emulator.user(8901)
    lea.send("/start")
    next_question(lea)
    lea.send("/delete")
    confirm = lea.wait_for(
        lambda: next((m for m in lea.messages if "Delete everything" in m.buttons), None)
    )
    emulator.inject("editMessageText", error_code=500, chat_id=8901)
    press(lea, confirm, "Delete everything")
    settle(lea)
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM conversations") == [(0,)]
    assert "your data is erased" in texts(lea)
    assert "/summary shows the recommendation" not in texts(lea)


def test_a_failed_help_to_a_newcomer_says_how_to_begin(bot, emulator):
    max_ = emulator.user(8902)
    emulator.inject("sendMessage", error_code=500, chat_id=8902)
    max_.send("/help")
    max_.wait_for(lambda: "Send /start to begin." in texts(max_))
    assert "finished" not in texts(max_)
