"""Reading a flow file: the YAML loaded, checked and turned into a `Flow`.

The file is read once; every problem found is reported as `file:line: problem`, and a flow
with any problem is refused whole, so a running bot never works on a half-valid flow.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..conditions import ALWAYS, Condition, ConditionError, compile_condition
from ..yamlfile import LineDict, error_line, load_yaml
from .graph import next_id, successors
from .model import (
    DEFAULT_TEXT_LIMIT,
    KINDS,
    SEVERITIES,
    SUMMARY,
    VERDICTS,
    AdviceItem,
    Flow,
    Kpi,
    Option,
    Phase,
    Question,
    Reason,
    RedFlag,
    Rule,
    Source,
    Verdict,
    VerdictRule,
)

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
SOURCE_PATTERN = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")


class FlowError(Exception):
    """A flow file that cannot be used; each problem is one `file:line: message` line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_flow(path: str | Path) -> Flow:
    """Read and validate one flow file; raise FlowError listing every problem found."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as error:
        raise FlowError([f"{path}: cannot read the flow file: {error.strerror}"]) from None
    try:
        data = load_yaml(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise FlowError([f"{path}: the flow file is not UTF-8 ({error.reason})"]) from None
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise FlowError([f"{path}:{error_line(error) or 1}: invalid YAML: {problem}"]) from None
    version = hashlib.sha256(raw_bytes).hexdigest()[:12]
    return _Builder(path, data, version).build()


def load_flows(directory: str | Path) -> dict[str, Flow]:
    """Every `*.yaml` flow in a folder, keyed by flow id; all problems of all files together."""
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            flow = load_flow(path)
        except FlowError as error:
            problems.extend(error.problems)
            continue
        if flow.id in flows:
            problems.append(f"{path}:1: flow id '{flow.id}' is also used by another file")
        flows[flow.id] = flow
    if problems:
        raise FlowError(problems)
    return flows


def default_flows_dir() -> Path:
    """The `flows/` folder shipped with the project (a package folder once installed)."""
    return Path(__file__).resolve().parents[2] / "flows"


class _Builder:
    """Turns the parsed YAML into a Flow, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, data: Any, version: str) -> None:
        self.path = path
        self.data = data
        self.version = version
        self.problems: list[str] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(f"{self.path}:{line or 1}: {message}")

    def field(self, node: Any, key: str, kind: type | tuple = str, required: bool = True) -> Any:
        if not isinstance(node, dict):
            return None
        value = node.get(key)
        what = node.get("id", "")
        where = f" in '{what}'" if what else ""
        if value is None:
            if required:
                self.problem(getattr(node, "line", None), f"missing required field '{key}'{where}")
            return None
        if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
            line = node.line_of(key) if isinstance(node, LineDict) else None
            self.problem(line, f"field '{key}'{where} has the wrong type or is empty")
            return None
        return value

    def condition(self, node: Any, key: str = "when") -> Condition:
        if not isinstance(node, dict) or key not in node:
            return ALWAYS
        line = node.line_of(key) if isinstance(node, LineDict) else None
        try:
            return compile_condition(node[key], line)
        except ConditionError as error:
            self.problem(error.line or line, str(error))
            return ALWAYS

    def items(self, node: Any, key: str) -> list[LineDict]:
        value = node.get(key) if isinstance(node, dict) else None
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problem(node.line_of(key), f"'{key}' must be a list of mappings")
            return []
        return value

    def unique_ids(self, items: list[LineDict], what: str) -> list[LineDict]:
        seen: set[str] = set()
        kept = []
        for item in items:
            item_id = self.field(item, "id")
            if item_id is None:
                continue
            if not ID_PATTERN.match(str(item_id)):
                self.problem(item.line, f"{what} id '{item_id}' may use only a-z, 0-9 and _")
            if item_id in seen:
                self.problem(item.line, f"duplicate {what} id '{item_id}'")
                continue
            seen.add(item_id)
            kept.append(item)
        return kept

    def sources_of(self, node: LineDict, known: Mapping[str, Source]) -> tuple[str, ...]:
        value = node.get("source")
        files = value if isinstance(value, list) else [value] if value else []
        if not files:
            self.problem(node.line, f"'{node.get('id', 'timeline')}' names no source article")
        for file in files:
            if file not in known:
                where = node.get("id", "timeline")
                self.problem(node.line_of("source"), f"unknown source '{file}' in '{where}'")
        return tuple(files)

    # -- the whole file ---------------------------------------------------------------------

    def build(self) -> Flow:
        if not isinstance(self.data, dict):
            raise FlowError([f"{self.path}:1: a flow file must be a mapping with 'questions'"])
        flow_id = self.field(self.data, "flow") or self.path.stem
        sources = self.build_sources()
        questions = self.build_questions()
        by_id = {q.id: q for q in questions}
        self.check_questions(questions, by_id)
        advice = self.data.get("advice") or LineDict()
        verdicts = self.build_verdicts(advice)
        reasons = self.build_reasons(advice, sources)
        verdict_rules, default = self.build_verdict_rules(advice, sources, verdicts)
        flags = self.build_flags(advice, sources)
        sections = self.build_titles(advice, "sections")
        areas = self.build_titles(advice, "areas")
        items = self.build_advice_items(advice, sources, sections)
        kpis = self.build_kpis(advice, sources)
        goals = advice.get("goals") or LineDict()
        goal_kpis = self.build_goal_kpis(goals, by_id, kpis)
        timeline, timeline_q, months = self.build_timeline(advice, by_id)
        timeline_node = advice.get("timeline")
        timeline_sources = self.sources_of(timeline_node, sources) if timeline_node else ()
        for flag in flags:
            if flag.area and flag.area not in areas:
                self.problem(None, f"red flag '{flag.id}' names unknown area '{flag.area}'")
        flow = Flow(
            id=flow_id,
            version=self.version,
            path=str(self.path),
            title=self.field(self.data, "title") or "",
            intro=self.field(self.data, "intro") or "",
            questions=tuple(questions),
            sources=sources,
            verdicts=verdicts,
            verdict_rules=tuple(verdict_rules),
            default_verdict=default,
            reasons=tuple(reasons),
            flags=tuple(flags),
            advice=tuple(items),
            sections=sections,
            areas=areas,
            kpis=kpis,
            goal_question=goals.get("question"),
            main_goal_question=goals.get("main_question"),
            goal_kpis=goal_kpis,
            timeline=tuple(timeline),
            timeline_question=timeline_q,
            timeline_months=months,
            timeline_sources=timeline_sources,
            by_id=by_id,
        )
        self.check_rule_references(flow)
        if self.problems:
            raise FlowError(self.problems)
        return flow

    def build_sources(self) -> dict[str, Source]:
        sources: dict[str, Source] = {}
        node = self.data.get("sources")
        if not isinstance(node, dict) or not node:
            self.problem(getattr(self.data, "line", 1), "missing required field 'sources'")
            return sources
        for file, info in node.items():
            if not SOURCE_PATTERN.match(str(file)):
                self.problem(node.line_of(file), f"source '{file}' is not a seeds file name")
            language = self.field(info, "language")
            title = self.field(info, "title")
            sources[file] = Source(file, language or "", title or "")
        return sources

    def build_questions(self) -> list[Question]:
        nodes = self.unique_ids(self.items(self.data, "questions"), "question")
        if not nodes:
            self.problem(getattr(self.data, "line", 1), "the flow has no questions")
        questions = []
        for node in nodes:
            kind = self.field(node, "kind")
            if kind is not None and kind not in KINDS:
                self.problem(node.line_of("kind"), f"unknown kind '{kind}' (known: {KINDS})")
                kind = None
            options = self.build_options(node, kind)
            limits = {}
            for key in ("min", "max"):
                value = node.get(key)
                if value is not None and (kind != "number" or isinstance(value, bool)):
                    self.problem(node.line_of(key), f"'{key}' is only for number questions")
                elif value is not None and not isinstance(value, int | float):
                    self.problem(node.line_of(key), f"'{key}' of '{node['id']}' must be a number")
                else:
                    limits[key] = value
            questions.append(
                Question(
                    id=node["id"],
                    kind=kind or "text",
                    text=self.field(node, "text") or "",
                    options=options,
                    help=self.field(node, "help", required=False),
                    when=self.condition(node),
                    next=self.field(node, "next", required=False),
                    minimum=limits.get("min"),
                    maximum=limits.get("max"),
                    max_length=node.get("max_length") or DEFAULT_TEXT_LIMIT,
                    options_from=self.field(node, "options_from", required=False),
                    line=node.line,
                )
            )
        return questions

    def build_options(self, node: LineDict, kind: str | None) -> tuple[Option, ...]:
        if kind not in ("single", "multiple") or node.get("options_from"):
            if node.get("options"):
                self.problem(node.line_of("options"), f"'{node['id']}' ({kind}) takes no options")
            return ()
        nodes = self.unique_ids(self.items(node, "options"), "option")
        if not nodes:
            self.problem(node.line, f"question '{node['id']}' needs options")
        return tuple(
            Option(o["id"], self.field(o, "text") or "", bool(o.get("exclusive"))) for o in nodes
        )

    def check_questions(self, questions: list[Question], by_id: Mapping[str, Question]) -> None:
        order = {q.id: i for i, q in enumerate(questions)}
        if SUMMARY in by_id:
            self.problem(by_id[SUMMARY].line, f"'{SUMMARY}' is reserved for the final state")
        for q in questions:
            if q.next is not None and q.next != SUMMARY and q.next not in by_id:
                self.problem(q.line, f"'{q.id}' goes next to '{q.next}', which is not a question")
            if q.options_from is not None:
                source = by_id.get(q.options_from)
                if source is None or source.kind not in ("single", "multiple"):
                    self.problem(
                        q.line, f"options_from '{q.options_from}' is not a choice question"
                    )
                elif order[source.id] >= order[q.id]:
                    self.problem(q.line, f"options_from '{q.options_from}' is asked after '{q.id}'")
            if q.kind == "number" and None not in (q.minimum, q.maximum) and q.minimum > q.maximum:
                self.problem(q.line, f"'{q.id}' has min above max")
            for ref in q.when.references():
                self.check_reference(ref, by_id, f"the condition of '{q.id}'")
                if ref.question in order and order[ref.question] >= order[q.id]:
                    self.problem(
                        ref.line,
                        f"'{q.id}' can never be reached: its condition asks about "
                        f"'{ref.question}', which comes later",
                    )
            if q.when.uses():
                self.problem(q.line, f"the condition of '{q.id}' may only look at answers")
        if questions and questions[0].when is not ALWAYS:
            self.problem(
                questions[0].line, f"the first question '{questions[0].id}' is always asked"
            )
        self.check_reachable(questions, by_id)

    def check_reachable(self, questions: list[Question], by_id: Mapping[str, Question]) -> None:
        if not questions or self.problems:
            return
        reached = {questions[0].id}
        for q in questions:
            for dest in successors(q, questions, by_id):
                reached.add(dest)
        for q in questions:
            if q.id not in reached:
                self.problem(q.line, f"question '{q.id}' can never be reached")
        for q in questions:
            seen = {q.id}
            current = q
            while (nxt := next_id(current, questions)) != SUMMARY:
                if nxt in seen:
                    self.problem(q.line, f"'{q.id}' leads into a loop through '{nxt}'")
                    break
                seen.add(nxt)
                current = by_id[nxt]

    def check_reference(self, ref: Any, by_id: Mapping[str, Question], where: str) -> None:
        question = by_id.get(ref.question)
        if question is None:
            self.problem(ref.line, f"unknown question '{ref.question}' in {where}")
            return
        if question.options_from:
            question = by_id.get(question.options_from, question)
        if question.kind in ("single", "multiple"):
            known = {o.id for o in question.options}
            for option in ref.options:
                if option not in known:
                    self.problem(
                        ref.line, f"unknown option '{option}' of '{ref.question}' in {where}"
                    )
        elif question.kind == "yes_no":
            if any(not isinstance(value, bool) for value in ref.options):
                self.problem(ref.line, f"'{ref.question}' is yes/no: use true or false in {where}")
        elif question.kind == "number":
            if ref.operator not in ("below", "at_least", "answered"):
                self.problem(ref.line, f"'{ref.question}' is a number: compare it in {where}")
        elif ref.operator != "answered":
            self.problem(ref.line, f"'{ref.question}' is free text: only 'answered' in {where}")

    # -- advice -------------------------------------------------------------------------------

    def build_verdicts(self, advice: LineDict) -> dict[str, Verdict]:
        node = advice.get("verdicts")
        verdicts = {}
        if not isinstance(node, dict):
            self.problem(advice.line, "missing required field 'verdicts' in advice")
            return verdicts
        for verdict_id, info in node.items():
            if verdict_id not in VERDICTS:
                self.problem(node.line_of(verdict_id), f"unknown verdict '{verdict_id}'")
            verdicts[verdict_id] = Verdict(
                verdict_id, self.field(info, "title") or "", self.field(info, "text") or ""
            )
        return verdicts

    def build_reasons(self, advice: LineDict, sources: Mapping[str, Source]) -> list[Reason]:
        reasons = []
        for node in self.unique_ids(self.items(advice, "reasons"), "reason"):
            supports = self.field(node, "supports")
            if supports is not None and supports not in VERDICTS:
                self.problem(node.line_of("supports"), f"unknown verdict '{supports}'")
            weight = self.field(node, "weight", (int, float), required=False)
            reasons.append(
                Reason(
                    id=node["id"],
                    when=self.condition(node),
                    sources=self.sources_of(node, sources),
                    supports=supports or "",
                    weight=1 if weight is None else weight,
                    text=self.field(node, "text") or "",
                )
            )
        return reasons

    def build_verdict_rules(
        self, advice: LineDict, sources: Mapping[str, Source], verdicts: Mapping[str, Verdict]
    ) -> tuple[list[VerdictRule], str]:
        rules = []
        default = advice.get("default_verdict")
        if default not in verdicts:
            self.problem(advice.line_of("default_verdict"), "default_verdict must be a verdict")
        for node in self.unique_ids(self.items(advice, "decide"), "verdict rule"):
            verdict = self.field(node, "verdict")
            if verdict is not None and verdict not in verdicts:
                self.problem(node.line_of("verdict"), f"unknown verdict '{verdict}'")
            if "when" not in node:
                self.problem(node.line, f"missing required field 'when' in '{node['id']}'")
            rules.append(
                VerdictRule(
                    id=node["id"],
                    when=self.condition(node),
                    sources=self.sources_of(node, sources),
                    verdict=verdict or "",
                )
            )
        return rules, default or ""

    def build_flags(self, advice: LineDict, sources: Mapping[str, Source]) -> list[RedFlag]:
        flags = []
        for node in self.unique_ids(self.items(advice, "red_flags"), "red flag"):
            severity = self.field(node, "severity")
            if severity is not None and severity not in SEVERITIES:
                self.problem(node.line_of("severity"), f"unknown severity '{severity}'")
            if "when" not in node:
                self.problem(node.line, f"missing required field 'when' in '{node['id']}'")
            flags.append(
                RedFlag(
                    id=node["id"],
                    when=self.condition(node),
                    sources=self.sources_of(node, sources),
                    severity=severity or "medium",
                    area=self.field(node, "area") or "",
                    title=self.field(node, "title") or "",
                    why=self.field(node, "why") or "",
                    instead=self.field(node, "instead") or "",
                    tip=bool(node.get("tip")),
                )
            )
        return flags

    def build_titles(self, advice: LineDict, key: str) -> dict[str, str]:
        node = advice.get(key)
        if not isinstance(node, dict) or not node:
            self.problem(advice.line, f"missing required field '{key}' in advice")
            return {}
        for name, title in node.items():
            if not isinstance(title, str) or not title.strip():
                self.problem(node.line_of(name), f"'{name}' in {key} needs a title")
        return dict(node)

    def build_advice_items(
        self, advice: LineDict, sources: Mapping[str, Source], sections: Mapping[str, str]
    ) -> list[AdviceItem]:
        items = []
        for node in self.unique_ids(self.items(advice, "advice"), "advice"):
            section = self.field(node, "section")
            if section is not None and section not in sections:
                self.problem(node.line_of("section"), f"unknown section '{section}'")
            items.append(
                AdviceItem(
                    id=node["id"],
                    when=self.condition(node),
                    sources=self.sources_of(node, sources),
                    section=section or "",
                    text=self.field(node, "text") or "",
                )
            )
        return items

    def build_kpis(self, advice: LineDict, sources: Mapping[str, Source]) -> dict[str, Kpi]:
        return {
            node["id"]: Kpi(
                node["id"], self.field(node, "text") or "", self.sources_of(node, sources)
            )
            for node in self.unique_ids(self.items(advice, "kpis"), "KPI")
        }

    def build_goal_kpis(
        self, goals: LineDict, by_id: Mapping[str, Question], kpis: Mapping[str, Kpi]
    ) -> dict[str, tuple[str, ...]]:
        if not goals:
            return {}
        question = by_id.get(goals.get("question"))
        if question is None or question.kind not in ("single", "multiple"):
            self.problem(goals.line_of("question"), "goals.question must be a choice question")
            return {}
        main = goals.get("main_question")
        if main is not None and main not in by_id:
            self.problem(goals.line_of("main_question"), f"unknown question '{main}'")
        mapping = goals.get("kpis") or {}
        result = {}
        for goal, kpi_ids in mapping.items():
            if question.option(goal) is None:
                self.problem(mapping.line_of(goal), f"unknown option '{goal}' of '{question.id}'")
            for kpi in kpi_ids or ():
                if kpi not in kpis:
                    self.problem(mapping.line_of(goal), f"unknown KPI '{kpi}' for '{goal}'")
            result[goal] = tuple(kpi_ids or ())
        return result

    def build_timeline(
        self, advice: LineDict, by_id: Mapping[str, Question]
    ) -> tuple[list[Phase], str | None, dict[str, int]]:
        node = advice.get("timeline")
        if not isinstance(node, dict):
            return [], None, {}
        phases = [
            Phase(
                p["id"],
                self.field(p, "title") or "",
                self.field(p, "text") or "",
                p.get("until_month"),
            )
            for p in self.unique_ids(self.items(node, "phases"), "timeline phase")
        ]
        question = node.get("question")
        months = node.get("expected_months") or {}
        if question is not None:
            q = by_id.get(question)
            if q is None:
                self.problem(node.line_of("question"), f"unknown question '{question}'")
            else:
                for option in months:
                    if q.option(option) is None:
                        self.problem(months.line_of(option), f"unknown option '{option}'")
        return phases, question, dict(months)

    def check_rule_references(self, flow: Flow) -> None:
        rules: list[tuple[str, Rule]] = [("reason", r) for r in flow.reasons]
        rules += [("verdict rule", r) for r in flow.verdict_rules]
        rules += [("red flag", r) for r in flow.flags]
        rules += [("advice", r) for r in flow.advice]
        for what, rule in rules:
            where = f"{what} '{rule.id}'"
            for ref in rule.when.references():
                self.check_reference(ref, flow.by_id, where)
            uses = rule.when.uses()
            if "score" in uses and what != "verdict rule":
                self.problem(None, f"{where}: only verdict rules may look at the score")
            if "verdict" in uses and what in ("reason", "verdict rule"):
                self.problem(None, f"{where}: the verdict is not known yet there")
        for flag in flow.flags:
            if not (flag.title and flag.why and flag.instead):
                self.problem(None, f"red flag '{flag.id}' needs title, why and instead texts")
            if flag.tip and flag.when.uses():
                self.problem(None, f"red flag '{flag.id}' is a tip, so it may only look at answers")
