"""Webhook mode: a small tornado server that admits only Telegram's signed, small requests.

python-telegram-bot's own webhook server reads the whole body before it looks at the secret;
this one decides from the headers alone: a request without the secret token is answered 403,
one to another path 404, one declaring a body over the size limit 413, and the connection is
closed without reading the body (only what came in with the headers, at most 64 kB, is ever
read). A request that passes has its body read up to the limit, and the update is kept in
the inbox (a repeated one is dropped) and handed to the Application as polling does. The
time-outs, the cap on connections and the counting of refusals are in `listener`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import time
from collections.abc import Callable
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import Application
from tornado.httputil import HTTPServerRequest
from tornado.ioloop import PeriodicCallback
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler, stream_request_body

from ..service import StorageError
from .inbox import keep
from .listener import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    MAX_HEADERS,
    GuardedServer,
    Refusals,
    connection_limit,
)

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024  # Telegram's updates are a few kB; anything near this is not one
REFUSED = {400: "not an update", 403: "wrong secret", 404: "other path", 405: "not a POST",
           413: "too large"}  # fmt: skip


@stream_request_body
class TelegramWebhook(RequestHandler):
    # tornado's own `application` attribute is taken: the bot's Application is `bot_app`
    def initialize(self, bot_app: Application, secret: str, path: str) -> None:
        self.bot_app = bot_app
        self.secret = secret
        self.path = path
        self.body = bytearray()

    def prepare(self) -> None:
        """Refuse from the headers alone, before any of the body is read."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.refuse(403)
        elif self.request.path != self.path:
            self.refuse(404)
        elif self.request.method != "POST":
            self.refuse(405)
        elif declared_length(self.request) > MAX_BODY:
            self.refuse(413)

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk
        if len(self.body) > MAX_BODY:  # a chunked body declares no length up front
            self.refuse(413)

    async def post(self) -> None:
        try:
            data = json.loads(self.body)
            if not isinstance(data, dict) or not 0 <= _as_int(data.get("update_id")) < 2**63:
                raise ValueError("not an update")
            update = Update.de_json(data, self.bot_app.bot)
        # not UTF-8, nested too deep, a date beyond the calendar: a bad body, not our failure
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError):
            self.refuse(400)
            return
        try:  # kept in the inbox before Telegram hears 200; a repeat is not handed on
            raw = {update.update_id: self.body.decode("utf-8")}
            fresh = await keep(self.bot_app.bot_data["service"], [update], raw)
        except StorageError:  # the database is gone: Telegram keeps it and tries again
            self.set_status(503)
            return
        for kept in fresh:
            await self.bot_app.update_queue.put(kept)

    def refuse(self, status: int) -> None:
        """Answer `status` now (counted by `count_refusal`) and close the connection: tornado
        does so anyway when the body has not been read, and a client should know it."""
        self.set_status(status)
        self.set_header("Connection", "close")
        self.finish()

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish()  # no traceback or server banner in the answer


def declared_length(request: HTTPServerRequest) -> int:
    """The Content-Length a request declares, 0 if none (tornado refuses a malformed one)."""
    value = request.headers.get("Content-Length", "0").strip()
    return int(value) if value.isdigit() else 0


def count_refusal(refusals: Refusals) -> Callable[[RequestHandler], None]:
    """tornado's log_function: instead of a WARNING line per 4xx, a count in `refusals`."""

    def record(handler: RequestHandler) -> None:
        status = handler.get_status()
        if status >= 400:
            refusals.refused(REFUSED.get(status, f"status {status}"))

    return record


def webhook_server(
    application: Application, *, secret: str, path: str, refusals: Refusals
) -> GuardedServer:
    """The HTTP server for the webhook: the handler, its time-outs and limits (not listening)."""
    handler = {"bot_app": application, "secret": secret, "path": path}
    # every path goes to the handler, so that each request is judged by its headers first
    routes = TornadoApplication([(r".*", TelegramWebhook, handler)],
                                log_function=count_refusal(refusals))  # fmt: skip
    return GuardedServer(
        routes,
        max_connections=connection_limit(),
        refusals=refusals,
        idle_connection_timeout=HEADER_TIMEOUT,  # tornado's time-out for headers, too
        body_timeout=BODY_TIMEOUT,
        max_header_size=MAX_HEADERS,
    )


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
    refusals = Refusals(time.monotonic)
    server = webhook_server(application, secret=secret, path=path, refusals=refusals)
    reporting = PeriodicCallback(refusals.tick, 5_000)  # reports the tail of a burst
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        server.listen(port, address=listen)
        reporting.start()
        await application.bot.set_webhook(
            webhook_url, secret_token=secret, allowed_updates=allowed_updates
        )
        log.info("webhook mode on %s:%s%s", listen, port, path)
        try:
            await stop.wait()
        finally:
            server.stop()
            reporting.stop()
            await server.close_all_connections()
            refusals.report()
            await application.stop()


def _as_int(value: object) -> int:
    """An update id as Telegram sends it (an int), else -1."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1
