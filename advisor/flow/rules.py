"""Reading the `advice:` part of a flow file: verdicts, reasons, rules, flags, the report.

It works through the loader's helpers (`field`, `condition`, `items`, `sources_of` ...), so
every problem lands in the same list, with file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..conditions import NEVER, Condition
from ..i18n import placeholders
from ..yamlfile import LineDict, line_of
from .model import (
    BUILT_IN_SECTIONS,
    SEVERITIES,
    VERDICTS,
    AdviceItem,
    Area,
    Kpi,
    Phase,
    Question,
    Reason,
    RedFlag,
    Section,
    Source,
    Timeline,
    Verdict,
    VerdictRule,
)


class Builder(Protocol):
    """What the loader lends this reader: its helpers, which collect every problem found."""

    def problem(self, line: int | None, message: str) -> None: ...
    def field(
        self, node: Any, key: str, kind: type | tuple[type, ...] = str, required: bool = True
    ) -> Any: ...
    def condition(self, node: Any, key: str = "when") -> Condition: ...
    def items(self, node: Any, key: str) -> list[LineDict]: ...
    def unique_ids(self, items: list[LineDict], what: str) -> list[LineDict]: ...
    def sources_of(self, node: LineDict, known: Mapping[str, Source]) -> tuple[Any, ...]: ...


__all__ = ["AdviceReader", "placeholders"]


class AdviceReader:
    """Builds the advice fields of a `Flow` from the parsed `advice:` mapping."""

    def __init__(
        self, builder: Builder, sources: Mapping[str, Source], by_id: Mapping[str, Question]
    ) -> None:
        self.b = builder
        self.sources = sources
        self.by_id = by_id

    def read(self, advice: LineDict) -> dict[str, Any]:
        verdicts = self.verdicts(advice)
        reasons = self.reasons(advice)
        report = self.sections(advice)
        areas = self.areas(advice)
        kpis = self.kpis(advice)
        goals = advice.get("goals") or LineDict()
        fields = {
            "verdicts": verdicts,
            "verdict_rules": self.verdict_rules(advice, verdicts),
            "reasons": reasons,
            "flags": self.flags(advice, areas, reasons),
            "advice": self.advice_items(advice, report, reasons),
            "report": report,
            "areas": areas,
            "kpis": kpis,
            "goal_question": goals.get("question"),
            "main_goal_question": goals.get("main_question"),
            "goal_kpis": self.goal_kpis(goals, kpis),
            "timelines": self.timelines(advice),
        }
        return fields

    def rule(self, node: LineDict) -> dict[str, Any]:
        """The fields every rule has: id, condition, cited articles and their anchors."""
        files, anchors = self.b.sources_of(node, self.sources)
        return {
            "id": node["id"],
            "when": self.b.condition(node),
            "sources": files,
            "anchors": anchors,
        }

    def verdicts(self, advice: LineDict) -> dict[str, Verdict]:
        node = advice.get("verdicts")
        verdicts: dict[str, Verdict] = {}
        if not isinstance(node, dict):
            self.b.problem(advice.line, "missing required field 'verdicts' in advice")
            return verdicts
        for verdict_id, info in node.items():
            if verdict_id not in VERDICTS:
                self.b.problem(line_of(node, verdict_id), f"unknown verdict '{verdict_id}'")
            drawn = info.get("reasons_from") if isinstance(info, dict) else None
            drawn = list(drawn) if isinstance(drawn, list) else [verdict_id]
            left = info.get("leaves_out") if isinstance(info, dict) else None
            left = list(left) if isinstance(left, list) else []
            for other in [*drawn, *left]:
                if other not in VERDICTS:
                    self.b.problem(info.line, f"unknown verdict '{other}' in '{verdict_id}'")
            verdicts[verdict_id] = Verdict(
                verdict_id,
                self.b.field(info, "title") or "",
                self.b.field(info, "text") or "",
                tuple(drawn),
                tuple(left),
            )
        return verdicts

    def reasons(self, advice: LineDict) -> list[Reason]:
        reasons = []
        for node in self.b.unique_ids(self.b.items(advice, "reasons"), "reason"):
            supports = self.b.field(node, "supports")
            if supports is not None and supports not in VERDICTS:
                self.b.problem(line_of(node, "supports"), f"unknown verdict '{supports}'")
            weight = self.b.field(node, "weight", (int, float), required=False)
            if weight is not None and (isinstance(weight, bool) or weight < 0):
                self.b.problem(line_of(node, "weight"), "a weight is a number of 0 or more")
            reasons.append(
                Reason(
                    **self.rule(node),
                    supports=supports or "",
                    weight=1 if weight is None else weight,
                    text=self.b.field(node, "text") or "",
                )
            )
        return reasons

    def verdict_rules(
        self, advice: LineDict, verdicts: Mapping[str, Verdict]
    ) -> tuple[VerdictRule, ...]:
        nodes = self.b.unique_ids(self.b.items(advice, "decide"), "verdict rule")
        if not nodes:
            self.b.problem(advice.line, "missing required field 'decide' in advice")
        rules = []
        for index, node in enumerate(nodes):
            verdict = self.b.field(node, "verdict")
            if verdict is not None and verdict not in verdicts:
                self.b.problem(line_of(node, "verdict"), f"unknown verdict '{verdict}'")
            last = index == len(nodes) - 1
            if last and "when" in node:
                self.b.problem(
                    line_of(node, "when"),
                    f"the last verdict rule '{node['id']}' takes what no other rule decides: "
                    "it has no 'when'",
                )
            elif not last and "when" not in node:
                self.b.problem(node.line, f"missing required field 'when' in '{node['id']}'")
            rules.append(
                VerdictRule(
                    **self.rule(node),
                    verdict=verdict or "",
                    text=self.b.field(node, "text") or "",
                    title=self.b.field(node, "title", required=False),
                    summary=self.b.field(node, "summary", required=False),
                )
            )
        return tuple(rules)

    def sections(self, advice: LineDict) -> tuple[Section, ...]:
        nodes = self.b.unique_ids(self.b.items(advice, "report"), "report section")
        if not nodes:
            self.b.problem(advice.line, "missing required field 'report' in advice")
        return tuple(
            Section(node["id"], self.b.field(node, "title") or "", self.b.condition(node))
            for node in nodes
        )

    def areas(self, advice: LineDict) -> tuple[Area, ...]:
        nodes = self.b.unique_ids(self.b.items(advice, "areas"), "area")
        return tuple(
            Area(node["id"], self.b.field(node, "title") or "", self.b.condition(node))
            for node in nodes
        )

    def flags(
        self, advice: LineDict, areas: tuple[Area, ...], reasons: list[Reason]
    ) -> list[RedFlag]:
        area_ids = {a.id for a in areas}
        flags = []
        for node in self.b.unique_ids(self.b.items(advice, "red_flags"), "red flag"):
            severity = self.b.field(node, "severity")
            if severity is not None and severity not in SEVERITIES:
                self.b.problem(line_of(node, "severity"), f"unknown severity '{severity}'")
            if "when" not in node:
                self.b.problem(node.line, f"missing required field 'when' in '{node['id']}'")
            area = self.b.field(node, "area") or ""
            if area and area not in area_ids:
                self.b.problem(line_of(node, "area"), f"unknown area '{area}' in '{node['id']}'")
            reason = self.reason_of(node, reasons)
            flag = RedFlag(
                **self.rule(node),
                severity=severity or "medium",
                area=area,
                title=self.b.field(node, "title") or "",
                why=self.b.field(node, "why") or "",
                instead=self.b.field(node, "instead") or "",
                tip=bool(node.get("tip")),
                reason=reason,
            )
            if flag.tip and flag.when.uses():
                self.b.problem(
                    node.line, f"red flag '{flag.id}' is a tip, so it may only look at answers"
                )
            flags.append(flag)
        return flags

    def reason_of(self, node: LineDict, reasons: list[Reason]) -> str | None:
        reason: str | None = self.b.field(node, "reason", required=False)
        if reason is not None and reason not in {r.id for r in reasons}:
            self.b.problem(line_of(node, "reason"), f"unknown reason '{reason}'")
        return reason

    def advice_items(
        self, advice: LineDict, report: tuple[Section, ...], reasons: list[Reason]
    ) -> list[AdviceItem]:
        own = {s.id for s in report if s.id not in BUILT_IN_SECTIONS}
        items = []
        for node in self.b.unique_ids(self.b.items(advice, "advice"), "advice"):
            section = self.b.field(node, "section")
            if section is not None and section not in own:
                known = ", ".join(sorted(own))
                self.b.problem(
                    line_of(node, "section"), f"unknown section '{section}' (known: {known})"
                )
            items.append(
                AdviceItem(
                    **self.rule(node),
                    section=section or "",
                    text=self.b.field(node, "text") or "",
                    reason=self.reason_of(node, reasons),
                )
            )
        return items

    def kpis(self, advice: LineDict) -> dict[str, Kpi]:
        return {
            node["id"]: Kpi(
                **self.rule(node),
                text=self.b.field(node, "text") or "",
                always="when" in node,
                unless=self.b.condition(node, "unless") if "unless" in node else NEVER,
            )
            for node in self.b.unique_ids(self.b.items(advice, "kpis"), "KPI")
        }

    def goal_kpis(self, goals: LineDict, kpis: Mapping[str, Kpi]) -> dict[str, tuple[str, ...]]:
        if not goals:
            return {}
        question = self.by_id.get(str(goals.get("question")))
        if question is None or question.kind not in ("single", "multiple"):
            self.b.problem(line_of(goals, "question"), "goals.question must be a choice question")
            return {}
        main = goals.get("main_question")
        if main is not None and main not in self.by_id:
            self.b.problem(line_of(goals, "main_question"), f"unknown question '{main}'")
        mapping = goals.get("kpis") or {}
        result = {}
        for goal, kpi_ids in mapping.items():
            if question.option(goal) is None:
                problem = f"unknown option '{goal}' of '{question.id}'"
                self.b.problem(line_of(mapping, goal), problem)
            for kpi in kpi_ids or ():
                if kpi not in kpis:
                    self.b.problem(line_of(mapping, goal), f"unknown KPI '{kpi}' for '{goal}'")
            result[goal] = tuple(kpi_ids or ())
        return result

    def timelines(self, advice: LineDict) -> tuple[Timeline, ...]:
        timelines = []
        for node in self.b.unique_ids(self.b.items(advice, "timelines"), "timeline"):
            phases = tuple(
                Phase(
                    p["id"],
                    self.b.field(p, "title") or "",
                    self.b.field(p, "text") or "",
                    self.months(p),
                )
                for p in self.b.unique_ids(self.b.items(node, "phases"), "timeline phase")
            )
            if not phases:
                self.b.problem(node.line, f"timeline '{node['id']}' needs phases")
            expected = node.get("expected") or LineDict()
            question, months, goals_met_by = self.expected(expected, phases)
            timelines.append(
                Timeline(
                    **self.rule(node),
                    phases=phases,
                    expected_question=question,
                    expected_months=months,
                    goals_met_by=goals_met_by,
                )
            )
        return tuple(timelines)

    def months(self, phase: LineDict) -> tuple[int, ...]:
        months = phase.get("months")
        if months is None:
            return ()
        if (
            not isinstance(months, list)
            or not 1 <= len(months) <= 2
            or not all(isinstance(m, int) and not isinstance(m, bool) for m in months)
        ):
            self.b.problem(line_of(phase, "months"), "months is [from, to] or [from]")
            return ()
        return tuple(months)

    def expected(
        self, node: LineDict, phases: tuple[Phase, ...]
    ) -> tuple[str | None, dict[str, int], str | None]:
        if not node:
            return None, {}, None
        question_id = node.get("question")
        question = self.by_id.get(str(question_id))
        months = node.get("months") or {}
        if question is None:
            self.b.problem(line_of(node, "question"), f"unknown question '{question_id}'")
        else:
            for option in months:
                if question.option(option) is None:
                    self.b.problem(line_of(months, option), f"unknown option '{option}'")
        goals_met_by = node.get("goals_met_by")
        phase = next((p for p in phases if p.id == goals_met_by), None)
        if goals_met_by is not None and (phase is None or len(phase.months) != 2):
            self.b.problem(
                line_of(node, "goals_met_by"), f"'{goals_met_by}' is not a phase with months"
            )
        return question_id, dict(months), goals_met_by
