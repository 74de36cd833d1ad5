"""Tests of the fake Bot API server, driven by python-telegram-bot's real Bot and by httpx.

Each test runs its async part with asyncio.run() so that no pytest plugin is needed. Calls that
block (FakeUser.next_message, emu.wait_for, ...) run in a thread from inside the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from testkit.botapi import SECRET_HEADER, BotApiEmulator, parse_html

TOKEN = "123456:TEST-token"


@pytest.fixture
def emu() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(token=TOKEN, username="advisor_test_bot") as emulator:
        yield emulator


def ci(text: str) -> str:
    """A case-insensitive literal pattern: python-telegram-bot applies str.capitalize() to the
    descriptions of "Bad Request: ..." errors, so "BUTTON_DATA_INVALID" becomes
    "Button_data_invalid"."""
    return "(?i)" + re.escape(text)


def make_bot(emu: BotApiEmulator, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=emu.base_url, base_file_url=emu.base_file_url)


def api(emu: BotApiEmulator, method: str) -> str:
    return f"{emu.base_url}{TOKEN}/{method}"


@asynccontextmanager
async def webhook_receiver(
    status: int = 200, secret: str | None = None
) -> AsyncIterator[tuple[str, asyncio.Queue[dict]]]:
    """A small HTTP server standing in for the bot's webhook endpoint."""
    received: asyncio.Queue[dict] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        if secret is not None and request.headers.get(SECRET_HEADER) != secret:
            return web.Response(status=403)
        await received.put(await request.json())
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    finally:
        await runner.cleanup()


def test_get_me_through_python_telegram_bot(emu: BotApiEmulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bot", emu.base_url)
    assert emu.base_file_url == emu.base_url.replace("/bot", "/file/bot")

    async def scenario() -> None:
        async with make_bot(emu) as bot:  # initialize() calls getMe too
            me = await bot.get_me()
            assert (me.id, me.is_bot, me.username) == (123456, True, "advisor_test_bot")
            assert bot.username == "advisor_test_bot"

    asyncio.run(scenario())
    assert [call.method for call in emu.calls] == ["getMe", "getMe"]
    assert emu.calls_to("GETME") == emu.calls
    assert all(call.status == 200 for call in emu.calls)


def test_wrong_token_and_unknown_method(emu: BotApiEmulator) -> None:
    with httpx.Client() as client:
        wrong = client.post(f"{emu.base_url}999:wrong/getMe")
        unknown = client.post(api(emu, "sendTelepathy"))
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }

    async def scenario() -> None:
        with pytest.raises(InvalidToken):
            async with make_bot(emu, token="999:wrong"):
                pass

    asyncio.run(scenario())


def test_parameters_as_json_form_multipart_and_query(emu: BotApiEmulator) -> None:
    alice = emu.user(1001, first_name="Alice")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    with httpx.Client() as client:
        responses = [
            client.post(
                api(emu, "SENDMESSAGE"),
                json={"chat_id": 1001, "text": "json", "reply_markup": markup},
            ),
            client.post(
                api(emu, "sendmessage"),
                data={"chat_id": "1001", "text": "form", "reply_markup": json.dumps(markup)},
            ),
            client.post(
                api(emu, "sendMessage"),
                data={"chat_id": "1001", "text": "multipart"},
                files={"unused": ("a.txt", b"x")},
            ),
            client.get(api(emu, "sendMessage"), params={"chat_id": 1001, "text": "query"}),
        ]
    assert [response.status_code for response in responses] == [200] * 4
    messages = [Message.de_json(response.json()["result"], None) for response in responses]
    assert [message.text for message in messages] == ["json", "form", "multipart", "query"]
    assert [message.message_id for message in messages] == [1, 2, 3, 4]
    assert messages[0].reply_markup == messages[1].reply_markup
    assert messages[0].reply_markup.inline_keyboard[0][0].callback_data == "go"
    assert [message.text for message in alice.messages] == ["json", "form", "multipart", "query"]
    assert {call.method for call in emu.calls} == {"sendMessage"}
    assert emu.calls[1].params["reply_markup"] == markup  # decoded from its JSON string


def test_long_polling_with_offsets(emu: BotApiEmulator) -> None:
    alice = emu.user(1001, first_name="Alice", language_code="pl", username="alice")
    first = alice.send("/start abc")

    async def scenario() -> None:
        async with make_bot(emu) as bot:
            (update,) = await bot.get_updates(timeout=0)
            assert update.update_id == first
            message = update.message
            assert message.text == "/start abc"
            assert (message.chat.id, message.chat.type, message.chat.first_name) == (
                1001,
                "private",
                "Alice",
            )
            assert (message.from_user.language_code, message.from_user.username) == ("pl", "alice")
            assert [(e.type, e.offset, e.length) for e in message.entities] == [
                ("bot_command", 0, 6)
            ]

            # A long poll that is already waiting returns as soon as the user writes.
            poll = asyncio.create_task(bot.get_updates(offset=first + 1, timeout=5))
            await asyncio.to_thread(emu.wait_for, lambda: len(emu.calls_to("getUpdates")) == 2)
            second = alice.send("hello")
            assert [u.update_id for u in await poll] == [second]
            # Not confirmed until a later call passes a higher offset.
            assert [u["update_id"] for u in emu.pending_updates] == [second]

            keyboard = InlineKeyboardMarkup.from_row(
                [
                    InlineKeyboardButton("Yes", callback_data="yes"),
                    InlineKeyboardButton("No", callback_data="no"),
                ]
            )
            sent = await bot.send_message(1001, "Continue?", reply_markup=keyboard)
            press = alice.press("No")
            (update,) = await bot.get_updates(offset=second + 1, timeout=5)
            query = update.callback_query
            assert update.update_id == press
            assert (query.data, query.from_user.id) == ("no", 1001)
            assert (query.message.message_id, query.message.text) == (sent.message_id, "Continue?")

            # Nothing new: the poll ends at its timeout with an empty list.
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    api(emu, "getUpdates"), json={"offset": press + 1, "timeout": 0.2}
                )
            assert response.json() == {"ok": True, "result": []}
            assert emu.pending_updates == []

    asyncio.run(scenario())


def test_a_second_poller_terminates_the_first(emu: BotApiEmulator) -> None:
    async def scenario() -> None:
        async with make_bot(emu) as first_bot, make_bot(emu) as second_bot:
            waiting = asyncio.create_task(first_bot.get_updates(timeout=5))
            await asyncio.to_thread(emu.wait_for, lambda: emu.calls_to("getUpdates"))
            assert await second_bot.get_updates(timeout=0) == ()
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await waiting

    asyncio.run(scenario())


def test_keyboard_press_answer_and_edits(emu: BotApiEmulator) -> None:
    alice = emu.user(1001, first_name="Alice")
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ Yes", callback_data="yes")],
            [
                InlineKeyboardButton("No", callback_data="no"),
                InlineKeyboardButton("Docs", url="https://example.org"),
            ],
        ]
    )
    undo = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Undo", callback_data="undo"))

    async def scenario() -> None:
        async with make_bot(emu) as bot:
            sent = await bot.send_message(
                1001, "<b>Ready?</b> &lt;3", parse_mode="HTML", reply_markup=keyboard
            )
            assert sent.text == "Ready? <3"
            assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 6)]
            assert sent.reply_markup == keyboard
            assert sent.from_user.is_bot and sent.from_user.username == "advisor_test_bot"

            shown = await asyncio.to_thread(alice.next_message)
            assert shown.message_id == sent.message_id
            assert (shown.text, shown.plain_text, shown.parse_mode) == (
                "<b>Ready?</b> &lt;3",
                "Ready? <3",
                "HTML",
            )
            assert shown.buttons == ["✅ Yes", "No", "Docs"] == alice.buttons()

            press = alice.press("✅ Yes")
            (update,) = await bot.get_updates(timeout=0)
            query = update.callback_query
            assert (update.update_id, query.data) == (press, "yes")
            assert await bot.answer_callback_query(query.id, text="Saved", show_alert=True)
            answer = await asyncio.to_thread(alice.wait_callback_answered, press)
            assert (answer.text, answer.show_alert, answer.query_id) == ("Saved", True, query.id)
            assert alice.callback_answers == [answer]
            with pytest.raises(BadRequest, match=ci("query is too old")):
                await bot.answer_callback_query(query.id)  # answered already
            with pytest.raises(BadRequest, match=ci("query ID is invalid")):
                await bot.answer_callback_query("12345")

            edited = await bot.edit_message_text(
                "Saved.", chat_id=1001, message_id=sent.message_id, reply_markup=undo
            )
            assert isinstance(edited, Message)
            assert (edited.text, edited.reply_markup) == ("Saved.", undo)
            assert edited.edit_date is not None
            with pytest.raises(BadRequest, match=ci("message is not modified")):
                await bot.edit_message_text(
                    "Saved.", chat_id=1001, message_id=sent.message_id, reply_markup=undo
                )
            with pytest.raises(BadRequest, match=ci("message to edit not found")):
                await bot.edit_message_text("x", chat_id=1001, message_id=999)

            current = alice.message(sent.message_id)
            assert (current.text, current.buttons) == ("Saved.", ["Undo"])
            with pytest.raises(AssertionError, match=r"no button '✅ Yes'.*\['Undo'\]"):
                alice.press("✅ Yes")
            stale = alice.press_data("yes", sent.message_id)
            forged = alice.press_data("admin", 4242)

            await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id)
            assert alice.buttons(sent.message_id) == [] == alice.buttons()
            with pytest.raises(BadRequest, match=ci("message is not modified")):
                await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id)

            updates = await bot.get_updates(offset=press + 1, timeout=0)
            assert [u.update_id for u in updates] == [stale, forged]
            assert updates[0].callback_query.data == "yes"
            # python-telegram-bot turns an InaccessibleMessage (date 0) of a callback query into
            # a Message whose date is ZERO_DATE.
            assert not updates[1].callback_query.message.is_accessible

    asyncio.run(scenario())
    # Edits do not count as new messages.
    with pytest.raises(AssertionError, match="new bot message"):
        alice.next_message(timeout=0.05)


def test_send_validations(emu: BotApiEmulator) -> None:
    emu.user(1001)
    bad_html = {
        "<b>bold": 'Can\'t find end tag corresponding to start tag "b"',
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "<div>x</div>": 'Unsupported start tag "div" at byte offset 0',
        "<b>x</i>": 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "<span>x</span>": 'Tag "span" must have class "tg-spoiler" at byte offset 0',
        "Fish & chips": 'Unescaped "&"',
        "2 > 1": 'Unescaped ">"',
    }

    async def scenario() -> None:
        async with make_bot(emu) as bot:
            for text, reason in bad_html.items():
                with pytest.raises(BadRequest, match=ci(f"can't parse entities: {reason}")):
                    await bot.send_message(1001, text, parse_mode="HTML")
            for text, reason in [
                ("", "message text is empty"),
                ("<b> </b>", "message text is empty"),
                ("x" * 4097, "message is too long"),
            ]:
                with pytest.raises(BadRequest, match=ci(reason)):
                    await bot.send_message(1001, text, parse_mode="HTML")
            assert (await bot.send_message(1001, "x" * 4096)).text == "x" * 4096
            assert (await bot.send_message(1001, "2 > 1 & so on")).text == "2 > 1 & so on"

            for data, ok in [("ą" * 32, True), ("ą" * 33, False), ("", False)]:
                keyboard = InlineKeyboardMarkup.from_button(
                    InlineKeyboardButton("Press", callback_data=data)
                )
                if ok:
                    await bot.send_message(1001, "fits", reply_markup=keyboard)
                else:
                    with pytest.raises(BadRequest, match=ci("BUTTON_DATA_INVALID")):
                        await bot.send_message(1001, "too long", reply_markup=keyboard)

    asyncio.run(scenario())
    assert [m.plain_text for m in emu.user(1001).messages] == ["x" * 4096, "2 > 1 & so on", "fits"]


def test_parse_html_entities() -> None:
    text = (
        '<b>bold <i>both</i></b> <a href="https://example.org/?a=1&amp;b=2">link</a> '
        '<tg-spoiler>s</tg-spoiler> <span class="tg-spoiler">t</span> '
        '<pre><code class="language-python">x = 1</code></pre> <blockquote expandable>q'
        "</blockquote> <code>c</code> 😀<u>u</u> &quot;&#65;&#x42;"
    )
    plain, entities = parse_html(text)
    assert plain == 'bold both link s t x = 1 q c 😀u "AB'
    assert entities == [
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "text_link", "offset": 10, "length": 4, "url": "https://example.org/?a=1&b=2"},
        {"type": "spoiler", "offset": 15, "length": 1},
        {"type": "spoiler", "offset": 17, "length": 1},
        {"type": "pre", "offset": 19, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 25, "length": 1},
        {"type": "code", "offset": 27, "length": 1},
        {"type": "underline", "offset": 31, "length": 1},  # 😀 is two UTF-16 units
    ]
    assert parse_html("Fish & chips > fries", strict=False) == ("Fish & chips > fries", [])
    with pytest.raises(ValueError, match='Unsupported start tag "x" at byte offset 3'):
        parse_html("ą <x>")


def test_document_upload_and_download(emu: BotApiEmulator) -> None:
    alice = emu.user(1001)
    payload = b"%PDF-1.4\n% a tiny test document\n"

    async def scenario() -> None:
        async with make_bot(emu) as bot:
            sent = await bot.send_document(
                1001,
                document=payload,
                filename="report.pdf",
                caption="<i>Your report</i>",
                parse_mode="HTML",
            )
            document = sent.document
            assert (document.file_name, document.mime_type, document.file_size) == (
                "report.pdf",
                "application/pdf",
                len(payload),
            )
            assert sent.caption == "Your report"
            assert [e.type for e in sent.caption_entities] == ["italic"]
            file = await bot.get_file(document.file_id)
            assert bytes(await file.download_as_bytearray()) == payload
            again = await bot.send_document(1001, document=document.file_id)
            assert again.document.file_unique_id == document.file_unique_id
            with pytest.raises(BadRequest, match=ci("wrong file identifier")):
                await bot.send_document(1001, document="no-such-file")
            assert await bot.send_chat_action(1001, "upload_document")
            with pytest.raises(BadRequest, match=ci("wrong parameter action")):
                await bot.send_chat_action(1001, "dancing")

    asyncio.run(scenario())
    received = alice.next_message(timeout=1)
    assert received.document is not None
    assert (received.document.filename, received.document.data) == ("report.pdf", payload)
    assert (received.caption, received.plain_text) == ("<i>Your report</i>", "Your report")
    assert alice.next_message(timeout=1).document == received.document
    assert alice.last_message() == alice.messages[-1]


def test_commands_per_language_and_scope(emu: BotApiEmulator) -> None:
    async def scenario() -> None:
        async with make_bot(emu) as bot:
            assert await bot.set_my_commands([BotCommand("start", "Start"), ("help", "Help")])
            assert await bot.set_my_commands([BotCommand("start", "Zacznij")], language_code="pl")
            assert await bot.set_my_commands([("admin", "Admin")], scope=BotCommandScopeChat(1001))
            default = await bot.get_my_commands()
            assert [(c.command, c.description) for c in default] == [
                ("start", "Start"),
                ("help", "Help"),
            ]
            polish = await bot.get_my_commands(language_code="pl")
            assert [(c.command, c.description) for c in polish] == [("start", "Zacznij")]
            assert await bot.get_my_commands(language_code="de") == ()
            assert await bot.delete_my_commands(language_code="pl")
            assert await bot.get_my_commands(language_code="pl") == ()
            with pytest.raises(BadRequest, match=ci("BOT_COMMAND_INVALID")):
                await bot.set_my_commands([BotCommand("Start", "Uppercase is not allowed")])

    asyncio.run(scenario())
    assert [c["command"] for c in emu.commands()] == ["start", "help"]
    assert emu.commands(scope={"type": "chat", "chat_id": 1001}) == [
        {"command": "admin", "description": "Admin"}
    ]
    assert emu.commands(language_code="pl") == []


def test_injected_errors(emu: BotApiEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta
    emu.user(1001)
    emu.user(1002)
    emu.inject("sendMessage", retry_after=3)
    emu.inject("sendMessage", error_code=502, description="Bad Gateway", chat_id=1002)
    emu.inject_network_error("sendChatAction")

    async def scenario() -> None:
        async with make_bot(emu) as bot:
            with pytest.raises(RetryAfter) as flood:
                await bot.send_message(1001, "hi")
            assert flood.value.retry_after == dtm.timedelta(seconds=3)
            assert (await bot.send_message(1001, "hi")).text == "hi"  # only once
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(1002, "hi")  # only for that chat
            with pytest.raises(NetworkError, match="RemoteProtocolError") as dropped:
                await bot.send_chat_action(1001, "typing")
            assert not isinstance(dropped.value, TimedOut)
            assert await bot.send_chat_action(1001, "typing")

    asyncio.run(scenario())
    assert [call.status for call in emu.calls_to("sendMessage")] == [429, 200, 502]
    assert [call.status for call in emu.calls_to("sendChatAction")] == [0, 200]

    emu.inject("getMe", retry_after=7)
    response = httpx.post(api(emu, "getMe"))
    assert response.status_code == 429
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    with pytest.raises(ValueError, match="no method"):
        emu.inject("sendTelepathy")


def test_blocked_and_unknown_chats(emu: BotApiEmulator) -> None:
    alice, bob = emu.user(1001), emu.user(1002)
    emu.block(alice.id)

    async def scenario() -> None:
        async with make_bot(emu) as bot:
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(1001, "hi")
            with pytest.raises(Forbidden):
                await bot.send_chat_action(1001, "typing")
            await bot.send_message(1002, "hi Bob")
            with pytest.raises(BadRequest, match=ci("chat not found")):
                await bot.send_message(999, "nobody")
            emu.unblock(alice.id)
            await bot.send_message(1001, "back")

    asyncio.run(scenario())
    assert [m.text for m in alice.messages] == ["back"]
    assert [m.text for m in bob.messages] == ["hi Bob"]


def test_webhook_delivery_with_secret(emu: BotApiEmulator) -> None:
    alice = emu.user(1001)
    queued = alice.send("queued before the webhook")

    async def scenario() -> None:
        async with webhook_receiver(secret="s3cret") as (local, received), make_bot(emu) as bot:
            url = "https://bot.example.test/hook"  # Telegram wants https: the proxy maps it
            emu.proxy("https://bot.example.test/hook", local)
            with pytest.raises(BadRequest, match=r"(?i)https"):
                await bot.set_webhook(local, secret_token="s3cret")
            assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
            assert (await asyncio.wait_for(received.get(), 5))["update_id"] == queued
            update_id = alice.send("hello")
            body = await asyncio.wait_for(received.get(), 5)
            assert body["update_id"] == update_id
            assert Update.de_json(body, bot).message.text == "hello"

            info = await bot.get_webhook_info()
            assert (info.url, info.pending_update_count, info.allowed_updates) == (
                url,
                0,
                ("message",),
            )
            with pytest.raises(Conflict, match="webhook is active"):
                await bot.get_updates()

            assert await emu.apost_raw_webhook({"update_id": 1}, secret="wrong") == 403
            assert await emu.apost_raw_webhook({"update_id": 1}) == 403
            status = await asyncio.to_thread(emu.post_raw_webhook, {"update_id": 99}, "s3cret")
            assert status == 200
            assert (await received.get())["update_id"] == 99

            assert await bot.delete_webhook()
            assert (await bot.get_webhook_info()).url == ""
            later = alice.send("polling again")
            assert [u.update_id for u in await bot.get_updates(timeout=0)] == [later]

    asyncio.run(scenario())
    assert [(d.update_id, d.status) for d in emu.webhook_deliveries] == [(1, 200), (2, 200)]


def test_failing_webhook_is_retried_then_reported() -> None:
    with BotApiEmulator(token=TOKEN, webhook_attempts=2) as emu:
        alice = emu.user(1001)

        async def scenario() -> None:
            async with webhook_receiver(status=500) as (local, received), make_bot(emu) as bot:
                emu.proxy("https://bot.example.test/hook", local)
                await bot.set_webhook("https://bot.example.test/hook")
                alice.send("hello")
                await asyncio.to_thread(emu.wait_for, lambda: len(emu.webhook_deliveries) == 2)
                assert received.qsize() == 2  # the same update, twice
                info = await bot.get_webhook_info()
                assert info.pending_update_count == 0  # given up after two attempts
                assert info.last_error_message == (
                    "Wrong response from the webhook: 500 Internal Server Error"
                )

        asyncio.run(scenario())


def test_waiting_helpers(emu: BotApiEmulator) -> None:
    alice = emu.user(1001)
    httpx.post(api(emu, "getMe"))
    with pytest.raises(AssertionError, match=r"(?s)new bot message to .*getMe -> 200"):
        alice.next_message(timeout=0.05)

    async def blocking_inside_a_loop() -> None:
        alice.next_message(timeout=0.05)

    with pytest.raises(RuntimeError, match="to_thread"):
        asyncio.run(blocking_inside_a_loop())

    for text in ("one", "two"):
        httpx.post(api(emu, "sendMessage"), json={"chat_id": 1001, "text": text})
    assert [alice.next_message().text, alice.next_message().text] == ["one", "two"]
    assert alice.wait_for(lambda: alice.last_message()).text == "two"
    with pytest.raises(AssertionError, match="not a button press"):
        alice.wait_callback_answered(12345, timeout=0.05)
