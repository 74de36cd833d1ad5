"""A recommendation as a translated document: sections of items, each traceable to a source.

Every front end and export (terminal, Telegram, Markdown, PDF) renders this one structure, so
they say the same thing in the same order. The sections and their order come from the
flow's `report:` list; `brief` is the short form a phone screen gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from .advice import Change, Recommendation, scorecard
from .conditions import Context
from .flow import DONT_KNOW, Flow, Question, Rule, VerdictRule
from .i18n import N_, Translator, placeholders

SEVERITY_LABELS = {"high": N_("High"), "medium": N_("Medium"), "low": N_("Low")}
# labels used inside f-strings, where pybabel cannot see them: marked here once
RECOMMENDATION = N_("Recommendation")
INSTEAD = N_("Instead:")
SOURCES = N_("Sources")
DONT_KNOW_TEXT = N_("I don't know")
CHANGE_TEXTS = {  # {answer}: one or more answers, each in the language's quotation marks
    "set": N_("{topic}: {answer} instead"),
    "add": N_("{topic}: also {answer}"),
    "remove": N_("{topic}: without {answer}"),
    "at_least": N_("{topic}: {number} or more"),
    "below": N_("{topic}: under {number}"),
}
# TRANSLATORS: an answer quoted in running text, in your language's quotation marks
QUOTED = N_("“{answer}”")
# how much of the report the chat shows; the PDF has the rest
BRIEF_LIMITS = {"changes": 2, "flags": 5, "next_steps": 3}
BRIEF_SECTIONS = ("reasons", "changes", "flags", "next_steps")
# the bidi embeddings, overrides and isolates, which the PDF and Markdown drop from every
# text: one typed into an answer would turn around the text after it, not only its own
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def without_bidi(text: str) -> str:
    """A name as it may be shown among other text: no bidi controls to turn that around."""
    return "".join(char for char in text if char not in BIDI_CONTROLS)


NO_CHOICE_CHANGES = N_(
    "No single choice of yours would change it; only facts about your company would."
)
NO_SINGLE_CHANGE = N_(
    "No single answer changes this verdict on its own; several of the points above would have "
    "to change together."
)


@dataclass(frozen=True)
class Item:
    text: str
    sources: tuple[str, ...] = ()
    severity: str | None = None
    detail: str | None = None
    instead: str | None = None
    tip: bool = False  # a red flag already shown as a tip during the conversation
    fact: bool = False  # a change of a fact about the company, not of a choice (see `brief`)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]
    note: str | None = None
    left_out: int = 0  # items only the full report shows (see `brief`)


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


def in_a_list(text: str, position: int) -> str:
    """An option's text as an item of a running list: after the first, without its capital
    letter ("Lower cost and a better customer experience"), unless it is an acronym (GDPR)."""
    return lower_first(text) if position else text


def answer_text(flow: Flow, question: Question, value: Any, t: Translator) -> str:
    """An answer as the user would say it, in their language."""
    if value is None:
        return "—"
    if question.kind in ("single", "multiple"):
        source = flow.by_id[question.options_from] if question.options_from else question
        labels = {o.id: t(o.text) for o in source.options}
        chosen = [value] if isinstance(value, str) else list(value)
        return t.list(in_a_list(labels.get(v, str(v)), i) for i, v in enumerate(chosen))
    if question.kind == "yes_no":
        if value == DONT_KNOW:
            return t(DONT_KNOW_TEXT)
        return t(N_("Yes")) if value else t(N_("No"))
    if question.kind == "number":
        return t.number(value)
    return str(value)


def short_source(file: str) -> str:
    """The article number used in citations: `001` for `001_93f2846bbbe84c4b.txt`."""
    return file.split("_", 1)[0]


def rule_text(flow: Flow, rule: Rule, text: str, answers: Mapping[str, Any], t: Translator) -> str:
    """A rule's text, translated, with `{question}` filled by the answers it is about.

    Only the options the rule's own condition names are listed: the growth-goals reason
    lists the growth goals chosen, not every goal.
    """
    names = placeholders(text)
    if not names:
        return t(text)
    values = {}
    for name in names:
        question = flow.by_id[name]
        chosen = answers.get(name)
        named = {o for ref in rule.when.references() if ref.question == name for o in ref.options}
        if isinstance(chosen, tuple | list) and named:
            chosen = tuple(v for v in chosen if v in named)
        if question.kind in ("single", "multiple") and chosen is not None:
            labels = {o.id: t(o.text) for o in question.options}
            picked = (chosen,) if isinstance(chosen, str) else chosen
            values[name] = t.list(lower_first(labels.get(v, str(v))) for v in picked)
        else:
            values[name] = answer_text(flow, question, chosen, t)
    return t(text, **values)


def lower_first(text: str) -> str:
    """`Going international` as it reads inside a sentence; `GDPR procedures` stays."""
    if text.startswith(("I ", "I'", "I’")):  # English "I don't know" keeps its capital
        return text
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def change_text(flow: Flow, change: Change, t: Translator) -> str:
    """`Internal owner: “Yes” instead → Outsource your customer service`, in the user's
    language."""
    question = flow.by_id.get(change.question)
    if question is None:
        return ""
    topic = t(question.short)
    if change.kind in ("at_least", "below"):
        what = t(CHANGE_TEXTS[change.kind], topic=topic, number=t.number(change.values[0]))
    else:  # each answer quoted as the option says it, capital letter and all
        answers = [t(QUOTED, answer=answer_text(flow, question, v, t)) for v in change.values]
        what = t(CHANGE_TEXTS[change.kind], topic=topic, answer=t.list(answers, style="or"))
    rule = _rule(flow, change.decided_by)
    title = rule.title if rule and rule.title else flow.verdicts[change.verdict].title
    return f"{what} → {t(title)}"


def verdict_title(flow: Flow, rec: Recommendation, t: Translator) -> str:
    """The verdict's title, or the deciding rule's own ("Run this campaign yourself")."""
    rule = _rule(flow, rec.decided_by)
    return t(rule.title if rule and rule.title else flow.verdicts[rec.verdict].title)


def verdict_summary(flow: Flow, rec: Recommendation, t: Translator) -> str:
    rule = _rule(flow, rec.decided_by)
    return t(rule.summary if rule and rule.summary else flow.verdicts[rec.verdict].text)


def _rule(flow: Flow, rule_id: str) -> VerdictRule | None:
    return next((r for r in flow.verdict_rules if r.id == rule_id), None)


def build_report(
    flow: Flow, rec: Recommendation, t: Translator, when: date | None = None
) -> Report:
    """Everything the recommendation says, translated, in the order the flow's report lists."""
    judged = Context(rec.answers, verdict=rec.verdict, scores=rec.scores)
    sections: list[Section] = []
    for section in flow.report:
        if not section.when.holds(judged):
            continue
        items, note = _section_items(flow, section.id, rec, t)
        if items or note:
            sections.append(Section(section.id, t(section.title), tuple(items), note))
    cited = sorted({s for section in sections for item in section.items for s in item.sources})
    scores = scorecard(flow, rec)
    return Report(
        title=t(flow.title),
        date=t.date(when) if when else "",
        verdict=rec.verdict,
        verdict_title=verdict_title(flow, rec, t),
        verdict_text=verdict_summary(flow, rec, t),
        sections=tuple(sections),
        scorecard=tuple((a.id, t(a.title), scores[a.id]) for a in flow.areas if a.id in scores),
        sources=tuple((short_source(s), t(flow.sources[s].title)) for s in cited),
    )


def _section_items(
    flow: Flow, key: str, rec: Recommendation, t: Translator
) -> tuple[list[Item], str | None]:
    """The items of one section, and a note to show above them."""
    reasons = {r.id: r for r in flow.reasons}
    if key == "reasons":
        rule = _rule(flow, rec.decided_by)
        items = [Item(t(rule.text), rule.sources)] if rule else []
        return items + _reason_items(flow, rec.reasons, rec, t), None
    if key == "counterpoints":
        return _reason_items(flow, rec.counterpoints, rec, t), None
    if key == "changes":
        items = []
        for change in rec.changes:
            question = flow.by_id.get(change.question)
            if question is None or not question.what_if or change.verdict not in flow.verdicts:
                continue
            # a fact can be changed only by finding it out: "we do not know yet" is a choice
            fact = not question.lever and rec.answers.get(change.question) != DONT_KNOW
            items.append(Item(change_text(flow, change, t), fact=fact))
        return items, None if items else t(NO_SINGLE_CHANGE)
    if key == "kpis":
        items = [
            Item(t(flow.kpis[k].text), flow.kpis[k].sources) for k in rec.kpis if k in flow.kpis
        ]
        note = None
        if rec.main_goal and flow.goal_question:
            goal = answer_text(flow, flow.by_id[flow.goal_question], rec.main_goal, t)
            note = t(N_("Main goal: {goal}"), goal=goal)
        return items, note
    if key == "flags":
        return _flag_items(flow, rec, t, {reasons[i].id for i in rec.reasons if i in reasons})
    if key == "timeline":
        return _timeline(flow, rec, t), None
    if key == "answers":
        return [
            Item(f"{t(flow.by_id[q].short)}: {answer_text(flow, flow.by_id[q], v, t)}")
            for q, v in rec.answers.items()
            if q in flow.by_id
        ], None
    advice = {a.id: a for a in flow.advice}
    return [
        Item(rule_text(flow, advice[i], advice[i].text, rec.answers, t), advice[i].sources)
        for i in rec.advice
        if i in advice and advice[i].section == key
    ], None


def _reason_items(flow: Flow, ids: Iterable[str], rec: Recommendation, t: Translator) -> list[Item]:
    reasons = {r.id: r for r in flow.reasons}
    return [
        Item(rule_text(flow, reasons[i], reasons[i].text, rec.answers, t), reasons[i].sources)
        for i in ids
        if i in reasons
    ]


def _flag_items(
    flow: Flow, rec: Recommendation, t: Translator, shown_reasons: set[str]
) -> tuple[list[Item], str | None]:
    """The red flags, without those that repeat a reason already given under "Why"."""
    flags = {f.id: f for f in flow.flags}
    chosen = [flags[i] for i in rec.flags if i in flags and flags[i].reason not in shown_reasons]
    items = [
        Item(t(f.title), f.sources, f.severity, t(f.why), t(f.instead), tip=f.tip) for f in chosen
    ]
    note = t.plural("{n} red flag", "{n} red flags", len(items)) if items else None
    return items, note


def _timeline(flow: Flow, rec: Recommendation, t: Translator) -> list[Item]:
    timeline = next((tl for tl in flow.timelines if tl.id == rec.timeline), None)
    if timeline is None:
        return []
    items = [
        Item(f"{t(p.title)} — {in_a_list(t(p.text), 1)}", timeline.sources) for p in timeline.phases
    ]
    phase = next((p for p in timeline.phases if p.id == timeline.goals_met_by), None)
    if rec.expected_month is not None and phase and rec.expected_month < phase.months[-1]:
        items.append(
            Item(
                t(
                    N_(
                        "You expect results within {months} months; goals usually start to be "
                        "met between months {start} and {end}."
                    ),
                    months=rec.expected_month,
                    start=phase.months[0],
                    end=phase.months[-1],
                )
            )
        )
    return items


def brief(report: Report, t: Translator) -> Report:
    """The part of the report a phone screen gets: the verdict, why, what would change it,
    the worst red flags and the first next steps. Flags already shown as tips keep only
    their title; what is left out is counted in each section's note."""
    sections = []
    for section in report.sections:
        if section.key not in BRIEF_SECTIONS:
            continue
        limit = BRIEF_LIMITS.get(section.key)
        items = section.items
        note = section.note if section.key != "flags" else None
        if section.key == "changes":
            # what the manager can do something about; facts of the company stay in the report
            items = tuple(i for i in items if not i.fact)
            if not items and section.items:
                note = t(NO_CHOICE_CHANGES)
        items = items if limit is None else items[:limit]
        if section.key == "flags":
            items = tuple(replace(i, detail=None, instead=None) if i.tip else i for i in items)
        left = len(section.items) - len(items)
        sections.append(replace(section, items=items, note=note, left_out=left))
    return replace(report, sections=tuple(sections))


def severity_label(severity: str | None, t: Translator) -> str:
    return t(SEVERITY_LABELS[severity]) if severity in SEVERITY_LABELS else ""


def cite(item: Item) -> str:
    return ", ".join(short_source(s) for s in item.sources)


def as_text(report: Report, t: Translator) -> str:
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
    rule = _rule(flow, rec.decided_by)

    def reason(reason_id: str) -> dict[str, Any]:
        entry = reasons[reason_id]
        text = rule_text(flow, entry, entry.text, rec.answers, t)
        return {
            "id": reason_id,
            "supports": entry.supports,
            "weight": entry.weight,
            "text": text,
            "sources": cited(entry),
        }

    return {
        "flow": {"id": flow.id, "version": flow.version},
        "language": t.language,
        "verdict": {
            "id": rec.verdict,
            "title": verdict_title(flow, rec, t),
            "text": verdict_summary(flow, rec, t),
            "decided_by": rec.decided_by,
            "because": t(rule.text) if rule else "",
            "sources": cited(rule) if rule else [],
            "scores": dict(rec.scores),
        },
        "reasons": [reason(i) for i in rec.reasons if i in reasons],
        "what_would_change": [
            {**c.to_dict(), "text": change_text(flow, c, t)} for c in rec.changes
        ],
        "counterpoints": [reason(i) for i in rec.counterpoints if i in reasons],
        "main_goal": rec.main_goal,
        "kpis": [
            {"id": k, "text": t(flow.kpis[k].text), "sources": cited(flow.kpis[k])}
            for k in rec.kpis
            if k in flow.kpis
        ],
        "flags": [
            {
                "id": i,
                "severity": flags[i].severity,
                "area": flags[i].area,
                "title": t(flags[i].title),
                "why": t(flags[i].why),
                "instead": t(flags[i].instead),
                "sources": cited(flags[i]),
            }
            for i in rec.flags
            if i in flags
        ],
        "advice": [
            {
                "id": i,
                "section": advice[i].section,
                "text": rule_text(flow, advice[i], advice[i].text, rec.answers, t),
                "sources": cited(advice[i]),
            }
            for i in rec.advice
            if i in advice and advice[i].section != "next_steps"
        ],
        "next_steps": [
            {
                "id": i,
                "text": rule_text(flow, advice[i], advice[i].text, rec.answers, t),
                "sources": cited(advice[i]),
            }
            for i in rec.advice
            if i in advice and advice[i].section == "next_steps"
        ],
        "timeline": _timeline_json(flow, rec, t),
        "expected_month": rec.expected_month,
        "scorecard": scorecard(flow, rec),
        "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in rec.answers.items()},
        "sources": {f: flow.sources[f].title for f in flow.sources},
    }


def cited(rule: Rule) -> list[dict[str, str]]:
    """A rule's citations for JSON: each article with the phrase it is cited for."""
    return [{"article": s, "anchor": rule.anchors.get(s, "")} for s in rule.sources]


def _timeline_json(flow: Flow, rec: Recommendation, t: Translator) -> dict[str, Any] | None:
    timeline = next((tl for tl in flow.timelines if tl.id == rec.timeline), None)
    if timeline is None:
        return None
    return {
        "id": timeline.id,
        "phases": [{"id": p.id, "title": t(p.title), "text": t(p.text)} for p in timeline.phases],
        "sources": cited(timeline),
    }
