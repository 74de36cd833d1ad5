"""Concurrency across users, order within one user, and no one person holding up the rest.

python-telegram-bot's `concurrent_updates` runs every update at once; two quick presses of
one user could then interleave. This processor gives each user a lock, held only while that
user has an update in flight, so memory does not grow with the number of users. The limit
on updates handled at once is taken only after the user's lock: updates waiting for their
own user's earlier ones hold no place, so one person's flood does not queue everyone else.
Beyond `MAX_WAITING` waiting updates, a person's further updates are dropped (a press is
still answered, so its button stops spinning).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)
MAX_AT_ONCE = 256  # updates handled at the same time, across everyone
MAX_WAITING = 20  # per person: more than anyone taps in the time one update takes
UNBOUNDED = 1 << 20  # PTB's own limit holds its place while waiting: ours replaces it


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """`handled` is told each update id once it has been handled (or dropped)."""

    def __init__(
        self,
        max_concurrent_updates: int = MAX_AT_ONCE,
        handled: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(UNBOUNDED)
        self._working = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._handled = handled

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await self._in_turn(update, coroutine)
        finally:
            if self._handled is not None and isinstance(update, Update):
                self._handled(update.update_id)

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_key(update)
        if key is None:
            async with self._working:
                await coroutine
            return
        if self._waiting.get(key, 0) >= MAX_WAITING:
            log.warning("user %s: %s updates waiting already; one dropped", key, MAX_WAITING)
            if isinstance(coroutine, Coroutine):
                coroutine.close()
            await _stop_spinner(update)
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._working:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


async def _stop_spinner(update: object) -> None:
    """A dropped press is still answered, so that its button stops spinning."""
    query = update.callback_query if isinstance(update, Update) else None
    if query is not None:
        with contextlib.suppress(TelegramError):
            await query.answer()


def _user_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None
