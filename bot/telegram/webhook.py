"""Webhook mode: a small tornado server that admits only Telegram's signed, small requests.

python-telegram-bot's own webhook server has no body limit; this one refuses a request
without the secret token (403) or over the size limit (413) before parsing anything, then
hands the update to the Application exactly as polling does.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024  # Telegram's updates are a few kB; anything near this is not one


class TelegramWebhook(RequestHandler):
    # tornado's own `application` attribute is taken: the bot's Application is `bot_app`
    def initialize(self, bot_app: Application, secret: str) -> None:
        self.bot_app = bot_app
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("webhook: refused a request without the right secret token")
            self.set_status(403)
            return
        if len(self.request.body) > MAX_BODY:
            self.set_status(413)
            return
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.bot_app.bot)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("webhook: refused a body that is not an update: %s", type(error).__name__)
            self.set_status(400)
            return
        await self.bot_app.update_queue.put(update)
        self.set_status(200)

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish()  # no traceback or server banner in the answer


async def serve(
    application: Application,
    *,
    webhook_url: str,
    secret: str,
    listen: str,
    port: int,
    allowed_updates: list[str],
) -> None:
    """Set the webhook, serve until SIGINT/SIGTERM, then shut down cleanly."""
    path = urlparse(webhook_url).path or "/"
    routes = [(path, TelegramWebhook, {"bot_app": application, "secret": secret})]
    # tornado drops a connection whose body passes its limit; within 4x the handler answers 413
    server = HTTPServer(TornadoApplication(routes), max_body_size=4 * MAX_BODY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        server.listen(port, address=listen)
        await application.bot.set_webhook(
            webhook_url, secret_token=secret, allowed_updates=allowed_updates
        )
        log.info("webhook mode on %s:%s%s", listen, port, path)
        try:
            await stop.wait()
        finally:
            server.stop()
            await application.stop()
