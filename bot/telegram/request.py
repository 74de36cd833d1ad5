"""HTTP to the Bot API: aiohttp, and retries for short network trouble.

python-telegram-bot's default transport is httpx; profiling the bot under load (bench/README.md)
showed most of its CPU per update inside httpx and httpcore's connection pool, which checks every
idle connection on every request. aiohttp's client does the same work for a fraction of the cost,
so the bot talks to Telegram through this class instead.

A request that failed on the network is retried a few times with growing pauses before
the error reaches the handlers, except one whose answer did not come in time: Telegram may
have done it, so it is repeated only if doing it twice changes nothing (`get…`, `edit…`,
`answerCallbackQuery` ...); a second `sendMessage` would be a second message, so that one
ends in TimedOut. A Bot API answer (even an error) is never retried here, and 429s are the
rate limiter's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)
PAUSES = (0.5, 1.0, 2.0)
JSON_TYPE = "application/json"


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded pool of keep-alive connections."""

    def __init__(
        self,
        connection_pool_size: int = 16,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        pauses: Sequence[float] = PAUSES,
    ) -> None:
        self._pool_size = connection_pool_size
        self._pauses = tuple(pauses)  # before each retry; tests make them short
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # answers are small: compressing them costs more CPU than it saves
                skip_auto_headers=("Accept-Encoding",),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout=BaseRequest.DEFAULT_NONE,
        write_timeout=BaseRequest.DEFAULT_NONE,  # aiohttp has no write timeout; reads bound it
        connect_timeout=BaseRequest.DEFAULT_NONE,
        pool_timeout=BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        connect_at = _given(connect_timeout, self._connect_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's connect covers waiting for a pooled connection and opening one
            connect=_sum(_given(pool_timeout, self._pool_timeout), connect_at),
            sock_connect=connect_at,
            sock_read=_given(read_timeout, self._read_timeout),
        )
        for pause in (*self._pauses, None):
            body, headers = _body(request_data)
            try:
                async with self._session.request(
                    method, url, data=body, headers=headers, timeout=timeout
                ) as response:
                    return response.status, await response.read()
            except (TimeoutError, aiohttp.ClientError) as error:
                if pause is None or not _may_repeat(url, error):
                    raise _failure(error) from error
                name = type(error).__name__
                log.warning("Bot API request failed (%s); retrying in %.1f s", name, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")


# methods whose second call changes nothing more than the first
REPEATABLE = ("get", "edit", "set", "delete", "answerCallbackQuery", "sendChatAction", "close")


def _may_repeat(url: str, error: BaseException) -> bool:
    """Whether a failed call may be made again: not one Telegram may have carried out."""
    answer_late = isinstance(error, aiohttp.SocketTimeoutError)  # sent; no answer in time
    return not answer_late or url.rsplit("/", 1)[-1].startswith(REPEATABLE)


def _body(request_data: RequestData | None) -> tuple[object, dict[str, str] | None]:
    """JSON for plain calls; multipart form data (built afresh for each try) for uploads."""
    if request_data is None:
        return None, None
    files = request_data.multipart_data
    if not files:
        return request_data.json_payload, {"Content-Type": JSON_TYPE}
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form, None


def _given(value, default: float | None) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _failure(error: BaseException) -> NetworkError:
    if isinstance(error, TimeoutError | aiohttp.ServerTimeoutError):
        return TimedOut()
    return NetworkError(f"aiohttp.{type(error).__name__}: {error}")
