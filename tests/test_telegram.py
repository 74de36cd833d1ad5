"""The Telegram front end end to end: the real Application over HTTP to a Bot API emulator."""

from __future__ import annotations

from testkit.harness import FLOW, BotRunner
from testkit.people import (
    PEAKS_PATH,
    PROGRESS,
    SAVED,
    give,
    next_question,
    press,
    report_text,
    rows,
    toggle,
    walk,
)


def test_start_greets_and_asks_the_first_question(bot, emulator):
    alice = emulator.user(1001, first_name="Alice")
    alice.send("/start")
    greeting = alice.next_message()
    assert "Alice" in greeting.plain_text
    first = alice.next_message()
    assert first.plain_text.startswith("1/")
    assert "ongoing service or a short campaign" in first.plain_text
    assert "An ongoing customer service" in first.buttons


def test_whole_conversation_with_buttons_and_typed_numbers_saves_the_summary(
    bot, emulator, tmp_path
):
    bob = emulator.user(2002, first_name="Bob")
    bob.send("/start")
    walk(bob, PEAKS_PATH)
    text = report_text(bob, SAVED)
    assert "Outsource the overflow" in text
    assert "rubber band" in text
    report = [  # the texts; the scorecard picture that follows them may be there already
        m
        for m in bob.messages
        if m.from_bot and not m.photo and not PROGRESS.match(m.plain_text or "")
    ]
    start = next(i for i, m in enumerate(report) if "Outsource the overflow" in m.plain_text)
    assert len(report[start:]) <= 2, "the recommendation fits in two messages"
    assert "📄 PDF report" in report[-1].buttons
    assert rows(tmp_path / "bot.db", "SELECT verdict FROM summaries") == [("overflow",)]
    answered = rows(
        tmp_path / "bot.db", "SELECT question_id FROM answers WHERE action = 'answer' ORDER BY seq"
    )
    assert [q for (q,) in answered] == [q for q, _ in PEAKS_PATH]

    def questions():
        return [m for m in bob.messages if PROGRESS.match(m.plain_text or "")]

    # the last transcript edit travels beside the report, not before it
    bob.wait_for(
        lambda: all(m.buttons == [] for m in questions()), what="answered questions lose buttons"
    )
    assert any("➜ 12,000" in m.plain_text for m in questions())
    assert all(len(m.text) <= 4096 for m in bob.messages)


def test_multiple_choice_toggles_ticks_and_refuses_done_with_nothing_chosen(bot, emulator):
    carol = emulator.user(3003)
    carol.send("/start")
    walk(carol, PEAKS_PATH[:2])
    signals = next_question(carol)
    toggle(carol, signals, "Specialist knowledge")
    press(carol, signals, "✅ Specialist knowledge")
    carol.wait_for(lambda: "✅ Specialist knowledge" not in carol.message(signals).buttons)
    update_id = carol.press("Done", signals)
    refusal = carol.wait_callback_answered(update_id)
    assert refusal.show_alert and "at least one" in refusal.text
    secrecy = FLOW.by_id["inhouse_signals"].option("strict_secrecy").button
    toggle(carol, signals, secrecy)
    toggle(carol, signals, "None of these")  # "none" clears the others
    assert f"✅ {secrecy}" not in carol.message(signals).buttons
    press(carol, signals, "Done")
    next_question(carol)
    assert "➜ None of these" in carol.message(signals).plain_text


def test_back_shows_the_earlier_answer_and_restart_begins_again(bot, emulator, tmp_path):
    dave = emulator.user(4004)
    dave.send("/start")
    walk(dave, PEAKS_PATH[:4])
    amount = next_question(dave)
    press(dave, amount, "◀ Back")
    complexity = next_question(dave)
    assert complexity.plain_text.startswith("4/")
    assert "Earlier answer: A mix of simple and complex" in complexity.plain_text
    assert "✅ A mix of simple and complex" in complexity.buttons
    press(dave, complexity, "Mostly complex")
    assert next_question(dave).plain_text.startswith("5/")
    dave.send("/restart")
    assert next_question(dave).plain_text.startswith("1/")
    statuses = rows(tmp_path / "bot.db", "SELECT status FROM conversations ORDER BY id")
    assert statuses == [("restarted",), ("open",)]
    steps = rows(tmp_path / "bot.db", "SELECT action, question_id FROM answers ORDER BY id")
    assert ("back", "monthly_contacts") in steps


def test_old_button_forged_data_and_free_text_are_refused_and_nothing_is_recorded_twice(
    bot, emulator, tmp_path
):
    erin = emulator.user(5005)
    erin.send("/start")
    first = next_question(erin)
    give(erin, first, ["An ongoing customer service"])
    second = next_question(erin)
    before = rows(tmp_path / "bot.db", "SELECT count(*) FROM answers")
    # the first question's buttons are gone; press its old callback data again (a double press)
    stale = erin.press_data("a:1:0:1", first.message_id)
    assert "Already answered" in erin.wait_callback_answered(stale).text
    for forged in ("garbage", "a:1:1:99", "t:999:0:0:0", "d:1:1:1024", "l:xx", "a:1:1"):
        update_id = erin.press_data(forged, second.message_id)
        assert erin.wait_callback_answered(update_id).text  # a toast says why
    # a toast and nothing else: no copies of the question
    assert [m for m in erin.messages if m.from_bot][-1].message_id == second.message_id
    erin.send("hello there")
    pointer = erin.next_message()
    assert "buttons" in pointer.plain_text
    again = next_question(erin)
    assert again.plain_text.split("\n")[1:] == second.plain_text.split("\n")[1:]
    assert rows(tmp_path / "bot.db", "SELECT count(*) FROM answers") == before


def test_a_typed_answer_that_is_not_a_number_is_explained(bot, emulator):
    fay = emulator.user(6006)
    fay.send("/start")
    walk(fay, PEAKS_PATH[:4])
    amount = next_question(fay)
    fay.send("about a lot")
    assert "type a number" in fay.next_message().plain_text
    fay.send("-5")
    assert "at least 0" in fay.next_message().plain_text
    fay.send("2500")
    assert next_question(fay).plain_text.startswith("6/")
    assert "➜ 2,500" in fay.message(amount).plain_text


def test_the_conversation_continues_after_the_bot_process_restarts(emulator, tmp_path):
    gus = emulator.user(7007)
    with BotRunner(emulator, tmp_path / "bot.db"):
        gus.send("/start")
        walk(gus, PEAKS_PATH[:3])
        pending = next_question(gus)
    with BotRunner(emulator, tmp_path / "bot.db"):
        press(gus, pending, "Mostly complex")
        assert next_question(gus).plain_text.startswith("5/")
    answered = rows(tmp_path / "bot.db", "SELECT question_id, value FROM answers ORDER BY seq")
    assert answered[-1] == ("complexity", '"mostly_complex"')


def test_fifty_users_at_once_get_their_own_answers(bot, emulator, tmp_path):
    users = [emulator.user(10_000 + i, first_name=f"U{i}") for i in range(50)]
    for user in users:
        user.send("/start")
    for user in users:
        press(user, next_question(user), "An ongoing customer service")
    firsts = [next_question(user) for user in users]
    situations = ["new_company", "workload_growth", "skills_costs", "peaks", "exploring"]
    labels = {o.id: o.button for o in FLOW.by_id["situation"].options}
    for i, (user, first) in enumerate(zip(users, firsts, strict=True)):
        user.press(labels[situations[i % 5]], first)
    for user in users:
        next_question(user)
    stored = rows(
        tmp_path / "bot.db",
        "SELECT u.external_id, a.value FROM answers a "
        "JOIN conversations c ON c.id = a.conversation_id JOIN users u ON u.id = c.user_id "
        "WHERE a.question_id = 'situation'",
    )
    assert len(stored) == 50
    for external_id, value in stored:
        i = int(external_id) - 10_000
        assert value == f'"{situations[i % 5]}"'


def test_every_press_is_answered_and_commands_are_registered_per_language(bot, emulator):
    hal = emulator.user(8008)
    hal.send("/start")
    first = next_question(hal)
    pressed = [hal.press("An ongoing customer service", first)]
    situation = next_question(hal)
    pressed.append(hal.press("Recurring peaks", situation))
    signals = next_question(hal)
    pressed.append(hal.press("None of these", signals))  # a tick
    pressed.append(hal.press_data("garbage", signals.message_id))  # forged
    pressed.append(hal.press("◀ Back", signals))
    for update_id in pressed:
        hal.wait_callback_answered(update_id)
    queries = [c for c in emulator.calls if c.method.lower() == "answercallbackquery"]
    assert len(queries) == len(pressed)
    for language in ("", "en", "sv", "nl", "fi", "pl"):
        names = [c["command"] for c in emulator.commands(language)]
        assert names[:3] == ["start", "back", "restart"]
