"""The person's own account: language, settings, what is stored and shared, deletion."""

from __future__ import annotations

import logging
from html import escape

from telegram import BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from advisor.i18n import LANGUAGES, N_, translator
from advisor.report import verdict_title

from . import callbacks, render
from .context import AdvisorContext, answer_press, chat_of, in_thread, in_writer, query_of, say
from .showing import refuse_forged, remove_buttons, show

log = logging.getLogger(__name__)
SHARING = N_("Sharing with consultants")
CONSENT = {
    "pending": N_("not decided"),
    "granted": N_("shared"),
    "refused": N_("not shared"),
    "withdrawn": N_("withdrawn"),
}


async def language(update: Update, context: AdvisorContext) -> None:
    """/language: the languages to choose from."""
    await say(
        update, context.t(N_("Choose your language:")), reply_markup=render.language_keyboard()
    )


async def choose_language(update: Update, context: AdvisorContext) -> None:
    """A language button (`l:`): speak it from now on and show where we are."""
    query = query_of(update)
    code = callbacks.word(context.match)
    if code not in LANGUAGES:
        await refuse_forged(update, context)
        return
    service = context.service
    context.person = await in_writer(service, service.people.set_language, context.user, code)
    context.t = t = translator(code)
    await answer_press(query)
    await remove_buttons(query)
    # TRANSLATORS: said right after the person chose this language: name your own language
    await say(update, t(N_("I will speak English from now on.")))
    await _chat_menu(update, context)
    step = await in_writer(service, service.open, context.user)
    if step is not None:
        await show(update, context, step)
        return
    # finished (or never started): a language change starts nothing, it shows where we are
    found = service.latest_summary(context.user)
    if found is None:
        await say(update, t(N_("Send /start to begin.")))
        return
    headline = verdict_title(service.flow, found.recommendation, t)
    text = t(
        N_("Your latest recommendation: {verdict}. /summary shows it in full."), verdict=headline
    )
    await say(update, text)


async def _chat_menu(update: Update, context: AdvisorContext) -> None:
    """The "/" menu of this chat in the chosen language (Telegram's own is per app language)."""
    scope = BotCommandScopeChat(chat_of(update).id)
    try:
        await context.bot.set_my_commands(render.menu(context.t), scope=scope)
    except TelegramError as error:
        log.info("update %s: chat menu not set: %s", update.update_id, error)


async def settings(update: Update, context: AdvisorContext) -> None:
    t = context.t
    # TRANSLATORS: name your own language after "Language:", as it is written mid-sentence
    text = t(
        N_(
            "Settings\n\nLanguage: English\nChange it with /language.\n\n"
            "What is stored and who sees it: /privacy"
        )
    )
    await say(update, text)


async def privacy(update: Update, context: AdvisorContext) -> None:
    """/privacy: what is stored, why, how long, who sees it, and the consents to change."""
    t = context.t
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
    consents = context.service.consultants.consents_of(context.user)
    lines = [escape(text)]
    rows = []
    if consents:
        lines += ["", f"<b>{escape(t(SHARING))}</b>"]
    for consent in consents:
        name = consent.consultant.name
        state = t(CONSENT.get(consent.consent, CONSENT["pending"]))
        lines.append(f"• {escape(name)}: {escape(state)}")
        granted = consent.consent == "granted"
        label = (
            t(N_("Stop sharing with {consultant}"), consultant=name)
            if granted
            else t(N_("Share with {consultant}"), consultant=name)
        )
        data = callbacks.consent(consent.consultant.id, not granted)
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    await chat_of(update).send_message(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows) if rows else None
    )


async def delete(update: Update, context: AdvisorContext) -> None:
    """/delete: erase everything about the person, after a confirmation."""
    t = context.t
    text = t(
        N_(
            "This erases your answers, your recommendations and your consents; consultants "
            "lose access at once. It cannot be undone. Delete everything?"
        )
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(N_("Delete everything")), callback_data=callbacks.delete(True)
                ),
                InlineKeyboardButton(t(N_("Cancel")), callback_data=callbacks.delete(False)),
            ]
        ]
    )
    await say(update, text, reply_markup=markup)


async def confirm_delete(update: Update, context: AdvisorContext) -> None:
    """The answer to /delete (`x:`)."""
    query, t = query_of(update), context.t
    await answer_press(query)
    if callbacks.word(context.match) == "delete":
        # on a worker thread, which waits for the erasure to be complete (the WAL emptied
        # too) before the person is told so
        await in_thread(context.service.delete, context.user)
        text = t(N_("Done: your data is erased. /start begins a new conversation."))
    else:
        text = t(N_("Nothing was deleted."))
    try:
        await query.edit_message_text(escape(text))
    except TelegramError as error:  # the answer must reach them: as a new message, then
        log.debug("delete confirmation not edited: %s", error)
        await say(update, text)
