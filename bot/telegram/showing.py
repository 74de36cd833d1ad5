"""Showing where a conversation stands: the next question, the recommendation, a refusal.

The conversation's handlers end here after their service call, and so do those of other
features that lead back into the conversation (a language change, a consent answer).
"""

from __future__ import annotations

import logging
from html import escape

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from advisor.i18n import N_
from advisor.messages import error_text

from ..service import Asking, Finished, Step
from . import outbox, render
from .context import AdvisorContext, answer_press, chat_of, in_writer, say

log = logging.getLogger(__name__)


async def refuse(update: Update, context: AdvisorContext) -> None:
    """A press that is not for the current question: a toast that says what is true, and
    nothing else (thirty quick taps on an answered button send no thirty questions)."""
    query = update.callback_query
    if query is None:
        return
    service = context.service
    step = await in_writer(service, service.open, context.user)
    if step is None:
        finished = service.latest_summary(context.user) is not None
        # nothing stored: after /delete, or a button of a purged conversation
        why = "finished_press" if finished else "nothing_stored"
        await answer_press(query, error_text(why, context.t))
        if owed := service.deliveries.owed_to(context.user):
            # the report did not get through (a failed send): pressing again brings it
            await outbox.deliver_each(context.bot, service, owed)
        return
    await answer_press(query, error_text("answered_already", context.t))
    turn = step.turn
    if isinstance(turn, Asking) and context.prompts.of(chat_of(update).id, turn.prompt.id) is None:
        # the bot stopped between saving the answer and sending the next question: the
        # question is sent once, or the person would be left with buttons that only say no
        await show(update, context, step)


async def refuse_forged(update: Update, context: AdvisorContext) -> None:
    """A press no button of ours makes (forged, or for someone else): a toast, nothing else."""
    if update.callback_query is not None:
        await answer_press(update.callback_query, error_text("invalid_press", context.t))


# -- showing ----------------------------------------------------------------------------------


async def show_open(update: Update, context: AdvisorContext) -> None:
    """The open conversation's question again, or what there is instead; never starts one."""
    service = context.service
    if context.person is None:  # never wrote before (or only asked for help)
        await say(update, context.t(N_("Send /start to begin.")))
        return
    step = await in_writer(service, service.open, context.user)
    if step is None:
        if owed := service.deliveries.owed_to(context.user):  # the report never got through
            await outbox.deliver_each(context.bot, service, owed)
            return
        if service.latest_summary(context.user) is None:
            await say(update, context.t(N_("Send /start to begin.")))
            return
        text = N_(
            "Your conversation is finished. "
            "/summary shows the recommendation, /restart starts over."
        )
        await say(update, context.t(text))
        return
    await show(update, context, step)


async def show(update: Update, context: AdvisorContext, step: Step) -> None:
    """Send the tips, then the next question or the recommendation."""
    chat, t = chat_of(update), context.t
    for flag in step.turn.tips:
        await chat.send_message(f"⚠️ <b>{escape(t(flag.title))}</b>\n{escape(t(flag.instead))}")
    turn = step.turn
    if isinstance(turn, Finished):
        context.prompts.forget(chat.id)
        if step.owed:
            await outbox.deliver_each(context.bot, context.service, step.owed)
        else:
            await outbox.send_report(context.bot, chat.id, context.service, turn.recommendation, t)
        return
    prompt = turn.prompt
    at = step.at
    message = await chat.send_message(
        render.question_text(context.service.flow, prompt, t),
        reply_markup=render.keyboard(prompt, at, t, step.stored.ticks),
    )
    context.prompts.remember(chat.id, message.message_id, prompt.id)


async def remove_buttons(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        log.debug("could not remove buttons: %s", error)
