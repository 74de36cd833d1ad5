"""The Markdown report: the same Report the chat shows, for e-mail, wikis and boards.

Every text in it is plain text, as in the PDF and the chat: the answers a person gave, but
also our own catalog strings and the flow's source titles (a `*` in a translation is an
asterisk, not emphasis). `text()` escapes each one so that a CommonMark renderer, GitHub's
included, shows it as written; headings, lists, the table, bold and italics come only from
the lines `render` writes around the texts. What `text()` changes:

- `\\`, the backtick, `* _ [ ] | ~ $ #` get a backslash wherever they are: emphasis,
  code, links and images, GFM tables and strikethrough, GitHub's math, a heading's end;
- `< > &` become `&lt; &gt; &amp;`, which every renderer decodes, so no HTML, entity or
  `<autolink>` can start in a text;
- `line()`, for a text that starts a line or a list item, also puts a backslash before a
  list marker (`- `, `+ `, the dot of `1. `, the parenthesis of `1) `) and before a line
  of `-` or `=`: no list, thematic break or setext heading (`>`, `#` and fences are
  escaped anyway);
- line breaks, tabs and runs of spaces become one space and the ends are trimmed, so a
  text stays on its line and cannot indent a code block; other control characters become
  U+FFFD (never raw, not even on an operator's terminal) and bidi overrides are dropped;
- `://` and `www.` get a backslash, so GitHub's bare-URL autolinks do not link them.

Left as they are: `. : ( ) ! ' "` and the rest, which mean nothing without the above. The
catalogs hold none of the escaped characters today, so the report reads as before; raw, a
user's `<b>` reads `&lt;b&gt;`. GitHub's decorations of the rendered text (`:emoji:`,
@mentions) are not Markdown and are not prevented.
"""

from __future__ import annotations

import re

from .i18n import N_, Translator
from .report import (
    BIDI_CONTROLS,
    INSTEAD,
    RECOMMENDATION,
    SOURCES,
    Item,
    Report,
    cite,
    severity_label,
)

ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
SPECIAL = re.compile(r"[\\`*_\[\]|~$#<>&]")
SPACES = re.compile(r"[ \t\r\n\f\v\x1c-\x1f\x85\u2028\u2029]+")
# control characters and lone surrogates (from a stored JSON "\\ud800"), after SPACES
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
DROPPED = dict.fromkeys(map(ord, BIDI_CONTROLS))
# a list marker (`-`, `+`, `1.`, `1)` before a space or the end), or a line of `-` or `=`
# (a thematic break, a setext heading's underline)
BLOCK_START = re.compile(r"(?:[-+]|\d{1,9}[.)])(?= |$)|[-=][-= ]*$")
# where a backslash goes: before `://` after a scheme's letters, after a word-initial `www`
BARE_LINKS = re.compile(r"(?<=[A-Za-z0-9])(?=://)|(?<![\w.])(?i:www)(?=\.)")


def text(value: str) -> str:
    """`value` as inline Markdown that renders as these characters, on one line."""
    value = SPACES.sub(" ", value.translate(DROPPED)).strip()
    value = UNPRINTABLE.sub("\ufffd", value)
    value = SPECIAL.sub(lambda m: ENTITIES.get(m[0], "\\" + m[0]), value)
    # `https\://` and `www\.`: invisible once rendered, and no autolink starts
    return BARE_LINKS.sub(lambda m: m[0] + "\\", value)


def line(value: str) -> str:
    """`text(value)` where it starts a line or a list item, and so could start a block."""
    value = text(value)
    start = BLOCK_START.match(value)
    if start is None:
        return value
    if start[0][0].isdigit():  # `1\. ` : the backslash before the dot or parenthesis
        end = start.end() - 1
        return value[:end] + "\\" + value[end:]
    return "\\" + value


def render(report: Report, t: Translator) -> str:
    """The recommendation as a Markdown document."""
    lines = [f"# {text(report.title)}", ""]
    if report.date:
        lines += [f"*{text(report.date)}*", ""]
    verdict = f"{text(t(RECOMMENDATION))}: {text(report.verdict_title)}"
    lines += [f"## {verdict}", "", line(report.verdict_text), ""]
    if report.scorecard:
        lines += [f"## {text(t(N_('Readiness scorecard')))}", "", "| | |", "|---|---:|"]
        lines += [f"| {text(title)} | {score} / 100 |" for _, title, score in report.scorecard]
        lines.append("")
    for section in report.sections:
        lines += [f"## {text(section.title)}", ""]
        if section.note and text(section.note):
            lines += [f"*{text(section.note)}*", ""]
        lines += [row for item in section.items for row in _item(section.key, item, t)]
        lines.append("")
    lines += [f"## {text(t(SOURCES))}", ""]
    lines += [f"- [{text(number)}] {text(title)}" for number, title in report.sources]
    return "\n".join(lines) + "\n"


def _item(key: str, item: Item, t: Translator) -> list[str]:
    cited = f" [{text(cite(item))}]" if item.sources else ""
    if item.severity:
        label = text(severity_label(item.severity, t))
        return [
            f"- **{text(item.text)}** ({label}){cited}  ",
            f"  {line(item.detail or '')}  ",
            f"  {line(t(INSTEAD))} {text(item.instead or '')}",
        ]
    if key == "next_steps":
        return [f"- [ ] {text(item.text)}{cited}"]
    return [f"- {line(item.text)}{cited}"]
