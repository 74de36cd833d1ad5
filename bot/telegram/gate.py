"""Which updates the advisor serves, checked first (group -2) for every update.

The advisor works in private chats: people's answers and recommendations, and consultants'
clients, never go to a group. In any other chat a command gets one short pointer to the
private chat and nothing else; a press there gets a toast; everything else is ignored, as
are edited messages, channel posts and presses on inline messages. Whether someone blocked
or unblocked the bot (`my_chat_member`) is noted here too.
"""

from __future__ import annotations

import logging
import re
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from advisor.i18n import N_, translator

from .context import AdvisorContext, answer_press, in_writer

log = logging.getLogger(__name__)
PRIVATE_ONLY = N_(
    "I work in a private chat only, so that your answers stay yours. Talk to me there:"
)
OPEN_PRIVATE = N_("Open the private chat")
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what a t.me start link may carry


async def gate(update: Update, context: AdvisorContext) -> None:
    """Let through new messages and presses in private chats; handle or drop the rest."""
    if update.my_chat_member is not None:
        await _membership(update, context)
        raise ApplicationHandlerStop
    query = update.callback_query
    if query is not None and query.message is None:
        await answer_press(query)  # a press on an inline message: nothing of ours
        raise ApplicationHandlerStop
    if update.message is None and query is None:
        raise ApplicationHandlerStop  # edited messages, channel posts, polls ...: not served
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await _point_to_private(update, context)
        raise ApplicationHandlerStop


async def _point_to_private(update: Update, context: AdvisorContext) -> None:
    """A command for us in a group gets one pointer to the private chat; a press, a toast."""
    sender = update.effective_user
    people = context.service.people
    person = people.find("telegram", sender.id) if sender else None
    t = translator(people.language_for(person, sender.language_code if sender else None))
    query = update.callback_query
    if query is not None:
        await answer_press(query, t(PRIVATE_ONLY))
        return
    message = update.message
    if message is None:
        return
    command, _, payload = (message.text or "").partition(" ")
    name, _, addressee = command.partition("@")
    username = context.bot.username or ""
    if not name.startswith("/") or (addressee and addressee.lower() != username.lower()):
        return  # ordinary group talk, or a command for another bot: not for the advisor
    link = f"https://t.me/{username}"
    if name == "/start" and START_PAYLOAD.fullmatch(payload.strip()):
        link += f"?start={payload.strip()}"  # a consultant's link shared in a group
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(t(OPEN_PRIVATE), url=link)]])
    try:
        await message.reply_text(escape(t(PRIVATE_ONLY)), reply_markup=markup)
    except TelegramError as error:
        log.info("update %s: no pointer to the private chat: %s", update.update_id, error)


async def _membership(update: Update, context: AdvisorContext) -> None:
    """A person blocked the bot (kicked it from the private chat) or unblocked it."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    status = change.new_chat_member.status
    blocked = status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
    await in_writer(
        context.service,
        context.service.people.note_blocked,
        "telegram",
        change.from_user.id,
        blocked,
    )
