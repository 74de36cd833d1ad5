"""Telegram's rate limits, kept without letting one chat stop the others.

Messages to chats keep to an overall rate (about 30 a second for one bot). A 429 "retry
after" for a private chat is that chat's own flood limit: only that chat waits, while
everyone else goes on. A 429 for anything else (a group, a call without a chat) pauses
every call, as Telegram asks.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)
Result = bool | dict[str, Any] | list[dict[str, Any]]


class FairRateLimiter(BaseRateLimiter[int]):
    def __init__(self, overall_max_rate: float = 30, max_retries: int = 3) -> None:
        self._overall = AsyncLimiter(overall_max_rate, 1)
        self._max_retries = max_retries
        self._paused: dict[int | None, float] = {}  # a chat (None: everyone) -> until when

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat = data.get("chat_id")
        private = _private_chat(chat)
        for attempt in range((rate_limit_args or self._max_retries) + 1):
            await self._wait(private)
            try:
                if chat is None:
                    return await callback(*args, **kwargs)
                async with self._overall:
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == (rate_limit_args or self._max_retries):
                    raise
                pause = _seconds(error) + 0.1
                log.info("%s: retry after %.1f s (%s)", endpoint, pause, private or "all chats")
                until = asyncio.get_running_loop().time() + pause
                self._paused[private] = max(self._paused.get(private, 0.0), until)
        raise AssertionError("unreachable")

    async def _wait(self, chat: int | None) -> None:
        """Until neither everyone nor this chat is paused."""
        loop = asyncio.get_running_loop()
        while True:
            until = max(self._paused.get(None, 0.0), self._paused.get(chat, 0.0) if chat else 0.0)
            if until <= loop.time():
                if chat is not None:
                    self._paused.pop(chat, None)  # so the table holds paused chats only
                return
            await asyncio.sleep(until - loop.time())


def _private_chat(chat: object) -> int | None:
    """The id of a private chat (a positive number), else None."""
    try:
        number = int(chat)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int becomes a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
