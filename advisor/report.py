"""A recommendation as a translated document: sections of items, each traceable to a source.

Every front end and export (terminal, Telegram, Markdown, PDF) renders this one structure, so
they say the same thing in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .advice import Recommendation, scorecard
from .flow import Flow, Question
from .i18n import N_, Translator

SEVERITY_LABELS = {"high": N_("High"), "medium": N_("Medium"), "low": N_("Low")}
# labels used inside f-strings, where pybabel cannot see them: marked here once
RECOMMENDATION = N_("Recommendation")
INSTEAD = N_("Instead:")
SOURCES = N_("Sources")


@dataclass(frozen=True)
class Item:
    text: str
    sources: tuple[str, ...] = ()
    severity: str | None = None
    detail: str | None = None
    instead: str | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]
    note: str | None = None


@dataclass(frozen=True)
class Report:
    title: str
    date: str
    verdict: str
    verdict_title: str
    verdict_text: str
    sections: tuple[Section, ...]
    scorecard: tuple[tuple[str, str, int], ...]
    sources: tuple[tuple[str, str], ...]

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


def answer_text(flow: Flow, question: Question, value: Any, t: Translator) -> str:
    """An answer as the user would say it, in their language."""
    if value is None:
        return "—"
    if question.kind in ("single", "multiple"):
        source = flow.by_id[question.options_from] if question.options_from else question
        labels = {o.id: t(o.text) for o in source.options}
        chosen = [value] if isinstance(value, str) else list(value)
        return t.list(labels.get(v, str(v)) for v in chosen)
    if question.kind == "yes_no":
        return t(N_("Yes")) if value else t(N_("No"))
    if question.kind == "number":
        return t.number(value)
    return str(value)


def short_source(file: str) -> str:
    """The article number used in citations: `001` for `001_93f2846bbbe84c4b.txt`."""
    return file.split("_", 1)[0]


def build_report(
    flow: Flow, rec: Recommendation, t: Translator, when: date | None = None
) -> Report:
    """Everything the recommendation says, translated, in the order a reader needs it."""
    reasons = {r.id: r for r in flow.reasons}
    flags = {f.id: f for f in flow.flags}
    advice = {a.id: a for a in flow.advice}
    verdict = flow.verdicts[rec.verdict]
    sections: list[Section] = []

    def add(key: str, title: str, items: list[Item], note: str | None = None) -> None:
        if items or note:
            sections.append(Section(key, title, tuple(items), note))

    add(
        "reasons",
        t(N_("Why")),
        [Item(t(reasons[i].text), reasons[i].sources) for i in rec.reasons if i in reasons],
    )
    add(
        "counterpoints",
        t(N_("What speaks against it")),
        [Item(t(reasons[i].text), reasons[i].sources) for i in rec.counterpoints if i in reasons],
    )
    goal_note = None
    if rec.main_goal and flow.goal_question:
        goal_question = flow.by_id[flow.goal_question]
        goal_note = t(
            N_("Main goal: {goal}"), goal=answer_text(flow, goal_question, rec.main_goal, t)
        )
    add(
        "kpis",
        t(N_("Main goal and KPIs for the SLA")),
        [Item(t(flow.kpis[k].text), flow.kpis[k].sources) for k in rec.kpis if k in flow.kpis],
        goal_note,
    )
    flag_count = len([i for i in rec.flags if i in flags])
    add(
        "flags",
        t(N_("Red flags")),
        [
            Item(t(f.title), f.sources, f.severity, t(f.why), t(f.instead))
            for f in (flags[i] for i in rec.flags if i in flags)
        ],
        t.plural("{n} red flag", "{n} red flags", flag_count) if flag_count else None,
    )
    for key in ("commitment", "contract", "pricing"):
        items = [
            Item(t(advice[i].text), advice[i].sources)
            for i in rec.advice
            if i in advice and advice[i].section == key
        ]
        if key == "commitment":
            add(key, t(flow.sections[key]), items)
            add("timeline", t(N_("What to expect after go-live")), _timeline(flow, rec, t))
        else:
            add(key, t(flow.sections[key]), items)
    add(
        "next_steps",
        t(flow.sections["next_steps"]),
        [
            Item(t(advice[i].text), advice[i].sources)
            for i in rec.advice
            if i in advice and advice[i].section == "next_steps"
        ],
    )
    add(
        "answers",
        t(N_("Your answers")),
        [
            Item(f"{t(flow.by_id[q].text)} {answer_text(flow, flow.by_id[q], v, t)}")
            for q, v in rec.answers.items()
            if q in flow.by_id
        ],
    )
    cited = sorted({s for section in sections for item in section.items for s in item.sources})
    scores = scorecard(flow, rec)
    return Report(
        title=t(flow.title),
        date=t.date(when) if when else "",
        verdict=rec.verdict,
        verdict_title=t(verdict.title),
        verdict_text=t(verdict.text),
        sections=tuple(sections),
        scorecard=tuple((area, t(title), scores[area]) for area, title in flow.areas.items()),
        sources=tuple((short_source(s), t(flow.sources[s].title)) for s in cited),
    )


def _timeline(flow: Flow, rec: Recommendation, t: Translator) -> list[Item]:
    items = [Item(f"{t(p.title)} — {t(p.text)}", flow.timeline_sources) for p in flow.timeline]
    if rec.expected_month is not None and rec.expected_month < 9:
        items.append(
            Item(
                t(
                    N_(
                        "You expect results within {months} months: that is before the stable "
                        "phase, when goals usually start to be met."
                    ),
                    months=rec.expected_month,
                )
            )
        )
    return items


def severity_label(severity: str | None, t: Translator) -> str:
    return t(SEVERITY_LABELS[severity]) if severity in SEVERITY_LABELS else ""


def cite(item: Item) -> str:
    return ", ".join(short_source(s) for s in item.sources)


def as_text(report: Report, t: Translator, width_hint: int = 80) -> str:
    """Plain text for the terminal and `advisor advise --format text`."""
    lines = [report.title.upper()]
    if report.date:
        lines.append(report.date)
    lines += ["", f"{t(RECOMMENDATION)}: {report.verdict_title}", report.verdict_text]
    for section in report.sections:
        lines += ["", section.title, "-" * len(section.title)]
        if section.note:
            lines.append(section.note)
        for item in section.items:
            lines.append(_text_item(item, t))
    lines += ["", t(N_("Sources")), "-" * len(t(N_("Sources")))]
    lines += [f"[{number}] {title}" for number, title in report.sources]
    return "\n".join(lines)


def _text_item(item: Item, t: Translator) -> str:
    cited = f" [{cite(item)}]" if item.sources else ""
    if item.severity:
        text = f"* [{severity_label(item.severity, t)}] {item.text}{cited}"
        text += f"\n    {item.detail}\n    {t(INSTEAD)} {item.instead}"
        return text
    return f"* {item.text}{cited}"


def to_json(flow: Flow, rec: Recommendation, t: Translator) -> dict[str, Any]:
    """The recommendation with ids, texts and sources: `advisor advise --format json`."""
    reasons = {r.id: r for r in flow.reasons}
    flags = {f.id: f for f in flow.flags}
    advice = {a.id: a for a in flow.advice}

    def rule(rule_id: str, table: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        entry = table[rule_id]
        return {"id": rule_id, "sources": list(entry.sources), **extra}

    return {
        "flow": {"id": flow.id, "version": flow.version},
        "language": t.language,
        "verdict": {
            "id": rec.verdict,
            "title": t(flow.verdicts[rec.verdict].title),
            "text": t(flow.verdicts[rec.verdict].text),
            "decided_by": rec.decided_by,
            "scores": dict(rec.scores),
        },
        "reasons": [rule(i, reasons, text=t(reasons[i].text)) for i in rec.reasons],
        "counterpoints": [rule(i, reasons, text=t(reasons[i].text)) for i in rec.counterpoints],
        "main_goal": rec.main_goal,
        "kpis": [
            {"id": k, "text": t(flow.kpis[k].text), "sources": list(flow.kpis[k].sources)}
            for k in rec.kpis
        ],
        "flags": [
            rule(
                i,
                flags,
                severity=flags[i].severity,
                area=flags[i].area,
                title=t(flags[i].title),
                why=t(flags[i].why),
                instead=t(flags[i].instead),
            )
            for i in rec.flags
        ],
        "advice": [
            rule(i, advice, section=advice[i].section, text=t(advice[i].text))
            for i in rec.advice
            if advice[i].section != "next_steps"
        ],
        "next_steps": [
            rule(i, advice, text=t(advice[i].text))
            for i in rec.advice
            if advice[i].section == "next_steps"
        ],
        "expected_month": rec.expected_month,
        "scorecard": scorecard(flow, rec),
        "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in rec.answers.items()},
        "sources": {f: flow.sources[f].title for f in flow.sources},
    }
