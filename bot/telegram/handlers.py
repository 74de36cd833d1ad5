"""Telegram handlers, one per user action: each reads the update, calls the service, replies.

Every answer is committed before the next question is sent. Every button press is answered
(`answerCallbackQuery`), also when it is refused, so the client's spinner stops.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from datetime import date
from html import escape

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram import User as TelegramUser
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from advisor import export
from advisor.engine import InvalidAnswer, Prompt, Turn
from advisor.i18n import LANGUAGES, N_, Translator, negotiate, translator
from advisor.messages import error_text
from advisor.report import build_report, verdict_title
from storage import StaleConversation, StorageError, User

from ..service import AdvisorService, Step
from . import render
from .consultants import ConsultantHandlers, code_in
from .render import say

log = logging.getLogger(__name__)
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROMPT_CACHE = 10_000  # chats whose last question message id is remembered (cosmetic only)


class TelegramAdvisor:
    """The advisor on Telegram: handlers around one AdvisorService."""

    def __init__(self, service: AdvisorService) -> None:
        self.service = service
        self.flow = service.flow
        self.store = service.store
        # the last question message per chat, to take its buttons away after a typed answer;
        # bounded, and losing it (a restart) only leaves an old button that is refused as stale
        self._prompt_messages: OrderedDict[int, tuple[int, str]] = OrderedDict()
        self.consultants = ConsultantHandlers(self)

    # -- who and in which language ------------------------------------------------------------

    def user_of(self, tg_user: TelegramUser) -> User:
        user = self.store.user(
            "telegram",
            tg_user.id,
            name=tg_user.full_name,
            language=negotiate(tg_user.language_code),
        )
        if not user.active:  # they write to us, so they no longer block the bot
            self.store.set_active(user.id, True)
        return user

    def language_of(self, user: User, tg_user: TelegramUser | None) -> str:
        if user.language_chosen and user.language:
            return user.language
        return negotiate(tg_user.language_code if tg_user else None)

    def t_for(self, update: Update) -> tuple[User, Translator]:
        user = self.user_of(update.effective_user)
        return user, translator(self.language_of(user, update.effective_user))

    # -- commands -------------------------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start [payload]: greet, then start or resume the conversation."""
        payload = self.payload(context.args)
        user, t = self.t_for(update)
        if payload and (language := _language_in(payload)):
            self.store.set_language(user.id, language)
            user, t = self.t_for(update)
        await self.begin(update, user, t, _consultant_in(payload) if payload else None)

    async def begin(self, update: Update, user: User, t: Translator, code: str | None) -> None:
        """Greet, ask a consultant's client for consent, then the question where we are."""
        step = self.service.current(user, t.language)
        name = escape(update.effective_user.first_name or "")
        if step.resumed:
            greeting = t(N_("Welcome back, {name}! Let us continue where you left off."), name=name)
        else:
            greeting = t(N_("Hello {name}! I am your outsourcing advisor."), name=name)
            greeting += "\n\n" + escape(t(self.flow.intro))
        await update.effective_chat.send_message(greeting, parse_mode=ParseMode.HTML)
        if code:
            await self.consultants.arrive(update, user, code, t)
        await self.show(update, step, t)

    def payload(self, args: list[str] | None) -> str | None:
        if not args:
            return None
        payload = args[0]
        if not PAYLOAD.match(payload):
            log.info("ignored a start payload that is not [A-Za-z0-9_-]{1,64}")
            return None
        return payload

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        _, t = self.t_for(update)
        text = t(
            N_(
                "I help you decide whether to outsource your customer service, and how. "
                "Answer the questions with the buttons; type numbers when asked.\n\n"
                "/start – start or continue\n/back – previous question\n"
                "/restart – start over\n/summary – your latest recommendation\n"
                "/export – your recommendation as a PDF\n"
                "/language – change the language\n/settings – language and privacy\n"
                "/help – this help"
            )
        )
        await say(update, text)

    async def back(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, t = self.t_for(update)
        await self.step(update, t, lambda: self.service.back(user))

    async def restart(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, t = self.t_for(update)
        await self.step(update, t, lambda: self.service.restart(user, t.language))

    async def summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, t = self.t_for(update)
        summary = self.store.latest_summary(user.id)
        if summary is None:
            text = t(
                N_(
                    "You have no finished recommendation yet. "
                    "Answer the questions to get one: /start"
                )
            )
            await say(update, text)
            return
        await self.send_report(update, summary.recommendation, t)

    async def export(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/export sends the latest recommendation as a PDF; `/export md` as Markdown."""
        user, t = self.t_for(update)
        kind = "md" if context.args and context.args[0].lower() in ("md", "markdown") else "pdf"
        await self.send_export(update, user, t, kind)

    async def send_export(self, update: Update, user: User, t: Translator, kind: str) -> None:
        summary = self.store.latest_summary(user.id)
        chat = update.effective_chat
        if summary is None:
            text = t(
                N_(
                    "You have no finished recommendation to export yet. "
                    "Answer the questions to get one: /start"
                )
            )
            await say(update, text)
            return
        rec, created = summary.recommendation, summary.created_at
        await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
        if kind == "md":
            data = export.markdown(self.flow, rec, t, created).encode("utf-8")
        else:
            data = export.pdf(self.flow, rec, t, created)
        await chat.send_document(
            data,
            filename=export.file_name(summary, kind),
            caption=verdict_title(self.flow, rec, t),
        )

    async def export_clients(self, update: Update, consultant, t: Translator) -> None:
        """/clients export: a CSV of the consenting clients' summaries and a PDF of each."""
        pairs = list(self.store.consultants.client_summaries(consultant))
        chat = update.effective_chat
        if not pairs:
            text = t(
                N_("No client has shared a recommendation with you yet. /mylink gives your link.")
            )
            await say(update, text)
            return
        summaries = [summary for _, summary in pairs]
        await chat.send_document(export.csv_bytes(self.flow, summaries), filename="clients.csv")
        for client, summary in pairs:
            data = export.pdf(self.flow, summary.recommendation, t, summary.created_at)
            await chat.send_document(
                data, filename=export.file_name(summary, "pdf"), caption=client.name or ""
            )

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        _, t = self.t_for(update)
        await update.effective_chat.send_message(
            escape(t(N_("Choose your language:"))),
            parse_mode=ParseMode.HTML,
            reply_markup=render.language_keyboard(),
        )

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        _user, t = self.t_for(update)
        text = t(
            N_(
                "Settings\n\nLanguage: {language}\nChange it with /language.\n\n"
                "What is stored and who sees it: /privacy"
            ),
            language=LANGUAGES[t.language],
        )
        await say(update, text)

    async def delete(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/delete: erase everything about the user, after a confirmation."""
        _, t = self.t_for(update)
        text = t(
            N_(
                "This erases your answers, your recommendations and your consents; consultants "
                "lose access at once. It cannot be undone. Delete everything?"
            )
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(t(N_("Delete everything")), callback_data="x:delete"),
                    InlineKeyboardButton(t(N_("Cancel")), callback_data="x:keep"),
                ]
            ]
        )
        await update.effective_chat.send_message(
            escape(text), parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async def confirm_delete(
        self, query: CallbackQuery, user: User, t: Translator, data: str
    ) -> None:
        await query.answer()
        if data == "x:delete":
            self.store.delete_user_data(user.id)
            text = t(N_("Done: your data is erased. /start begins a new conversation."))
        else:
            text = t(N_("Nothing was deleted."))
        try:
            await query.edit_message_text(escape(text), parse_mode=ParseMode.HTML)
        except BadRequest as error:
            log.debug("delete confirmation not edited: %s", error)

    # -- typed messages -------------------------------------------------------------------------

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A typed message: the answer to a number or text question, else a gentle pointer."""
        user, t = self.t_for(update)
        if code := code_in(update.effective_message.text or ""):
            # desktop clients may drop the start payload: the code typed alone works the same
            await self.begin(update, user, t, code)
            return
        current = self.service.open(user)
        if current is None:
            await self.show_open(update, user, t)
            return
        prompt = current.turn.prompt
        if prompt.kind not in ("number", "text"):
            await update.effective_chat.send_message(
                escape(t(N_("Please answer with the buttons under the question."))),
                parse_mode=ParseMode.HTML,
            )
            await self.show(update, current, t)
            return
        typed = update.effective_message.text or ""
        await self.step(
            update,
            t,
            lambda: self.service.answer(
                user,
                typed,
                locale=t.language,
                question_id=prompt.id,
                seq=current.stored.seq,
                conversation_id=current.stored.id,
            ),
            answered=(prompt, None),
        )

    # -- buttons ----------------------------------------------------------------------------------

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        user, t = self.t_for(update)
        data = query.data or ""
        if data.startswith("l:"):
            await self.choose_language(update, query, user, data[2:])
            return
        if data in ("e:pdf", "e:md"):
            await query.answer()
            await self.send_export(update, user, t, data[2:])
            return
        if data in ("x:delete", "x:keep"):
            await self.confirm_delete(query, user, t, data)
            return
        if data.startswith("k:"):
            if not await self.consultants.consent(update, user, data, t):
                await self.refuse(update, query, user, t)
            return
        press = render.parse_press(data)
        if press is None:
            log.info("update %s: callback data that does not parse", update.update_id)
            await self.refuse(update, query, user, t)
            return
        if press.action == "t":
            await self.toggle(update, query, user, t, press)
            return
        if press.action in ("b", "r"):
            verb = self.service.back if press.action == "b" else None
            try:
                self.check_current(user, press)
            except StaleConversation:
                await self.refuse(update, query, user, t)
                return
            await query.answer()
            await self.remove_buttons(query)
            if verb is None:
                await self.step(update, t, lambda: self.service.restart(user, t.language))
            else:
                await self.step(
                    update,
                    t,
                    lambda: verb(user, seq=press.seq, conversation_id=press.conversation),
                )
            return
        try:
            current = self.check_current(user, press)
        except StaleConversation:
            await self.refuse(update, query, user, t)
            return
        prompt = current.turn.prompt
        value = render.press_value(prompt, press)
        if value is None:
            await self.refuse(update, query, user, t)
            return
        if press.action == "d" and not value:
            await query.answer(error_text("choose_at_least_one", t), show_alert=True)
            return
        # the press is answered while the answer is saved and the next question goes out
        await asyncio.gather(
            query.answer(),
            self.step(
                update,
                t,
                lambda: self.service.answer(
                    user, value, seq=press.seq, conversation_id=press.conversation, current=current
                ),
                answered=(prompt, query),
            ),
        )

    def check_current(self, user: User, press: render.Press) -> Step:
        current = self.service.open(user)
        if current is None:
            raise StaleConversation("no open conversation")
        if current.stored.id != press.conversation or current.stored.seq != press.seq:
            raise StaleConversation(f"press for {press.conversation}/{press.seq}")
        if current.turn.prompt is None:
            raise StaleConversation("the conversation is finished")
        return current

    async def toggle(
        self, update: Update, query: CallbackQuery, user: User, t: Translator, press: render.Press
    ) -> None:
        """Tick or untick a multiple-choice option: only the keyboard changes."""
        try:
            current = self.check_current(user, press)
        except StaleConversation:
            await self.refuse(update, query, user, t)
            return
        prompt = current.turn.prompt
        if prompt.kind != "multiple" or press.option >= len(prompt.options):
            await self.refuse(update, query, user, t)
            return
        mask = press.mask ^ (1 << press.option)
        option = prompt.options[press.option]
        if option.exclusive and mask & (1 << press.option):
            mask = 1 << press.option  # "none of these" clears the others
        elif not option.exclusive:
            for i, other in enumerate(prompt.options):
                if other.exclusive:
                    mask &= ~(1 << i)
        markup = render.keyboard(prompt, current.stored.id, current.stored.seq, t, mask)
        await asyncio.gather(query.answer(), self.show_ticks(query, markup))

    async def show_ticks(self, query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
        try:
            await query.edit_message_reply_markup(reply_markup=markup)
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise

    async def choose_language(
        self, update: Update, query: CallbackQuery, user: User, code: str
    ) -> None:
        if code not in LANGUAGES:
            _, t = self.t_for(update)
            await self.refuse(update, query, user, t)
            return
        self.store.set_language(user.id, code)
        t = translator(code)
        await query.answer()
        await self.remove_buttons(query)
        await update.effective_chat.send_message(
            escape(t(N_("I will speak {language} from now on."), language=LANGUAGES[code])),
            parse_mode=ParseMode.HTML,
        )
        step = self.service.current(self.store.get_user(user.id), code)
        await self.show(update, step, t)

    async def refuse(self, update: Update, query: CallbackQuery, user: User, t: Translator) -> None:
        """An old, foreign or forged press: say so briefly and show the current question."""
        await query.answer(error_text("stale", t))
        await self.show_open(update, user, t)

    async def show_open(self, update: Update, user: User, t: Translator) -> None:
        """The open conversation's question again, or how to start one; never starts one."""
        step = self.service.open(user)
        if step is None:
            text = t(
                N_(
                    "Your conversation is finished. "
                    "/summary shows the recommendation, /restart starts over."
                )
            )
            await say(update, text)
            return
        await self.show(update, step, t)

    # -- doing a step and showing the result ---------------------------------------------------

    async def step(
        self,
        update: Update,
        t: Translator,
        action,
        answered: tuple[Prompt, CallbackQuery | None] | None = None,
    ) -> None:
        """Run one service call; show its result, or the reason it was refused."""
        try:
            step = action()
        except InvalidAnswer as error:
            await say(update, error_text(error, t))
            return
        except StaleConversation:
            user = self.user_of(update.effective_user)
            await say(update, error_text("stale", t))
            await self.show_open(update, user, t)
            return
        except StorageError as error:
            log.error("update %s: storage: %s", update.update_id, error)
            await say(update, error_text(error.code, t))
            return
        if answered is None:
            await self.show(update, step, t)
            return
        prompt, query = answered
        value = step.stored.conversation.answers.get(prompt.id)
        # the transcript line and what comes next do not wait for each other: on Telegram
        # that is one round trip less before the next question shows
        await asyncio.gather(
            self.mark_answered(update, query, prompt, value, t), self.show(update, step, t)
        )

    async def mark_answered(
        self,
        update: Update,
        query: CallbackQuery | None,
        prompt: Prompt,
        value: object,
        t: Translator,
    ) -> None:
        """Edit the question into a transcript line with the answer and no buttons."""
        text = render.answered_text(self.flow, prompt, value, t)
        chat_id = update.effective_chat.id
        try:
            if query is not None:
                await query.edit_message_text(text, parse_mode=ParseMode.HTML)
            elif (remembered := self._prompt_messages.get(chat_id)) and remembered[1] == prompt.id:
                await update.get_bot().edit_message_text(
                    text, chat_id=chat_id, message_id=remembered[0], parse_mode=ParseMode.HTML
                )
        except BadRequest as error:
            # an unchanged or deleted message: the transcript is cosmetic, the answer is saved
            log.debug("update %s: edit refused: %s", update.update_id, error)

    async def remove_buttons(self, query: CallbackQuery) -> None:
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except BadRequest as error:
            log.debug("could not remove buttons: %s", error)

    async def show(self, update: Update, step: Step, t: Translator) -> None:
        """Send the tips, then the next question or the recommendation."""
        await self.send_turn(update, step, step.turn, t)

    async def send_turn(self, update: Update, step: Step, turn: Turn, t: Translator) -> None:
        chat = update.effective_chat
        for flag in turn.tips:
            tip = f"⚠️ <b>{escape(t(flag.title))}</b>\n{escape(t(flag.instead))}"
            await chat.send_message(tip, parse_mode=ParseMode.HTML)
        if turn.recommendation is not None:
            self._prompt_messages.pop(chat.id, None)
            await self.send_report(update, turn.recommendation, t)
            user = self.store.get_user(step.stored.user_id)
            await self.consultants.notify(update, user, turn.recommendation)
            return
        prompt = turn.prompt
        message = await chat.send_message(
            render.question_text(self.flow, prompt, t),
            parse_mode=ParseMode.HTML,
            reply_markup=render.keyboard(prompt, step.stored.id, step.stored.seq, t),
        )
        self._prompt_messages[chat.id] = (message.message_id, prompt.id)
        self._prompt_messages.move_to_end(chat.id)
        while len(self._prompt_messages) > PROMPT_CACHE:
            self._prompt_messages.popitem(last=False)

    async def send_report(self, update: Update, recommendation, t: Translator) -> None:
        """The brief recommendation (at most two messages), the export buttons on the last."""
        report = build_report(self.flow, recommendation, t, date.today())
        chat = update.effective_chat
        messages = render.report_messages(report, t)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("📄 " + t(N_("PDF report")), callback_data="e:pdf"),
                    InlineKeyboardButton("📝 Markdown", callback_data="e:md"),
                ]
            ]
        )
        for index, text in enumerate(messages):
            last = index == len(messages) - 1
            await chat.send_message(
                text, parse_mode=ParseMode.HTML, reply_markup=buttons if last else None
            )

    # -- errors -----------------------------------------------------------------------------------

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log with the update id (never the traceback to the user), and ask to try again."""
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_user:
            log.warning("update %s: user %s blocked the bot", update_id, update.effective_user.id)
            user = self.store.user("telegram", update.effective_user.id)
            self.store.set_active(user.id, False)
            return
        if isinstance(error, StorageError):
            log.error("update %s: storage: %s", update_id, error)
        else:
            log.error("update %s: %s: %s", update_id, type(error).__name__, error, exc_info=error)
        if isinstance(update, Update) and update.effective_chat is not None:
            tg_user = update.effective_user
            language = negotiate(tg_user.language_code if tg_user else None)
            t = translator(language)
            if isinstance(error, StorageError):
                text = error_text(error.code, t)
            else:
                text = t(N_("Something went wrong on my side. Please try again."))
            try:
                if update.callback_query is not None:
                    await update.callback_query.answer()
                await say(update, text)
            except Exception as send_error:  # the error handler must never raise
                log.error("update %s: could not tell the user: %s", update_id, send_error)


def _consultant_in(payload: str) -> str | None:
    """A consultant code in a deep link: the part `c<code>` (or the code alone)."""
    for part in payload.split("_"):
        if code := code_in(part):
            return code
    return None


def _language_in(payload: str) -> str | None:
    """A language preset in a deep link: a part `l<code>` such as `lpl` (parts joined by _)."""
    for part in payload.split("_"):
        if part.startswith("l") and part[1:] in LANGUAGES:
            return part[1:]
    return None
