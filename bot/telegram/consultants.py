"""Consultants on Telegram: share links, the client's consent, /clients, notifications.

Nothing of a client reaches a consultant without the client's consent; every query behind
these handlers filters on it (storage/consultants.py).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from advisor.i18n import LANGUAGES, N_
from advisor.report import without_bidi

from ..consulting import share_link
from ..service import Consultant
from . import callbacks, render
from .context import (
    AdvisorContext,
    answer_press,
    chat_of,
    in_thread,
    in_writer,
    query_of,
    say,
    sender_of,
)
from .exports import export_clients
from .showing import refuse_forged

log = logging.getLogger(__name__)
SECRET = r"[a-z2-7]{16}"  # a consultant's code and an invite code alike (base32)
CODE = re.compile(rf"^c?({SECRET})$")
STATUS = {
    "not_started": N_("not started"),
    "in_progress": N_("in progress"),
    "finished": N_("finished"),
}


def code_in(text: str) -> str | None:
    """A consultant code in a start payload part or a typed message (`c…` or just the code)."""
    match = CODE.match(text.strip().lower())
    return match.group(1) if match else None


# -- the client's side --------------------------------------------------------------------------


async def ask_consent(update: Update, context: AdvisorContext, code: str) -> None:
    """A client came through a consultant's link: ask, once, whether to share."""
    t = context.t
    consultant = await in_writer(
        context.service, context.service.consultants.arrive, context.user, code
    )
    if consultant is None:
        return
    text = t(
        N_(
            "{consultant} invited you to this advisor. May I share your recommendation and "
            "your answers with {consultant}? You can change this at any time with /privacy."
        ),
        consultant=consultant.name,
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(N_("Yes, share")), callback_data=callbacks.consent(consultant.id, True)
                ),
                InlineKeyboardButton(
                    t(N_("No, keep it private")),
                    callback_data=callbacks.consent(consultant.id, False),
                ),
            ]
        ]
    )
    await say(update, text, reply_markup=markup)


async def consent(update: Update, context: AdvisorContext) -> None:
    """A consent button (`k:`); one that is not this person's to press is refused."""
    query, t = query_of(update), context.t
    consultant_id, granted = callbacks.consent_given(context.match)
    consultant = await in_writer(
        context.service, context.service.consultants.consent, context.user, consultant_id, granted
    )
    if consultant is None:
        await refuse_forged(update, context)
        return
    await answer_press(query)
    if granted:
        text = t(
            N_("Thank you. Your recommendation will be shared with {consultant}."),
            consultant=consultant.name,
        )
    else:
        text = t(N_("Understood. Nothing is shared with {consultant}."), consultant=consultant.name)
    try:
        await query.edit_message_text(escape(text))
    except TelegramError as error:
        log.debug("update %s: consent message not edited: %s", update.update_id, error)


# -- the consultant's side ------------------------------------------------------------------------


async def _consultant(update: Update, context: AdvisorContext) -> Consultant | None:
    consultant = context.service.consultants.of_telegram(sender_of(update).id)
    if consultant is None:
        text = N_(
            "This command is for registered consultants. If you have an invite code, "
            "send /consultant CODE."
        )
        await say(update, context.t(text))
    return consultant


async def redeem(update: Update, context: AdvisorContext) -> None:
    """/consultant CODE: become a consultant with a one-time invite code."""
    t = context.t
    code = (context.args or [""])[0].strip().lower()
    consultant = None
    if re.fullmatch(SECRET, code):
        sender = sender_of(update)
        consultant = await in_writer(
            context.service,
            context.service.consultants.redeem,
            code,
            name=sender.full_name,
            telegram_id=sender.id,
        )
    if consultant is None:
        await say(update, t(N_("That invite code is not valid or has been used already.")))
        return
    text = t(N_("Welcome, {name}! You are now registered as a consultant."), name=consultant.name)
    await say(update, text)
    await send_link(update, context, consultant)


async def mylink(update: Update, context: AdvisorContext) -> None:
    if (consultant := await _consultant(update, context)) is not None:
        await send_link(update, context, consultant)


async def send_link(update: Update, context: AdvisorContext, consultant: Consultant) -> None:
    t, username = context.t, context.bot.username
    lines = [
        escape(t(N_("Share this link with your clients:"))),
        escape(share_link(username, consultant)),
        "",
        escape(
            t(
                N_(
                    "If the link does not start the bot (some desktop apps), your client can "
                    "send the bot this message: {command}"
                ),
                command=f"/start c{consultant.code}",
            )
        ),
        "",
        escape(t(N_("Links that open the advisor in your client's language:"))),
    ]
    lines += [
        f"{escape(name)}: {escape(share_link(username, consultant, code))}"
        for code, name in LANGUAGES.items()
    ]
    await chat_of(update).send_message("\n".join(lines), disable_web_page_preview=True)


async def clients(update: Update, context: AdvisorContext) -> None:
    """/clients lists the consenting clients; /clients export sends their summaries."""
    t = context.t
    consultant = await _consultant(update, context)
    if consultant is None:
        return
    if context.args and context.args[0].lower() == "export":
        await export_clients(update, context, consultant)
        return
    found = await in_thread(context.service.consultants.clients, consultant)
    if not found:
        text = N_("No client has shared a recommendation with you yet. /mylink gives your link.")
        await say(update, t(text))
        return
    flow = context.service.flow
    heading = t.plural("{n} client", "{n} clients", len(found))
    lines = [f"<b>{escape(heading)}</b>"]
    for client in found:
        parts = [escape(without_bidi(client.name or "—")), escape(t(STATUS[client.status]))]
        if client.verdict:
            parts.append(escape(t(flow.verdicts[client.verdict].title)))
        if client.finished_at:
            parts.append(escape(t.date(date.fromisoformat(client.finished_at[:10]))))
        lines.append("• " + " · ".join(parts))
    lines.append("")
    lines.append(escape(t(N_("/clients export sends their summaries as CSV and PDF."))))
    for text in render.pack(lines, separator="\n"):
        await chat_of(update).send_message(text)
