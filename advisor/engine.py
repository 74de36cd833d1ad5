"""The conversation engine: one flow's state machine applied to small conversation records.

Pure on purpose: no Telegram, SQL, printing or clock. The service calls `start`, `answer`
and `back`, stores the `Conversation` it gets back, and a front end renders the turn: the
next question (`Asking`) or the recommendation (`Finished`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from transitions import EventData, Machine

from .advice import Recommendation, recommend
from .conditions import Context
from .errors import InvalidAnswer
from .flow import (
    DONT_KNOW,
    SUMMARY,
    Flow,
    Option,
    Question,
    RedFlag,
    successors,
    yes_no_option,
)
from .numbers import parse_number

ANSWER = "answer"


@dataclass(frozen=True)
class Conversation:
    """Everything that is one conversation: small enough to store after every answer.

    `answers` holds every answer given, also to questions later left behind by `back`
    (they come back as defaults); `path` is the questions answered on the way to `state`.
    """

    flow_id: str
    flow_version: str
    state: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    path: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state == SUMMARY

    def current_answers(self) -> dict[str, Any]:
        """The answers on the path taken: what the advice is given on."""
        return {q: self.answers[q] for q in self.path if q in self.answers}


@dataclass(frozen=True)
class Prompt:
    """A question as a front end shows it."""

    question: Question
    options: tuple[Option, ...]
    step: int
    total: int
    default: Any = None

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def text(self) -> str:
        return self.question.text

    @property
    def multiple(self) -> bool:
        return self.question.multiple

    @property
    def chosen(self) -> frozenset[str]:
        """The option ids of the earlier answer, to mark when the question is asked again."""
        default = self.default
        if self.kind == "yes_no":
            default = yes_no_option(default)
        if isinstance(default, str):
            return frozenset((default,))
        if isinstance(default, list | tuple):
            return frozenset(default)
        return frozenset()


@dataclass(frozen=True)
class Asking:
    """A turn that asks the next question; `answered` is the question just answered."""

    conversation: Conversation
    prompt: Prompt
    tips: tuple[RedFlag, ...] = ()
    answered: Prompt | None = None


@dataclass(frozen=True)
class Finished:
    """A turn that ends the conversation with its recommendation."""

    conversation: Conversation
    recommendation: Recommendation
    tips: tuple[RedFlag, ...] = ()
    answered: Prompt | None = None


Turn = Asking | Finished


class _Cursor:
    """The model the shared machine moves: a state and the answers its guards read."""

    __slots__ = ("answers", "state")

    def __init__(self, state: str, answers: Mapping[str, Any]) -> None:
        self.state = state
        self.answers = answers


class Engine:
    """One flow's machine, built once and shared by every conversation on that flow."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.first = flow.questions[0].id
        self.machine = Machine(
            model=None,
            states=[*(q.id for q in flow.questions), SUMMARY],
            initial=self.first,
            auto_transitions=False,
            send_event=True,
        )
        # for each question, those that may come after it, each with the questions its
        # condition reads: a condition on a question not answered yet counts as "may come"
        self._ahead: dict[str, tuple[tuple[Question, frozenset[str]], ...]] = {}
        for question in flow.questions:
            chain = successors(question, flow.questions, flow.by_id)
            for dest in chain:
                guard: list[str | Callable[..., bool | None]] = (
                    [] if dest == SUMMARY else [_shows(flow.by_id[dest])]
                )
                self.machine.add_transition(ANSWER, question.id, dest, conditions=guard)
            self._ahead[question.id] = tuple(
                (q, frozenset(ref.question for ref in q.when.references()))
                for q in self._static_chain(question)
            )
        # the answers that decide how many questions may still come after each question
        self._reads_ahead = {
            q: tuple(sorted(set().union(*(reads for _, reads in ahead))))
            for q, ahead in self._ahead.items()
        }
        self._counted: dict[tuple[str, tuple[Any, ...]], int] = {}
        self._answer_event = self.machine.events[ANSWER]
        # the tip flags each answer can raise, found once instead of on every answer
        self._tips_by_question: dict[str, tuple[RedFlag, ...]] = {
            q.id: tuple(
                f
                for f in flow.flags
                if f.tip and any(r.question == q.id for r in f.when.references())
            )
            for q in flow.questions
        }

    def _static_chain(self, question: Question) -> tuple[Question, ...]:
        """Every question that may still come after this one, in order (for progress)."""
        ids = []
        current = question
        while (nxt := successors(current, self.flow.questions, self.flow.by_id)[0]) != SUMMARY:
            # successors()[0] is the next one in line whether or not it is shown
            ids.append(nxt)
            current = self.flow.by_id[nxt]
        return tuple(self.flow.by_id[i] for i in ids)

    # -- the verbs --------------------------------------------------------------------------

    def start(self) -> Asking:
        conversation = Conversation(self.flow.id, self.flow.version, self.first)
        return Asking(conversation, self.prompt(conversation))

    def prompt(self, conversation: Conversation) -> Prompt:
        """The question the conversation is at (it must not be finished)."""
        question = self.flow.by_id[conversation.state]
        known = conversation.current_answers()
        step = len(conversation.path) + 1
        return Prompt(
            question=question,
            options=self.flow.options_for(question, known),
            step=step,
            total=step + self._still_ahead(question.id, known),
            default=conversation.answers.get(question.id),
        )

    def _still_ahead(self, question_id: str, known: Mapping[str, Any]) -> int:
        """How many later questions may still be asked: those whose condition holds or
        reads a question not answered yet. Counting these, the total only ever shrinks as
        answers come in, so the progress counter never goes back. Counted once for each
        combination of the answers it depends on (there are few)."""
        key = (
            question_id,
            tuple(_hashable(known.get(q, _UNANSWERED)) for q in self._reads_ahead[question_id]),
        )
        counted = self._counted.get(key)
        if counted is None:
            context = Context(known)
            counted = sum(
                1
                for question, reads in self._ahead[question_id]
                if not reads or not reads.issubset(known) or question.when.holds(context)
            )
            if len(self._counted) < 100_000:  # bounded, whatever numbers people type
                self._counted[key] = counted
        return counted

    def answer(self, conversation: Conversation, value: Any, locale: str = "en") -> Turn:
        """Record an answer to the current question and move on; raises InvalidAnswer."""
        self._check_flow(conversation)
        if conversation.finished:
            raise InvalidAnswer("already_finished")
        asked = self.prompt(conversation)
        question = asked.question
        before = conversation.current_answers()
        clean = self.normalize(question, value, before, locale)
        answers = {**conversation.answers, question.id: clean}
        after = {**before, question.id: clean}
        cursor = _Cursor(question.id, after)
        self._answer_event.trigger(cursor)
        path = (*conversation.path, question.id)
        moved = Conversation(
            conversation.flow_id, conversation.flow_version, cursor.state, answers, path
        )
        tips = self._new_tips(question.id, before, after)
        if moved.finished:
            return Finished(moved, recommend(self.flow, after), tips, asked)
        return Asking(moved, self.prompt(moved), tips, asked)

    def back(self, conversation: Conversation) -> Asking:
        """Return to the previous question; its earlier answer becomes the default."""
        self._check_flow(conversation)
        if not conversation.path:
            raise InvalidAnswer("nothing_to_go_back_to")
        moved = Conversation(
            conversation.flow_id,
            conversation.flow_version,
            conversation.path[-1],
            conversation.answers,
            conversation.path[:-1],
        )
        return Asking(moved, self.prompt(moved))

    def recommendation(self, conversation: Conversation) -> Recommendation:
        return recommend(self.flow, conversation.current_answers())

    def resume(self, conversation: Conversation) -> Turn:
        """What to show for a stored conversation; one from another flow version is migrated."""
        if conversation.flow_version != self.flow.version:
            conversation = self.migrate(conversation)
        if conversation.finished:
            return Finished(conversation, self.recommendation(conversation))
        return Asking(conversation, self.prompt(conversation))

    def migrate(self, conversation: Conversation) -> Conversation:
        """Replay a conversation's answers on this flow version, keeping those still valid.

        It stops at the first question with no valid answer, which is then asked again.
        """
        kept: dict[str, Any] = {}
        fresh = self.start().conversation
        current = fresh
        for question_id in conversation.path:
            if current.finished or question_id != current.state:
                break
            try:
                current = self.answer(current, conversation.answers[question_id]).conversation
            except (InvalidAnswer, KeyError):
                break
            kept[question_id] = current.answers[question_id]
        defaults = {
            q: v for q, v in conversation.answers.items() if q in self.flow.by_id and q not in kept
        }
        return Conversation(
            self.flow.id, self.flow.version, current.state, {**defaults, **kept}, current.path
        )

    def run(self, answers: Mapping[str, Any], locale: str = "en") -> tuple[Conversation, Finished]:
        """Walk the flow with a complete set of answers keyed by question id.

        Raises AnswersError naming every question whose answer is missing or invalid.
        """
        problems: dict[str, InvalidAnswer] = {}
        turn: Turn = self.start()
        conversation = turn.conversation
        while not conversation.finished:
            question_id = conversation.state
            if question_id not in answers and self.flow.by_id[question_id].optional:
                # an answers file from before this question existed: it stays unanswered
                conversation = self._skip(conversation)
                if conversation.finished:
                    turn = Finished(conversation, self.recommendation(conversation))
                continue
            if question_id not in answers:
                problems[question_id] = InvalidAnswer("missing_answer")
                break
            try:
                turn = self.answer(conversation, answers[question_id], locale)
            except InvalidAnswer as error:
                problems[question_id] = error
                break
            conversation = turn.conversation
        unknown = [q for q in answers if q not in self.flow.by_id]
        for question_id in unknown:
            problems[question_id] = InvalidAnswer("unknown_question")
        if problems or not isinstance(turn, Finished):
            raise AnswersError(problems)
        return conversation, turn

    def _skip(self, conversation: Conversation) -> Conversation:
        """Move past the current question without an answer (it is not on the path)."""
        cursor = _Cursor(conversation.state, conversation.current_answers())
        self._answer_event.trigger(cursor)
        return Conversation(
            conversation.flow_id,
            conversation.flow_version,
            cursor.state,
            conversation.answers,
            conversation.path,
        )

    # -- checking one answer --------------------------------------------------------------

    def normalize(
        self, question: Question, value: Any, answers: Mapping[str, Any], locale: str = "en"
    ) -> Any:
        """The canonical form of an answer (option id, tuple of ids, bool, number, text)."""
        kind = question.kind
        if kind == "single":
            valid = {o.id for o in self.flow.options_for(question, answers)}
            if isinstance(value, bool) and {"yes", "no"} <= valid:
                value = "yes" if value else "no"  # YAML reads a bare yes/no as true/false
            if not isinstance(value, str) or value not in valid:
                raise InvalidAnswer("unknown_option", value=str(value))
            return value
        if kind == "multiple":
            return self._normalize_multiple(question, value, answers)
        if kind == "yes_no":
            return _yes_no(value, question.dont_know)
        if kind == "number":
            return self._normalize_number(question, value, locale)
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise InvalidAnswer("empty_text")
        if len(text) > question.max_length:
            raise InvalidAnswer("text_too_long", limit=question.max_length)
        return text

    def _normalize_multiple(
        self, question: Question, value: Any, answers: Mapping[str, Any]
    ) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, Iterable):
            raise InvalidAnswer("unknown_option", value=str(value))
        chosen = set()
        options = self.flow.options_for(question, answers)
        valid = {o.id: o for o in options}
        for item in value:
            if not isinstance(item, str) or item not in valid:
                raise InvalidAnswer("unknown_option", value=str(item))
            chosen.add(item)
        if not chosen:
            raise InvalidAnswer("choose_at_least_one")
        exclusive = [o for o in chosen if valid[o].exclusive]
        if exclusive and len(chosen) > 1:
            raise InvalidAnswer("exclusive_option", option=exclusive[0])
        return tuple(o.id for o in options if o.id in chosen)

    def _normalize_number(self, question: Question, value: Any, locale: str) -> int | float:
        if isinstance(value, bool):
            raise InvalidAnswer("not_a_number", value=str(value))
        if isinstance(value, int | float):
            number: int | float | None = value
        else:
            number = parse_number(str(value), locale, whole=question.whole)
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise InvalidAnswer("not_a_number", value=str(value))
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if question.whole and not isinstance(number, int):
            raise InvalidAnswer("not_whole_number", value=str(value))
        if question.minimum is not None and number < question.minimum:
            raise InvalidAnswer("below_minimum", minimum=question.minimum)
        if question.maximum is not None and number > question.maximum:
            raise InvalidAnswer("above_maximum", maximum=question.maximum)
        return number

    # -- internals -----------------------------------------------------------------------

    def _check_flow(self, conversation: Conversation) -> None:
        if (conversation.flow_id, conversation.flow_version) != (self.flow.id, self.flow.version):
            raise InvalidAnswer("flow_changed")

    def _new_tips(
        self, question_id: str, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> tuple[RedFlag, ...]:
        """Tips for the flags this very answer raised (and that were not raised already)."""
        candidates = self._tips_by_question[question_id]
        if not candidates:
            return ()
        old, new = Context(before), Context(after)
        return tuple(f for f in candidates if f.when.holds(new) and not f.when.holds(old))


def toggle(options: Sequence[Option], chosen: Iterable[str], option_id: str) -> tuple[str, ...]:
    """Tick or untick one option of a multiple choice, in the options' order.

    An exclusive option ("none of these") clears the others, and ticking any other option
    clears it: the rule every front end follows, for a press or a typed list alike.
    """
    by_id = {o.id: o for o in options}
    if option_id not in by_id:
        raise InvalidAnswer("unknown_option", value=option_id)
    selected = set(chosen)
    if option_id in selected:
        selected.discard(option_id)
    elif by_id[option_id].exclusive:
        selected = {option_id}
    else:
        selected = {c for c in selected if not (c in by_id and by_id[c].exclusive)} | {option_id}
    return tuple(o.id for o in options if o.id in selected)


class AnswersError(ValueError):
    """A set of answers with problems, keyed by question id."""

    def __init__(self, problems: Mapping[str, InvalidAnswer]) -> None:
        super().__init__(", ".join(f"{q}: {e.code}" for q, e in problems.items()))
        self.problems = dict(problems)


def _shows(question: Question) -> Callable[[EventData], bool]:
    """The guard of a transition into `question`: its condition on the answers so far."""
    condition = question.when

    def guard(event: EventData) -> bool:
        cursor: _Cursor = event.model  # type: ignore[assignment]
        return condition.holds(Context(cursor.answers))

    guard.__name__ = f"shows_{question.id}"
    return guard


_YES = {"yes", "true", "y", "1"}
_NO = {"no", "false", "n", "0"}


_DONT_KNOW = {DONT_KNOW, "don't know", "dont know", "unknown", "?"}


_UNANSWERED = object()


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _yes_no(value: Any, dont_know: bool = False) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        if dont_know and word in _DONT_KNOW:
            return DONT_KNOW
    raise InvalidAnswer("not_yes_no_dont_know" if dont_know else "not_yes_no", value=str(value))
