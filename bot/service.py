"""The one door into the advisor: one method per thing a person or an operator does.

Front ends (Telegram, the terminal, the command line) read and change conversations only
through it and never import storage or the engine (they may use the pure core's texts and
report). The service reads the conversation once, checks that a press belongs to the
current question, turns a button's option number into the answer, lets the engine take the
step and commits it, in one call. Its names (`User`, `Step`, `StorageError` ...) are the
front ends' vocabulary, re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from advisor.advice import Recommendation
from advisor.engine import (
    Asking,
    Engine,
    Finished,
    InvalidAnswer,
    Prompt,
    Turn,
    toggle,
)
from advisor.flow import Flow, Option, Question
from storage import (
    HANDLING,
    Client,
    Consent,
    Consultant,
    Owed,
    StaleConversation,
    StorageError,
    Store,
    StoredConversation,
    Summary,
    User,
)

from .consulting import Consulting
from .deliveries import Deliveries
from .people import People

__all__ = [  # the vocabulary of the front ends
    "HANDLING",
    "AdvisorService",
    "Asking",
    "At",
    "Client",
    "Consent",
    "Consultant",
    "Finished",
    "InvalidAnswer",
    "Owed",
    "Prompt",
    "Recommendation",
    "StaleConversation",
    "Step",
    "StorageError",
    "Summary",
    "Turn",
    "User",
]


P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class At:
    """Where a button was pressed: a conversation at one step (from the callback data)."""

    conversation: int
    seq: int


@dataclass(frozen=True)
class Step:
    """A committed step: the stored conversation and what to show next (`turn.answered` is
    the question this step answered, for a transcript line)."""

    stored: StoredConversation
    turn: Turn
    resumed: bool = False
    migrated: bool = False
    owed: tuple[Owed, ...] = ()  # what finishing owes: the report, consultants' news

    @property
    def at(self) -> At:
        """Where the conversation stands: what the buttons shown next carry."""
        return At(self.stored.id, self.stored.seq)


class AdvisorService:
    """One flow and one database. A conversation method reads the conversation once, lets
    the engine take one step and commits it in one transaction (a conversation on an older
    flow is first migrated, which is one more write). Beside it, three doors of their own:
    `people` (who is talking, in which language), `consultants`, and `deliveries` (the
    updates that arrive and what the advisor owes)."""

    def __init__(self, flow: Flow, store: Store) -> None:
        self.flow = flow
        self._engine = Engine(flow)
        self._store = store
        self.people = People(store)
        self.consultants = Consulting(store)
        self.deliveries = Deliveries(store)

    @classmethod
    def at_path(cls, flow: Flow, path: str | Path | None = None) -> AdvisorService:
        """The service on the SQLite file at `path` (default $ADVISOR_DB or ./advisor.db)."""
        return cls(flow, Store(path))

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> AdvisorService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the conversation -----------------------------------------------------------------

    def current(self, user: User, language: str | None = None) -> Step:
        """The person's open conversation where it stands, or a new one."""
        stored = self._store.open_conversation(user.id)
        if stored is None:
            return self.restart(user, language)
        return self._resume(stored)

    def open(self, user: User) -> Step | None:
        """The open conversation where it stands, or None; never starts one."""
        stored = self._store.open_conversation(user.id)
        return self._resume(stored) if stored is not None else None

    def restart(self, user: User, language: str | None = None) -> Step:
        """A fresh conversation; an open one stays in history as restarted."""
        turn = self._engine.start()
        stored = self._store.start_conversation(
            user.id, turn.conversation, language=language or user.language
        )
        return Step(stored, turn)

    def answer(
        self,
        user: User,
        value: Any,
        *,
        locale: str = "en",
        at: At | None = None,
        typed: bool = False,
    ) -> Step:
        """Answer the current question with a value, checked as `advisor advise` checks an
        answers file; `typed` text where buttons are expected is refused (`use_buttons`).
        Raises InvalidAnswer, StaleConversation or StorageError.
        """
        stored, question, _ = self._asking(user, at)
        if typed and question.kind not in ("number", "text"):
            raise InvalidAnswer("use_buttons")
        return self._commit(stored, self._engine.answer(stored.conversation, value, locale))

    def choose(self, user: User, at: At, option: int) -> Step:
        """A press on a single-choice or yes/no button: option number to answer, and commit."""
        stored, question, options = self._asking(user, at)
        if question.kind not in ("single", "yes_no") or not 0 <= option < len(options):
            raise InvalidAnswer("unknown_option", value=str(option))
        return self._commit(stored, self._engine.answer(stored.conversation, options[option].id))

    def select(self, user: User, at: At, option: int) -> Step:
        """Tick or untick option number `option` of a multiple choice.

        The ticks are stored with the conversation (the step stays the same), so quick
        presses each count, in order, and a restart of the bot keeps them.
        """
        stored, question, options = self._asking(user, at)
        if not question.multiple or not 0 <= option < len(options):
            raise InvalidAnswer("unknown_option", value=str(option))
        ticked = toggle(options, stored.ticked(), options[option].id)
        stored = self._store.set_ticks(stored, ticked)
        return Step(stored, self._engine.resume(stored.conversation))

    def done(self, user: User, at: At) -> Step:
        """Done on a multiple choice: the options ticked so far are the answer."""
        stored, question, _ = self._asking(user, at)
        if not question.multiple:
            raise InvalidAnswer("unknown_option")
        chosen = stored.ticked()
        if not chosen:
            raise InvalidAnswer("choose_at_least_one")
        return self._commit(stored, self._engine.answer(stored.conversation, list(chosen)))

    def back(self, user: User, at: At | None = None) -> Step:
        """Return to the previous question; its earlier answer becomes the default."""
        stored, _, _ = self._asking(user, at)
        turn = self._engine.back(stored.conversation)
        new = self._store.record(
            stored, turn.conversation, action="back", question_id=stored.conversation.state
        )
        return Step(new, turn)

    def restart_at(self, user: User, at: At, language: str | None = None) -> Step:
        """The Restart button: a fresh conversation, if the press is on the current step."""
        self._asking(user, at)
        return self.restart(user, language)

    def latest_summary(self, user: User) -> Summary | None:
        return self._store.latest_summary(user.id)

    # -- the database file ------------------------------------------------------------------

    def submit(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Run a call of this service (or of its doors) as one job of the database's writer:
        its reads, its engine step and its writes go into the next group commit, and the
        future has the result once that is committed. An asynchronous front end calls
        everything that may write this way, so its event loop never waits for SQLite."""
        return self._store.file.writer.submit(lambda conn: call(*args, **kwargs))

    @property
    def gone(self) -> StorageError | None:
        """Why the database can no longer be written (deleted or replaced), or None."""
        return self._store.file.gone

    def when_gone(self, callback: Callable[[], None]) -> None:
        self._store.file.when_gone(callback)

    def delete(self, user: User) -> int:
        """Erase everything about the person (answers, summaries, consents, their row)."""
        return self._store.delete_user_data(user.id)

    def _asking(
        self, user: User, at: At | None
    ) -> tuple[StoredConversation, Question, tuple[Option, ...]]:
        """The open conversation and its question: the one read of a step. A press for any
        other conversation or step is stale."""
        stored = self._store.open_conversation(user.id)
        if stored is None:
            if at is not None:
                raise StaleConversation("no open conversation")
            raise InvalidAnswer("already_finished")
        if stored.conversation.flow_version != self.flow.version:
            stored = self._migrate(stored)
        if at is not None and (at.conversation, at.seq) != (stored.id, stored.seq):
            raise StaleConversation(f"press for {at.conversation}/{at.seq}")
        if stored.conversation.finished:
            raise StaleConversation("the conversation is finished")
        question = self.flow.by_id[stored.conversation.state]
        known = stored.conversation.current_answers()
        return stored, question, self.flow.options_for(question, known)

    def _commit(self, stored: StoredConversation, turn: Turn) -> Step:
        question = stored.conversation.state
        new = self._store.record(
            stored,
            turn.conversation,
            action="answer",
            question_id=question,
            value=turn.conversation.answers[question],
            recommendation=turn.recommendation if isinstance(turn, Finished) else None,
        )
        return Step(new, turn, owed=self._owed(new))

    def _resume(self, stored: StoredConversation) -> Step:
        """What a stored conversation shows; one of an older flow version is migrated first
        (and may finish on the way)."""
        migrated = stored.conversation.flow_version != self.flow.version
        if migrated:
            stored = self._migrate(stored)
        turn = self._engine.resume(stored.conversation)
        return Step(stored, turn, True, migrated, self._owed(stored))

    def _owed(self, stored: StoredConversation) -> tuple[Owed, ...]:
        """What this step owes: only a step that finished the conversation owes anything,
        and only for that conversation (what older ones still owe goes out at start-up, or
        when the person next writes)."""
        if stored.status != "finished":
            return ()
        deliveries = self._store.deliveries
        return tuple(deliveries.owed(user_id=stored.user_id, conversation_id=stored.id))

    def _migrate(self, stored: StoredConversation) -> StoredConversation:
        migrated = self._engine.migrate(stored.conversation)
        finished = self._engine.recommendation(migrated) if migrated.finished else None
        return self._store.record(
            stored,
            migrated,
            action="migrate",
            question_id=migrated.state,
            value=self.flow.version,
            recommendation=finished,
        )
