"""Each language as a native reader gets it: its glossary kept, no English left, a whole
conversation and its PDF in that language alone, names and dates as the language writes them.
"""

from __future__ import annotations

import io
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pypdf import PdfReader

from advisor.i18n import LANGUAGES, catalog_path, translator
from advisor.report import answer_text
from storage import Store
from testkit.harness import FLOW, BotRunner
from testkit.people import PEAKS, buttons, press, rows, walk

ROOT = Path(__file__).resolve().parent.parent
OTHERS = ["sv", "nl", "fi", "pl"]
WORD = re.compile(r"[^\W\d_]+")


def glossary(language: str) -> tuple[list[dict[str, str]], set[str]]:
    """The rows of a language's glossary table and its loanwords."""
    text = (ROOT / "locales" / language / "GLOSSARY.md").read_text(encoding="utf-8")
    table, _, rest = text.partition("## Loanwords")
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("English", "") and not set(cells[0]) <= {"-"}:
            rows.append(dict(zip(("english", "use", "not", "seeds"), cells, strict=True)))
    loanwords = {w.strip().strip(".").lower() for w in re.split(r"[,\n]", rest) if w.strip()}
    # "back-ups" is read as "back" and "ups" by WORD, so its parts are loanwords too
    return rows, {part for w in loanwords if w for part in (w, *w.split("-"))}


@cache
def translations(language: str) -> list[str]:
    with catalog_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    found = []
    for message in catalog:
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            found += [s for s in strings if s]
    return found


COMMANDS_AND_FIELDS = re.compile(r"/\w+|\{\w+\}")  # /summary, {flags}: not words of prose


def words(texts) -> set[str]:
    return {w.lower() for text in texts for w in WORD.findall(COMMANDS_AND_FIELDS.sub(" ", text))}


@pytest.mark.parametrize("language", OTHERS)
def test_the_catalog_uses_no_variant_its_glossary_rules_out(language):
    rows, _ = glossary(language)
    assert len(rows) >= 15, "a glossary of the domain's key terms"
    found = []
    for row in rows:
        for variant in filter(None, (v.strip() for v in row["not"].split(","))):
            if variant in ("—", "-"):
                continue
            pattern = re.compile(rf"(?<!\w){re.escape(variant)}(?!\w)", re.IGNORECASE)
            found += [(variant, s) for s in translations(language) if pattern.search(s)]
    assert found == []


# English that no sentence in these four languages needs: the little words every English
# sentence has, and the domain's words a hurried translation leaves behind
ENGLISH = set(
    [
        "the",
        "and",
        "with",
        "your",
        "you",
        "this",
        "that",
        "which",
        "what",
        "when",
        "would",
        "should",
        "their",
        "there",
        "these",
        "those",
        "from",
        "have",
        "has",
        "will",
        "about",
        "into",
        "than",
        "them",
        "they",
        "were",
        "been",
        "being",
        "does",
        "did",
        "not",
        "but",
        "our",
        "out",
        "for",
        "how",
        "who",
        "why",
        "are",
        "can",
        "may",
        "must",
        "each",
        "every",
        "other",
        "only",
        "also",
        "just",
        "more",
        "most",
        "some",
        "such",
        "very",
        "well",
        "still",
        "after",
        "before",
        "between",
        "through",
        "while",
        "where",
        "here",
        "was",
        "provider",
        "providers",
        "customer",
        "customers",
        "answer",
        "answers",
        "question",
        "questions",
        "recommendation",
        "advice",
        "pricing",
        "goal",
        "goals",
        "report",
        "outsource",
        "outsourcing",
        "flag",
        "flags",
        "readiness",
        "scorecard",
        "verdict",
        "owner",
        "handover",
        "campaign",
        "monthly",
        "months",
        "years",
        "weeks",
        "days",
        "yes",
        "none",
        "done",
        "back",
        "restart",
        "summary",
        "settings",
        "privacy",
        "language",
    ]
)
# words of those that are also ordinary words of a language
NATIVE = {
    "sv": {"must", "still", "just"},
    "nl": {"was", "been", "here", "over"},
    "fi": set(),
    "pl": {"most"},
}


def english_words(language: str) -> set[str]:
    """English that must not be in this language's output (its loanwords aside)."""
    _, loanwords = glossary(language)
    return ENGLISH - NATIVE[language] - loanwords


@pytest.mark.parametrize("language", OTHERS)
def test_a_whole_conversation_and_its_pdf_contain_no_english(language, emulator, tmp_path):
    t = translator(language)
    with BotRunner(emulator, tmp_path / "bot.db"):
        user = emulator.user(3300, first_name="Ola", language_code=language)
        user.send("/start")
        walk(user, buttons(FLOW, PEAKS, t))
        pdf_button = "📄 " + t("PDF report")  # under the report's last message
        report = user.wait_for(
            lambda: next((m for m in user.messages if pdf_button in m.buttons), None)
        )
        press(user, report, pdf_button)
        document = user.wait_for(lambda: next((m for m in user.messages if m.document), None))
    pdf = PdfReader(io.BytesIO(document.document.data))
    chat = "\n".join(m.plain_text or "" for m in user.messages if m.from_bot)
    text = chat + "\n" + "\n".join(page.extract_text() for page in pdf.pages)
    left = sorted(words([text]) & english_words(language))
    assert left == [], f"English in the {language} conversation: {left}"


@pytest.mark.parametrize("language", OTHERS)
def test_no_translation_carries_english_words(language):
    """The same check over every entry of the catalog, the texts no path above shows too."""
    found = {
        s: sorted(words([s]) & english_words(language))
        for s in translations(language)
        if words([s]) & english_words(language)
    }
    assert found == {}


@pytest.mark.parametrize("language", OTHERS)
def test_choosing_a_language_names_it_as_that_language_writes_it(language, bot, emulator):
    user = emulator.user(3400 + OTHERS.index(language))
    user.send("/language")
    chooser = user.wait_for(lambda: next((m for m in user.messages if m.buttons), None))
    press(user, chooser, LANGUAGES[language])
    said: str = user.wait_for(
        lambda: next(
            (
                m.plain_text
                for m in user.messages
                if m.from_bot and m.message_id > chooser.message_id
            ),
            None,
        )
    )
    if language != "nl":  # Dutch writes Nederlands with a capital, the others do not
        assert LANGUAGES[language] not in said[1:]  # "svenska", "suomea": not "Svenska"
    assert said == translator(language)("I will speak English from now on.")


def test_items_after_the_first_lose_their_capital_in_a_joined_list():
    t = translator("pl")
    goals = FLOW.by_id["goals"]
    text = answer_text(FLOW, goals, ("cost", "customer_experience"), t)
    second = t(goals.option("customer_experience").text)
    assert second[0].isupper() and second[0].lower() + second[1:] in text
    gdpr = answer_text(FLOW, FLOW.by_id["security_checks"], ("backups", "gdpr"), translator("en"))
    assert "GDPR" in gdpr  # an acronym keeps its capitals


def test_a_consultants_client_list_shows_dates_as_the_language_writes_them(emulator, tmp_path):
    db = tmp_path / "bot.db"
    with Store(db) as store:
        anna = store.consultants.add("Anna Konsult", telegram_id=3501)
    with BotRunner(emulator, db):
        client = emulator.user(3502, first_name="Ola")
        client.send(f"/start c{anna.code}")
        consent = client.wait_for(
            lambda: next(
                (m for m in client.messages if "invited you" in (m.plain_text or "")), None
            )
        )
        press(client, consent, "Yes, share")
        walk(client, buttons(FLOW, PEAKS))
        unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        client.wait_for(lambda: rows(db, unsent) == [(0,)])  # the report and the news are out
        consultant = emulator.user(3501, first_name="Anna", language_code="sv")
        consultant.send("/clients")
        listing = consultant.next_message().plain_text
    assert translator("sv").date(date.today()) in listing
    assert date.today().isoformat() not in listing
