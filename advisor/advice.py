"""From answers to a recommendation, by the rules in the flow file.

The `Recommendation` holds ids only (verdict, rules, flags, KPIs), never rendered text, so a
summary stored once can be shown later in any language and traced to its source articles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .conditions import Context
from .flow import SEVERITIES, Flow

SEVERITY_PENALTY = {"high": 50, "medium": 25, "low": 10}
# the Recommendation fields that are tuples of ids (lists in JSON)
ID_LISTS = ("reasons", "counterpoints", "kpis", "flags", "advice")


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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (a shallow copy: every field is already flat)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["scores"] = dict(self.scores)
        for name in ID_LISTS:
            data[name] = list(data[name])
        data["answers"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.answers.items()
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recommendation:
        values = {k: tuple(data.get(k) or ()) for k in ID_LISTS}
        answers = {k: tuple(v) if isinstance(v, list) else v for k, v in data["answers"].items()}
        return cls(
            verdict=data["verdict"],
            decided_by=data.get("decided_by", ""),
            scores=dict(data.get("scores") or {}),
            main_goal=data.get("main_goal"),
            expected_month=data.get("expected_month"),
            answers=answers,
            **values,
        )


def recommend(flow: Flow, answers: Mapping[str, Any]) -> Recommendation:
    """Apply the flow's rules to the answers of one finished conversation."""
    context = Context(answers)
    fired = [r for r in flow.reasons if r.when.holds(context)]
    scores: dict[str, float] = {}
    for reason in fired:
        scores[reason.supports] = scores.get(reason.supports, 0) + reason.weight
    scored = Context(answers, scores=scores)
    rule = next((r for r in flow.verdict_rules if r.when.holds(scored)), None)
    verdict = rule.verdict if rule else flow.default_verdict
    judged = Context(answers, verdict=verdict, scores=scores)
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}
    flags = sorted((f for f in flow.flags if f.when.holds(judged)), key=lambda f: rank[f.severity])
    main_goal = _main_goal(flow, answers)
    timeline_answer = answers.get(flow.timeline_question) if flow.timeline_question else None
    return Recommendation(
        verdict=verdict,
        decided_by=rule.id if rule else "default",
        scores=scores,
        reasons=tuple(r.id for r in fired if r.supports == verdict),
        counterpoints=tuple(r.id for r in fired if r.supports != verdict),
        main_goal=main_goal,
        kpis=flow.goal_kpis.get(main_goal, ()) if main_goal else (),
        flags=tuple(f.id for f in flags),
        advice=tuple(a.id for a in flow.advice if a.when.holds(judged)),
        expected_month=flow.timeline_months.get(timeline_answer),
        answers=dict(answers),
    )


def _main_goal(flow: Flow, answers: Mapping[str, Any]) -> str | None:
    if flow.main_goal_question and answers.get(flow.main_goal_question):
        return answers[flow.main_goal_question]
    goals = answers.get(flow.goal_question) if flow.goal_question else None
    if isinstance(goals, str):
        return goals
    if goals and len(goals) == 1:
        return goals[0]
    return None


def scorecard(flow: Flow, recommendation: Recommendation) -> dict[str, int]:
    """A 0-100 readiness score per area: every red flag in an area costs by its severity."""
    scores = dict.fromkeys(flow.areas, 100)
    flags = {f.id: f for f in flow.flags}
    for flag_id in recommendation.flags:
        flag = flags.get(flag_id)
        if flag is not None and flag.area in scores:
            scores[flag.area] = max(0, scores[flag.area] - SEVERITY_PENALTY[flag.severity])
    return scores
