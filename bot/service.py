"""The advisor as the front ends use it: engine steps, each committed to storage first.

Terminal and Telegram are transports around this; both call the same verbs, so a
conversation started in one behaves the same in the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.engine import Engine, InvalidAnswer, Turn
from advisor.flow import Flow
from storage import StaleConversation, Store, StoredConversation, User


@dataclass(frozen=True)
class Step:
    """A committed step: the stored conversation and what the engine says to show."""

    stored: StoredConversation
    turn: Turn
    resumed: bool = False
    migrated: bool = False


class AdvisorService:
    """One flow and one store; every verb is one engine call and one transaction."""

    def __init__(self, flow: Flow, store: Store) -> None:
        self.flow = flow
        self.engine = Engine(flow)
        self.store = store

    def open(self, user: User) -> Step | None:
        """The user's open conversation where it stands, or None; never starts one."""
        stored = self.store.open_conversation(user.id)
        return self._resume(stored) if stored is not None else None

    def current(self, user: User, language: str | None = None) -> Step:
        """The user's open conversation where it stands, or a new one."""
        stored = self.store.open_conversation(user.id)
        if stored is None:
            return self.restart(user, language)
        return self._resume(stored)

    def restart(self, user: User, language: str | None = None) -> Step:
        """A fresh conversation; an open one stays in history."""
        turn = self.engine.start()
        stored = self.store.start_conversation(
            user.id, turn.conversation, language=language or user.language
        )
        return Step(stored, turn)

    def answer(
        self,
        user: User,
        value: Any,
        *,
        locale: str = "en",
        question_id: str | None = None,
        seq: int | None = None,
        conversation_id: int | None = None,
        current: Step | None = None,
    ) -> Step:
        """Answer the current question. With `question_id`/`seq` (from a button) a press on
        anything but the current question raises StaleConversation, so nothing is recorded
        twice. Invalid input raises InvalidAnswer and changes nothing.

        `current` is the step the caller has just read with open() and checked; it saves
        reading it again (should it be outdated, the commit is refused as stale)."""
        step = current or self._open(user, question_id, seq, conversation_id)
        stored = step.stored
        turn = self.engine.answer(stored.conversation, value, locale)
        question = stored.conversation.state
        new = self.store.record(
            stored,
            turn.conversation,
            action="answer",
            question_id=question,
            value=turn.conversation.answers[question],
            recommendation=turn.recommendation,
        )
        return Step(new, turn)

    def back(
        self,
        user: User,
        *,
        question_id: str | None = None,
        seq: int | None = None,
        conversation_id: int | None = None,
    ) -> Step:
        step = self._open(user, question_id, seq, conversation_id)
        stored = step.stored
        turn = self.engine.back(stored.conversation)
        new = self.store.record(
            stored, turn.conversation, action="back", question_id=stored.conversation.state
        )
        return Step(new, turn)

    def _open(
        self, user: User, question_id: str | None, seq: int | None, conversation_id: int | None
    ) -> Step:
        stored = self.store.open_conversation(user.id)
        if stored is None:
            raise InvalidAnswer("already_finished")
        if conversation_id is not None and conversation_id != stored.id:
            raise StaleConversation(f"conversation {conversation_id} is not the open one")
        step = self._resume(stored, show=False)
        stored = step.stored
        if question_id is not None and question_id != stored.conversation.state:
            raise StaleConversation(f"{question_id} is not the current question")
        if seq is not None and seq != stored.seq:
            raise StaleConversation(f"step {seq} is not the current step {stored.seq}")
        return step

    def _resume(self, stored: StoredConversation, show: bool = True) -> Step:
        """Bring a stored conversation onto this flow version, explicitly, if it changed.

        `show=False` skips building the prompt when the caller is about to answer it.
        """
        conversation = stored.conversation
        if conversation.flow_version == self.flow.version:
            turn = self.engine.resume(conversation) if show else Turn(conversation)
            return Step(stored, turn, resumed=True)
        migrated = self.engine.migrate(conversation)
        finished = self.engine.recommendation(migrated) if migrated.finished else None
        stored = self.store.record(
            stored,
            migrated,
            action="migrate",
            question_id=migrated.state,
            value=self.flow.version,
            recommendation=finished,
        )
        return Step(stored, self.engine.resume(migrated), resumed=True, migrated=True)
