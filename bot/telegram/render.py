"""How the advisor looks on Telegram: HTML messages, inline keyboards and callback data.

Callback data carries everything a press means, so no state waits in memory between two
presses: `a:<conversation>:<step>:<option>` answers, `t:<conversation>:<step>:<option>:<mask>`
toggles a multiple-choice option (the mask is the current selection), `d:…:<mask>` is Done,
`b:` and `r:` are Back and Restart, `l:<lang>` picks a language. A press whose conversation
or step is not the current one is stale and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from advisor.engine import Prompt
from advisor.flow import DONT_KNOW, Flow
from advisor.i18n import LANGUAGES, N_, Translator
from advisor.report import (
    DONT_KNOW_TEXT,
    Item,
    Report,
    answer_text,
    brief,
    cite,
    severity_label,
)

MESSAGE_LIMIT = 4096
SAFE_LIMIT = 4000  # room for the tags a split adds
BAR_WIDTH = 10
CHECK = "✅ "
DONT_KNOW_PRESS = 2  # the option number of "I don't know" on a yes/no keyboard
SEVERITY_ICONS = {"high": "🔴", "medium": "🟠", "low": "🟡"}
VERDICT_ICONS = {
    "outsource": "✅",
    "overflow": "🔀",
    "partial": "🌓",
    "in_house": "🏠",
    "prepare_first": "🧭",
}
HINTS = {
    "multiple": N_("Choose all that apply, then press Done."),
    "number": N_("Type the number as a message."),
    "text": N_("Type your answer as a message."),
}
_DATA = re.compile(r"^([atdbr]):(\d{1,12}):(\d{1,6})(?::(\d{1,3}))?(?::(\d{1,6}))?$")


@dataclass(frozen=True)
class Press:
    """A parsed button press."""

    action: str
    conversation: int
    seq: int
    option: int | None = None
    mask: int | None = None


async def say(update: Update, text: str, **options) -> None:
    """Send a translated plain text to the update's chat, escaped for HTML parse mode."""
    await update.effective_chat.send_message(escape(text), parse_mode=ParseMode.HTML, **options)


def parse_press(data: str | None) -> Press | None:
    """The press behind callback data, or None when it does not parse (forged or foreign)."""
    match = _DATA.match(data or "")
    if match is None:
        return None
    action, conversation, seq, first, second = match.groups()
    if action == "t":
        if first is None or second is None:
            return None
        return Press(action, int(conversation), int(seq), int(first), int(second))
    if action == "d":
        if first is None or second is not None:
            return None
        return Press(action, int(conversation), int(seq), mask=int(first))
    if action == "a":
        if first is None or second is not None:
            return None
        return Press(action, int(conversation), int(seq), int(first))
    if first is not None:
        return None
    return Press(action, int(conversation), int(seq))


def progress(prompt: Prompt) -> str:
    filled = round(BAR_WIDTH * (prompt.step - 1) / max(prompt.total, 1))
    return f"<b>{prompt.step}/{prompt.total}</b> {'▓' * filled}{'░' * (BAR_WIDTH - filled)}"


def question_text(flow: Flow, prompt: Prompt, t: Translator) -> str:
    lines = [progress(prompt), "", f"<b>{escape(t(prompt.text))}</b>"]
    if prompt.question.help:
        lines.append(f"<i>{escape(t(prompt.question.help))}</i>")
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


def initial_mask(prompt: Prompt) -> int:
    chosen = prompt.default or ()
    return sum(1 << i for i, o in enumerate(prompt.options) if o.id in chosen)


def keyboard(
    prompt: Prompt, conversation: int, seq: int, t: Translator, mask: int | None = None
) -> InlineKeyboardMarkup:
    """Buttons for a question: options (toggles and Done for multiple choice), Back, Restart."""
    base = f"{conversation}:{seq}"
    rows: list[list[InlineKeyboardButton]] = []
    if prompt.kind == "multiple":
        mask = initial_mask(prompt) if mask is None else mask
        for i, option in enumerate(prompt.options):
            mark = CHECK if mask & (1 << i) else ""
            rows.append(
                [InlineKeyboardButton(mark + t(option.text), callback_data=f"t:{base}:{i}:{mask}")]
            )
        rows.append([InlineKeyboardButton(t(N_("Done")), callback_data=f"d:{base}:{mask}")])
    elif prompt.kind == "yes_no":
        rows.append(
            [
                InlineKeyboardButton(t(N_("Yes")), callback_data=f"a:{base}:1"),
                InlineKeyboardButton(t(N_("No")), callback_data=f"a:{base}:0"),
            ]
        )
        if prompt.question.dont_know:
            rows.append(
                [
                    InlineKeyboardButton(
                        t(DONT_KNOW_TEXT), callback_data=f"a:{base}:{DONT_KNOW_PRESS}"
                    )
                ]
            )
    elif prompt.kind == "single":
        for i, option in enumerate(prompt.options):
            mark = CHECK if prompt.default == option.id else ""
            rows.append(
                [InlineKeyboardButton(mark + t(option.text), callback_data=f"a:{base}:{i}")]
            )
    if prompt.step > 1:
        rows.append(
            [
                InlineKeyboardButton("◀ " + t(N_("Back")), callback_data=f"b:{base}"),
                InlineKeyboardButton("↺ " + t(N_("Restart")), callback_data=f"r:{base}"),
            ]
        )
    return InlineKeyboardMarkup(rows)


def press_value(prompt: Prompt, press: Press) -> object | None:
    """The answer a press means for this prompt, or None when it fits no option."""
    if press.action == "a":
        if prompt.kind == "yes_no" and press.option in (0, 1):
            return bool(press.option)
        if (
            prompt.kind == "yes_no"
            and prompt.question.dont_know
            and press.option == DONT_KNOW_PRESS
        ):
            return DONT_KNOW
        in_range = press.option is not None and press.option < len(prompt.options)
        if prompt.kind == "single" and in_range:
            return prompt.options[press.option].id
        return None
    if press.action == "d" and prompt.kind == "multiple" and press.mask is not None:
        if press.mask >> len(prompt.options):
            return None
        return [o.id for i, o in enumerate(prompt.options) if press.mask & (1 << i)]
    return None


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(name, callback_data=f"l:{code}")]
            for code, name in LANGUAGES.items()
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
    blocks.append(
        "<i>"
        + escape(
            t(
                N_(
                    "The PDF report has all of it: the KPIs for the SLA, what to expect after "
                    "go-live, contract and pricing advice, and the sources. "
                    "/summary shows this again, /restart starts over."
                )
            )
        )
        + "</i>"
    )
    return pack(blocks)


def _item(item: Item, t: Translator) -> str:
    cited = f" <i>[{escape(cite(item))}]</i>" if item.sources else ""
    if item.severity and item.detail is None:  # shown as a tip already: the title is enough
        icon = SEVERITY_ICONS.get(item.severity, "•")
        return f"{icon} <b>{escape(item.text)}</b> ({escape(severity_label(item.severity, t))})"
    if item.severity:
        icon = SEVERITY_ICONS.get(item.severity, "•")
        label = escape(severity_label(item.severity, t))
        return (
            f"{icon} <b>{escape(item.text)}</b> ({label}){cited}\n"
            f"{escape(item.detail or '')}\n"
            f"➜ {escape(item.instead or '')}"
        )
    return f"• {escape(item.text)}{cited}"


def pack(blocks: list[str], limit: int = SAFE_LIMIT) -> list[str]:
    """Join blocks into as few messages as fit; a block too long alone is split by lines."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _split(block, limit):
            candidate = f"{current}\n\n{piece}" if current else piece
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
