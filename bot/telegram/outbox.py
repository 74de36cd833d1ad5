"""What finishing a conversation owes, delivered: the report to the person, the news to the
consultants they share with.

The service writes both into the outbox in the finishing answer's own transaction. Each is
marked delivered once Telegram has it (or can never have it: the person blocked the bot),
so a process killed in between sends it at the next start instead of losing it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from html import escape

from telegram import Bot
from telegram.error import Forbidden, TelegramError, TimedOut

from advisor.i18n import N_, Translator, translator
from advisor.picture import SCORECARD, scorecard_png
from advisor.report import build_report, in_a_list, verdict_title, without_bidi

from ..service import AdvisorService, Owed, Recommendation
from . import render
from .context import in_thread, in_writer

log = logging.getLogger(__name__)


async def deliver(bot: Bot, service: AdvisorService, owed: Owed) -> None:
    """Send one thing owed and mark it delivered; a person who blocked the bot is noted
    and owed nothing more. Raises TelegramError for a failure worth trying again."""
    try:
        if owed.consultant_id is None:
            t = translator(service.people.language_for(owed.user, owed.summary.language))
            chat_id = int(owed.user.external_id)
            rec = owed.summary.recommendation
            await send_report(bot, chat_id, service, rec, t, owed=owed)
        else:
            await _news(bot, service, owed)
    except Forbidden as error:
        log.warning("owed %s not delivered, the bot is blocked: %s", owed.id, error)
        if owed.consultant_id is None:
            await in_writer(
                service, service.people.note_blocked, "telegram", owed.user.external_id, True
            )
    await in_writer(service, service.deliveries.delivered, owed)


async def deliver_each(bot: Bot, service: AdvisorService, owed: tuple[Owed, ...]) -> None:
    """Everything a finished step owes, each on its own: the consultants hear of it even
    when the person's own report fails (that failure is raised after)."""
    failure: TelegramError | None = None
    for item in owed:
        try:
            await deliver(bot, service, item)
        except TelegramError as error:
            failure = failure or error
    if failure is not None:
        raise failure


async def deliver_all(bot: Bot, service: AdvisorService) -> None:
    """At start-up: whatever is still owed on Telegram (the process stopped before)."""
    for owed in await in_thread(service.deliveries.owed, "telegram"):
        try:
            await deliver(bot, service, owed)
        except TelegramError as error:
            log.error("owed %s not delivered: %s", owed.id, error)


async def send_report(
    bot: Bot,
    chat_id: int,
    service: AdvisorService,
    rec: Recommendation,
    t: Translator,
    owed: Owed | None = None,
) -> None:
    """The brief recommendation (at most two messages), the export buttons on the last,
    then the scorecard picture.

    For an owed report each part sent is recorded, so that a retry after a failure or a
    crash goes on from the next part and no part arrives twice; a part whose answer timed
    out counts as sent (Telegram has most likely delivered it)."""
    report = build_report(service.flow, rec, t, date.today())
    messages = render.report_messages(report, t)
    # where you stand at a glance; none when the work stays in-house. Drawn before the
    # first part goes out, so that drawing cannot cut the report short.
    picture = await in_thread(scorecard_png, report, t) if report.scorecard else None
    parts: list[Callable[[], Awaitable[object]]] = [
        partial(
            bot.send_message,
            chat_id,
            text,
            reply_markup=render.export_keyboard(t) if index == len(messages) - 1 else None,
        )
        for index, text in enumerate(messages)
    ]
    if picture is not None:
        parts.append(partial(bot.send_photo, chat_id, picture, caption=escape(t(SCORECARD))))
    done = owed.parts_sent if owed is not None else 0
    for part in parts[done:]:
        try:
            await part()
        except TimedOut as error:
            log.warning("a report part to %s timed out; counted as sent: %s", chat_id, error)
        done += 1
        if owed is not None and done < len(parts):
            await in_writer(service, service.deliveries.part_sent, owed, done)


async def _news(bot: Bot, service: AdvisorService, owed: Owed) -> None:
    """Tell a consultant their client has finished, in the consultant's language."""
    assert owed.consultant_id is not None
    consultant = service.consultants.get(owed.consultant_id)
    if consultant is None or not consultant.enabled or not consultant.telegram_id:
        return  # disabled or gone since: nothing to tell
    account = service.people.find("telegram", consultant.telegram_id)
    if account is None or not account.active:
        return  # never wrote to the bot, or blocked it: Telegram would refuse
    flow, rec = service.flow, owed.summary.recommendation
    t = translator(service.people.language_for(account, account.language or consultant.language))
    flags = {f.id: f for f in flow.flags}
    top = [in_a_list(t(flags[i].title), n) for n, i in enumerate(rec.flags[:3]) if i in flags]
    verdict = verdict_title(flow, rec, t)
    if owed.user.name:
        text = t(
            N_("Your client {client} has finished: {verdict}."),
            client=without_bidi(owed.user.name),
            verdict=verdict,
        )
    else:
        text = t(N_("A client of yours has finished: {verdict}."), verdict=verdict)
    if top:
        text += "\n" + t(N_("Top red flags: {flags}"), flags=t.list(top))
    text += "\n" + t(N_("/clients shows all your clients."))
    try:
        await bot.send_message(int(account.external_id), escape(text))
    except Forbidden:
        await in_writer(service, service.people.note_blocked, "telegram", account.external_id, True)
        raise
