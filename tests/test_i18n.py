"""Five languages: negotiation, complete catalogs, plurals, numbers, and no English leaking."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from advisor.catalogs import check_buttons, check_catalogs, unextracted
from advisor.i18n import LANGUAGES, catalog_path, negotiate, translator
from advisor.numbers import parse_number
from testkit.harness import FLOW, BotRunner
from testkit.people import PEAKS, next_question, press, toggle, typed_lines

ROOT = Path(__file__).resolve().parent.parent
# a new company with simple questions and lower cost as its goal, in the terminal
NEW_COMPANY = {
    **PEAKS,
    "situation": "new_company",
    "complexity": "mostly_simple",
    "goals": ["cost"],
}
PATH_ANSWERS = "".join(f"{line}\n" for line in typed_lines(FLOW, NEW_COMPANY))


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("sv", "sv"),
        ("sv-SE", "sv"),
        ("nl-BE", "nl"),
        ("fi_FI", "fi"),
        ("pl-PL", "pl"),
        ("pt-br", "en"),
        ("en-GB", "en"),
        ("", "en"),
        (None, "en"),
        ("not a tag!", "en"),
    ],
)
def test_language_is_negotiated_from_the_telegram_tag(tag, language):
    assert negotiate(tag) == language


def test_every_catalog_is_complete_and_its_placeholders_match():
    assert check_catalogs([FLOW]) == []


def test_every_option_button_fits_a_phone_in_every_language():
    assert check_buttons([FLOW]) == []


def test_every_marked_string_reaches_the_template():
    """pybabel cannot see N_() inside an f-string: every marked literal must still be there."""
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    marked = re.compile(r"""(?:N_|plural)\((['"])(.*?)\1""")
    sources = [*(ROOT / "advisor").glob("*.py"), *(ROOT / "bot").rglob("*.py")]
    missing = {
        (path.name, found.group(2))
        for path in sources
        for found in marked.finditer(path.read_text(encoding="utf-8"))
        if found.group(2) not in template
    }
    assert missing == set()


def test_the_template_holds_every_message_of_the_code_and_flows():
    """A string added to the code or a flow without `pybabel extract` fails here, and in
    `advisor check`."""
    assert unextracted(ROOT) == []
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for language in LANGUAGES:
        with catalog_path(language).open("rb") as handle:
            ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
        assert template <= ids, f"run pybabel update for {language}"


@pytest.mark.parametrize(("n", "form"), [(1, 0), (2, 1), (5, 2), (22, 1), (12, 2), (101, 2)])
def test_polish_plurals_follow_the_polish_rule(n, form):
    t = translator("pl")
    catalog = read_po(catalog_path("pl").open("rb"), locale="pl")
    forms = catalog.get(("{n} red flag", "{n} red flags")).string
    expected = forms[form].format(n=t.number(n))
    assert t.plural("{n} red flag", "{n} red flags", n) == expected


def test_numbers_are_formatted_and_parsed_per_locale():
    sv, nl, en = translator("sv"), translator("nl"), translator("en")
    assert sv.number(12000) == "12\u00a0000"
    assert nl.number(12000) == "12.000"
    assert en.number(12000) == "12,000"
    for t in (sv, nl, en):
        assert parse_number(t.number(12000), t.language) == 12000
    assert parse_number("2,5", "sv") == 2.5
    assert parse_number("12 000", "fi") == 12000


def english_sentences() -> set[str]:
    """English source texts that must not show up in another language's output."""
    en = read_po(catalog_path("en").open("rb"), locale="en")
    return {m.id for m in en if isinstance(m.id, str) and len(m.id.split()) >= 3}


def leaked(output: str, language: str) -> list[str]:
    catalog = read_po(catalog_path(language).open("rb"), locale=language)
    same = {m.id for m in catalog if m.id and m.string == m.id}
    return sorted(s for s in english_sentences() - same if s in output)


@pytest.mark.parametrize("language", ["pl", "fi"])
def test_a_whole_terminal_conversation_speaks_only_the_chosen_language(language, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "chat",
            "--db",
            str(tmp_path / "x.db"),
            "--lang",
            language,
        ],
        input=PATH_ANSWERS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    t = translator(language)
    assert t(FLOW.verdicts["outsource"].title) in result.stdout
    assert leaked(result.stdout, language) == []


@pytest.mark.parametrize("language", ["pl", "fi"])
def test_a_whole_telegram_conversation_speaks_only_the_users_language(language, emulator, tmp_path):
    t = translator(language)
    with BotRunner(emulator, tmp_path / "bot.db"):
        user = emulator.user(3300, first_name="Ola", language_code=f"{language}-{language.upper()}")
        user.send("/start")
        message = next_question(user)
        for question in FLOW.questions:
            # not asked on this path: a campaign's, several goals', a chosen provider's, and
            # keeping your own operation (a new company has none)
            skipped = ("campaign_direction", "main_goal", "selection_practices", "keep_facilities")
            if question.id in skipped:
                continue
            if question.kind == "number":
                user.send(t.number(12000))
            elif question.kind == "yes_no":
                press(user, message, t("Yes"))
            elif question.kind == "multiple":
                toggle(user, message, t(question.options[0].button))
                press(user, message, t("Done"))
            else:
                press(user, message, t(question.options[0].button))
            if question.id == "security_checks":
                break
            message = next_question(user)
        user.wait_for(lambda: any("/summary" in (m.plain_text or "") for m in user.messages[-3:]))
    output = "\n".join(m.plain_text or "" for m in user.messages)
    assert leaked(output, language) == []
    assert f"➜ {t.number(12000)}" in output


def test_switching_language_mid_conversation_keeps_the_answers(emulator, tmp_path):
    with BotRunner(emulator, tmp_path / "bot.db"):
        user = emulator.user(3400, first_name="Sven", language_code="en")
        user.send("/start")
        press(user, next_question(user), FLOW.by_id["duration"].options[0].button)
        first = next_question(user)
        press(user, first, FLOW.by_id["situation"].options[3].button)
        next_question(user)
        user.send("/language")
        chooser = user.wait_for(
            lambda: next((m for m in user.messages if "Svenska" in m.buttons), None)
        )
        press(user, chooser, "Svenska")
        sv = translator("sv")
        again = next_question(user)
        assert again.plain_text.startswith("3/")
        assert sv(FLOW.by_id["inhouse_signals"].text) in again.plain_text
        press(user, again, "◀ " + sv("Back"))
        back = next_question(user)
        assert sv(FLOW.by_id["situation"].text) in back.plain_text
        assert "✅ " + sv(FLOW.by_id["situation"].options[3].button) in back.buttons
