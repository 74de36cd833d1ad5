"""How the advisor looks on Telegram: HTML messages and inline keyboards.

Texts are escaped here; the Application's default parse mode is HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from advisor.flow import Flow
from advisor.i18n import LANGUAGES, N_, Translator
from advisor.messages import progress_bar
from advisor.report import (
    Item,
    Report,
    answer_text,
    brief,
    cite,
    severity_label,
)

from ..service import At, Prompt
from . import callbacks

MESSAGE_LIMIT = 4096
SAFE_LIMIT = 4000  # room for the tags a split adds
CHECK = "✅ "
SEVERITY_ICONS = {"high": "🔴", "medium": "🟠", "low": "🟡"}
VERDICT_ICONS = {
    "outsource": "✅",
    "overflow": "🔀",
    "partial": "🌓",
    "in_house": "🏠",
    "prepare_first": "🧭",
}
# the commands everyone has, for the "/" menu and /help (app.py gives each its handler;
# consultants' /consultant, /mylink and /clients are told to consultants, not listed)
COMMANDS = (
    ("start", N_("Start or continue the advisor")),
    ("back", N_("Go back one question")),
    ("restart", N_("Start over")),
    ("summary", N_("Show your latest recommendation")),
    ("export", N_("Your recommendation as a PDF")),
    ("language", N_("Change the language")),
    ("settings", N_("Language and privacy")),
    ("privacy", N_("What is stored and who sees it")),
    ("delete", N_("Delete all your data")),
    ("help", N_("How this works")),
)
HINTS = {
    "multiple": N_("Choose all that apply, then press Done."),
    "number": N_("Type the number as a message."),
    "text": N_("Type your answer as a message."),
}


def menu(t: Translator) -> list[BotCommand]:
    """The "/" command menu in a language."""
    return [BotCommand(name, t(description)) for name, description in COMMANDS]


def help_text(t: Translator) -> str:
    intro = N_(
        "I help you decide whether to outsource your customer service, and how. "
        "Answer the questions with the buttons; type numbers when asked."
    )
    lines = (f"/{name} – {t(description)}" for name, description in COMMANDS)
    return t(intro) + "\n\n" + "\n".join(lines)


def progress(prompt: Prompt) -> str:
    return f"<b>{prompt.step}/{prompt.total}</b> {progress_bar(prompt.step, prompt.total)}"


def question_text(flow: Flow, prompt: Prompt, t: Translator) -> str:
    """The question, then in full what the short buttons stand for, hints, earlier answer."""
    lines = [progress(prompt), "", f"<b>{escape(t(prompt.text))}</b>"]
    if prompt.question.help:
        lines.append(f"<i>{escape(t(prompt.question.help))}</i>")
    if any(option.label for option in prompt.options):
        lines.append("")
        lines += [
            f"• <b>{escape(t(option.button))}</b>: {escape(t(option.text))}"
            if option.label
            else f"• {escape(t(option.text))}"
            for option in prompt.options
        ]
    if prompt.kind in HINTS:
        lines.append(f"<i>{escape(t(HINTS[prompt.kind]))}</i>")
    if prompt.default is not None:
        earlier = answer_text(flow, prompt.question, prompt.default, t)
        lines.append(escape(t(N_("Earlier answer: {answer}"), answer=earlier)))
    return "\n".join(lines)


def answered_text(flow: Flow, prompt: Prompt, value: object, t: Translator) -> str:
    """The question as it stays in the chat after the answer: a transcript line."""
    answer = answer_text(flow, prompt.question, value, t)
    return (
        f"<b>{prompt.step}/{prompt.total}</b> {escape(t(prompt.text))}\n➜ <b>{escape(answer)}</b>"
    )


def keyboard(
    prompt: Prompt, at: At, t: Translator, ticked: Iterable[str] | None = None
) -> InlineKeyboardMarkup:
    """Buttons for a question: options (toggles and Done for multiple choice), Back, Restart.

    `ticked` are the options ticked so far; by default a question's earlier answer."""
    rows: list[list[InlineKeyboardButton]] = []
    chosen = prompt.chosen if ticked is None else set(ticked)
    buttons = [
        InlineKeyboardButton(
            (CHECK if option.id in chosen else "") + t(option.button),
            callback_data=(callbacks.toggle if prompt.multiple else callbacks.answer)(at, number),
        )
        for number, option in enumerate(prompt.options)
    ]
    if prompt.kind == "yes_no":
        rows += [buttons[:2], *([b] for b in buttons[2:])]  # Yes and No side by side
    else:
        rows += ([b] for b in buttons)
    if prompt.multiple:
        rows.append([InlineKeyboardButton(t(N_("Done")), callback_data=callbacks.done(at))])
    if prompt.step > 1:
        rows.append(
            [
                InlineKeyboardButton("◀ " + t(N_("Back")), callback_data=callbacks.back(at)),
                InlineKeyboardButton("↺ " + t(N_("Restart")), callback_data=callbacks.restart(at)),
            ]
        )
    return InlineKeyboardMarkup(rows)


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(name, callback_data=callbacks.language(code))]
            for code, name in LANGUAGES.items()
        ]
    )


def export_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "📄 " + t(N_("PDF report")), callback_data=callbacks.export("pdf")
                ),
                InlineKeyboardButton("📝 Markdown", callback_data=callbacks.export("md")),
            ]
        ]
    )


def report_messages(report: Report, t: Translator) -> list[str]:
    """The recommendation for a phone: the brief report as at most two HTML messages.

    The rest (KPIs, timeline, contract and pricing advice, sources) is in the PDF report.
    """
    short = brief(report, t)
    icon = VERDICT_ICONS.get(short.verdict, "")
    blocks = [f"{icon} <b>{escape(short.verdict_title)}</b>\n\n{escape(short.verdict_text)}"]
    for section in short.sections:
        lines = [f"<b>{escape(section.title)}</b>"]
        if section.note:
            lines.append(f"<i>{escape(section.note)}</i>")
        lines += [_item(item, t) for item in section.items]
        if section.left_out:
            more = t.plural(
                "… and {n} more in the report", "… and {n} more in the report", section.left_out
            )
            lines.append(f"<i>{escape(more)}</i>")
        blocks.append("\n".join(lines))
    if short.section("kpis") is None and report.section("kpis") is None and not report.scorecard:
        # nothing of a provider in the report (in-house): promise only what is there
        closing = t(
            N_(
                "The PDF report has the full reasoning, what would change it and the sources. "
                "/summary shows this again, /restart starts over."
            )
        )
    else:
        closing = t(
            N_(
                "The PDF report has all of it: the KPIs for the SLA, what to expect after "
                "go-live, contract and pricing advice, and the sources. "
                "/summary shows this again, /restart starts over."
            )
        )
    blocks.append(f"<i>{escape(closing)}</i>")
    return pack(blocks)


def _item(item: Item, t: Translator) -> str:
    cited = f" <i>[{escape(cite(item))}]</i>" if item.sources else ""
    if item.severity:
        icon = SEVERITY_ICONS.get(item.severity, "•")
        label = escape(severity_label(item.severity, t))
        if item.detail is None:  # shown as a tip during the conversation: the title is enough
            return f"{icon} <b>{escape(item.text)}</b> ({label})"
        return (
            f"{icon} <b>{escape(item.text)}</b> ({label}){cited}\n"
            f"{escape(item.detail)}\n"
            f"➜ {escape(item.instead or '')}"
        )
    return f"• {escape(item.text)}{cited}"


def pack(blocks: Iterable[str], limit: int = SAFE_LIMIT, separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit; a block too long alone is split by lines."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _split(block, limit):
            candidate = f"{current}{separator}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _split(block: str, limit: int) -> list[str]:
    if len(block) <= limit:
        return [block]
    pieces: list[str] = []
    current = ""
    for line in block.split("\n"):
        while len(line) > limit:  # a single enormous line: cut it (tags are per line here)
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces
