"""Exports of hostile text: Markdown that shows it as written, a PDF that prints every
character or a visible U+FFFD without a glyph warning, CSV cells that no spreadsheet runs
as a formula, and a client's name as the caption of their PDF in the chat."""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import replace
from itertools import groupby
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from markdown_it import MarkdownIt
from pypdf import PdfReader

from advisor import export
from advisor import markdown as markdown_report
from advisor import pdf as pdf_report
from advisor.engine import Engine
from advisor.i18n import LANGUAGES, translator
from advisor.markdown import line, text
from advisor.report import Item, Report, Section
from storage import Store
from testkit.harness import BotRunner
from testkit.people import FLOW, PEAKS, PEAKS_PATH, SAVED, press, walk

CREATED = "2026-11-24T10:00:00+00:00"
SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
# CommonMark with GitHub's tables and strikethrough
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# what a person could type as a name or an answer, and how it reads rendered (None: as typed)
HOSTILE = {
    "<script>alert(1)</script>": None,
    "<img src=x onerror=alert(1)>": None,
    "<!-- hidden -->": None,
    "[click me](javascript:alert(1))": None,
    "![pixel](https://evil.example/p.png)": None,
    "<https://evil.example>": None,
    "[ref]: https://evil.example": None,
    "# Heading #": None,
    "> quoted": None,
    "- item": None,
    "+ item": None,
    "* item": None,
    "1. item": None,
    "2) item": None,
    "| a | b |": None,
    "```python": None,
    "~~~": None,
    "---": None,
    "===": None,
    "**bold** __strong__ *em* _em_ ~~gone~~ `code` $x^2$": None,
    "&lt;b&gt; &amp; &#60;i&#62;": None,
    "back\\slash \\* \\": None,
    "    indented code": "indented code",
    "Anna\nBerg\r\n# not a heading\n- not a list\n\n\ttab": (
        "Anna Berg # not a heading - not a list tab"
    ),
    "a\x1b[31mred\x00": "a\ufffd[31mred\ufffd",
    "Anna\u202eevil\u202c": "Annaevil",
}
PLACE = "placeholder"


def rendered(markdown: str) -> tuple[list[tuple[str, str]], list[list[str]], list[str]]:
    """What a CommonMark renderer makes of a document: its blocks, the kinds of inline parts
    in each block (text, strong, em ...), and each block's text."""
    tokens = MARKDOWN.parse(markdown)
    blocks = [(t.type, t.tag) for t in tokens]
    inlines = [t.children or [] for t in tokens if t.type == "inline"]
    kinds = [[kind for kind, _ in groupby(c.type for c in children)] for children in inlines]
    texts = ["".join(c.content for c in children if c.type == "text") for children in inlines]
    return blocks, kinds, texts


def report_with(value: str) -> Report:
    """A report with `value` in every place a text goes."""
    return Report(
        title=value,
        date=value,
        verdict="outsource",
        verdict_title=value,
        verdict_text=value,
        sections=(
            Section("reasons", value, (Item(value, ("001_a.txt",)), Item(value))),
            Section("flags", value, (Item(value, (), "high", value, value),), note=value),
            Section("next_steps", value, (Item(value),)),
        ),
        scorecard=(("fit", value, 40),),
        sources=(("001", value),),
    )


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_text_in_every_place_of_the_markdown_reads_as_typed(typed):
    t = translator("en")
    shown = HOSTILE[typed] or typed
    blocks, kinds, texts = rendered(markdown_report.render(report_with(PLACE), t))
    hostile = markdown_report.render(report_with(typed), t)
    assert rendered(hostile) == (blocks, kinds, [s.replace(PLACE, shown) for s in texts])
    html = MARKDOWN.render(hostile)
    assert not re.search(r"<(script|img|a|code|pre|blockquote|del|ol|hr|h[3-6])\b|<!--", html)


def test_a_hostile_answer_in_a_real_report_reads_as_typed():
    t = translator("en")
    rec = Engine(FLOW).run(PEAKS)[1].recommendation
    pricing = t(FLOW.by_id["pricing"].short)

    def document(answer):
        return export.markdown(
            FLOW, replace(rec, answers={**rec.answers, "pricing": answer}), t, CREATED
        )

    typed = "<script>x</script>\n# [x](javascript:y) | **z**"
    blocks, kinds, texts = rendered(document(PLACE))
    assert f"{pricing}: {PLACE}" in texts
    shown = "<script>x</script> # [x](javascript:y) | **z**"
    assert rendered(document(typed)) == (blocks, kinds, [s.replace(PLACE, shown) for s in texts])


def test_text_escapes_markdown_and_html_everywhere_and_line_starts_where_a_line_starts():
    assert text("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert text("[a](javascript:x) ![i](y)") == r"\[a\](javascript:x) !\[i\](y)"
    assert text("*a* _b_ `c` ~d~ $e$ #f |g| \\h") == r"\*a\* \_b\_ \`c\` \~d\~ \$e\$ \#f \|g\| \\h"
    assert text("see https://evil.example or www.evil.example") == (
        r"see https\://evil.example or www\.evil.example"
    )
    assert text("a\nb\r\n\tc  d ") == "a b c d"
    assert text("a\x1bb\x7fc\u202ed") == "a\ufffdb\ufffdcd"
    assert text("Växjö, Łódź, 1.5 (x) 100% 😀 שלום") == "Växjö, Łódź, 1.5 (x) 100% 😀 שלום"
    # inline, a list marker is only text; at a line's start it gets a backslash
    assert text("1. a") == "1. a"
    assert [line(s) for s in ("1. a", "22) b", "- c", "+ d", "===", "- - -")] == [
        r"1\. a",
        r"22\) b",
        r"\- c",
        r"\+ d",
        r"\===",
        r"\- - -",
    ]
    assert [line(s) for s in ("-5 %", "+46 8", "1.5 million", "= x")] == [
        "-5 %",
        "+46 8",
        "1.5 million",
        "= x",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_our_own_texts_need_no_escape_so_the_markdown_reads_as_before(language):
    t = translator(language)
    for path in SCENARIOS:
        rec = Engine(FLOW).run(yaml.safe_load(path.read_text())["answers"])[1].recommendation
        markdown = export.markdown(FLOW, rec, t, CREATED)
        assert "\\" not in markdown and "&lt;" not in markdown and "&amp;" not in markdown


# -- PDF ----------------------------------------------------------------------------------------

EMOJI = "Emoji 😀 👍 ❤️ done"
ARABIC = "مرحبا بالعالم"
HEBREW = "שלום עולם"
CJK = "你好世界"


def pdf_text(data: bytes) -> str:
    """The PDF's text, without the control characters pypdf shows for the extra glyphs
    HarfBuzz makes of one Arabic letter (fpdf2 maps them to no character)."""
    pages = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"[\x00-\x09\x0b-\x1f]", "", pages)


def pdf_fonts(data: bytes) -> set[str]:
    """The fonts a PDF embeds, without their subset prefix (`ABCDEF+`)."""
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return fonts


def glyph_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING or "missing" in r.getMessage().lower()
    ]


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def hostile_report() -> Report:
    return Report(
        title=f"Title {HEBREW}",
        date="24 November 2026",
        verdict="outsource",
        verdict_title=f"Bold 🚀 {ARABIC}",
        verdict_text=EMOJI,
        sections=(
            Section(
                "answers",
                "Your answers",
                (Item(f"Arabic: {ARABIC}"), Item(f"Hebrew: {HEBREW}"), Item(f"CJK: {CJK} end")),
                note=f"Italic 🌍 {HEBREW}",
            ),
        ),
        scorecard=(),
        sources=(),
    )


def test_without_fallback_fonts_every_character_the_font_lacks_shows_as_a_mark(caplog, monkeypatch):
    monkeypatch.delenv(pdf_report.FALLBACK_FONTS, raising=False)
    caplog.set_level(logging.DEBUG)
    text = pdf_text(pdf_report.render(hostile_report(), translator("en")))
    # one mark for each character, the words and spaces around them as they were
    for shown in (
        "Hebrew: ???? ????",
        "Arabic: ????? ???????",
        "CJK: ???? end",
        "Emoji ? ? ? done",
    ):
        assert shown in text
    assert not any(c in text for c in (ARABIC + HEBREW + CJK + "😀").replace(" ", ""))
    assert glyph_warnings(caplog) == []


@pytest.mark.skipif(not DEJAVU.exists(), reason="no DejaVu Sans on this machine")
def test_the_operators_fallback_fonts_print_what_they_have_and_only_when_needed(
    caplog, monkeypatch, tmp_path
):
    (tmp_path / "DejaVuSans.ttf").symlink_to(DEJAVU)
    monkeypatch.setenv(pdf_report.FALLBACK_FONTS, str(tmp_path))
    caplog.set_level(logging.DEBUG)
    t = translator("pl")
    rec = Engine(FLOW).run(PEAKS)[1].recommendation
    latin = pdf_fonts(export.pdf(FLOW, rec, t, CREATED))
    assert all(name.startswith("SourceSansPro") for name in latin)
    typed = f"Anna {HEBREW} {CJK}\x00\u202e"
    data = export.pdf(FLOW, replace(rec, answers={**rec.answers, "pricing": typed}), t, CREATED)
    text = pdf_text(data)
    # set right to left: read back in visual order, unless HarfBuzz shaped it
    assert all(word in text or word[::-1] in text for word in HEBREW.split())
    assert pdf_report.MISSING * (len(CJK) + 1) in text  # the NUL too; the bidi override is dropped
    assert sorted(pdf_fonts(data) - latin) == ["DejaVuSansBook"]  # its PostScript name
    assert glyph_warnings(caplog) == []


# -- CSV ----------------------------------------------------------------------------------------

FORMULAS = ("=cmd()", "+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1+1", " =1+1",
            "\u3000=1+1", "＝1+1", "＋1", "－1", "＠SUM(A1)")  # fmt: skip


@pytest.mark.parametrize("typed", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(typed):
    assert export.neutralise(typed) == "'" + typed


def test_plain_cells_stay_as_they_are():
    for typed in ("plain", "1+1", "a=b", "'quoted", "Łódź", "😀=1"):
        assert export.neutralise(typed) == typed


def test_a_formula_typed_as_an_answer_reaches_the_csv_quoted():
    rec = Engine(FLOW).run(PEAKS)[1].recommendation
    typed = '=HYPERLINK("https://evil.example","x")'
    summary = SimpleNamespace(
        id=1,
        conversation_id=2,
        user_id=3,
        flow_id=FLOW.id,
        flow_version=FLOW.version,
        language="en",
        created_at=CREATED,
        recommendation=replace(rec, answers={**rec.answers, "pricing": typed}),
    )
    data = export.csv_bytes(FLOW, [summary]).decode("utf-8")
    (row,) = csv.DictReader(io.StringIO(data[1:]))
    assert row["answer_pricing"] == "'" + typed


# -- Telegram -----------------------------------------------------------------------------------


def test_a_hostile_client_name_captions_the_consultants_pdf_as_typed(emulator, tmp_path):
    db = tmp_path / "bot.db"
    with Store(db) as store:
        anna = store.consultants.add("Anna Consult", telegram_id=501)
    name = '<a href="https://evil.example">Bank</a> & <b'
    with BotRunner(emulator, db):
        client = emulator.user(651, first_name=name)
        client.send(f"/start c{anna.code}")
        consent = client.wait_for(
            lambda: next((m for m in client.messages if "invited you" in m.plain_text), None)
        )
        press(client, consent, "Yes, share")
        walk(client, PEAKS_PATH)
        client.wait_for(lambda: any(SAVED in (m.plain_text or "") for m in client.messages))
        anna_chat = emulator.user(501, first_name="Anna")
        anna_chat.send("/clients export")
        pdf = anna_chat.wait_for(
            lambda: next((m for m in anna_chat.messages if m.document and m.plain_text), None)
        )
    assert pdf.document.filename.endswith(".pdf")
    assert (pdf.plain_text, pdf.entities) == (name, [])
