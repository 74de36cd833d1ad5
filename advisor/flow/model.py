"""The flow as data: questions, options and the advice rules, as frozen values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..conditions import ALWAYS, NEVER, Condition
from ..i18n import N_

KINDS = ("single", "multiple", "yes_no", "number", "text")
VERDICTS = ("outsource", "overflow", "partial", "in_house", "prepare_first")
SEVERITIES = ("high", "medium", "low")
SUMMARY = "summary"
DONT_KNOW = "dont_know"  # the third answer of a yes/no question with `dont_know: true`
DEFAULT_TEXT_LIMIT = 1000
# report sections the advisor fills itself; any other section lists advice items
BUILT_IN_SECTIONS = ("reasons", "changes", "counterpoints", "kpis", "flags", "timeline", "answers")


BUTTON_LIMIT = 32  # characters of a button that a phone shows whole, in every language


@dataclass(frozen=True)
class Option:
    id: str
    text: str
    exclusive: bool = False
    label: str | None = None  # the short text on its button, where the text is too long

    @property
    def button(self) -> str:
        return self.label or self.text


YES = Option("yes", N_("Yes"))
NO = Option("no", N_("No"))
UNSURE = Option(DONT_KNOW, N_("I don't know"))
YES_NO_VALUES = {YES.id: True, NO.id: False, UNSURE.id: DONT_KNOW}  # option id -> the answer


def yes_no_option(value: Any) -> str | None:
    """The option id of a yes/no answer (True, False or DONT_KNOW)."""
    if value is True or value is False:
        return YES.id if value else NO.id
    return UNSURE.id if value == DONT_KNOW else None


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
    topic: str | None = None
    optional: bool = False
    dont_know: bool = False
    lever: bool = True  # a choice the manager makes, not a fact about the company
    what_if: bool = True  # listed in the report's "what would change the verdict"
    whole: bool = False  # a number question that takes whole numbers only (a count)
    line: int | None = None

    @property
    def multiple(self) -> bool:
        return self.kind == "multiple"

    @property
    def short(self) -> str:
        """The question in a few words (its topic), or the whole question."""
        return self.topic or self.text

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Source:
    file: str
    language: str
    title: str


@dataclass(frozen=True)
class Rule:
    """Anything the advice says when its condition holds.

    `sources` name the articles; `anchors` hold, per article, the phrase it is cited for.
    """

    id: str
    when: Condition
    sources: tuple[str, ...]
    anchors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason(Rule):
    supports: str = ""
    weight: float = 1
    text: str = ""


@dataclass(frozen=True)
class VerdictRule(Rule):
    verdict: str = ""
    text: str = ""  # why this rule decides: the first line under "Why"
    title: str | None = None  # the verdict's title and summary for this case, if its own
    summary: str | None = None


@dataclass(frozen=True)
class RedFlag(Rule):
    severity: str = "medium"
    area: str = ""
    title: str = ""
    why: str = ""
    instead: str = ""
    tip: bool = False
    reason: str | None = None  # the reason that makes the same point, if any


@dataclass(frozen=True)
class AdviceItem(Rule):
    section: str = ""
    text: str = ""
    reason: str | None = None  # the reason this step answers: listed first when it holds


@dataclass(frozen=True)
class Kpi(Rule):
    text: str = ""
    always: bool = False  # listed whenever its condition holds, whatever the main goal
    unless: Condition = field(default_factory=lambda: NEVER)  # left out when this holds


@dataclass(frozen=True)
class Verdict:
    id: str
    title: str
    text: str
    reasons_from: tuple[str, ...]
    leaves_out: tuple[str, ...] = ()  # reasons for these verdicts are not even weighed


@dataclass(frozen=True)
class Section:
    """A part of the report; `when` may look at the verdict and the answers."""

    id: str
    title: str
    when: Condition = ALWAYS


@dataclass(frozen=True)
class Area:
    """A scorecard area: the red flags in it count only while `when` holds."""

    id: str
    title: str
    when: Condition = ALWAYS


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    text: str
    months: tuple[int, ...] = ()  # (from, to), or (from,) for the open-ended last phase


@dataclass(frozen=True)
class Timeline(Rule):
    """What happens after the partner starts; `expected` compares the user's expectation."""

    phases: tuple[Phase, ...] = ()
    expected_question: str | None = None
    expected_months: Mapping[str, int] = field(default_factory=dict)
    goals_met_by: str | None = None  # the phase at whose end goals are usually met


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
    reasons: tuple[Reason, ...]
    flags: tuple[RedFlag, ...]
    advice: tuple[AdviceItem, ...]
    report: tuple[Section, ...]
    areas: tuple[Area, ...]
    kpis: Mapping[str, Kpi]
    goal_question: str | None
    main_goal_question: str | None
    goal_kpis: Mapping[str, tuple[str, ...]]
    timelines: tuple[Timeline, ...]
    by_id: Mapping[str, Question] = field(repr=False, default_factory=dict)
    # for each question, the ones that may come next, in order, ending with the summary
    following: Mapping[str, tuple[str, ...]] = field(repr=False, default_factory=dict)

    def options_for(self, question: Question, answers: Mapping[str, Any]) -> tuple[Option, ...]:
        """The options shown now: for `options_from`, the ones chosen in that question; a
        yes/no question has Yes, No and maybe I don't know, numbered like any other."""
        if question.kind == "yes_no":
            return (YES, NO, UNSURE) if question.dont_know else (YES, NO)
        if question.options_from is None:
            return question.options
        source = self.by_id[question.options_from]
        chosen = answers.get(source.id) or ()
        return tuple(o for o in source.options if o.id in chosen and not o.exclusive)

    def rules(self) -> Iterator[tuple[str, Rule]]:
        """Every rule with what kind it is, for validation and the citation checks."""
        yield from (("reason", r) for r in self.reasons)
        yield from (("verdict rule", r) for r in self.verdict_rules)
        yield from (("red flag", r) for r in self.flags)
        yield from (("advice", r) for r in self.advice)
        yield from (("KPI", k) for k in self.kpis.values())
        yield from (("timeline", t) for t in self.timelines)

    def texts(self) -> Iterator[tuple[str, int | None, str]]:
        """Every user-visible text in the flow, with its line and a note for translators."""
        yield self.title, None, "flow title"
        yield self.intro, None, "flow introduction"
        for q in self.questions:
            yield q.text, q.line, f"question {q.id}"
            if q.topic:
                yield q.topic, q.line, f"question {q.id} in a few words"
            if q.help:
                yield q.help, q.line, f"help for question {q.id}"
            for o in q.options:
                yield o.text, q.line, f"option {o.id} of question {q.id}"
                if o.label:
                    limit = f"{BUTTON_LIMIT} characters at most"
                    yield o.label, q.line, f"button of option {o.id} of {q.id}: {limit}"
        for v in self.verdicts.values():
            yield v.title, None, f"verdict {v.id}"
            yield v.text, None, f"explanation of verdict {v.id}"
        for rule in self.verdict_rules:
            yield rule.text, None, f"verdict rule {rule.id}"
            if rule.title:
                yield rule.title, None, f"verdict title when rule {rule.id} decides"
            if rule.summary:
                yield rule.summary, None, f"verdict summary when rule {rule.id} decides"
        for r in self.reasons:
            yield r.text, None, f"reason {r.id}"
        for f in self.flags:
            yield f.title, None, f"red flag {f.id}: title"
            yield f.why, None, f"red flag {f.id}: why it is risky"
            yield f.instead, None, f"red flag {f.id}: what to do instead"
        for a in self.advice:
            yield a.text, None, f"advice {a.id} ({a.section})"
        for section in self.report:
            yield section.title, None, f"report section {section.id}"
        for area in self.areas:
            yield area.title, None, f"scorecard area {area.id}"
        for k in self.kpis.values():
            yield k.text, None, f"KPI {k.id}"
        for timeline in self.timelines:
            for p in timeline.phases:
                yield p.title, None, f"timeline {timeline.id}, phase {p.id}: title"
                yield p.text, None, f"timeline {timeline.id}, phase {p.id}"
        for s in self.sources.values():
            yield s.title, None, f"title of source article {s.file}"
