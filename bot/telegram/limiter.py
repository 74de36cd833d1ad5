"""Telegram's rate limits, kept without letting one chat stop the others.

Messages to chats keep to an overall rate (about 30 a second for one bot). A 429 "retry
after" for a call to a chat (private or a group) is that chat's own flood limit: only
that chat waits, while everyone else goes on, so a stranger flooding the bot in a group of
their own cannot pause everyone. A 429 for a call without a chat pauses every call.
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
        target = _chat(chat)
        for attempt in range((rate_limit_args or self._max_retries) + 1):
            await self._wait(target)
            try:
                if chat is None:
                    return await callback(*args, **kwargs)
                async with self._overall:
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == (rate_limit_args or self._max_retries):
                    raise
                pause = _seconds(error) + 0.1
                log.info("%s: retry after %.1f s (%s)", endpoint, pause, target or "all chats")
                until = asyncio.get_running_loop().time() + pause
                self._paused[target] = max(self._paused.get(target, 0.0), until)
        raise AssertionError("unreachable")

    async def _wait(self, chat: int | None) -> None:
        """Until neither everyone nor this chat is paused."""
        loop = asyncio.get_running_loop()
        while True:
            own = self._paused.get(chat, 0.0) if chat is not None else 0.0
            until = max(self._paused.get(None, 0.0), own)
            if until <= loop.time():
                if chat is not None:
                    self._paused.pop(chat, None)  # so the table holds paused chats only
                return
            await asyncio.sleep(until - loop.time())


def _chat(chat: object) -> int | None:
    """The numeric id of the chat a call goes to (groups are negative), else None."""
    try:
        return int(chat)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int becomes a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
