"""The order of questions: which one may come after which."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..conditions import ALWAYS, Context
from .model import SUMMARY, Question

if TYPE_CHECKING:
    from .model import Flow


def next_id(question: Question, questions: tuple[Question, ...] | list[Question]) -> str:
    if question.next is not None:
        return question.next
    index = next(i for i, q in enumerate(questions) if q.id == question.id)
    return questions[index + 1].id if index + 1 < len(questions) else SUMMARY


def successors(
    question: Question,
    questions: tuple[Question, ...] | list[Question],
    by_id: Mapping[str, Question],
) -> list[str]:
    """The questions that may follow `question`, in order, ending with the summary.

    The first one whose condition holds is asked next; the summary always can be reached.
    """
    chain = []
    seen = {question.id}
    nxt = next_id(question, questions)
    while nxt != SUMMARY and nxt not in seen:
        chain.append(nxt)
        if by_id[nxt].when is ALWAYS:
            return chain  # always asked: nothing after it can come first
        seen.add(nxt)
        nxt = next_id(by_id[nxt], questions)
    return [*chain, SUMMARY]


def on_path(flow: Flow, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers that still count: those of questions asked on the way through the flow.

    Used to try another answer (what would change the verdict): a question no longer asked
    loses its answer, and one newly asked stays unanswered.
    """
    kept: dict[str, Any] = {}
    current = flow.questions[0]
    while True:
        if current.id in answers:
            value = answers[current.id]
            if current.options_from is None or _offered(current, value, kept):
                kept[current.id] = value
        context = Context(kept)
        following = next(
            q
            for q in flow.following[current.id]
            if q == SUMMARY or flow.by_id[q].when.holds(context)
        )
        if following == SUMMARY:
            return kept
        current = flow.by_id[following]


def _offered(question: Question, value: Any, answers: Mapping[str, Any]) -> bool:
    """Whether an answer to an `options_from` question is among the options chosen there."""
    chosen = answers.get(question.options_from or "") or ()
    values = (value,) if isinstance(value, str) else tuple(value)
    return all(v in chosen for v in values)
