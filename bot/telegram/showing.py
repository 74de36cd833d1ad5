"""Showing where a conversation stands: the next question, the recommendation, a refusal.

Every feature's handlers end here after their service call.
"""

from __future__ import annotations

import logging
from datetime import date
from html import escape

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from advisor.i18n import N_
from advisor.messages import error_text
from advisor.report import build_report

from ..service import At, Finished, Recommendation, Step
from . import render
from .context import AdvisorContext, chat_of, say

log = logging.getLogger(__name__)


async def refuse(update: Update, context: AdvisorContext) -> None:
    """An old, foreign or forged press: say so briefly and show the current question."""
    if update.callback_query is not None:
        await update.callback_query.answer(error_text("stale", context.t))
    await show_open(update, context)


# -- showing ----------------------------------------------------------------------------------


async def show_open(update: Update, context: AdvisorContext) -> None:
    """The open conversation's question again, or how to start one; never starts one."""
    step = context.service.open(context.user)
    if step is None:
        text = context.t(
            N_(
                "Your conversation is finished. "
                "/summary shows the recommendation, /restart starts over."
            )
        )
        await say(update, text)
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
        await send_report(update, context, turn.recommendation)
        return
    prompt = turn.prompt
    at = step_at(step)
    message = await chat.send_message(
        render.question_text(context.service.flow, prompt, t),
        reply_markup=render.keyboard(prompt, at, t),
    )
    context.prompts.remember(chat.id, message.message_id, prompt.id)


async def send_report(update: Update, context: AdvisorContext, rec: Recommendation) -> None:
    """The brief recommendation (at most two messages), the export buttons on the last."""
    t = context.t
    report = build_report(context.service.flow, rec, t, date.today())
    messages = render.report_messages(report, t)
    for index, text in enumerate(messages):
        last = index == len(messages) - 1
        markup = render.export_keyboard(t) if last else None
        await chat_of(update).send_message(text, reply_markup=markup)


def step_at(step: Step) -> At:
    return At(step.stored.id, step.stored.seq)


async def remove_buttons(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        log.debug("could not remove buttons: %s", error)
