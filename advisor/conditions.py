"""Conditions on answers, written as plain YAML mappings in the flow file.

A condition is a mapping whose entries must all hold:

    {situation: peaks}                        single choice is, multiple choice has, yes/no is
    {situation: [peaks, workload_growth]}     any of these
    {monthly_contacts: {below: 5000}}         operators: any_of, none_of, all_of, below,
                                              at_least, count_at_least, count_below, answered
    {all: [...]}, {any: [...]}, {not: {...}}  combinations
    {verdict: in_house}                       advice rules only: the verdict decided
    {score: {in_house: {at_least: 2}}}        verdict rules only: the summed weight of the
    {score: {in_house - outsource: {at_least: 2}}}   reasons for a verdict, or sums and
    {score: {outsource + overflow: {below: 2}}}      differences of those (at_least, below)

A question that was not answered (skipped, or not reached yet) never matches, except
`{q: {answered: false}}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

VALUE_OPERATORS = (
    "any_of",
    "none_of",
    "all_of",
    "below",
    "at_least",
    "count_at_least",
    "count_below",
    "answered",
)
NUMERIC_OPERATORS = ("below", "at_least", "count_at_least", "count_below")
_MEMBERSHIP = frozenset(("is", "any_of", "none_of"))
SCORE_OPERATORS = ("at_least", "below")
_SCORE_TERM = re.compile(r"\s*([+-])?\s*([a-z_][a-z0-9_]*)\s*")


class ConditionError(ValueError):
    """A condition that cannot be understood; `line` points into the flow file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Reference:
    """A question (and option ids) a condition mentions, for validation."""

    question: str
    options: tuple[Any, ...]
    operator: str
    line: int | None
    argument: Any = None


@dataclass(frozen=True)
class Context:
    """What a condition can look at: the answers, and for advice rules the verdict and scores."""

    answers: Mapping[str, Any]
    verdict: str | None = None
    scores: Mapping[str, float] | None = None


class Condition:
    """Base class: `holds(context)` and the references for validation."""

    line: int | None = None

    def holds(self, context: Context) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def references(self) -> Iterator[Reference]:
        return iter(())

    def uses(self) -> set[str]:
        """Special names (`verdict`, `score`) used anywhere inside."""
        return set()


class Always(Condition):
    def holds(self, context: Context) -> bool:
        return True


ALWAYS = Always()


class Never(Condition):
    def holds(self, context: Context) -> bool:
        return False


NEVER = Never()


@dataclass
class AllOf(Condition):
    parts: tuple[Condition, ...]
    line: int | None = None

    def holds(self, context: Context) -> bool:
        return all(part.holds(context) for part in self.parts)

    def references(self) -> Iterator[Reference]:
        for part in self.parts:
            yield from part.references()

    def uses(self) -> set[str]:
        return set().union(*(part.uses() for part in self.parts))


@dataclass
class AnyOf(AllOf):
    def holds(self, context: Context) -> bool:
        return any(part.holds(context) for part in self.parts)


@dataclass
class Not(Condition):
    part: Condition
    line: int | None = None

    def holds(self, context: Context) -> bool:
        return not self.part.holds(context)

    def references(self) -> Iterator[Reference]:
        return self.part.references()

    def uses(self) -> set[str]:
        return self.part.uses()


def _as_set(value: Any) -> frozenset[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(value)
    return frozenset((value,))


@dataclass
class AnswerTest(Condition):
    """One operator applied to one question's answer."""

    question: str
    operator: str
    argument: Any
    line: int | None = None

    def holds(self, context: Context) -> bool:
        value = context.answers.get(self.question)
        if self.operator == "answered":
            return (value is not None) == bool(self.argument)
        if value is None:
            return False
        if self.operator in _MEMBERSHIP and not isinstance(value, list | tuple | set | frozenset):
            # one chosen option: the common case, without building a set
            hit = value == self.argument if self.operator == "is" else value in self.argument
            return hit if self.operator != "none_of" else not hit
        chosen = _as_set(value)
        match self.operator:
            case "is":
                return self.argument in chosen
            case "any_of":
                return not chosen.isdisjoint(self.argument)
            case "none_of":
                return chosen.isdisjoint(self.argument)
            case "all_of":
                return chosen >= frozenset(self.argument)
            case "below":
                return bool(_number(value) < self.argument)
            case "at_least":
                return bool(_number(value) >= self.argument)
            case "count_at_least":
                return bool(len(chosen) >= self.argument)
            case "count_below":
                return bool(len(chosen) < self.argument)
        raise AssertionError(self.operator)  # compile() admits no other operator

    def references(self) -> Iterator[Reference]:
        options: tuple[Any, ...] = ()
        if self.operator == "is":
            options = (self.argument,)
        elif self.operator in ("any_of", "none_of", "all_of"):
            options = tuple(self.argument)
        yield Reference(self.question, options, self.operator, self.line, self.argument)


def _number(value: Any) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


@dataclass
class VerdictTest(Condition):
    verdicts: frozenset[str]
    line: int | None = None

    def holds(self, context: Context) -> bool:
        return context.verdict in self.verdicts

    def uses(self) -> set[str]:
        return {"verdict"}


@dataclass
class ScoreTest(Condition):
    """A sum of verdict scores (`in_house - outsource - overflow`) against a bound."""

    terms: tuple[tuple[int, str], ...]
    at_least: float | None
    below: float | None
    line: int | None = None

    def holds(self, context: Context) -> bool:
        scores = context.scores or {}
        total = sum(sign * scores.get(verdict, 0) for sign, verdict in self.terms)
        if self.at_least is not None and total < self.at_least:
            return False
        return self.below is None or total < self.below

    def uses(self) -> set[str]:
        return {"score"}

    def verdicts(self) -> set[str]:
        return {verdict for _, verdict in self.terms}


def walk(condition: Condition) -> Iterator[Condition]:
    """The condition and every condition inside it."""
    yield condition
    if isinstance(condition, AllOf):
        for part in condition.parts:
            yield from walk(part)
    elif isinstance(condition, Not):
        yield from walk(condition.part)


def score_verdicts(condition: Condition) -> set[str]:
    """The verdicts whose scores a condition reads."""
    return {v for c in walk(condition) if isinstance(c, ScoreTest) for v in c.verdicts()}


def _line(node: Any) -> int | None:
    return getattr(node, "line", None)


def compile_condition(node: Any, line: int | None = None) -> Condition:
    """Turn the YAML form of a condition into a `Condition`, or raise ConditionError."""
    line = _line(node) or line
    if node is None:
        return ALWAYS
    if isinstance(node, list):
        return AllOf(tuple(compile_condition(item, line) for item in node), line)
    if not isinstance(node, Mapping) or not node:
        raise ConditionError(f"a condition must be a non-empty mapping, not {node!r}", line)
    parts = [_compile_entry(key, value, line) for key, value in node.items()]
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts), line)


def _compile_entry(key: str, value: Any, line: int | None) -> Condition:
    line = _line(value) or line
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"'{key}' takes a non-empty list of conditions", line)
        parts = tuple(compile_condition(item, line) for item in value)
        return AllOf(parts, line) if key == "all" else AnyOf(parts, line)
    if key == "not":
        return Not(compile_condition(value, line), line)
    if key == "verdict":
        return VerdictTest(_as_set(value), line)
    if key == "score":
        return _compile_score(value, line)
    if not isinstance(value, Mapping):
        if isinstance(value, list):
            return AnswerTest(key, "any_of", frozenset(value), line)
        return AnswerTest(key, "is", value, line)
    tests = []
    for operator, argument in value.items():
        if operator not in VALUE_OPERATORS:
            known = ", ".join(VALUE_OPERATORS)
            raise ConditionError(f"unknown operator '{operator}' on '{key}' (known: {known})", line)
        if operator in NUMERIC_OPERATORS and not _is_number(argument):
            raise ConditionError(f"'{operator}' on '{key}' needs a number, not {argument!r}", line)
        if operator in ("any_of", "none_of", "all_of"):
            argument = _as_set(argument)
        tests.append(AnswerTest(key, operator, argument, line))
    if not tests:
        raise ConditionError(f"no operator given for '{key}'", line)
    return tests[0] if len(tests) == 1 else AllOf(tuple(tests), line)


def _compile_score(value: Any, line: int | None) -> Condition:
    if not isinstance(value, Mapping) or not value:
        raise ConditionError("'score' takes {verdict: {at_least: N}} or {a - b: {below: N}}", line)
    tests = []
    for expression, spec in value.items():
        terms = _score_terms(str(expression), line)
        if not isinstance(spec, Mapping) or not spec or not set(spec) <= set(SCORE_OPERATORS):
            raise ConditionError(f"score '{expression}' takes at_least and/or below", line)
        for bound in spec.values():
            if not _is_number(bound):
                raise ConditionError(f"score '{expression}' needs numbers, not {bound!r}", line)
        tests.append(ScoreTest(terms, spec.get("at_least"), spec.get("below"), line))
    return tests[0] if len(tests) == 1 else AllOf(tuple(tests), line)


def _score_terms(expression: str, line: int | None) -> tuple[tuple[int, str], ...]:
    """`in_house - outsource + overflow` as ((1, in_house), (-1, outsource), (1, overflow))."""
    terms: list[tuple[int, str]] = []
    position = 0
    while position < len(expression):
        match = _SCORE_TERM.match(expression, position)
        if match is None or (match.group(1) is None and terms):
            raise ConditionError(f"cannot read the score '{expression}' (use a + b - c)", line)
        terms.append((-1 if match.group(1) == "-" else 1, match.group(2)))
        position = match.end()
    if not terms:
        raise ConditionError("an empty score", line)
    return tuple(terms)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
