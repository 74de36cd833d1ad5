"""What every handler has at hand: the service, the person, their language.

`resolve` runs first for every update (a TypeHandler in group -1) and puts the person and
their translator on the context, so a handler reads `context.person` and `context.t`
instead of looking them up again. A service call that may write goes to the database's
writer thread (`in_writer`), committed with the others queued then, so a lock held by
another process delays only those who need to write. A short read is made where it is
needed: in WAL mode a reader never waits for a writer. What takes a while (a long list,
a PDF) goes to a worker thread (`in_thread`), so the event loop is not held up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from html import escape
from re import Match
from typing import Any, ParamSpec, TypeVar

from telegram import CallbackQuery, Chat, Update
from telegram import User as TelegramUser
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, ExtBot

from advisor.i18n import DEFAULT_LANGUAGE, Translator, translator
from advisor.messages import error_text

from ..service import HANDLING, AdvisorService, StorageError, User

log = logging.getLogger(__name__)
PROMPT_CACHE = 10_000  # chats whose last question message id is remembered (cosmetic only)
P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Work that takes a while and writes nothing (a long read, a PDF), on a worker thread."""
    return await asyncio.to_thread(call, *args, **kwargs)


async def in_writer(
    service: AdvisorService, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """A service call that may write, as one job of the database's writer thread (its
    engine step included), committed together with the others queued at that moment."""
    return await _relay().watch(service.submit(call, *args, **kwargs))


class Relay:
    """Results from the writer thread to the event loop, with one wake-up for all that are
    ready instead of one each (a group commit finishes hundreds of jobs at once, and each
    wake-up is a system call)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._ready: list[tuple[Future[Any], asyncio.Future[Any]]] = []

    def watch(self, future: Future[T]) -> asyncio.Future[T]:
        waiter: asyncio.Future[T] = self._loop.create_future()
        future.add_done_callback(lambda done: self._done(done, waiter))
        return waiter

    def _done(self, done: Future[Any], waiter: asyncio.Future[Any]) -> None:
        with self._lock:
            self._ready.append((done, waiter))
            first = len(self._ready) == 1
        if first:  # the loop is woken once; whatever is done before it runs goes along
            self._loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for done, waiter in ready:
            if waiter.cancelled():
                continue
            if (error := done.exception()) is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(done.result())


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Relay] = weakref.WeakKeyDictionary()


def _relay() -> Relay:
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        relay = _relays[loop] = Relay(loop)
    return relay


class PromptMessages:
    """The last question message per chat, to take its buttons away after a typed answer.

    Bounded; losing an entry (a restart) only leaves an old button, refused as stale.
    """

    def __init__(self, size: int = PROMPT_CACHE) -> None:
        self.size = size
        self._messages: OrderedDict[int, tuple[int, str]] = OrderedDict()

    def remember(self, chat_id: int, message_id: int, question_id: str) -> None:
        self._messages[chat_id] = (message_id, question_id)
        self._messages.move_to_end(chat_id)
        while len(self._messages) > self.size:
            self._messages.popitem(last=False)

    def of(self, chat_id: int, question_id: str) -> int | None:
        remembered = self._messages.get(chat_id)
        return remembered[0] if remembered and remembered[1] == question_id else None

    def forget(self, chat_id: int) -> None:
        self._messages.pop(chat_id, None)


class AdvisorContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context of every handler, with the advisor's things resolved."""

    person: User | None = None
    t: Translator = translator(DEFAULT_LANGUAGE)

    @property
    def service(self) -> AdvisorService:
        service: AdvisorService = self.bot_data["service"]
        return service

    @property
    def prompts(self) -> PromptMessages:
        prompts: PromptMessages = self.bot_data["prompts"]
        return prompts

    @property
    def match(self) -> Match[str]:
        """What the pressed button's callback data matched (its handler's pattern)."""
        assert self.matches, "a handler with a pattern"
        return self.matches[0]

    @property
    def user(self) -> User:
        """The person of a handler that only runs for updates with a user."""
        assert self.person is not None, "resolve() runs before every handler"
        return self.person


def attach(application: Application[Any, Any, Any, Any, Any, Any], service: AdvisorService) -> None:
    application.bot_data["service"] = service
    application.bot_data["prompts"] = PromptMessages()


async def resolve(update: Update, context: AdvisorContext, *, read_only: bool = False) -> None:
    """Who is writing, in which language: once per update, before any handler.

    A person is created on first sight, except by an update that only asks for help (or
    with `read_only`, for the error handler): that one reads and never writes, so it is
    answered even while the database is locked. From here on, the first write of the update
    marks it done in the inbox (`HANDLING`).
    """
    tg_user = update.effective_user
    people = context.service.people
    if tg_user is None:
        context.person, context.t = None, translator(DEFAULT_LANGUAGE)
        return
    person = people.find("telegram", tg_user.id)
    if not (read_only or _asks_for_help_only(update)) and _outdated(person, tg_user):
        try:
            person = await in_writer(
                context.service,
                people.person,
                "telegram",
                tg_user.id,
                name=tg_user.full_name,
                language_tag=tg_user.language_code,
            )
        except StorageError as error:
            if person is None:  # a newcomer cannot be served without a row: say so, once
                t = translator(people.language_for(None, tg_user.language_code))
                chat = update.effective_chat
                if chat is not None and chat.type == ChatType.PRIVATE:
                    await say(update, error_text(error.code, t))
                raise ApplicationHandlerStop from error
            # a known person whose new name or unblocking could not be saved: go on as known
    context.person = person
    context.t = translator(people.language_for(person, tg_user.language_code))
    HANDLING.set(update.update_id)


def _outdated(person: User | None, tg_user: TelegramUser) -> bool:
    """Whether the person must be written: new, renamed, or back after blocking the bot."""
    return person is None or person.name != tg_user.full_name or not person.active


def _asks_for_help_only(update: Update) -> bool:
    message = update.message
    if message is None:
        return False
    words = (message.text or "").split(maxsplit=1)  # none for a text of spaces only
    return not message.text or (bool(words) and words[0].split("@")[0] == "/help")


def chat_of(update: Update) -> Chat:
    """The chat of an update the handlers serve (all have one)."""
    assert update.effective_chat is not None
    return update.effective_chat


def sender_of(update: Update) -> TelegramUser:
    """The Telegram account behind an update the handlers serve (all have one)."""
    assert update.effective_user is not None
    return update.effective_user


def query_of(update: Update) -> CallbackQuery:
    """The button press of a callback query update."""
    assert update.callback_query is not None
    return update.callback_query


async def say(update: Update, text: str, **options: Any) -> None:
    """Send a translated plain text to the update's chat, escaped for HTML; a text over
    Telegram's limit goes out in parts (the buttons with the last)."""
    parts = split_text(escape(text))
    for part in parts[:-1]:
        await chat_of(update).send_message(part)
    await chat_of(update).send_message(parts[-1], **options)


def split_text(text: str, limit: int = 4000) -> list[str]:
    """A text in parts of at most `limit` characters, cut at line ends where it can be."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text]


async def answer_press(query: CallbackQuery, text: str | None = None, alert: bool = False) -> None:
    """Answer a press (stop the spinner, show a toast): best effort. A press answered too
    late ("query is too old"), or a failed call, must not stop what the press does."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as error:
        log.info("press %s not answered: %s", query.id, error)
