"""A small fake Telegram Bot API server for tests.

The emulator is a real HTTP server (aiohttp on 127.0.0.1, a free port) running in a background
thread with its own event loop, so the bot under test talks to it exactly as it would talk to
Telegram: point python-telegram-bot at ``emu.base_url`` / ``emu.base_file_url``. Synchronous test
code plays the users through :class:`FakeUser` and inspects what the bot did::

    with BotApiEmulator() as emu:
        alice = emu.user(1001, first_name="Alice", language_code="pl")
        alice.send("/start")
        reply = alice.next_message()          # blocks until the bot answers
        alice.press(reply.buttons[0])         # a callback_query update
        assert emu.calls_to("answerCallbackQuery")

Only what the project uses is emulated; results have the shapes of the real Bot API so that
python-telegram-bot's ``de_json`` accepts them. Waiting is done on one ``threading.Condition``
that is notified on every change of state, never with sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import json
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any, TypeVar

import aiohttp
import httpx
from aiohttp import web

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "Call",
    "CallbackAnswer",
    "ChatMessage",
    "FakeGroup",
    "FakeUser",
    "HtmlParseError",
    "StoredFile",
    "UploadedFile",
    "WebhookDelivery",
    "parse_html",
]

T = TypeVar("T")
JSON = dict[str, Any]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
# Parameters that carry JSON objects; python-telegram-bot sends them JSON-encoded inside
# form/multipart fields, clients using an application/json body send them as objects.
JSON_PARAMS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
        "link_preview_options", "reply_parameters",
    }
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Records


@dataclass
class Call:
    """One request received by the emulator; ``status`` is filled in once it was answered
    (0 for an injected network error)."""

    method: str
    params: dict[str, Any]
    time: float
    status: int | None = None


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    filename: str
    data: bytes = field(repr=False)
    mime_type: str
    file_path: str

    def as_document(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
        }


@dataclass(frozen=True)
class ChatMessage:
    """A snapshot of a message in a private chat, in its current (possibly edited) state.

    ``text`` and ``caption`` are what the sender passed (raw markup when a parse_mode was used);
    ``plain_text`` and ``entities`` are what Telegram derives from them and shows the user.
    """

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None
    caption: str | None = None
    plain_text: str = ""
    parse_mode: str | None = None
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    document: StoredFile | None = None
    edit_date: int | None = None
    sender_id: int | None = None  # who wrote it in a group (None: the chat's own user)
    photo: StoredFile | None = None

    @property
    def inline_buttons(self) -> list[JSON]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline keyboard, row by row."""
        return [button.get("text", "") for button in self.inline_buttons]


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    update_id: int
    user_id: int
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass(frozen=True)
class WebhookDelivery:
    update_id: int
    url: str
    status: int | None  # None when the request itself failed
    error: str | None


@dataclass(frozen=True)
class _Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as found in ``Call.params``."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str


@dataclass
class _Injection:
    method: str
    remaining: int
    chat_id: int | None
    error: ApiError | None  # None: drop the connection instead of answering (unless late)
    late: float | None = None  # carry the call out, then answer after this many seconds


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


# ---------------------------------------------------------------------------------------------
# HTML parse mode


class HtmlParseError(ValueError):
    pass


_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_SPACE = " \t\r\n\f\v"
_HTML_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    start: int  # UTF-16 offset in the parsed text
    language: str | None = None  # set on <pre> by an inner <code class="language-...">


class _HtmlParser:
    """Telegram's HTML parse mode, after tdlib's parser (same error texts), plus an optional
    strict check that '&' and '>' outside tags are escaped, which Telegram itself forgives."""

    def __init__(self, text: str, strict: bool) -> None:
        self.text = text
        self.strict = strict
        self.pos = 0
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSON] = []

    def byte_offset(self, at: int) -> int:
        return len(self.text[:at].encode("utf-8", "surrogatepass"))

    def error(self, message: str, at: int | None = None) -> HtmlParseError:
        if at is not None:
            message += f" at byte offset {self.byte_offset(at)}"
        return HtmlParseError(message)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.u16 += _utf16_len(chunk)

    def parse(self) -> tuple[str, list[JSON]]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "<":
                if text.startswith("</", self.pos):
                    self.end_tag()
                else:
                    self.start_tag()
                continue
            if char == "&" and (match := _HTML_ENTITY.match(text, self.pos)):
                self.emit(html.unescape(match.group()))
                self.pos = match.end()
                continue
            if self.strict and char in "&>":
                escaped = "&amp;" if char == "&" else "&gt;"
                raise HtmlParseError(
                    f'Unescaped "{char}" at byte offset {self.byte_offset(self.pos)} '
                    f"(emulator strict mode: write {escaped})"
                )
            self.emit(char)
            self.pos += 1
        if self.stack:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.out), self.entities

    def skip_spaces(self, k: int) -> int:
        while k < len(self.text) and self.text[k] in _SPACE:
            k += 1
        return k

    def start_tag(self) -> None:
        text, begin, n = self.text, self.pos, len(self.text)
        k = begin + 1
        while k < n and text[k] not in _SPACE and text[k] != ">":
            k += 1
        if k >= n:
            raise self.error("Unclosed start tag", begin)
        name = text[begin + 1 : k].lower()
        if name not in _TAG_ENTITY:
            raise self.error(f'Unsupported start tag "{name}"', begin)
        attributes: dict[str, str] = {}
        while True:
            k = self.skip_spaces(k)
            if k >= n:
                raise self.error(f'Unclosed start tag "{name}"', begin)
            if text[k] == ">":
                break
            attr_begin = k
            while k < n and text[k] not in _SPACE and text[k] not in "=>":
                k += 1
            attr = text[attr_begin:k].lower()
            if not attr:
                raise self.error(f'Empty attribute name in the tag "{name}"', begin)
            k = self.skip_spaces(k)
            if k < n and text[k] != "=" and name == "blockquote" and attr == "expandable":
                attributes[attr] = ""
                continue
            if k < n and text[k] != "=":
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}"',
                    begin,
                )
            k = self.skip_spaces(k + 1)
            if k >= n:
                raise self.error(f'Unclosed start tag "{name}"', begin)
            if text[k] in "\"'":
                close = text.find(text[k], k + 1)
                if close < 0:
                    raise self.error("Unclosed start tag", begin)
                attributes[attr] = html.unescape(text[k + 1 : close])
                k = close + 1
            else:
                value_begin = k
                while k < n and ((text[k].isascii() and text[k].isalnum()) or text[k] in ".-"):
                    k += 1
                if k < n and text[k] not in _SPACE and text[k] != ">":
                    raise self.error("Unexpected end of name token", k)
                attributes[attr] = text[value_begin:k]
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
        self.stack.append(_OpenTag(name, attributes, self.u16))
        self.pos = k + 1

    def end_tag(self) -> None:
        text, begin, n = self.text, self.pos, len(self.text)
        if begin + 2 >= n:
            raise self.error("Unexpected end tag", begin)
        k = begin + 2
        while k < n and text[k] not in _SPACE and text[k] != ">":
            k += 1
        name = text[begin + 2 : k].lower()
        k = self.skip_spaces(k)
        if k >= n or text[k] != ">":
            raise self.error("Unclosed end tag", begin)
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        tag = self.stack.pop()
        if name and name != tag.name:  # a bare "</>" closes whatever is open
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self.pos = k + 1
        self.close(tag)

    def close(self, tag: _OpenTag) -> None:
        css_class = tag.attributes.get("class", "")
        parent = self.stack[-1] if self.stack else None
        language = css_class.removeprefix("language-") if css_class.startswith("language-") else ""
        if tag.name == "code" and parent is not None and parent.name == "pre" and language:
            parent.language = language  # <pre><code class="language-x"> is one "pre" entity
            return
        length = self.u16 - tag.start
        if length == 0:
            return  # Telegram drops empty entities
        entity: JSON = {"type": _TAG_ENTITY[tag.name], "offset": tag.start, "length": length}
        if tag.name == "a":
            if not tag.attributes.get("href"):
                return
            entity["url"] = tag.attributes["href"]
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attributes:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attributes["emoji-id"]
        self.entities.append(entity)


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into (plain text, entities with UTF-16 offsets).

    Raises HtmlParseError with Telegram's wording (minus the "can't parse entities:" prefix).
    """
    return _HtmlParser(text, strict).parse()


# ---------------------------------------------------------------------------------------------
# Request parameters


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise _bad_request("JSON request body must be an object")
            params.update(body)
        else:  # form-urlencoded or multipart/form-data (python-telegram-bot uses both)
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = UploadedFile(
                        value.filename, value.file.read(), value.content_type
                    )
                else:
                    params[key] = value
    for key in JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                what = "reply keyboard markup" if key == "reply_markup" else key
                raise _bad_request(f"can't parse {what} JSON object") from None
    return params


class _Params:
    """Typed access to the decoded parameters of one call."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def get(self, name: str) -> Any:
        return self.raw.get(name)

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.raw.get(name)
        try:
            return default if value in (None, "") else float(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")


# ---------------------------------------------------------------------------------------------
# The emulator


class BotApiEmulator:
    """A fake Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        username: str = "advisor_test_bot",
        first_name: str = "Advisor Test Bot",
        *,
        strict_html: bool = True,
        webhook_attempts: int = 3,
    ) -> None:
        self.token = token
        self.strict_html = strict_html
        self.webhook_attempts = webhook_attempts
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        # All state below is guarded by _cond (an RLock-based condition, notified on changes).
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, dict[int, ChatMessage]] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._proxies: dict[str, str] = {}
        self._pending: list[JSON] = []
        self._next_update_id = 1
        self._open_queries: dict[str, tuple[int, int]] = {}  # query id -> (user id, update id)
        self._query_of_update: dict[int, str] = {}
        self._answers: dict[str, CallbackAnswer] = {}
        self._query_counter = 0
        self._files: dict[str, StoredFile] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook: _Webhook | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._deliveries: list[WebhookDelivery] = []
        self._injections: list[_Injection] = []
        self._blocked: set[int] = set()
        self._listeners: list[Callable[[Call], None]] = []
        self._poll_generation = 0
        self._closing = False
        self._methods: dict[str, tuple[str, Callable[[_Params], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in [
                ("getMe", self._get_me),
                ("getUpdates", self._get_updates),
                ("sendMessage", self._send_message),
                ("editMessageText", self._edit_message_text),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("answerCallbackQuery", self._answer_callback_query),
                ("sendDocument", self._send_document),
                ("sendPhoto", self._send_photo),
                ("getFile", self._get_file),
                ("sendChatAction", self._send_chat_action),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("deleteMyCommands", self._delete_my_commands),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("close", lambda p: True),
                ("logOut", lambda p: True),
            ]
        }
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        # Created inside the server's event loop by _serve().
        self._poll_event: asyncio.Event
        self._webhook_event: asyncio.Event
        self._stop_event: asyncio.Event
        self._start_error: BaseException | None = None
        self._port = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> BotApiEmulator:
        self._thread = threading.Thread(target=self._run, name="botapi-emulator", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("the Bot API emulator did not start within 10 s")
        if self._start_error is not None:
            raise RuntimeError("the Bot API emulator failed to start") from self._start_error
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        with self._cond:
            self._closing = True  # makes long polls return at once
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop_event.set)
            self._wake()
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop))
        except BaseException as exc:
            if self._started.is_set():
                raise  # reported by threading.excepthook
            self._start_error = exc  # raised again by start()
            self._started.set()
        finally:
            loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        self._poll_event = asyncio.Event()
        self._webhook_event = asyncio.Event()
        self._stop_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)  # the Bot API accepts 50 MB
        app.router.add_get("/file/{bot}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{bot}/{method}", self._handle_api)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._port = runner.addresses[0][1]
            async with aiohttp.ClientSession() as session:
                deliverer = asyncio.create_task(self._deliver_webhooks(session))
                self._loop = loop
                self._started.set()
                await self._stop_event.wait()
                deliverer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await deliverer
        finally:
            await runner.cleanup()

    def _wake(self) -> None:
        """Wake the coroutines waiting for updates (callable from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._set_events)

    def _set_events(self) -> None:
        self._poll_event.set()
        self._webhook_event.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- the test API --------------------------------------------------------------------------

    def group(self, chat_id: int, title: str = "Team", kind: str = "group") -> FakeGroup:
        """A group, supergroup or channel (negative chat id) the bot is a member of."""
        with self._cond:
            if chat_id not in self._groups:
                self._groups[chat_id] = FakeGroup(self, chat_id, title, kind)
                self._chats[chat_id] = {}
            return self._groups[chat_id]

    def push(self, body: JSON) -> int:
        """Deliver any update as it is (an edited message, a sticker, a my_chat_member ...)."""
        return self._enqueue(body)

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        """The fake user with that id (created on first use); their private chat id == user id."""
        with self._cond:
            if user_id not in self._users:
                fake = FakeUser(self, user_id, first_name, language_code, username, last_name)
                self._users[user_id] = fake
                self._chats[user_id] = {}
            return self._users[user_id]

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def inject(
        self,
        method: str,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` only, if given) fail.

        A 429 carries ``parameters.retry_after``; the description defaults to Telegram's wording.
        """
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = HTTPStatus(error_code).phrase
        parameters = {"retry_after": retry_after} if error_code == 429 and retry_after else None
        self._add_injection(method, times, chat_id, ApiError(error_code, description, parameters))

    def inject_network_error(self, method: str, times: int = 1, chat_id: int | None = None) -> None:
        """Make the next ``times`` calls of ``method`` close the connection without an answer."""
        self._add_injection(method, times, chat_id, None)

    def inject_late_answer(
        self, method: str, seconds: float, times: int = 1, chat_id: int | None = None
    ) -> None:
        """Carry out the next ``times`` calls of ``method`` but answer them only after
        ``seconds``: a slow Telegram, past the client's read timeout."""
        self._add_injection(method, times, chat_id, None, late=seconds)

    def _add_injection(
        self,
        method: str,
        times: int,
        chat_id: int | None,
        error: ApiError | None,
        late: float | None = None,
    ) -> None:
        if method.lower() not in self._methods:
            raise ValueError(f"the emulator has no method {method!r}")
        with self._cond:
            self._injections.append(_Injection(method.lower(), times, chat_id, error, late))

    def block(self, user_id: int) -> None:
        """From now on, calls aimed at that user's chat fail with 403 like a blocked bot."""
        with self._cond:
            self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        with self._cond:
            self._blocked.discard(user_id)

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        with self._cond:
            return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str | None:
        with self._cond:
            return self._webhook.url if self._webhook else None

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._cond:
            return list(self._deliveries)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        with self._cond:
            return list(self._pending)

    def post_raw_webhook(
        self, body: JSON | bytes, secret: str | None = None, timeout: float = 10
    ) -> int:
        """POST ``body`` (JSON, or bytes as they are) to the webhook set by the bot, with that
        secret header (or none), and return the HTTP status. Blocking: from async code use
        :meth:`apost_raw_webhook`."""
        url, headers = self._raw_webhook_target(secret)
        with httpx.Client(timeout=timeout) as client:
            if isinstance(body, bytes):
                return client.post(url, content=body, headers=headers).status_code
            return client.post(url, json=body, headers=headers).status_code

    async def apost_raw_webhook(
        self, body: JSON, secret: str | None = None, timeout: float = 10
    ) -> int:
        url, headers = self._raw_webhook_target(secret)
        async with httpx.AsyncClient(timeout=timeout) as client:
            return (await client.post(url, json=body, headers=headers)).status_code

    def _raw_webhook_target(self, secret: str | None) -> tuple[str, dict[str, str]]:
        url = self.webhook_url
        if url is None:
            raise AssertionError("the bot has not set a webhook")
        return self._local(url), {SECRET_HEADER: secret} if secret is not None else {}

    def proxy(self, public: str, local: str) -> None:
        """Deliver webhook updates for URLs starting with `public` (https, as Telegram
        demands) to `local` instead: the reverse proxy in front of the bot."""
        with self._cond:
            self._proxies[public] = local

    def _local(self, url: str) -> str:
        with self._cond:
            for public, local in self._proxies.items():
                if url.startswith(public):
                    return local + url[len(public) :]
        return url

    def on_call(self, listener: Callable[[Call], None]) -> None:
        """Have ``listener(call)`` run in the emulator's event loop after each answered request,
        so simulated users can react to the bot without polling (keep it quick)."""
        self._listeners.append(listener)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback()`` in the emulator's event loop after ``delay`` seconds (any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.call_later, delay, callback)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10, what: str = "") -> T:
        """Block until ``predicate()`` is truthy (it is re-evaluated on every change of state)
        and return its value; AssertionError with the recent calls on timeout."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no event loop in this thread: blocking is fine
        else:
            raise RuntimeError(
                "this blocks the thread and would starve the event loop; from async code use "
                "`await asyncio.to_thread(...)`"
            )
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout} s waiting for {what or predicate!r}\n"
                        + self.describe_calls()
                    )
                self._cond.wait(remaining)
            return result

    def describe_calls(self, last: int = 15) -> str:
        lines = [
            f"  {call.method} -> {call.status} {_short(call.params)}" for call in self.calls[-last:]
        ]
        return "recent calls to the Bot API emulator:\n" + ("\n".join(lines) or "  (none)")

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        known = self._methods.get(method.lower())
        call = Call(known[0] if known else method, {}, time.time())
        try:
            try:
                call.params = await _read_params(request)
            finally:
                with self._cond:
                    self._calls.append(call)
                    self._cond.notify_all()
            if request.match_info["bot"] != f"bot{self.token}":
                raise ApiError(401, "Unauthorized")
            if known is None:
                raise ApiError(404, "Not Found: method not found")
            injection = self._take_injection(call)
            if injection is not None and injection.error is None and injection.late is None:
                if request.transport is not None:
                    request.transport.close()
                self._finish(call, 0)
                return web.Response(status=500)  # never sent: the connection is gone
            if injection is not None and injection.error is not None:
                raise injection.error
            _, handler = known
            params = _Params(call.params)
            if inspect.iscoroutinefunction(handler):
                result = await handler(params)
            else:
                with self._cond:
                    result = handler(params)
            status, body = 200, {"ok": True, "result": result}
            if injection is not None and injection.late is not None:
                await asyncio.sleep(injection.late)  # done, but the answer comes late
        except ApiError as error:
            status, body = error.code, error.payload()
        except Exception as exc:  # a bug of the emulator: make it visible to the test
            status, body = 500, ApiError(500, f"Internal Server Error: emulator: {exc!r}").payload()
        self._finish(call, status)
        return web.json_response(body, status=status)

    def _finish(self, call: Call, status: int) -> None:
        with self._cond:
            call.status = status
            self._cond.notify_all()
        self._wake()
        for listener in self._listeners:
            listener(call)

    def _take_injection(self, call: Call) -> _Injection | None:
        try:
            chat_id = int(call.params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            chat_id = None
        with self._cond:
            for injection in self._injections:
                if injection.method == call.method.lower() and injection.chat_id in (None, chat_id):
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return injection
        return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["bot"] != f"bot{self.token}":
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        with self._cond:
            stored = next(
                (f for f in self._files.values() if f.file_path == request.match_info["path"]), None
            )
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type)

    # -- updates -------------------------------------------------------------------------------

    def _enqueue(self, body: JSON) -> int:
        with self._cond:
            # a pushed update may bring its own id; later ones follow it, as Telegram's grow
            update_id = int(body.get("update_id", self._next_update_id))
            self._next_update_id = max(self._next_update_id, update_id + 1)
            self._pending.append({**body, "update_id": update_id})
            self._cond.notify_all()
        self._wake()
        return update_id

    async def _get_updates(self, params: _Params) -> list[JSON]:
        offset = params.integer("offset")
        limit = min(max(params.integer("limit", 100) or 100, 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(params.number("timeout", 0.0), 0.0)
        with self._cond:
            self._check_no_webhook()
            if offset is not None and offset < 0:
                self._pending = self._pending[offset:]
            elif offset is not None:  # confirms every update below the offset
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake()  # a long poll still waiting is terminated by this one, as on Telegram
        while True:
            self._poll_event.clear()
            with self._cond:
                self._check_no_webhook()  # it may have been set while we waited
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                batch = self._pending[:limit]
                closing = self._closing
            remaining = deadline - loop.time()
            if batch or closing or remaining <= 0:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_event.wait(), remaining)

    def _check_no_webhook(self) -> None:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )

    async def _deliver_webhooks(self, session: aiohttp.ClientSession) -> None:
        """POST pending updates one at a time, in order, to the webhook while one is set."""
        failures = 0
        while True:
            self._webhook_event.clear()
            with self._cond:
                hook = self._webhook
                update = self._pending[0] if hook is not None and self._pending else None
            if hook is None or update is None:
                await self._webhook_event.wait()
                continue
            headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
            status: int | None = None
            error: str | None = None
            try:
                timeout = aiohttp.ClientTimeout(total=10)
                async with session.post(
                    self._local(hook.url), json=update, headers=headers, timeout=timeout
                ) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            delivered = status is not None and 200 <= status < 300
            with self._cond:
                self._deliveries.append(
                    WebhookDelivery(update["update_id"], hook.url, status, error)
                )
                if not delivered:
                    failures += 1
                    reason = error or _status_line(status)
                    self._webhook_error = (
                        int(time.time()),
                        f"Wrong response from the webhook: {reason}",
                    )
                if delivered or failures >= self.webhook_attempts:
                    failures = 0
                    if self._pending and self._pending[0]["update_id"] == update["update_id"]:
                        self._pending.pop(0)
                self._cond.notify_all()
            if failures:
                await asyncio.sleep(0.05 * failures)  # a short back-off before the next attempt

    # -- helpers for the method handlers (which run with _cond held; _finish() notifies) -------

    def _target_chat(self, params: _Params) -> int:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise _bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self._chats:
            raise _bad_request("chat not found")
        return chat_id

    def _format(
        self, params: _Params, key: str, limit: int, *, required: bool
    ) -> tuple[str | None, str, list[JSON], str | None]:
        """Validate a text or caption: (raw, plain text, entities, parse mode).

        Only the HTML parse mode is parsed; Markdown texts are taken as they are.
        """
        raw = params.text(key)
        parse_mode = params.text("parse_mode")
        what = "message text" if key == "text" else "message caption"
        if not raw or not raw.strip():
            if required:
                raise _bad_request(f"{what} is empty")
            return None, "", [], parse_mode
        if parse_mode and parse_mode.lower() == "html":
            try:
                plain, entities = parse_html(raw, strict=self.strict_html)
            except HtmlParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
        else:
            plain = raw
            entities = list(params.get("entities" if key == "text" else "caption_entities") or [])
        if required and not plain.strip():
            raise _bad_request(f"{what} is empty")
        if len(plain) > limit:
            raise _bad_request("message is too long" if key == "text" else f"{what} is too long")
        return raw, plain, entities, parse_mode

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    def _new_message(self, chat_id: int, **fields: Any) -> ChatMessage:
        chat = self._chats[chat_id]
        message = ChatMessage(
            chat_id=chat_id, message_id=max(chat, default=0) + 1, date=int(time.time()), **fields
        )
        chat[message.message_id] = message
        return message

    def _message_json(self, message: ChatMessage) -> JSON:
        group = self._groups.get(message.chat_id)
        sender = self._users.get(message.sender_id or message.chat_id)
        body: JSON = {
            "message_id": message.message_id,
            "from": self.bot_user if message.from_bot or sender is None else sender.as_json(),
            "chat": group.chat_json() if group else self._users[message.chat_id].chat_json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.photo is not None:
            width, height = _png_size(message.photo.data)
            body["photo"] = [
                {
                    "file_id": message.photo.file_id,
                    "file_unique_id": message.photo.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(message.photo.data),
                }
            ]
            if message.caption is not None:
                body["caption"] = message.plain_text
        elif message.document is not None:
            body["document"] = message.document.as_document()
            if message.caption is not None:
                body["caption"] = message.plain_text
                if message.entities:
                    body["caption_entities"] = message.entities
        else:
            body["text"] = message.plain_text
            if message.entities:
                body["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            body["reply_markup"] = message.reply_markup  # only inline keyboards are echoed
        return body

    def _editable(self, params: _Params) -> ChatMessage:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the emulator")
        chat_id = self._target_chat(params)
        message = self._chats[chat_id].get(params.integer("message_id") or 0)
        if message is None:
            raise _bad_request("message to edit not found")
        if not message.from_bot:
            raise _bad_request("message can't be edited")
        return message

    def _store_edit(self, old: ChatMessage, new: ChatMessage) -> JSON:
        if (new.plain_text, new.entities, new.reply_markup) == (
            old.plain_text,
            old.entities,
            old.reply_markup,
        ):
            raise _bad_request(NOT_MODIFIED)
        new = replace(new, edit_date=int(time.time()))
        self._chats[new.chat_id][new.message_id] = new
        return self._message_json(new)

    # -- Bot API methods -----------------------------------------------------------------------

    def _get_me(self, params: _Params) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: _Params) -> JSON:
        chat_id = self._target_chat(params)
        raw, plain, entities, parse_mode = self._format(params, "text", 4096, required=True)
        markup = self._check_markup(params.get("reply_markup"))
        message = self._new_message(
            chat_id,
            from_bot=True,
            text=raw,
            plain_text=plain,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
        )
        return self._message_json(message)

    def _edit_message_text(self, params: _Params) -> JSON:
        old = self._editable(params)
        if old.document is not None:
            raise _bad_request("there is no text in the message to edit")
        raw, plain, entities, parse_mode = self._format(params, "text", 4096, required=True)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = self._check_markup(params.get("reply_markup"))
        new = replace(
            old,
            text=raw,
            plain_text=plain,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
        )
        return self._store_edit(old, new)

    def _edit_message_reply_markup(self, params: _Params) -> JSON:
        old = self._editable(params)
        new = replace(old, reply_markup=self._check_markup(params.get("reply_markup")))
        return self._store_edit(old, new)

    def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        if query_id not in self._open_queries:  # unknown, or answered already
            raise _bad_request(QUERY_INVALID)
        user_id, update_id = self._open_queries.pop(query_id)
        self._answers[query_id] = CallbackAnswer(
            query_id=query_id,
            update_id=update_id,
            user_id=user_id,
            text=params.text("text"),
            show_alert=params.flag("show_alert"),
            url=params.text("url"),
            cache_time=params.integer("cache_time"),
        )
        return True

    def _send_document(self, params: _Params) -> JSON:
        chat_id = self._target_chat(params)
        document = params.get("document")
        if isinstance(document, UploadedFile):
            if not document.data:
                raise _bad_request("file must be non-empty")
            stored = self._store_file(document)
        elif isinstance(document, str) and document in self._files:
            stored = self._files[document]
        elif not document:
            raise _bad_request("there is no document in the request")
        else:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return self._media_message(chat_id, params, document=stored)

    def _send_photo(self, params: _Params) -> JSON:
        chat_id = self._target_chat(params)
        photo = params.get("photo")
        if not isinstance(photo, UploadedFile) or not photo.data:
            raise _bad_request("there is no photo in the request")
        if not photo.data.startswith(b"\x89PNG") and not photo.data.startswith(b"\xff\xd8"):
            raise _bad_request("IMAGE_PROCESS_FAILED")
        return self._media_message(chat_id, params, photo=self._store_file(photo))

    def _media_message(self, chat_id: int, params: _Params, **media: StoredFile) -> JSON:
        """A file or photo message with its caption, as sendDocument and sendPhoto make it."""
        raw, plain, entities, parse_mode = self._format(params, "caption", 1024, required=False)
        message = self._new_message(
            chat_id,
            from_bot=True,
            caption=raw,
            plain_text=plain,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=self._check_markup(params.get("reply_markup")),
            **media,
        )
        return self._message_json(message)

    def _store_file(self, upload: UploadedFile) -> StoredFile:
        number = len(self._files) + 1
        guessed = mimetypes.guess_type(upload.filename)[0]
        suffix = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
        stored = StoredFile(
            file_id=f"BQACAgIAAxkDAAI{number:06d}",
            file_unique_id=f"AgAD{number:06d}",
            filename=upload.filename,
            data=upload.data,
            mime_type=guessed or upload.content_type or "application/octet-stream",
            file_path=f"documents/file_{number}.{suffix}",
        )
        self._files[stored.file_id] = stored
        return stored

    def _get_file(self, params: _Params) -> JSON:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _send_chat_action(self, params: _Params) -> bool:
        self._target_chat(params)
        if params.text("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _set_my_commands(self, params: _Params) -> bool:
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad_request("command description must be non-empty")
        key = _commands_key(params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: _Params) -> list[JSON]:
        return list(self._commands.get(_commands_key(params), []))

    def _delete_my_commands(self, params: _Params) -> bool:
        self._commands.pop(_commands_key(params), None)
        return True

    def _set_webhook(self, params: _Params) -> bool:
        url = params.text("url") or ""
        if not url:  # an empty url removes the webhook, as on Telegram
            return self._delete_webhook(params)
        if not url.startswith("https://"):  # tests reach a local http listener through proxy()
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad_request("secret token contains unallowed characters")
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self._webhook = _Webhook(
            url, secret, params.get("allowed_updates"), params.integer("max_connections", 40) or 40
        )
        self._webhook_error = None
        return True

    def _delete_webhook(self, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: _Params) -> JSON:
        info: JSON = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if self._webhook.allowed_updates is not None:
                info["allowed_updates"] = self._webhook.allowed_updates
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # -- what users do (called from FakeUser) ----------------------------------------------------

    def _user_message(self, user: FakeUser, text: str) -> int:
        entities: list[JSON] = []
        if command := re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text):
            length = _utf16_len(command.group())
            entities.append({"type": "bot_command", "offset": 0, "length": length})
        with self._cond:
            message = self._new_message(
                user.id, from_bot=False, text=text, plain_text=text, entities=entities
            )
            return self._enqueue({"message": self._message_json(message)})

    def _callback_query(self, user: FakeUser, message_id: int, data: str) -> int:
        with self._cond:
            self._query_counter += 1
            query_id = str(4_000_000_000_000_000 + self._query_counter)
            message = self._chats[user.id].get(message_id)
            # A message the bot cannot see arrives as an InaccessibleMessage (date 0).
            message_json = (
                self._message_json(message)
                if message is not None
                else {"chat": user.chat_json(), "message_id": message_id, "date": 0}
            )
            update_id = self._enqueue(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user.as_json(),
                        "message": message_json,
                        "chat_instance": str(-7_000_000_000_000 - user.id),
                        "data": data,
                    }
                }
            )
            self._open_queries[query_id] = (user.id, update_id)
            self._query_of_update[update_id] = query_id
            return update_id


def _status_line(status: int | None) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"  # type: ignore[arg-type]
    except ValueError:
        return str(status)


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _commands_key(params: _Params) -> tuple[str, str]:
    """Commands are stored per (scope, language code), as on Telegram."""
    return _scope_key(params.get("scope")), params.text("language_code") or ""


def _short(params: dict[str, Any], width: int = 160) -> str:
    text = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Fake users


MessageRef = int | ChatMessage | None


class FakeGroup:
    """A group chat (or supergroup, or channel) where people write and the bot may answer."""

    def __init__(self, emulator: BotApiEmulator, chat_id: int, title: str, kind: str) -> None:
        self.emulator = emulator
        self.id = chat_id
        self.title = title
        self.kind = kind

    def chat_json(self) -> JSON:
        return {"id": self.id, "title": self.title, "type": self.kind}

    def send(self, user: FakeUser | None, text: str, sender_chat: JSON | None = None) -> int:
        """`user` writes `text` here; with `sender_chat` it is sent on behalf of a chat (an
        anonymous admin, a linked channel), as Telegram does, from GroupAnonymousBot."""
        entities: list[JSON] = []
        if command := re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text):
            entities.append({"type": "bot_command", "offset": 0, "length": len(command.group())})
        emulator = self.emulator
        with emulator._cond:
            message = emulator._new_message(
                self.id,
                from_bot=False,
                text=text,
                plain_text=text,
                entities=entities,
                sender_id=user.id if user else None,
            )
            body = emulator._message_json(message)
            if sender_chat is not None:
                body["from"] = {
                    "id": 1087968824,
                    "is_bot": True,
                    "first_name": "Group",
                    "username": "GroupAnonymousBot",
                }
                body["sender_chat"] = sender_chat
            key = "channel_post" if self.kind == "channel" else "message"
            return emulator._enqueue({key: body})

    def press(self, user: FakeUser, message: ChatMessage, label: str) -> int:
        """`user` presses a button on a bot message in this group."""
        data = next(b["callback_data"] for b in message.inline_buttons if b.get("text") == label)
        emulator = self.emulator
        with emulator._cond:
            emulator._query_counter += 1
            query_id = str(5_000_000_000_000_000 + emulator._query_counter)
            update_id = emulator._enqueue(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user.as_json(),
                        "message": emulator._message_json(message),
                        "chat_instance": str(-8_000_000_000_000 - self.id),
                        "data": data,
                    }
                }
            )
            emulator._open_queries[query_id] = (user.id, update_id)
            emulator._query_of_update[update_id] = query_id
            return update_id

    @property
    def messages(self) -> list[ChatMessage]:
        with self.emulator._cond:
            chat = self.emulator._chats[self.id]
            return [chat[message_id] for message_id in sorted(chat)]

    def from_bot(self) -> list[ChatMessage]:
        return [m for m in self.messages if m.from_bot]


class FakeUser:
    """A Telegram user talking to the bot in a private chat (chat id == user id).

    The waiting methods block the calling thread; from async test code wrap them in
    ``await asyncio.to_thread(...)`` so the bot's event loop keeps running.
    """

    def __init__(
        self,
        emulator: BotApiEmulator,
        user_id: int,
        first_name: str,
        language_code: str | None,
        username: str | None,
        last_name: str | None,
    ) -> None:
        self.emulator = emulator
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.username = username
        self.last_name = last_name
        self._consumed = 0  # the highest bot message id next_message() has returned

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.first_name!r})"

    def as_json(self) -> JSON:
        body: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    def chat_json(self) -> JSON:
        body: JSON = {"id": self.id, "first_name": self.first_name, "type": "private"}
        if self.last_name is not None:
            body["last_name"] = self.last_name
        if self.username is not None:
            body["username"] = self.username
        return body

    # -- acting --------------------------------------------------------------------------------

    def send(self, text: str) -> int:
        """Send the bot a text message; returns the update id."""
        return self.emulator._user_message(self, text)

    def press(self, label: str, message: MessageRef = None) -> int:
        """Press the inline button labelled exactly ``label`` on the most recent bot message that
        has one (or on ``message``); returns the update id of the callback query."""
        with self.emulator._cond:
            candidates = self._keyboard_messages(message)
            for candidate in candidates:
                for button in candidate.inline_buttons:
                    if button.get("text") != label:
                        continue
                    if "callback_data" not in button:
                        raise AssertionError(f"button {label!r} has no callback_data: {button}")
                    return self.emulator._callback_query(
                        self, candidate.message_id, button["callback_data"]
                    )
            available = "; ".join(f"message {m.message_id}: {m.buttons}" for m in candidates[:5])
            raise AssertionError(
                f"{self} sees no button {label!r}; available: {available or 'no inline keyboards'}"
            )

    def press_data(self, data: str, message_id: int) -> int:
        """A forged or stale press: any callback data, on any message id."""
        return self.emulator._callback_query(self, message_id, data)

    def buttons(self, message: MessageRef = None) -> list[str]:
        """Labels on ``message``, or on the most recent bot message with an inline keyboard."""
        with self.emulator._cond:
            candidates = self._keyboard_messages(message)
            return candidates[0].buttons if candidates else []

    def _keyboard_messages(self, message: MessageRef) -> list[ChatMessage]:
        if message is not None:
            return [self.message(message)]
        bot_messages = [m for m in self.messages if m.from_bot and m.inline_buttons]
        return sorted(bot_messages, key=lambda m: m.message_id, reverse=True)

    # -- observing -----------------------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message of the chat, both ways, in its current state."""
        with self.emulator._cond:
            chat = self.emulator._chats[self.id]
            return [chat[message_id] for message_id in sorted(chat)]

    def message(self, message: int | ChatMessage) -> ChatMessage:
        """The current state of a message of this chat."""
        message_id = message.message_id if isinstance(message, ChatMessage) else message
        with self.emulator._cond:
            found = self.emulator._chats[self.id].get(message_id)
        if found is None:
            raise AssertionError(f"{self}'s chat has no message {message_id}")
        return found

    def last_message(self) -> ChatMessage | None:
        """The bot's most recent message to this user, if any."""
        bot_messages = [m for m in self.messages if m.from_bot]
        return bot_messages[-1] if bot_messages else None

    def next_message(self, timeout: float = 10) -> ChatMessage:
        """Wait for the next bot message that next_message() has not returned yet."""

        def unseen() -> ChatMessage | None:
            fresh = [m for m in self.messages if m.from_bot and m.message_id > self._consumed]
            return fresh[0] if fresh else None

        message = self.wait_for(unseen, timeout, what=f"a new bot message to {self}")
        self._consumed = message.message_id
        return message

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10, what: str = "") -> T:
        return self.emulator.wait_for(predicate, timeout, what)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """answerCallbackQuery calls for this user's presses, in the order they came."""
        with self.emulator._cond:
            return [a for a in self.emulator._answers.values() if a.user_id == self.id]

    def wait_callback_answered(
        self, update_id_or_query_id: int | str, timeout: float = 10
    ) -> CallbackAnswer:
        """Wait for the answerCallbackQuery of a press (by its update id or query id)."""
        emulator = self.emulator
        if isinstance(update_id_or_query_id, int):
            with emulator._cond:
                query_id = emulator._query_of_update.get(update_id_or_query_id)
            if query_id is None:
                raise AssertionError(f"update {update_id_or_query_id} is not a button press")
        else:
            query_id = update_id_or_query_id
        return self.wait_for(
            lambda: emulator._answers.get(query_id),
            timeout,
            what=f"answerCallbackQuery for query {query_id}",
        )


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (0, 0 for anything else)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0, 0
