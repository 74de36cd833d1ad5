"""The recommendation again, as a PDF or Markdown file, for the person and for consultants."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ChatAction

from advisor import export
from advisor.i18n import N_
from advisor.report import verdict_title

from ..service import Consultant
from . import callbacks
from .context import AdvisorContext, answer_press, chat_of, query_of, say
from .showing import send_report


async def summary(update: Update, context: AdvisorContext) -> None:
    """/summary: the latest recommendation, as the chat shows it at the end."""
    found = context.service.latest_summary(context.user)
    if found is None:
        text = N_(
            "You have no finished recommendation yet. Answer the questions to get one: /start"
        )
        await say(update, context.t(text))
        return
    await send_report(update, context, found.recommendation)


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
    await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
    if kind == "md":
        data = export.markdown(flow, rec, t, created).encode("utf-8")
    else:
        data = export.pdf(flow, rec, t, created)
    caption = escape(verdict_title(flow, rec, t))  # captions are HTML, as every message
    await chat.send_document(data, filename=export.file_name(found, kind), caption=caption)


async def export_clients(update: Update, context: AdvisorContext, consultant: Consultant) -> None:
    """/clients export: a CSV of the consenting clients' summaries and a PDF of each."""
    service, t = context.service, context.t
    pairs = list(service.consultants.client_summaries(consultant))
    chat = chat_of(update)
    if not pairs:
        text = N_("No client has shared a recommendation with you yet. /mylink gives your link.")
        await say(update, t(text))
        return
    summaries = [found for _, found in pairs]
    await chat.send_document(export.csv_bytes(service.flow, summaries), filename="clients.csv")
    for client, found in pairs:
        data = export.pdf(service.flow, found.recommendation, t, found.created_at)
        # a client's name as typed: unescaped, `<` failed the send and `<a>` made a link
        caption = escape(client.name or "")
        await chat.send_document(data, filename=export.file_name(found, "pdf"), caption=caption)
