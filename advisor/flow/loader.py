"""Reading a flow file: the YAML loaded, checked and turned into a `Flow`.

The file is read once; every problem found is reported as `file:line: problem`, and a flow
with any problem is refused whole, so a running bot never works on a half-valid flow.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..conditions import ALWAYS, Condition, ConditionError, compile_condition, score_verdicts
from ..yamlfile import LineDict, error_line, line_of, load_yaml
from .graph import next_id, successors
from .model import (
    BUTTON_LIMIT,
    DEFAULT_TEXT_LIMIT,
    DONT_KNOW,
    KINDS,
    SUMMARY,
    VERDICTS,
    Flow,
    Option,
    Question,
    Rule,
    Source,
)
from .rules import AdviceReader, placeholders

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
SOURCE_PATTERN = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
ANCHOR_WORDS = 6


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
    return _Builder(path, data, fingerprint(data)).build()


def fingerprint(data: Any) -> str:
    """The flow's version: a hash of what the file says, not of how it is written, so that
    a comment or a reformatting does not move open conversations to a "new" flow."""
    try:
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    except TypeError:  # keys of mixed types (a broken file): the loader will name them
        canonical = repr(data)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


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


def open_flow(path: str | Path | None = None) -> Flow:
    """The flow at `path`, or the shipped advisor flow."""
    return load_flow(path or default_flows_dir() / "advisor.yaml")


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

    def field(
        self, node: Any, key: str, kind: type | tuple[type, ...] = str, required: bool = True
    ) -> Any:
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
            line = line_of(node, key)
            self.problem(line, f"field '{key}'{where} has the wrong type or is empty")
            return None
        return value

    def condition(self, node: Any, key: str = "when") -> Condition:
        if not isinstance(node, dict) or key not in node:
            return ALWAYS
        line = line_of(node, key)
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
            self.problem(line_of(node, key), f"'{key}' must be a list of mappings")
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

    def sources_of(self, node: LineDict, known: Mapping[str, Source]) -> tuple[Any, ...]:
        """`source: {article file: anchor phrase, ...}` as (files, anchors)."""
        where = node.get("id", "?")
        value = node.get("source")
        line = line_of(node, "source")
        if not value:
            self.problem(node.line, f"'{where}' names no source article")
            return (), {}
        if not isinstance(value, dict):
            self.problem(
                line,
                f"the source of '{where}' needs an anchor per article: "
                "{article file: a phrase of that article, at most six words}",
            )
            return (), {}
        anchors = {}
        for file, anchor in value.items():
            if file not in known:
                self.problem(line_of(value, file), f"unknown source '{file}' in '{where}'")
            elif not isinstance(anchor, str) or not anchor.strip():
                self.problem(line_of(value, file), f"'{where}' cites '{file}' without an anchor")
            elif len(anchor.split()) > ANCHOR_WORDS:
                self.problem(
                    line_of(value, file),
                    f"the anchor of '{file}' in '{where}' is over {ANCHOR_WORDS} words",
                )
            else:
                anchors[file] = anchor.strip()
        return tuple(value), anchors

    # -- the whole file ---------------------------------------------------------------------

    def build(self) -> Flow:
        if not isinstance(self.data, dict):
            raise FlowError([f"{self.path}:1: a flow file must be a mapping with 'questions'"])
        flow_id = self.field(self.data, "flow") or self.path.stem
        sources = self.build_sources()
        questions = self.build_questions()
        by_id = {q.id: q for q in questions}
        self.check_questions(questions, by_id)
        advice = AdviceReader(self, sources, by_id).read(self.data.get("advice") or LineDict())
        flow = Flow(
            id=flow_id,
            version=self.version,
            path=str(self.path),
            title=self.field(self.data, "title") or "",
            intro=self.field(self.data, "intro") or "",
            questions=tuple(questions),
            sources=sources,
            by_id=by_id,
            # the graph is sound only when the questions are (checked above)
            following={} if self.problems else self.following(questions, by_id),
            **advice,
        )
        for what, rule in flow.rules():
            self.check_rule(flow, what, rule)
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
                self.problem(line_of(node, file), f"source '{file}' is not a seeds file name")
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
                self.problem(line_of(node, "kind"), f"unknown kind '{kind}' (known: {KINDS})")
                kind = None
            options = self.build_options(node, kind)
            limits = {}
            for key in ("min", "max"):
                value = node.get(key)
                if value is not None and (kind != "number" or isinstance(value, bool)):
                    self.problem(line_of(node, key), f"'{key}' is only for number questions")
                elif value is not None and not isinstance(value, int | float):
                    self.problem(line_of(node, key), f"'{key}' of '{node['id']}' must be a number")
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
                    topic=self.field(node, "topic", required=False),
                    optional=bool(node.get("optional")),
                    dont_know=self.dont_know(node, kind),
                    lever=node.get("lever", True) is not False,
                    what_if=node.get("what_if", True) is not False,
                    whole=bool(node.get("whole")),
                    line=node.line,
                )
            )
        return questions

    def dont_know(self, node: LineDict, kind: str | None) -> bool:
        if node.get("dont_know") and kind != "yes_no":
            self.problem(line_of(node, "dont_know"), "'dont_know' is for yes/no questions")
        return bool(node.get("dont_know"))

    def build_options(self, node: LineDict, kind: str | None) -> tuple[Option, ...]:
        if kind not in ("single", "multiple") or node.get("options_from"):
            if node.get("options"):
                self.problem(line_of(node, "options"), f"'{node['id']}' ({kind}) takes no options")
            return ()
        nodes = self.unique_ids(self.items(node, "options"), "option")
        if not nodes:
            self.problem(node.line, f"question '{node['id']}' needs options")
        options = []
        for o in nodes:
            label = o.get("label")
            if label is not None and (not isinstance(label, str) or len(label) > BUTTON_LIMIT):
                self.problem(
                    line_of(o, "label"), f"a label is a text of {BUTTON_LIMIT} characters at most"
                )
                label = None
            options.append(
                Option(o["id"], self.field(o, "text") or "", bool(o.get("exclusive")), label)
            )
        return tuple(options)

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
            low, high = q.minimum, q.maximum
            if q.kind == "number" and low is not None and high is not None and low > high:
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
            allowed = {True, False, DONT_KNOW} if question.dont_know else {True, False}
            if any(not isinstance(v, bool | str) or v not in allowed for v in ref.options):
                words = "true, false or dont_know" if question.dont_know else "true or false"
                self.problem(ref.line, f"'{ref.question}' is yes/no: use {words} in {where}")
        elif question.kind == "number":
            if ref.operator not in ("below", "at_least", "answered"):
                self.problem(ref.line, f"'{ref.question}' is a number: compare it in {where}")
        elif ref.operator != "answered":
            self.problem(ref.line, f"'{ref.question}' is free text: only 'answered' in {where}")

    @staticmethod
    def following(
        questions: list[Question], by_id: Mapping[str, Question]
    ) -> dict[str, tuple[str, ...]]:
        return {q.id: tuple(successors(q, questions, by_id)) for q in questions}

    def check_rule(self, flow: Flow, what: str, rule: Rule) -> None:
        """A rule's condition against the questions, and what it may look at."""
        where = f"{what} '{rule.id}'"
        for condition in (rule.when, getattr(rule, "unless", rule.when)):
            for ref in condition.references():
                self.check_reference(ref, flow.by_id, where)
        uses = rule.when.uses()
        if "score" in uses and what != "verdict rule":
            self.problem(None, f"{where}: only verdict rules may look at the score")
        if "verdict" in uses and what in ("reason", "verdict rule"):
            self.problem(None, f"{where}: the verdict is not known yet there")
        for verdict in score_verdicts(rule.when):
            if verdict not in VERDICTS:
                self.problem(None, f"{where}: unknown verdict '{verdict}' in the score")
        for name in placeholders(getattr(rule, "text", "")):
            if name not in flow.by_id:
                self.problem(None, f"{where}: '{{{name}}}' is not a question id")
