"""Consultants on Telegram: share links, the client's consent, /clients, notifications.

Nothing of a client reaches a consultant without the client's consent; every query behind
these handlers filters on it (storage/consultants.py).
"""

from __future__ import annotations

import logging
import re
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from advisor.advice import Recommendation
from advisor.i18n import LANGUAGES, N_, Translator, negotiate, translator
from advisor.report import verdict_title
from storage import Consultant, User

from .render import say

log = logging.getLogger(__name__)
SHARING = N_("Sharing with consultants")
CODE = re.compile(r"^c?([a-z2-7]{16})$")
STATUS = {
    "not_started": N_("not started"),
    "in_progress": N_("in progress"),
    "finished": N_("finished"),
}
CONSENT = {
    "pending": N_("not decided"),
    "granted": N_("shared"),
    "refused": N_("not shared"),
    "withdrawn": N_("withdrawn"),
}


def share_link(username: str, consultant: Consultant, language: str | None = None) -> str:
    """The deep link a consultant sends: `c<code>`, with `_l<lang>` to preset a language."""
    payload = f"c{consultant.code}" + (f"_l{language}" if language else "")
    return f"https://t.me/{username}?start={payload}"


def code_in(text: str) -> str | None:
    """A consultant code in a start payload part or a typed message (`c…` or just the code)."""
    match = CODE.match(text.strip().lower())
    return match.group(1) if match else None


class ConsultantHandlers:
    def __init__(self, front) -> None:
        self.front = front
        self.store = front.store

    # -- the client's side ----------------------------------------------------------------------

    async def arrive(self, update: Update, user: User, code: str, t: Translator) -> None:
        """A client came through a consultant's link: ask for consent (once)."""
        consultant = self.store.consultants.by_code(code)
        if consultant is None:
            log.info("update %s: unknown consultant code", update.update_id)
            return
        if not consultant.enabled:
            return  # the link still works; the bot simply runs without sharing
        consent = self.store.consultants.link_client(user.id, consultant)
        if consent != "pending":
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
                    InlineKeyboardButton(t(N_("Yes, share")), callback_data=f"k:{consultant.id}:1"),
                    InlineKeyboardButton(
                        t(N_("No, keep it private")), callback_data=f"k:{consultant.id}:0"
                    ),
                ]
            ]
        )
        await update.effective_chat.send_message(
            escape(text), parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async def consent(self, update: Update, user: User, data: str, t: Translator) -> bool:
        """A consent button `k:<consultant>:<0|1>`; False when it is not this user's to press."""
        parts = data.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ("0", "1"):
            return False
        granted = parts[2] == "1"
        if not self.store.consultants.set_consent(user.id, int(parts[1]), granted):
            return False
        query = update.callback_query
        await query.answer()
        consultant = self.store.consultants.get(int(parts[1]))
        text = (
            t(
                N_("Thank you. Your recommendation will be shared with {consultant}."),
                consultant=consultant.name,
            )
            if granted
            else t(
                N_("Understood. Nothing is shared with {consultant}."), consultant=consultant.name
            )
        )
        try:
            await query.edit_message_text(escape(text), parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.debug("update %s: consent message not edited: %s", update.update_id, error)
        return True

    async def privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/privacy: what is stored, why, how long, who sees it, and the consents to change."""
        user, t = self.front.t_for(update)
        text = t(
            N_(
                "What I store: your Telegram id and name, your language, your answers, and the "
                "recommendations I gave you.\n"
                "Why: to continue your conversation where you left off and to show your "
                "recommendation again.\n"
                "How long: until you delete it with /delete; finished and abandoned conversations "
                "are deleted after the retention period set by the operator.\n"
                "Who sees it: you, the operator of this bot, and only the consultants you agreed "
                "to share with."
            )
        )
        consents = self.store.consultants.consents_of(user.id)
        rows = []
        lines = [escape(text)]
        if consents:
            lines.append("")
            lines.append(f"<b>{escape(t(SHARING))}</b>")
        for consent in consents:
            state = t(CONSENT.get(consent.consent, CONSENT["pending"]))
            lines.append(f"• {escape(consent.consultant.name)}: {escape(state)}")
            if consent.consent == "granted":
                label = t(N_("Stop sharing with {consultant}"), consultant=consent.consultant.name)
                rows.append(
                    [InlineKeyboardButton(label, callback_data=f"k:{consent.consultant.id}:0")]
                )
            else:
                label = t(N_("Share with {consultant}"), consultant=consent.consultant.name)
                rows.append(
                    [InlineKeyboardButton(label, callback_data=f"k:{consent.consultant.id}:1")]
                )
        await update.effective_chat.send_message(
            "\n".join(lines),
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(rows) if rows else None,
        )

    async def notify(self, update: Update, user: User, recommendation: Recommendation) -> None:
        """Tell every consultant this client shares with that a recommendation is ready."""
        flow = self.front.flow
        flags = {f.id: f for f in flow.flags}
        for consultant in self.store.consultants.sharing_with(user.id):
            if not consultant.telegram_id:
                continue
            account = self.store.user("telegram", consultant.telegram_id)
            if not account.active:
                continue
            t = translator(self._language_of(consultant, account))
            top = [t(flags[i].title) for i in recommendation.flags[:3] if i in flags]
            text = t(
                N_("Your client {client} has finished: {verdict}."),
                client=user.name or t(N_("a client")),
                verdict=verdict_title(flow, recommendation, t),
            )
            if top:
                text += "\n" + t(N_("Top red flags: {flags}"), flags=t.list(top))
            text += "\n" + t(N_("/clients shows all your clients."))
            try:
                await update.get_bot().send_message(
                    int(consultant.telegram_id), escape(text), parse_mode=ParseMode.HTML
                )
            except Forbidden:
                log.warning("consultant %s blocked the bot", consultant.id)
                self.store.set_active(account.id, False)
            except TelegramError as error:
                log.error("could not notify consultant %s: %s", consultant.id, error)

    # -- the consultant's side -------------------------------------------------------------------

    def _language_of(self, consultant: Consultant, account: User) -> str:
        if account.language_chosen and account.language:
            return account.language
        return account.language or negotiate(consultant.language)

    async def _consultant(self, update: Update, t: Translator) -> Consultant | None:
        consultant = self.store.consultants.by_telegram(update.effective_user.id)
        if consultant is None:
            text = t(
                N_(
                    "This command is for registered consultants. If you have an invite code, "
                    "send /consultant CODE."
                )
            )
            await say(update, text)
        return consultant

    async def redeem(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/consultant CODE: become a consultant with a one-time invite code."""
        _, t = self.front.t_for(update)
        code = (context.args or [""])[0].strip().lower()
        consultant = None
        if re.fullmatch(r"[a-z2-7]{16}", code):
            consultant = self.store.consultants.redeem(
                code, name=update.effective_user.full_name, telegram_id=update.effective_user.id
            )
        if consultant is None:
            text = t(N_("That invite code is not valid or has been used already."))
            await say(update, text)
            return
        text = t(
            N_("Welcome, {name}! You are now registered as a consultant."), name=consultant.name
        )
        await say(update, text)
        await self.send_link(update, context, consultant, t)

    async def mylink(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        _, t = self.front.t_for(update)
        consultant = await self._consultant(update, t)
        if consultant is not None:
            await self.send_link(update, context, consultant, t)

    async def send_link(self, update, context, consultant: Consultant, t: Translator) -> None:
        username = context.bot.username
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
        await update.effective_chat.send_message(
            "\n".join(lines), parse_mode=ParseMode.HTML, disable_web_page_preview=True
        )

    async def clients(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/clients lists the consenting clients; /clients export sends their summaries."""
        _, t = self.front.t_for(update)
        consultant = await self._consultant(update, t)
        if consultant is None:
            return
        if context.args and context.args[0].lower() == "export":
            await self.front.export_clients(update, consultant, t)
            return
        clients = self.store.consultants.clients_of(consultant)
        if not clients:
            text = t(
                N_("No client has shared a recommendation with you yet. /mylink gives your link.")
            )
            await say(update, text)
            return
        flow = self.front.flow
        heading = t.plural("{n} client", "{n} clients", len(clients))
        lines = [f"<b>{escape(heading)}</b>"]
        for client in clients:
            parts = [escape(client.name or "—"), escape(t(STATUS[client.status]))]
            if client.verdict:
                parts.append(escape(t(flow.verdicts[client.verdict].title)))
            if client.finished_at:
                parts.append(escape(client.finished_at[:10]))
            lines.append("• " + " · ".join(parts))
        lines.append("")
        lines.append(escape(t(N_("/clients export sends their summaries as CSV and PDF."))))
        for text in _pack(lines):
            await update.effective_chat.send_message(text, parse_mode=ParseMode.HTML)


def _pack(lines: list[str], limit: int = 4000) -> list[str]:
    messages, current = [], ""
    for line in lines:
        if len(current) + len(line) + 1 > limit:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*messages, current] if current else messages
