"""The usual way, for comparison: the same questions on ConversationHandler and PicklePersistence.

This is how python-telegram-bot's examples build such a bot: one ConversationHandler state
per question, the answers in `context.user_data`, everything persisted by PicklePersistence
with its defaults, and PTB's default HTTP transport. The Telegram side is the advisor's: the
same question texts and buttons, the same ticks on multiple-choice keyboards, and the same
calls per press (answer the press, turn the question into a transcript line, ask the next).
There is no advice at the end, only a closing message, which favours the baseline.

Run by the benchmark as `python -m bench.baseline --db FILE --api-url URL` with
TELEGRAM_BOT_TOKEN set; `fill()` writes a pickle file with stored conversations.
"""

from __future__ import annotations

import argparse
import os
import pickle
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import yaml
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

from advisor.flow import default_flows_dir

from .path import PATH

CLOSING = "Thank you, your answers are saved."


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # single, multiple, yes_no or number
    text: str
    labels: tuple[str, ...]


def questions() -> list[Question]:
    """The questions the benchmark's users answer, in their order, from the advisor's flow."""
    flow = yaml.safe_load((default_flows_dir() / "advisor.yaml").read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in flow["questions"]}
    asked = []
    for question_id, _ in PATH:
        item = by_id[question_id]
        kind = item["kind"]
        if kind == "yes_no":
            labels = ("Yes", "No")
        else:  # the advisor's buttons: an option's short label where it has one
            labels = tuple(
                option.get("label", option["text"]) for option in item.get("options", ())
            )
        if kind == "multiple":
            labels += ("Done",)
        asked.append(Question(question_id, kind, item["text"], labels))
    return asked


QUESTIONS = questions()


def keyboard(index: int, ticked: frozenset[int] = frozenset()) -> InlineKeyboardMarkup | None:
    question = QUESTIONS[index]
    if question.kind == "number":
        return None
    rows = []
    for i, label in enumerate(question.labels):
        shown = f"✅ {label}" if i in ticked else label
        rows.append([InlineKeyboardButton(shown, callback_data=str(i))])
    return InlineKeyboardMarkup(rows)


def question_text(index: int) -> str:
    return f"{index + 1}/{len(QUESTIONS)} {QUESTIONS[index].text}"


async def ask(update: Update, index: int) -> int:
    if index == len(QUESTIONS):
        await update.effective_chat.send_message(CLOSING)
        return ConversationHandler.END
    await update.effective_chat.send_message(question_text(index), reply_markup=keyboard(index))
    return index


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.clear()
    context.user_data["answers"] = {}
    await update.effective_chat.send_message(
        f"Hello {update.effective_user.first_name}! I am your outsourcing advisor."
    )
    return await ask(update, 0)


async def press(index: int, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    question = QUESTIONS[index]
    choice = int(query.data)
    ticked = context.user_data.setdefault("ticked", set())
    if question.kind == "multiple" and question.labels[choice] != "Done":
        ticked ^= {choice}
        await query.answer()
        await query.edit_message_reply_markup(keyboard(index, frozenset(ticked)))
        return index
    if question.kind == "multiple":
        if not ticked:
            await query.answer("Choose at least one option.", show_alert=True)
            return index
        value = [question.labels[i] for i in sorted(ticked)]
    else:
        value = question.labels[choice]
    context.user_data["answers"][question.id] = value
    ticked.clear()
    await query.answer()
    shown = ", ".join(value) if isinstance(value, list) else value
    await query.edit_message_text(f"{question_text(index)}\n✓ {shown}")
    return await ask(update, index + 1)


async def typed(index: int, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text.replace(" ", "")
    if not text.isdigit():
        await update.effective_chat.send_message("Please type a number, for example 12000.")
        return index
    context.user_data["answers"][QUESTIONS[index].id] = int(text)
    return await ask(update, index + 1)


def build(db: Path, token: str, api_url: str) -> Application:
    states = {}
    for index, question in enumerate(QUESTIONS):
        if question.kind == "number":
            handler = MessageHandler(filters.TEXT & ~filters.COMMAND, partial(typed, index))
        else:
            handler = CallbackQueryHandler(partial(press, index))
        states[index] = [handler]
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states=states,
        fallbacks=[CommandHandler("start", start)],
        name="advisor",
        persistent=True,
    )
    application = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .persistence(PicklePersistence(db))
        .build()
    )
    application.add_handler(conversation)
    return application


def fill(db: Path, conversations: int, answers: dict) -> None:
    """A pickle file like PicklePersistence's with `conversations` stored (10% unfinished)."""
    first = dict(list(answers.items())[:1])
    user_data = {}
    states = {}
    for i in range(conversations):
        user_id = 100_000_000 + i
        if i % 10 == 0:  # at the second question, like the advisor's unfinished ones
            states[(user_id, user_id)] = 1
            user_data[user_id] = {"answers": dict(first), "ticked": set()}
        else:
            user_data[user_id] = {"answers": dict(answers), "ticked": set()}
    data = {
        "conversations": {"advisor": states},
        "user_data": user_data,
        "chat_data": {},
        "bot_data": {},
        "callback_data": None,
    }
    with db.open("wb") as file:
        pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--db", required=True, type=Path, help="the pickle file")
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()
    build(args.db, os.environ["TELEGRAM_BOT_TOKEN"], args.api_url).run_polling()


if __name__ == "__main__":
    main()
