"""The error handler: log with the update id (never a traceback to the person), and say so."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden

from advisor.i18n import N_, translator
from advisor.messages import error_text

from ..service import StorageError
from .context import AdvisorContext, say

log = logging.getLogger(__name__)


async def error(update: object, context: AdvisorContext) -> None:
    """Whatever a handler did not handle ends here; the handler must never raise itself."""
    update_id = update.update_id if isinstance(update, Update) else None
    failure = context.error
    service = context.service
    if isinstance(failure, Forbidden) and isinstance(update, Update) and update.effective_user:
        log.warning("update %s: user %s blocked the bot", update_id, update.effective_user.id)
        service.set_active(service.person("telegram", update.effective_user.id), False)
        return
    if isinstance(failure, StorageError):
        log.error("update %s: storage: %s", update_id, failure)
    else:
        log.error("update %s: %s: %s", update_id, type(failure).__name__, failure, exc_info=failure)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    tg_user = update.effective_user
    t = translator(service.language_for(None, tg_user.language_code if tg_user else None))
    if isinstance(failure, StorageError):
        text = error_text(failure.code, t)
    else:
        text = t(N_("Something went wrong on my side. Please try again."))
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await say(update, text)
    except Exception as send_error:  # the error handler must never raise
        log.error("update %s: could not tell the user: %s", update_id, send_error)
