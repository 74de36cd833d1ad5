"""The Telegram Application, assembled in one place, and how to run it (polling or webhook)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from advisor.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, translator

from ..service import AdvisorService
from .handlers import TelegramAdvisor
from .ordering import PerUserUpdateProcessor
from .request import AiohttpRequest
from .webhook import serve

log = logging.getLogger(__name__)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
COMMANDS = (
    ("start", N_("Start or continue the advisor")),
    ("back", N_("Go back one question")),
    ("restart", N_("Start over")),
    ("summary", N_("Show your latest recommendation")),
    ("export", N_("Your recommendation as a PDF")),
    ("language", N_("Change the language")),
    ("settings", N_("Language and privacy")),
    ("privacy", N_("What is stored and who sees it")),
    ("delete", N_("Delete all your data")),
    ("help", N_("How this works")),
)


@dataclass(frozen=True)
class BotConfig:
    token: str
    api_url: str | None = None
    file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    listen: str = "0.0.0.0"
    port: int = 8443
    # Telegram's limit for one bot is about 30 messages a second; a self-hosted Bot API
    # server or the test emulator may allow more (ADVISOR_MAX_RATE)
    max_rate: float = 30


def file_url_for(api_url: str) -> str:
    """The file endpoint beside a Bot API endpoint: `…/bot` becomes `…/file/bot`."""
    base = api_url.rstrip("/")
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"


def build_application(service: AdvisorService, config: BotConfig) -> Application:
    transport = AiohttpRequest(connection_pool_size=64)
    builder = (
        ApplicationBuilder()
        .token(config.token)
        .concurrent_updates(PerUserUpdateProcessor())
        .rate_limiter(AIORateLimiter(overall_max_rate=config.max_rate, max_retries=3))
        # the long poll too: through httpx each poll cost about a millisecond of CPU, which at
        # low load is one per update; run() closes the one session however the run ends
        .request(transport)
        .get_updates_request(transport)
        .post_init(register_commands)
    )
    if config.api_url:
        builder = builder.base_url(config.api_url).base_file_url(
            config.file_url or file_url_for(config.api_url)
        )
    application = builder.build()
    advisor = TelegramAdvisor(service)
    application.add_handler(CommandHandler("start", advisor.start))
    application.add_handler(CommandHandler("help", advisor.help))
    application.add_handler(CommandHandler("back", advisor.back))
    application.add_handler(CommandHandler("restart", advisor.restart))
    application.add_handler(CommandHandler("summary", advisor.summary))
    application.add_handler(CommandHandler("export", advisor.export))
    application.add_handler(CommandHandler("language", advisor.language))
    application.add_handler(CommandHandler("settings", advisor.settings))
    application.add_handler(CommandHandler("privacy", advisor.consultants.privacy))
    application.add_handler(CommandHandler("delete", advisor.delete))
    application.add_handler(CommandHandler("consultant", advisor.consultants.redeem))
    application.add_handler(CommandHandler("mylink", advisor.consultants.mylink))
    application.add_handler(CommandHandler("clients", advisor.consultants.clients))
    application.add_handler(CallbackQueryHandler(advisor.button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, advisor.text))
    application.add_handler(MessageHandler(filters.COMMAND, advisor.help))
    application.add_error_handler(advisor.error)
    application.bot_data["advisor"] = advisor
    return application


async def register_commands(application: Application) -> None:
    """The command menu in every language (the default one in English)."""
    for language in LANGUAGES:
        t = translator(language)
        commands = [BotCommand(name, t(description)) for name, description in COMMANDS]
        code = None if language == DEFAULT_LANGUAGE else language
        await application.bot.set_my_commands(commands, language_code=code)
        if code is None:
            await application.bot.set_my_commands(commands, language_code=language)


def run(application: Application, config: BotConfig) -> None:
    """Run until stopped: webhook mode when a webhook URL is configured, else polling."""
    collect_less()
    if config.webhook_url:
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
