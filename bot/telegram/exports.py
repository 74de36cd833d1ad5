"""The recommendation again, as a PDF or Markdown file, for the person and for consultants."""

from __future__ import annotations

import contextlib
import logging
from html import escape

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from advisor import export
from advisor.i18n import N_
from advisor.report import verdict_title

from ..service import Consultant
from . import callbacks, outbox
from .context import AdvisorContext, answer_press, chat_of, in_thread, query_of, say

log = logging.getLogger(__name__)


async def summary(update: Update, context: AdvisorContext) -> None:
    """/summary: the latest recommendation, as the chat shows it at the end."""
    found = context.service.latest_summary(context.user)
    if found is None:
        text = N_(
            "You have no finished recommendation yet. Answer the questions to get one: /start"
        )
        await say(update, context.t(text))
        return
    await outbox.send_report(
        context.bot, chat_of(update).id, context.service, found.recommendation, context.t
    )


async def export_command(update: Update, context: AdvisorContext) -> None:
    """/export sends the latest recommendation as a PDF; `/export md` as Markdown."""
    kind = "md" if context.args and context.args[0].lower() in ("md", "markdown") else "pdf"
    await send_export(update, context, kind)


async def export_press(update: Update, context: AdvisorContext) -> None:
    """The PDF and Markdown buttons under a recommendation (`e:`)."""
    await answer_press(query_of(update))
    await send_export(update, context, callbacks.word(context.match))


async def send_export(update: Update, context: AdvisorContext, kind: str) -> None:
    t = context.t
    found = context.service.latest_summary(context.user)
    if found is None:
        text = N_(
            "You have no finished recommendation to export yet. Answer the questions to get one: "
            "/start"
        )
        await say(update, t(text))
        return
    flow = context.service.flow
    rec, created = found.recommendation, found.created_at
    chat = chat_of(update)
    with contextlib.suppress(TelegramError):  # "uploading ..." is a courtesy, not the file
        await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
    if kind == "md":
        data = (await in_thread(export.markdown, flow, rec, t, created)).encode("utf-8")
    else:
        data = await in_thread(export.pdf, flow, rec, t, created)  # a fifth of a second
    caption = escape(verdict_title(flow, rec, t))
    await chat.send_document(data, filename=export.file_name(found, kind), caption=caption)


async def export_clients(update: Update, context: AdvisorContext, consultant: Consultant) -> None:
    """/clients export: a CSV of the consenting clients' summaries and a PDF of each."""
    service, t = context.service, context.t
    pairs = await in_thread(lambda: list(service.consultants.client_summaries(consultant)))
    chat = chat_of(update)
    if not pairs:
        text = N_("No client has shared a recommendation with you yet. /mylink gives your link.")
        await say(update, t(text))
        return
    summaries = [found for _, found in pairs]
    table = await in_thread(export.csv_bytes, service.flow, summaries)
    await chat.send_document(table, filename="clients.csv")
    failed = 0
    for client, found in pairs:
        data = await in_thread(export.pdf, service.flow, found.recommendation, t, found.created_at)
        try:  # one report that does not go through must not keep back the others
            await chat.send_document(
                data, filename=export.file_name(found, "pdf"), caption=escape(client.name or "")
            )
        except TelegramError as error:
            log.warning("update %s: a client's report not sent: %s", update.update_id, error)
            failed += 1
    if failed:
        text = t.plural(
            "{n} report could not be sent; /clients export tries again.",
            "{n} reports could not be sent; /clients export tries again.",
            failed,
        )
        await say(update, text)
