"""Every update exactly once: kept before Telegram hears it arrived, handled from there.

Polling acknowledges updates with the next getUpdates (its offset), so `InboxBot` keeps
what a getUpdates brought in the inbox before it returns, and hands on only the updates it
has not seen before; webhook mode keeps an update before it answers 200 (webhook.py). The
first write an update's handler makes marks it done in the same transaction (the service
and storage see to that); an update that writes nothing is marked when it has been handled.
At start-up, updates kept but not done (the process died first) are handled again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, ExtBot

from ..service import AdvisorService, StorageError
from .context import in_thread

log = logging.getLogger(__name__)
WAIT = 0.5  # seconds an arriving update waits for the inbox before it is handled anyway


class InboxBot(ExtBot[None]):
    """The Application's bot, with an inbox in front of what getUpdates returns."""

    __slots__ = ("_received", "_service")

    def __init__(self, *args: Any, service: AdvisorService, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._service = service
        self._received: dict[int, str] = {}

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, *args, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            self._received = {u["update_id"]: json.dumps(u) for u in result if "update_id" in u}
        return result

    async def get_updates(  # type: ignore[override]
        self, offset: int | None = None, **kwargs: Any
    ) -> tuple[Update, ...]:
        while True:
            try:
                updates = await super().get_updates(offset, **kwargs)
            except (TypeError, KeyError, ValueError, AttributeError):
                # one update python-telegram-bot cannot read would stop polling for everyone
                updates = self._readable()
            try:
                fresh = await keep(self._service, updates, self._received)
            except StorageError:  # the file is gone: not acknowledged, the process stops
                return ()
            if fresh or not self._received:
                return fresh
            # only repeats (sent again after a crash) or unreadable: acknowledge, ask again
            offset = max(self._received) + 1

    def _readable(self) -> tuple[Update, ...]:
        """The updates of the last getUpdates that can be read, each on its own; the others
        are logged once and acknowledged with the rest."""
        readable = []
        for update_id, body in self._received.items():
            try:
                readable.append(Update.de_json(json.loads(body), self))
            except (TypeError, KeyError, ValueError, AttributeError) as error:
                log.error("update %s cannot be read and is skipped: %r", update_id, error)
        return tuple(readable)


async def keep(
    service: AdvisorService, updates: Sequence[Update], raw: dict[int, str] | None = None
) -> tuple[Update, ...]:
    """Keep updates in the inbox; the ones not seen before, in order.

    If the inbox cannot take them within `WAIT` (another process holds the database), they
    are handed on anyway and kept when the lock is gone: during a lock an update is handled
    at once and may, if the process also dies then, be lost (a press needing a write is
    told to try again). A deleted database file stops everything (StorageError `gone`).
    """
    if not updates:
        return ()
    raw = raw or {}
    # one batch may carry an update twice: its first copy is the one that counts
    first: dict[int, Update] = {}
    for update in updates:
        first.setdefault(update.update_id, update)
    updates = list(first.values())
    # the updates as Telegram sent them, where known: re-encoding costs ten times as much
    arriving = [(u.update_id, raw.get(u.update_id) or u.to_json()) for u in updates]
    kept = asyncio.wrap_future(service.deliveries.receive(arriving))
    done, _ = await asyncio.wait({kept}, timeout=WAIT)
    if not done or kept.exception() is not None:
        problem = "locked" if not done else kept.exception()
        if isinstance(problem, StorageError) and problem.code == "gone":
            raise problem
        log.warning("inbox: %s update(s) handed on before they are kept: %s", len(updates), problem)
        return tuple(updates)
    new = kept.result()
    if len(new) < len(updates):
        log.info("dropped %s update(s) seen before", len(updates) - len(new))
    return tuple(u for u in updates if u.update_id in new)


async def replay(application: Application) -> int:
    """Queue the updates kept but not handled when the process stopped; how many."""
    service: AdvisorService = application.bot_data["service"]
    pending = await in_thread(service.deliveries.unhandled)
    for _, body in pending:
        update = Update.de_json(json.loads(body), application.bot)
        await application.update_queue.put(update)
    if pending:
        log.warning("handling %s update(s) again that a stopped process had not", len(pending))
    return len(pending)
