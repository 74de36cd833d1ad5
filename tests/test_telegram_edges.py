"""Telegram as people really use it: groups, failed calls, fast taps, every kind of message.

Each test plays users (and an attacker) against the real Application through the Bot API
emulator; the database is read back to check that nothing was lost or leaked.
"""

from __future__ import annotations

import io
import logging
import time

from PIL import Image

from advisor.flow import default_flows_dir, load_flow
from advisor.i18n import translator
from advisor.messages import error_text
from bot.service import AdvisorService
from storage import Store
from testkit.harness import FLOW, BotRunner
from testkit.people import PEAKS_PATH, SAVED, next_question, press, rows, walk

ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: the sender of an anonymous admin's message


def message(user, **fields) -> dict:
    """A message update from a private chat, with any content (a sticker, a location ...)."""
    return {
        "message": {
            "message_id": 10_000 + int(time.monotonic_ns() % 1_000_000),
            "date": int(time.time()),
            "chat": user.chat_json(),
            "from": user.as_json(),
            **fields,
        }
    }


def bot_messages(user) -> list:
    return [m for m in user.messages if m.from_bot]


# -- groups -----------------------------------------------------------------------------------


def test_in_a_group_a_command_gets_one_pointer_and_nothing_personal(bot, emulator, tmp_path):
    ann = emulator.user(7101, first_name="Ann")
    ann.send("/start")
    walk(ann, PEAKS_PATH)  # Ann has a recommendation that must never reach a group
    ann.wait_for(lambda: any(SAVED in (m.plain_text or "") for m in ann.messages))
    team = emulator.group(-100_777, "Sales team", kind="supergroup")
    for command in (
        "/start@advisor_test_bot",
        "/summary",
        "/export md",
        "/privacy",
        "/clients export",
    ):
        before = len(team.from_bot())
        team.send(ann, command)
        emulator.wait_for(lambda before=before: len(team.from_bot()) == before + 1)
    replies = team.from_bot()
    assert all("private chat" in m.plain_text for m in replies)
    assert all(m.document is None and m.photo is None for m in replies)
    assert all(
        b.get("url", "").startswith("https://t.me/") for m in replies for b in m.inline_buttons
    )
    team.send(ann, "12000")  # ordinary talk in the group is not for the advisor
    ann.send("/help")  # (the bot has handled everything before this)
    ann.next_message()
    assert len(team.from_bot()) == len(replies)
    assert not any(
        c.method == "sendDocument" and c.params.get("chat_id") in (-100_777, "-100777")
        for c in emulator.calls
    )


def test_anonymous_admins_of_two_groups_are_nobody_to_the_advisor(bot, emulator, tmp_path):
    ann = emulator.user(7102)
    for chat_id in (-100_801, -100_802):
        group = emulator.group(chat_id, f"Group {chat_id}", kind="supergroup")
        group.send(None, "/start", sender_chat=group.chat_json())
        emulator.wait_for(lambda group=group: len(group.from_bot()) == 1)
        assert "private chat" in group.from_bot()[0].plain_text
    ann.send("/help")
    ann.next_message()
    users = rows(tmp_path / "bot.db", "SELECT external_id FROM users")
    assert (str(ANONYMOUS_ADMIN),) not in users
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM conversations") == [(0,)]


def test_a_press_in_a_group_gets_a_toast_and_changes_nothing(bot, emulator, tmp_path):
    team = emulator.group(-100_901, "Ops")
    bob = emulator.user(7104)
    team.send(bob, "/start")
    emulator.wait_for(lambda: len(team.from_bot()) == 1)
    pointer = team.from_bot()[0]
    forged = {
        "callback_query": {
            "id": "7104001",
            "from": bob.as_json(),
            "message": emulator._message_json(pointer),
            "chat_instance": "-1",
            "data": "a:1:0:0",
        }
    }
    emulator.push(forged)
    answered = emulator.wait_for(
        lambda: next(
            (c for c in emulator.calls_to("answerCallbackQuery")
             if c.params.get("callback_query_id") == "7104001"), None
        )
    )  # fmt: skip
    assert "private chat" in answered.params.get("text", "")
    assert len(team.from_bot()) == 1
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM answers") == [(0,)]


# -- failed calls -------------------------------------------------------------------------------


TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def test_a_press_answered_too_late_still_does_what_it_says(bot, emulator, tmp_path):
    cai = emulator.user(7201)
    cai.send("/delete")
    confirm = cai.wait_for(lambda: next((m for m in cai.messages if m.buttons), None))
    emulator.inject("answerCallbackQuery", error_code=400, description=TOO_OLD, chat_id=7201)
    cai.press("Delete everything", confirm)
    cai.wait_for(lambda: "your data is erased" in cai.message(confirm).plain_text)
    cai.send("/language")
    chooser = cai.wait_for(lambda: next((m for m in cai.messages if "Svenska" in m.buttons), None))
    emulator.inject("answerCallbackQuery", error_code=400, description=TOO_OLD, chat_id=7201)
    cai.press("Svenska", chooser)
    cai.wait_for(lambda: any("svenska" in (m.plain_text or "").lower() for m in bot_messages(cai)))
    assert rows(tmp_path / "bot.db", "SELECT language FROM users WHERE external_id='7201'") == [
        ("sv",)
    ]


def test_the_pdf_button_works_though_its_press_cannot_be_answered(bot, emulator):
    dan = emulator.user(7202)
    dan.send("/start")
    walk(dan, PEAKS_PATH)
    last = dan.wait_for(
        lambda: next((m for m in bot_messages(dan) if "📄 PDF report" in m.buttons), None)
    )
    emulator.inject("answerCallbackQuery", error_code=400, description=TOO_OLD, chat_id=7202)
    dan.press("📄 PDF report", last)
    document = dan.wait_for(lambda: next((m for m in dan.messages if m.document), None))
    assert document.document.filename.endswith(".pdf")


def test_a_failed_send_after_an_answer_brings_the_question_back(bot, emulator, tmp_path):
    eve = emulator.user(7203)
    eve.send("/start")
    first = next_question(eve)
    emulator.inject(
        "sendMessage", error_code=500, description="Internal Server Error", chat_id=7203
    )
    eve.press("An ongoing customer service", first)
    note = eve.wait_for(
        lambda: next((m for m in bot_messages(eve) if "did not get through" in m.plain_text), None)
    )
    assert note is not None
    again = next_question(eve)
    assert "Which best describes" in again.plain_text  # the saved answer moved us on
    assert rows(tmp_path / "bot.db", "SELECT question_id FROM answers") == [("duration",)]


def test_a_tick_whose_message_is_gone_shows_the_question_again_with_the_tick(bot, emulator):
    fay = emulator.user(7204)
    fay.send("/start")
    walk(fay, PEAKS_PATH[:2])
    signals = next_question(fay)
    emulator.inject(
        "editMessageReplyMarkup",
        error_code=400,
        description="Bad Request: message to edit not found",
    )
    fay.press(FLOW.by_id["inhouse_signals"].option("strict_secrecy").button, signals)
    again = fay.wait_for(
        lambda: next(
            (m for m in bot_messages(fay) if m.message_id > signals.message_id and m.buttons), None
        )
    )
    assert any(label.startswith("✅ Strict secrecy") for label in again.buttons)


# -- taps ---------------------------------------------------------------------------------------


def test_two_quick_ticks_both_count_and_survive_a_restart(emulator, tmp_path):
    gil = emulator.user(7301)
    labels = [o.button for o in FLOW.by_id["inhouse_signals"].options]
    with BotRunner(emulator, tmp_path / "bot.db"):
        gil.send("/start")
        walk(gil, PEAKS_PATH[:2])
        signals = next_question(gil)
        first, second = gil.press(labels[0], signals), gil.press(labels[1], signals)
        gil.wait_callback_answered(first)
        gil.wait_callback_answered(second)
        gil.wait_for(
            lambda: all(f"✅ {label}" in gil.message(signals).buttons for label in labels[:2])
        )
    with BotRunner(emulator, tmp_path / "bot.db"):
        press(gil, signals, "Done")
        next_question(gil)
    answered = rows(
        tmp_path / "bot.db", "SELECT value FROM answers WHERE question_id='inhouse_signals'"
    )
    assert answered == [('["integrated_systems","specialist_knowledge"]',)]


def test_thirty_taps_on_an_answered_button_give_toasts_and_no_copies(bot, emulator, tmp_path):
    hal = emulator.user(7302)
    hal.send("/start")
    first = next_question(hal)
    taps = [hal.press("An ongoing customer service", first) for _ in range(30)]
    for update_id in taps:
        hal.wait_callback_answered(update_id)
    questions = [m for m in bot_messages(hal) if m.buttons and m.message_id > first.message_id]
    assert len(questions) == 1
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM answers") == [(1,)]
    # each tap says why it did nothing (taps beyond the twenty waiting are only answered)
    toasts = [a.text for a in hal.callback_answers if a.update_id in taps[1:] and a.text]
    assert toasts and all("Already answered" in text for text in toasts)


def test_an_answer_saved_just_before_a_crash_brings_its_next_question_once(emulator, tmp_path):
    ivy = emulator.user(7304)
    with BotRunner(emulator, tmp_path / "bot.db"):
        ivy.send("/start")
        first = next_question(ivy)
    # the answer was committed, then the process died before the next question went out
    with Store(tmp_path / "bot.db") as store:
        service = AdvisorService(FLOW, store)
        person = service.people.person("telegram", ivy.id)
        service.current(person)
        service.answer(person, "ongoing")
    with BotRunner(emulator, tmp_path / "bot.db"):
        taps = [ivy.press("An ongoing customer service", first) for _ in range(3)]
        for update_id in taps:
            ivy.wait_callback_answered(update_id)
        ivy.send("/help")  # (the bot has handled everything before this)
        ivy.next_message()
    questions = [m for m in bot_messages(ivy) if m.buttons and m.message_id > first.message_id]
    assert len(questions) == 1
    situations = {o.button for o in FLOW.by_id["situation"].options}
    assert situations <= set(questions[0].buttons)
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM answers") == [(1,)]


def test_text_before_any_conversation_says_once_how_to_begin(bot, emulator, tmp_path):
    kim = emulator.user(7305, language_code="nl")
    kim.send("hello?")
    reply = kim.next_message()
    assert reply.plain_text == translator("nl")("Send /start to begin.")
    kim.send("/help")  # (the bot has handled everything before this)
    kim.next_message()
    assert len(bot_messages(kim)) == 2
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM conversations") == [(0,)]


def test_a_returning_person_hears_that_the_questions_changed_and_keeps_answers(emulator, tmp_path):
    lou = emulator.user(7306)
    with BotRunner(emulator, tmp_path / "bot.db"):
        lou.send("/start")
        walk(lou, PEAKS_PATH[:2])
        next_question(lou)
    text = (default_flows_dir() / "advisor.yaml").read_text(encoding="utf-8")
    (tmp_path / "advisor.yaml").write_text(text.replace("Mostly complex", "Mostly hard"))
    with BotRunner(emulator, tmp_path / "bot.db", flow=load_flow(tmp_path / "advisor.yaml")):
        lou.send("/start")
        welcome = lou.next_message()
        question = next_question(lou)
    assert "The questions were updated since your last visit" in welcome.plain_text
    assert question.plain_text.startswith("3/")
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM answers WHERE action='answer'") == [(2,)]


def test_language_after_finishing_changes_the_language_and_starts_nothing(bot, emulator, tmp_path):
    ida = emulator.user(7303)
    ida.send("/start")
    walk(ida, PEAKS_PATH)
    ida.wait_for(lambda: any(SAVED in (m.plain_text or "") for m in ida.messages))
    ida.send("/language")
    chooser = ida.wait_for(lambda: next((m for m in ida.messages if "Polski" in m.buttons), None))
    ida.press("Polski", chooser)
    pl = translator("pl")
    headline = pl(FLOW.verdicts["overflow"].title)
    ida.wait_for(lambda: any(headline in (m.plain_text or "") for m in bot_messages(ida)))
    assert rows(tmp_path / "bot.db", "SELECT status FROM conversations") == [("finished",)]
    menu = emulator.commands("", scope={"type": "chat", "chat_id": 7303})
    assert menu and menu[0]["description"] == pl("Start or continue the advisor")


def test_an_old_button_after_delete_says_nothing_is_stored(bot, emulator):
    jo = emulator.user(7304)
    jo.send("/start")
    first = next_question(jo)
    jo.send("/delete")
    confirm = jo.wait_for(
        lambda: next((m for m in jo.messages if "Delete everything" in m.buttons), None)
    )
    press(jo, confirm, "Delete everything")
    update_id = jo.press("An ongoing customer service", first)
    assert "Nothing is stored" in jo.wait_callback_answered(update_id).text


# -- every kind of message -------------------------------------------------------------------


def test_stickers_photos_voice_locations_and_files_get_a_hint(bot, emulator):
    kim = emulator.user(7401)
    sticker = {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512}
    kinds = {
        "sticker": {
            "sticker": {**sticker, "is_animated": False, "is_video": False, "type": "regular"}
        },
        "photo": {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
        "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 2}},
        "location": {"location": {"latitude": 60.17, "longitude": 24.94}},
        "document": {"document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "cv.pdf"}},
    }
    for content in kinds.values():
        emulator.push(message(kim, **content))
        assert "text and buttons only" in kim.next_message().plain_text


def test_edits_channel_posts_and_inline_presses_are_ignored_quietly(bot, emulator, caplog):
    lea = emulator.user(7402)
    lea.send("/start")
    next_question(lea)
    edited = message(
        lea, text="/delete", entities=[{"type": "bot_command", "offset": 0, "length": 7}]
    )
    edited["edited_message"] = {**edited.pop("message"), "edit_date": int(time.time())}
    emulator.push(edited)
    channel = emulator.group(-100_555, "News", kind="channel")
    channel.send(None, "/start", sender_chat=channel.chat_json())
    emulator.push(
        {
            "callback_query": {
                "id": "9001",
                "from": lea.as_json(),
                "inline_message_id": "AAA",
                "chat_instance": "1",
                "data": "a:1:0:0",
            }
        }
    )
    lea.send("/help")
    assert "I help you decide" in lea.next_message().plain_text
    assert not any("Delete everything" in m.buttons for m in lea.messages)
    assert channel.from_bot() == []


def test_blocking_and_unblocking_is_noticed_without_a_message(bot, emulator, tmp_path):
    mo = emulator.user(7403)
    mo.send("/start")
    next_question(mo)

    def membership(status: str) -> dict:
        return {
            "my_chat_member": {
                "chat": mo.chat_json(),
                "from": mo.as_json(),
                "date": int(time.time()),
                "old_chat_member": {"user": emulator.bot_user, "status": "member"},
                "new_chat_member": {"user": emulator.bot_user, "status": status}
                | ({"until_date": 0} if status == "kicked" else {}),
            }
        }

    active = "SELECT active FROM users WHERE external_id = '7403'"
    emulator.push(membership("kicked"))
    emulator.wait_for(lambda: rows(tmp_path / "bot.db", active) == [(0,)])
    emulator.push(membership("member"))
    emulator.wait_for(lambda: rows(tmp_path / "bot.db", active) == [(1,)])


def test_contacts_are_whole_numbers_in_every_language(bot, emulator):
    sven = emulator.user(7404, language_code="sv")
    sven.send("/start")
    walk(sven, translate_path(PEAKS_PATH[:4], "sv"))
    amount = next_question(sven)
    refusal = error_text("not_whole_number", translator("sv"))
    for typed in ("12,5", "12 000,7"):
        sven.send(typed)
        assert sven.next_message().plain_text == refusal
    sven.send("12 000")
    next_question(sven)
    assert "12 000" in sven.message(amount).plain_text.replace("\u00a0", " ")


def test_help_names_privacy_and_delete(bot, emulator):
    ned = emulator.user(7405)
    ned.send("/help")
    text = ned.next_message().plain_text
    assert "/privacy" in text and "/delete" in text


def test_the_scorecard_comes_as_a_picture_with_the_verdict(bot, emulator):
    ola = emulator.user(7406, language_code="pl")
    ola.send("/start")
    walk(ola, translate_path(PEAKS_PATH, "pl"))
    photo = ola.wait_for(lambda: next((m for m in ola.messages if m.photo), None))
    image = Image.open(io.BytesIO(photo.photo.data))
    assert image.size[0] == 900 and image.size[1] > 200
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 10  # bars, labels, not a blank canvas
    assert photo.plain_text == translator("pl")("Readiness scorecard")


def translate_path(path, language):
    t = translator(language)
    return [
        (q, given if isinstance(given, str) else [t(label) for label in given]) for q, given in path
    ]


def test_third_party_loggers_stay_quiet_unless_asked_twice():
    from bot.logs import setup

    setup(1)
    assert logging.getLogger("fontTools").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("transitions").getEffectiveLevel() == logging.WARNING
    setup(2)
    assert logging.getLogger("fontTools").getEffectiveLevel() == logging.DEBUG
    setup(0)


def test_telegram_failing_the_transcript_edit_shows_the_next_question_once(bot, emulator):
    gus = emulator.user(7290)
    gus.send("/start")
    first = next_question(gus)
    emulator.inject("editMessageText", error_code=500, description="Internal Server Error")
    press(gus, first, "An ongoing customer service")
    second = next_question(gus)
    gus.send("/help")
    gus.wait_for(lambda: any("/privacy" in (m.plain_text or "") for m in bot_messages(gus)))
    asked = [m for m in bot_messages(gus) if (m.plain_text or "").startswith("2/")]
    assert [m.message_id for m in asked] == [second.message_id]
    assert not any("did not get through" in (m.plain_text or "") for m in bot_messages(gus))


def test_a_text_of_spaces_only_gets_a_plain_answer_not_an_error(bot, emulator):
    ida = emulator.user(7291)
    ida.send("/start")
    next_question(ida)
    ida.send("\u3000 ")
    reply = ida.next_message()
    assert "went wrong" not in reply.plain_text
