"""What storage gives back: users, stored conversations and summaries, made from rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.advice import Recommendation
from advisor.engine import Conversation


@dataclass(frozen=True)
class User:
    id: int
    channel: str
    external_id: str
    name: str | None
    language: str | None
    language_chosen: bool
    active: bool


@dataclass(frozen=True)
class StoredConversation:
    id: int
    user_id: int
    conversation: Conversation
    language: str | None
    status: str
    seq: int
    started_at: str
    updated_at: str
    finished_at: str | None
    ticks: tuple[str, ...] | None = None  # ticked so far on the current multiple choice

    def ticked(self) -> tuple[str, ...]:
        """The options ticked on the current question: as pressed, else its earlier answer."""
        if self.ticks is not None:
            return self.ticks
        earlier = self.conversation.answers.get(self.conversation.state) or ()
        return (earlier,) if isinstance(earlier, str) else tuple(earlier)


@dataclass(frozen=True)
class Summary:
    id: int
    conversation_id: int
    user_id: int
    flow_id: str
    flow_version: str
    language: str | None
    created_at: str
    recommendation: Recommendation


def answers_of(text: str) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}


def user_of(row: Mapping[str, Any]) -> User:
    return User(
        row["id"],
        row["channel"],
        row["external_id"],
        row["name"],
        row["language"],
        bool(row["language_chosen"]),
        bool(row["active"]),
    )


def conversation_of(row: Mapping[str, Any]) -> StoredConversation:
    conversation = Conversation(
        row["flow_id"],
        row["flow_version"],
        row["state"],
        answers_of(row["answers"]),
        tuple(json.loads(row["path"])),
    )
    return StoredConversation(
        row["id"],
        row["user_id"],
        conversation,
        row["language"],
        row["status"],
        row["seq"],
        row["started_at"],
        row["updated_at"],
        row["finished_at"],
        tuple(json.loads(row["ticks"])) if row.get("ticks") else None,
    )


def summary_of(row: Mapping[str, Any]) -> Summary:
    return Summary(
        row["id"],
        row["conversation_id"],
        row["user_id"],
        row["flow_id"],
        row["flow_version"],
        row["language"],
        row["created_at"],
        Recommendation.from_dict(json.loads(row["data"])),
    )


@dataclass(frozen=True)
class Owed:
    """What the advisor owes a person: their report (`consultant_id` None), or a
    notification to a consultant they share with that they have finished."""

    id: int
    user: User
    summary: Summary
    consultant_id: int | None
    parts_sent: int = 0  # of a report: the messages (then the picture) already sent
