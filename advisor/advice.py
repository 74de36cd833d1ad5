"""From answers to a recommendation, by the rules in the flow file.

The `Recommendation` holds ids only (verdict, rules, flags, KPIs), never rendered text, so a
summary stored once can be shown later in any language and traced to its source articles.
It also says what single change of an answer would move the verdict, found by trying each
alternative answer: a consultant's first question is "and what if we had an owner?".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .conditions import Context
from .flow import DONT_KNOW, SEVERITIES, Flow, Question, Reason, VerdictRule
from .flow.graph import on_path

SEVERITY_PENALTY = {"high": 50, "medium": 25, "low": 10}
# the Recommendation fields that are tuples of ids (lists in JSON)
ID_LISTS = ("reasons", "counterpoints", "kpis", "flags", "advice")


@dataclass(frozen=True)
class Change:
    """One answer, changed, that would give another verdict.

    `kind` says how: `set` (a single choice or yes/no; `values` are the answers that give
    this verdict), `add` or `remove` (one option of a multiple choice), `at_least` or
    `below` (a number; `values` holds the threshold).
    """

    question: str
    kind: str
    values: tuple[Any, ...]
    verdict: str
    decided_by: str
    shift: float = 0  # how far the scores move: the larger, the more decisive

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "change": self.kind,
            "values": list(self.values),
            "verdict": self.verdict,
            "decided_by": self.decided_by,
            "shift": self.shift,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            data["question"],
            data["change"],
            tuple(data["values"]),
            data["verdict"],
            data.get("decided_by", ""),
            data.get("shift", 0),
        )


@dataclass(frozen=True)
class Recommendation:
    verdict: str
    decided_by: str
    scores: Mapping[str, float]
    reasons: tuple[str, ...]
    counterpoints: tuple[str, ...]
    main_goal: str | None
    kpis: tuple[str, ...]
    flags: tuple[str, ...]
    advice: tuple[str, ...]
    expected_month: int | None
    answers: Mapping[str, Any] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    timeline: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["scores"] = dict(self.scores)
        for name in ID_LISTS:
            data[name] = list(data[name])
        data["changes"] = [c.to_dict() for c in self.changes]
        data["answers"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.answers.items()
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recommendation:
        """A stored recommendation; those stored before a field existed get its default."""
        values = {k: tuple(data.get(k) or ()) for k in ID_LISTS}
        answers = {k: tuple(v) if isinstance(v, list) else v for k, v in data["answers"].items()}
        return cls(
            verdict=data["verdict"],
            decided_by=data.get("decided_by", ""),
            scores=dict(data.get("scores") or {}),
            main_goal=data.get("main_goal"),
            expected_month=data.get("expected_month"),
            answers=answers,
            changes=tuple(Change.from_dict(c) for c in data.get("changes") or ()),
            timeline=data.get("timeline"),
            **values,
        )


@dataclass(frozen=True)
class _Decision:
    rule: VerdictRule
    scores: dict[str, float]
    fired: tuple[Reason, ...]


def _decide(flow: Flow, answers: Mapping[str, Any]) -> _Decision:
    """The verdict rule that decides, with the scores and the reasons that hold."""
    context = Context(answers)
    fired = tuple(r for r in flow.reasons if r.when.holds(context))
    scores: dict[str, float] = {}
    for reason in fired:
        scores[reason.supports] = scores.get(reason.supports, 0) + reason.weight
    scored = Context(answers, scores=scores)
    # the loader makes sure the last rule has no condition, so one always decides
    rule = next(r for r in flow.verdict_rules if r.when.holds(scored))
    return _Decision(rule, scores, fired)


def recommend(flow: Flow, answers: Mapping[str, Any]) -> Recommendation:
    """Apply the flow's rules to the answers of one finished conversation."""
    decision = _decide(flow, answers)
    verdict = decision.rule.verdict
    drawn = set(flow.verdicts[verdict].reasons_from)
    ignored = set(flow.verdicts[verdict].leaves_out)
    judged = Context(answers, verdict=verdict, scores=decision.scores)
    sections = {s.id for s in flow.report if s.when.holds(judged)}
    areas = {a.id for a in flow.areas if a.when.holds(judged)}
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}
    flags = sorted(
        (f for f in flow.flags if f.area in areas and f.when.holds(judged)),
        key=lambda f: rank[f.severity],
    )
    # a flag that makes the same point as a reason listed as also weighed replaces it there
    restated = {f.reason for f in flags if f.reason}
    main_goal = _main_goal(flow, answers)
    kpis: tuple[str, ...] = ()
    if "kpis" in sections:
        goal_kpis = flow.goal_kpis.get(main_goal, ()) if main_goal else ()
        extra = (k.id for k in flow.kpis.values() if k.always and k.when.holds(judged))
        kpis = tuple(
            k for k in dict.fromkeys((*goal_kpis, *extra)) if not flow.kpis[k].unless.holds(judged)
        )
    timeline = next((tl for tl in flow.timelines if tl.when.holds(judged)), None)
    if "timeline" not in sections:
        timeline = None
    expected = None
    if timeline is not None and timeline.expected_question:
        expected = timeline.expected_months.get(str(answers.get(timeline.expected_question)))
    reasons = [r for r in decision.fired if r.supports in drawn]
    return Recommendation(
        verdict=verdict,
        decided_by=decision.rule.id,
        scores=decision.scores,
        reasons=tuple(r.id for r in reasons),
        counterpoints=tuple(
            r.id
            for r in decision.fired
            if r.supports not in drawn | ignored and r.id not in restated
        ),
        main_goal=main_goal,
        kpis=kpis,
        flags=tuple(f.id for f in flags),
        advice=_advice(flow, sections, judged, {r.id for r in reasons}),
        expected_month=expected,
        answers=dict(answers),
        changes=what_would_change(flow, answers, decision),
        timeline=timeline.id if timeline else None,
    )


def _advice(flow: Flow, sections: set[str], judged: Context, reasons: set[str]) -> tuple[str, ...]:
    """The advice that holds, in the flow's order, except that an item answering a reason
    given under "Why" comes first: what decided the verdict is what to do first."""
    items = [a for a in flow.advice if a.section in sections and a.when.holds(judged)]
    items.sort(key=lambda a: a.reason not in reasons)  # a stable sort keeps the flow's order
    return tuple(a.id for a in items)


def _main_goal(flow: Flow, answers: Mapping[str, Any]) -> str | None:
    main = answers.get(flow.main_goal_question) if flow.main_goal_question else None
    if isinstance(main, str):
        return main
    goals = answers.get(flow.goal_question) if flow.goal_question else None
    if isinstance(goals, str):
        return goals
    if goals and len(goals) == 1:
        return str(goals[0])
    return None


# -- what would change the verdict -------------------------------------------------------------


def what_would_change(
    flow: Flow, answers: Mapping[str, Any], decision: _Decision | None = None
) -> tuple[Change, ...]:
    """Every single change of one answer that gives another verdict, most decisive first.

    Each alternative answer is tried in turn on a copy of the answers; a question the change
    no longer asks loses its answer, and one it newly asks stays unanswered.
    """
    decision = decision or _decide(flow, answers)
    verdict = decision.rule.verdict
    decisive = _decisive_questions(flow)
    # only a change to these can change which questions are asked
    steering = {r.question for q in flow.questions for r in q.when.references()}
    steering |= {q.options_from for q in flow.questions if q.options_from}
    found: dict[tuple[str, str, str, Any], Change] = {}
    order = {q.id: i for i, q in enumerate(flow.questions)}
    for question_id, value in answers.items():
        question = flow.by_id.get(question_id)
        if question is None or question_id not in decisive:
            continue
        for kind, key, alternative in _alternatives(flow, question, value, answers):
            tried = {**answers, question_id: alternative}
            if question_id in steering:
                tried = on_path(flow, tried)
            other = _decide(flow, tried)
            if other.rule.verdict == verdict:
                continue
            shift = sum(
                abs(other.scores.get(v, 0) - decision.scores.get(v, 0))
                for v in {*other.scores, *decision.scores}
            )
            # one line per question, kind and deciding rule (whose title the line shows); a
            # number names its nearest threshold (thresholds come smallest first: keep the
            # first `at_least` and the last `below`)
            numeric = kind in ("at_least", "below")
            group = (
                question_id,
                kind,
                other.rule.id,
                None if kind == "set" or numeric else key,
            )
            earlier = found.get(group)
            if earlier and kind == "at_least":
                continue
            values = (*earlier.values, key) if earlier and kind == "set" else (key,)
            found[group] = Change(
                question_id,
                kind,
                values,
                other.rule.verdict,
                other.rule.id,
                max(shift, earlier.shift if earlier else 0),
            )
    # the manager's own choices first (an owner, the contract ...), then facts of the company
    return tuple(
        sorted(
            found.values(),
            key=lambda c: (not flow.by_id[c.question].lever, -c.shift, order[c.question]),
        )
    )


def _decisive_questions(flow: Flow) -> set[str]:
    """Questions a verdict can depend on: those the reasons and verdict rules look at, and
    those that decide whether such a question is asked at all."""
    wanted = {
        ref.question
        for rule in (*flow.reasons, *flow.verdict_rules)
        if not isinstance(rule, Reason) or rule.weight
        for ref in rule.when.references()
    }
    for question in reversed(flow.questions):
        if question.id in wanted:
            wanted.update(ref.question for ref in question.when.references())
            if question.options_from:
                wanted.add(question.options_from)
    return wanted


def _alternatives(
    flow: Flow, question: Question, value: Any, answers: Mapping[str, Any]
) -> Iterator[tuple[str, Any, Any]]:
    """(kind, what changes, the new answer) for each single change of one answer."""
    if question.kind == "single":
        for option in flow.options_for(question, answers):
            if option.id != value:
                yield "set", option.id, option.id
    elif question.kind == "yes_no":
        for other in (True, False, *((DONT_KNOW,) if question.dont_know else ())):
            if other != value:
                yield "set", other, other
    elif question.kind == "multiple":
        options = flow.options_for(question, answers)
        chosen = set((value,) if isinstance(value, str) else value)
        exclusive = {o.id for o in options if o.exclusive}
        for option in options:
            if option.id in chosen:
                new = chosen - {option.id}
                kind = "remove"
            elif option.exclusive:  # "none of these" replaces the others
                new, kind = {option.id}, "set"
            else:
                new, kind = (chosen - exclusive) | {option.id}, "add"
            if new:
                yield kind, option.id, tuple(o.id for o in options if o.id in new)
    elif question.kind == "number" and isinstance(value, int | float):
        for threshold in _thresholds(flow, question.id):
            if value < threshold:
                yield "at_least", threshold, threshold
            else:
                below = (
                    threshold - 1
                    if isinstance(threshold, int)
                    else math.nextafter(threshold, -math.inf)
                )
                yield "below", threshold, below


def _thresholds(flow: Flow, question_id: str) -> list[float]:
    found = {
        ref.argument
        for rule in (*flow.reasons, *flow.verdict_rules)
        for ref in rule.when.references()
        if ref.question == question_id and ref.operator in ("below", "at_least")
    }
    return sorted(found)


# -- the scorecard -----------------------------------------------------------------------------


def scorecard(flow: Flow, recommendation: Recommendation) -> dict[str, int]:
    """A 0-100 readiness score per area that applies: each red flag in it costs by severity.

    Areas that do not apply to this verdict or stage (a provider's security for someone who
    keeps customer service in-house) are left out rather than shown as a perfect 100.
    """
    judged = Context(
        recommendation.answers, verdict=recommendation.verdict, scores=recommendation.scores
    )
    scores = {a.id: 100 for a in flow.areas if a.when.holds(judged)}
    flags = {f.id: f for f in flow.flags}
    for flag_id in recommendation.flags:
        flag = flags.get(flag_id)
        if flag is not None and flag.area in scores:
            scores[flag.area] = max(0, scores[flag.area] - SEVERITY_PENALTY[flag.severity])
    return scores
