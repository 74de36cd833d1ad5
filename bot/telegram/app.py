"""The Telegram Application, assembled in one place, and how to run it (polling or webhook).

One handler per action, each in the module of its feature: `conversation` (the questions),
`account` (language, privacy, deletion), `exports`, `consultants`; `callbacks` builds and
reads what buttons carry, `render` how messages look, `errors` what is left over.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from advisor.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator

from ..service import AdvisorService
from . import account, callbacks, consultants, conversation, errors, exports, render, showing
from .context import AdvisorContext, attach, resolve
from .gate import gate
from .inbox import InboxBot, replay
from .limiter import FairRateLimiter
from .ordering import MAX_AT_ONCE, PerUserUpdateProcessor
from .outbox import deliver_all
from .request import PAUSES, AiohttpRequest
from .webhook import serve

log = logging.getLogger(__name__)
# new messages and presses; membership changes say whether someone blocked the bot
READERS = 4
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


@dataclass(frozen=True)
class BotConfig:
    token: str
    api_url: str | None = None
    file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    listen: str = "127.0.0.1"  # the reverse proxy faces the internet
    port: int = 8443
    # Telegram's limit for one bot is about 30 messages a second; a self-hosted Bot API
    # server or the test emulator may allow more (ADVISOR_MAX_RATE)
    max_rate: float = 30
    # the pauses before retrying a call that failed on the network (tests shorten them)
    retry_pauses: tuple[float, ...] = PAUSES
    # how long an answer from the Bot API may take (getUpdates waits longer by its timeout)
    read_timeout: float = 5.0


def file_url_for(api_url: str) -> str:
    """The file endpoint beside a Bot API endpoint: `…/bot` becomes `…/file/bot`."""
    base = api_url.rstrip("/")
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"


def build_application(service: AdvisorService, config: BotConfig) -> Application:
    """The Application with every handler, one per action, around one AdvisorService."""
    transport = AiohttpRequest(
        connection_pool_size=64, read_timeout=config.read_timeout, pauses=config.retry_pauses
    )
    base_url = config.api_url or "https://api.telegram.org/bot"
    bot = InboxBot(
        config.token,
        base_url=base_url,
        base_file_url=config.file_url or file_url_for(base_url),
        # the long poll too: through httpx each poll cost about a millisecond of CPU, which at
        # low load is one per update; run() closes the one session however the run ends
        request=transport,
        get_updates_request=transport,
        defaults=Defaults(parse_mode=ParseMode.HTML),
        rate_limiter=FairRateLimiter(overall_max_rate=config.max_rate, max_retries=3),
        service=service,
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=AdvisorContext))
        .concurrent_updates(PerUserUpdateProcessor(MAX_AT_ONCE, handled=service.deliveries.handled))
        .post_init(start_up)
    )
    application = builder.build()
    attach(application, service)
    # first what is served at all (private chats), then who is writing, in which language
    application.add_handler(TypeHandler(Update, gate), group=-2)
    application.add_handler(TypeHandler(Update, resolve), group=-1)
    commands = {
        "start": conversation.start,
        "help": conversation.help_command,
        "back": conversation.back_command,
        "restart": conversation.restart_command,
        "summary": exports.summary,
        "export": exports.export_command,
        "language": account.language,
        "settings": account.settings,
        "privacy": account.privacy,
        "delete": account.delete,
        "consultant": consultants.redeem,
        "mylink": consultants.mylink,
        "clients": consultants.clients,
    }
    missing = {name for name, _ in render.COMMANDS} - commands.keys()
    assert not missing, f"commands in the menu without a handler: {missing}"
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback))
    presses = (
        (callbacks.ANSWER, conversation.choose),
        (callbacks.TOGGLE, conversation.tick),
        (callbacks.DONE, conversation.done),
        (callbacks.BACK, conversation.back_press),
        (callbacks.RESTART, conversation.restart_press),
        (callbacks.LANGUAGE, account.choose_language),
        (callbacks.EXPORT, exports.export_press),
        (callbacks.DELETE, account.confirm_delete),
        (callbacks.CONSENT, consultants.consent),
    )
    for pattern, callback in presses:
        application.add_handler(CallbackQueryHandler(callback, pattern=pattern))
    application.add_handler(CallbackQueryHandler(showing.refuse_forged))  # no button of ours
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, conversation.typed))
    application.add_handler(MessageHandler(filters.COMMAND, conversation.help_command))
    application.add_handler(
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, conversation.not_text)
    )
    application.add_error_handler(errors.error)
    return application


async def start_up(application: Application) -> None:
    """Before the first update: threads for the database, the command menus, then what a
    stopped process left: updates not handled, and what it owed people."""
    # threads for what takes a while and writes nothing (long reads, PDFs, pictures); what
    # may write goes to the database's own writer thread
    executor = ThreadPoolExecutor(READERS, thread_name_prefix="advisor-read")
    asyncio.get_running_loop().set_default_executor(executor)
    service: AdvisorService = application.bot_data["service"]
    # the database file deleted or replaced under us: stop as an operator would (the
    # command line then says why); nothing more is acknowledged to Telegram
    service.when_gone(lambda: os.kill(os.getpid(), signal.SIGTERM))
    await register_commands(application)
    await replay(application)
    await deliver_all(application.bot, service)


async def register_commands(application: Application) -> None:
    """The command menu in every language (the default one in English)."""
    for language in LANGUAGES:
        commands = render.menu(translator(language))
        code = None if language == DEFAULT_LANGUAGE else language
        await application.bot.set_my_commands(commands, language_code=code)
        if code is None:
            await application.bot.set_my_commands(commands, language_code=language)


def run(application: Application, config: BotConfig) -> None:
    """Run until stopped: webhook mode when a webhook URL is configured, else polling."""
    collect_less()
    if config.webhook_url:
        if not config.webhook_secret:
            raise ValueError("webhook mode needs a secret token")  # the CLI asks for one first
        asyncio.run(
            _released(
                application,
                serve(
                    application,
                    webhook_url=config.webhook_url,
                    secret=config.webhook_secret,
                    listen=config.listen,
                    port=config.port,
                    allowed_updates=ALLOWED_UPDATES,
                ),
            )
        )
        return
    log.info("polling mode")
    try:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
    finally:
        loop = asyncio.get_event_loop()
        loop.run_until_complete(application.bot.request.shutdown())
        loop.close()


def collect_less() -> None:
    """Tune the garbage collector for a long-running server.

    Everything built at start-up (the flow, the catalogs, the Application) lives as long as
    the process, yet each full collection walked it again, and under load those pauses were
    most of the bot's p99 latency (bench/README.md). Freezing moves it out of the
    collector's sight; a larger first generation runs the collector less often. Most of an
    update's objects are freed by reference counting as before; only cyclic garbage waits
    a little longer.
    """
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


async def _released(application: Application, job: Awaitable[None]) -> None:
    """Run `job`, then close the HTTP session even when start-up failed (PTB shuts down only
    what it initialized, and our session opens before the first call to Telegram)."""
    try:
        await job
    finally:
        await application.bot.request.shutdown()
