"""The conversation on Telegram: /start, the answer buttons, typed answers, back, restart.

Each handler reads the update, makes one service call and shows its result; the service
checks that a press belongs to the current question and commits the answer before the
next question is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from advisor.i18n import LANGUAGES, N_, translator
from advisor.messages import error_text, greeting

from ..service import (
    Asking,
    InvalidAnswer,
    Prompt,
    StaleConversation,
    Step,
    StorageError,
)
from . import callbacks, render
from .consultants import ask_consent, code_in
from .context import AdvisorContext, answer_press, chat_of, in_writer, query_of, say
from .gate import START_PAYLOAD
from .showing import refuse, refuse_forged, remove_buttons, show, show_open

log = logging.getLogger(__name__)
T = TypeVar("T")


# -- commands ---------------------------------------------------------------------------------


async def start(update: Update, context: AdvisorContext) -> None:
    """/start [payload]: greet, then start or resume; a payload may carry a consultant's code
    (`c<code>`) and a language (`l<code>`), joined by `_`."""
    parts = _payload(context.args).split("_")
    language = next((p[1:] for p in parts if p.startswith("l") and p[1:] in LANGUAGES), None)
    if language:
        context.person = await in_writer(
            context.service, context.service.people.set_language, context.user, language
        )
        context.t = translator(language)
    code = next((c for p in parts if (c := code_in(p))), None)
    await begin(update, context, code)


async def begin(update: Update, context: AdvisorContext, code: str | None) -> None:
    """Greet, ask a consultant's client for consent, then the question where we are."""
    t = context.t
    step = await in_writer(context.service, context.service.current, context.user, t.language)
    name = update.effective_user.first_name if update.effective_user else ""
    text = greeting(
        context.service.flow, t, resumed=step.resumed, name=name or "", migrated=step.migrated
    )
    await say(update, text)
    if code:
        await ask_consent(update, context, code)
    await show(update, context, step)


async def help_command(update: Update, context: AdvisorContext) -> None:
    await say(update, render.help_text(context.t))


async def not_text(update: Update, context: AdvisorContext) -> None:
    """A sticker, photo, voice message, location or file: a one-line hint."""
    hint = N_(
        "I can read text and buttons only: answer with the buttons, or type a number when asked."
    )
    await say(update, context.t(hint))


async def back_command(update: Update, context: AdvisorContext) -> None:
    if step := await _act(update, context, lambda: context.service.back(context.user)):
        await show(update, context, step)


async def restart_command(update: Update, context: AdvisorContext) -> None:
    service, t = context.service, context.t
    if step := await _act(update, context, lambda: service.restart(context.user, t.language)):
        await show(update, context, step)


async def typed(update: Update, context: AdvisorContext) -> None:
    """A typed message: the answer to a number or text question, else a gentle pointer."""
    text = update.effective_message.text if update.effective_message else ""
    text = text or ""
    service, t = context.service, context.t
    code = code_in(text)
    if code is not None and service.consultants.is_code(code):
        # desktop clients may drop the start payload: the code typed alone works the same
        await begin(update, context, code)
        return
    if step := await _act(
        update, context, lambda: service.answer(context.user, text, locale=t.language, typed=True)
    ):
        await _answered(update, context, step, None)


# -- buttons ----------------------------------------------------------------------------------


async def choose(update: Update, context: AdvisorContext) -> None:
    """A press on an option of a single choice or yes/no question (`a:`)."""
    query = query_of(update)
    at, option = callbacks.option(context.match)
    if step := await _act(
        update, context, lambda: context.service.choose(context.user, at, option)
    ):
        await _answered(update, context, step, query)


async def tick(update: Update, context: AdvisorContext) -> None:
    """Tick or untick an option of a multiple choice (`t:`): the ticks are stored, and the
    keyboard shows them."""
    query = query_of(update)
    at, option = callbacks.option(context.match)
    step = await _act(update, context, lambda: context.service.select(context.user, at, option))
    if step is None or not isinstance(step.turn, Asking):
        return
    markup = render.keyboard(step.turn.prompt, at, context.t, step.stored.ticks)
    await asyncio.gather(answer_press(query), _edit_markup(query, markup))


async def done(update: Update, context: AdvisorContext) -> None:
    """Done on a multiple choice (`d:`): the options ticked so far are the answer."""
    query = query_of(update)
    at = callbacks.at(context.match)
    if step := await _act(update, context, lambda: context.service.done(context.user, at)):
        await _answered(update, context, step, query)


async def back_press(update: Update, context: AdvisorContext) -> None:
    query = query_of(update)
    at = callbacks.at(context.match)
    if step := await _act(update, context, lambda: context.service.back(context.user, at)):
        await asyncio.gather(answer_press(query), remove_buttons(query))
        await show(update, context, step)


async def restart_press(update: Update, context: AdvisorContext) -> None:
    query = query_of(update)
    at = callbacks.at(context.match)
    service, t = context.service, context.t
    if step := await _act(
        update, context, lambda: service.restart_at(context.user, at, t.language)
    ):
        await asyncio.gather(answer_press(query), remove_buttons(query))
        await show(update, context, step)


# -- internals --------------------------------------------------------------------------------


async def _act(update: Update, context: AdvisorContext, action: Callable[[], T]) -> T | None:
    """Run one service call; on a refusal tell the person why and return None."""
    try:
        return await in_writer(context.service, action)
    except StaleConversation:
        await refuse(update, context)
    except InvalidAnswer as error:
        await _explain(update, context, error)
    except StorageError as error:
        log.error("update %s: storage: %s", update.update_id, error)
        if update.callback_query is not None:
            await answer_press(update.callback_query)
        await say(update, error_text(error.code, context.t))
    return None


async def _explain(update: Update, context: AdvisorContext, error: InvalidAnswer) -> None:
    """An answer the advisor cannot take: a press gets a notice on the button, a typed
    answer a message (and the question again when it needs buttons)."""
    query, t = update.callback_query, context.t
    if query is not None:
        if error.code == "unknown_option":
            await refuse_forged(update, context)  # a button no question of ours has
        else:  # Done with nothing ticked
            await answer_press(query, error_text(error, t), alert=True)
        return
    if error.code == "already_finished":  # nothing open: where the person stands, once
        await show_open(update, context)
        return
    await say(update, error_text(error, t))
    if error.code == "use_buttons":
        await show_open(update, context)


async def _answered(
    update: Update, context: AdvisorContext, step: Step, query: CallbackQuery | None
) -> None:
    """After an answer: answer the press, turn the question into a transcript line and show
    what comes next, all at once (one round trip less before the next question shows)."""
    jobs: list[Awaitable[object]] = [
        _transcript(update, context, step, query),
        show(update, context, step),
    ]
    if query is not None:
        jobs.append(answer_press(query))
    await asyncio.gather(*jobs)


async def _transcript(
    update: Update, context: AdvisorContext, step: Step, query: CallbackQuery | None
) -> None:
    """Edit the answered question into a transcript line with the answer and no buttons."""
    prompt: Prompt | None = step.turn.answered
    if prompt is None:
        return
    value = step.stored.conversation.answers.get(prompt.id)
    text = render.answered_text(context.service.flow, prompt, value, context.t)
    chat_id = chat_of(update).id
    try:
        if query is not None:
            await query.edit_message_text(text)
        elif (message_id := context.prompts.of(chat_id, prompt.id)) is not None:
            await update.get_bot().edit_message_text(text, chat_id=chat_id, message_id=message_id)
    except TelegramError as error:
        # an unchanged or deleted message, or Telegram failing this one call: the transcript
        # is cosmetic and the answer is saved, so the next question must not be shown twice
        log.debug("update %s: edit refused: %s", update.update_id, error)


async def _edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


def _payload(args: list[str] | None) -> str:
    if not args:
        return ""
    if not START_PAYLOAD.fullmatch(args[0]):
        log.info("ignored a start payload that is not [A-Za-z0-9_-]{1,64}")
        return ""
    return args[0]
