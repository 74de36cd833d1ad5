"""The error handler: log with the update id (never a traceback to the person), then make
sure the person is not left waiting.

What the person did is already saved when a send fails (a 500, "message to edit not
found"), so after a failure they get a short note and the current question again, in the
language they chose; after a time-out, which may have delivered the message late, nothing
is sent again. The handler never raises.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError, TimedOut

from advisor.i18n import N_
from advisor.messages import error_text

from ..service import StorageError
from .context import AdvisorContext, answer_press, in_writer, resolve, say
from .showing import show_open

log = logging.getLogger(__name__)
NOT_THROUGH = N_("A message did not get through to you. Here is where we are:")


async def error(update: object, context: AdvisorContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    failure = context.error
    service = context.service
    sender = update.effective_user if isinstance(update, Update) else None
    if isinstance(failure, Forbidden) and sender is not None:
        log.warning("update %s: user %s blocked the bot", update_id, sender.id)
        await in_writer(service, service.people.note_blocked, "telegram", sender.id, True)
        return
    if isinstance(failure, StorageError | TelegramError):
        log.error("update %s: %s: %s", update_id, type(failure).__name__, failure)
    else:
        log.error("update %s: %s: %s", update_id, type(failure).__name__, failure, exc_info=failure)
    if not isinstance(update, Update) or sender is None or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return  # nothing goes to a group, not even an apology
    try:
        await resolve(update, context, read_only=True)  # the error handler's context is new
        t = context.t
        if update.callback_query is not None:
            await answer_press(update.callback_query)
        if isinstance(failure, StorageError):
            await say(update, error_text(failure.code, t))
        elif isinstance(failure, TimedOut):
            # the message may have arrived late: sending it again could double it (a press on
            # the answered question brings the current one back, see showing.refuse)
            return
        elif isinstance(failure, TelegramError):
            await say(update, t(NOT_THROUGH))
            await show_open(update, context)
        else:
            await say(update, t(N_("Something went wrong on my side. Please try again.")))
    except Exception as send_error:  # the error handler must never raise
        log.error("update %s: could not tell the user: %s", update_id, send_error)
