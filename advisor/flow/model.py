"""The flow as data: questions, options and the advice rules, as frozen values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..conditions import ALWAYS, Condition

KINDS = ("single", "multiple", "yes_no", "number", "text")
VERDICTS = ("outsource", "overflow", "in_house", "prepare_first")
SEVERITIES = ("high", "medium", "low")
SUMMARY = "summary"
DEFAULT_TEXT_LIMIT = 1000


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    exclusive: bool = False


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    text: str
    options: tuple[Option, ...] = ()
    help: str | None = None
    when: Condition = ALWAYS
    next: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = DEFAULT_TEXT_LIMIT
    options_from: str | None = None
    line: int | None = None

    @property
    def multiple(self) -> bool:
        return self.kind == "multiple"

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Source:
    file: str
    language: str
    title: str


@dataclass(frozen=True)
class Rule:
    """Anything the advice says when its condition holds; `sources` name the articles."""

    id: str
    when: Condition
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Reason(Rule):
    supports: str = ""
    weight: float = 1
    text: str = ""


@dataclass(frozen=True)
class VerdictRule(Rule):
    verdict: str = ""


@dataclass(frozen=True)
class RedFlag(Rule):
    severity: str = "medium"
    area: str = ""
    title: str = ""
    why: str = ""
    instead: str = ""
    tip: bool = False


@dataclass(frozen=True)
class AdviceItem(Rule):
    section: str = ""
    text: str = ""


@dataclass(frozen=True)
class Verdict:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Kpi:
    id: str
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    text: str
    until_month: int | None


@dataclass(frozen=True)
class Flow:
    id: str
    version: str
    path: str
    title: str
    intro: str
    questions: tuple[Question, ...]
    sources: Mapping[str, Source]
    verdicts: Mapping[str, Verdict]
    verdict_rules: tuple[VerdictRule, ...]
    default_verdict: str
    reasons: tuple[Reason, ...]
    flags: tuple[RedFlag, ...]
    advice: tuple[AdviceItem, ...]
    sections: Mapping[str, str]
    areas: Mapping[str, str]
    kpis: Mapping[str, Kpi]
    goal_question: str | None
    main_goal_question: str | None
    goal_kpis: Mapping[str, tuple[str, ...]]
    timeline: tuple[Phase, ...]
    timeline_question: str | None
    timeline_months: Mapping[str, int]
    timeline_sources: tuple[str, ...] = ()
    by_id: Mapping[str, Question] = field(repr=False, default_factory=dict)

    def question(self, question_id: str) -> Question:
        return self.by_id[question_id]

    def options_for(self, question: Question, answers: Mapping[str, Any]) -> tuple[Option, ...]:
        """The options shown now: for `options_from`, the ones chosen in that question."""
        if question.options_from is None:
            return question.options
        source = self.by_id[question.options_from]
        chosen = answers.get(source.id) or ()
        return tuple(o for o in source.options if o.id in chosen and not o.exclusive)

    def texts(self) -> Iterator[tuple[str, int | None, str]]:
        """Every user-visible text in the flow, with its line and a note for translators."""
        yield self.title, None, "flow title"
        yield self.intro, None, "flow introduction"
        for q in self.questions:
            yield q.text, q.line, f"question {q.id}"
            if q.help:
                yield q.help, q.line, f"help for question {q.id}"
            for o in q.options:
                yield o.text, q.line, f"option {o.id} of question {q.id}"
        for v in self.verdicts.values():
            yield v.title, None, f"verdict {v.id}"
            yield v.text, None, f"explanation of verdict {v.id}"
        for r in self.reasons:
            yield r.text, None, f"reason {r.id}"
        for f in self.flags:
            yield f.title, None, f"red flag {f.id}: title"
            yield f.why, None, f"red flag {f.id}: why it is risky"
            yield f.instead, None, f"red flag {f.id}: what to do instead"
        for a in self.advice:
            yield a.text, None, f"advice {a.id} ({a.section})"
        for key, title in self.sections.items():
            yield title, None, f"section {key}"
        for key, title in self.areas.items():
            yield title, None, f"scorecard area {key}"
        for k in self.kpis.values():
            yield k.text, None, f"KPI {k.id}"
        for p in self.timeline:
            yield p.title, None, f"timeline phase {p.id}: title"
            yield p.text, None, f"timeline phase {p.id}"
        for s in self.sources.values():
            yield s.title, None, f"title of source article {s.file}"
