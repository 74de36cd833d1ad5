"""The order of questions: which one may come after which."""

from __future__ import annotations

from collections.abc import Mapping

from ..conditions import ALWAYS
from .model import SUMMARY, Question


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
