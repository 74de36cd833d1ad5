"""Consultants end to end: links, consent, notifications, /clients, and who sees what."""

from __future__ import annotations

import pytest

from storage import Store
from testkit.harness import BotRunner
from testkit.people import PEAKS_PATH, SAVED, next_question, press, walk


@pytest.fixture
def db(tmp_path):
    return tmp_path / "bot.db"


def register(db, name, telegram_id):
    with Store(db) as store:
        return store.consultants.add(name, telegram_id=telegram_id)


def texts(user) -> str:
    return "\n".join(m.plain_text or "" for m in user.messages if m.from_bot)


def finish(user, payload: str, consent: str | None):
    user.send(f"/start {payload}")
    if consent is not None:
        prompt = user.wait_for(
            lambda: next((m for m in user.messages if "invited you" in (m.plain_text or "")), None)
        )
        press(user, prompt, consent)
    walk(user, PEAKS_PATH)
    user.wait_for(lambda: SAVED in texts(user))


def test_a_consenting_client_reaches_their_consultant_and_nobody_else(emulator, db):
    anna = register(db, "Anna Consult", 501)
    bert = register(db, "Bert Advisory", 502)
    with BotRunner(emulator, db):
        anna_chat = emulator.user(501, first_name="Anna")
        anna_chat.send("/mylink")
        link = anna_chat.next_message()
        assert f"https://t.me/{emulator.bot_user['username']}?start=c{anna.code}" in link.plain_text
        assert f"/start c{anna.code}" in link.plain_text

        client = emulator.user(601, first_name="Cleo", last_name="Client")
        finish(client, f"c{anna.code}", "Yes, share")
        assert "will be shared with Anna Consult" in texts(client)
        note = anna_chat.wait_for(
            lambda: next(
                (m for m in anna_chat.messages if "has finished" in (m.plain_text or "")), None
            )
        )
        assert "Cleo Client" in note.plain_text and "Outsource the overflow" in note.plain_text

        shy = emulator.user(602, first_name="Sam", last_name="Shy")
        finish(shy, f"c{anna.code}", "No, keep it private")

        anna_chat.send("/clients")
        listing = anna_chat.wait_for(
            lambda: next(
                (m for m in anna_chat.messages if "1 client" in (m.plain_text or "")), None
            )
        )
        assert "Cleo Client" in listing.plain_text
        assert "Sam Shy" not in listing.plain_text

        bert_chat = emulator.user(502, first_name="Bert")
        bert_chat.send("/clients")
        assert "No client has shared" in bert_chat.next_message().plain_text
        assert not any("has finished" in (m.plain_text or "") for m in bert_chat.messages)
        assert not any(
            "has finished" in (m.plain_text or "") and "Sam" in m.plain_text
            for m in anna_chat.messages
        )
        # forged consent for a consultant the client never came through is refused
        forged = client.press_data(f"k:{bert.id}:1", 1)
        assert "not valid" in client.wait_callback_answered(forged).text
    with Store(db) as store:
        assert [c.name for c in store.consultants.clients_of(store.consultants.get(bert.id))] == []


def test_the_code_typed_alone_works_like_the_link(emulator, db):
    anna = register(db, "Anna Consult", 501)
    with BotRunner(emulator, db):
        client = emulator.user(611, first_name="Dora")
        client.send(anna.code.upper())
        prompt = client.wait_for(
            lambda: next(
                (m for m in client.messages if "invited you" in (m.plain_text or "")), None
            )
        )
        assert prompt.buttons == ["Yes, share", "No, keep it private"]
        assert next_question(client).plain_text.startswith("1/")


def test_withdrawn_consent_and_a_disabled_consultant_stop_sharing(emulator, db):
    anna = register(db, "Anna Consult", 501)
    with BotRunner(emulator, db):
        client = emulator.user(621, first_name="Eve")
        finish(client, f"c{anna.code}", "Yes, share")
        client.send("/privacy")
        privacy = client.wait_for(
            lambda: next((m for m in client.messages if m.buttons and "Anna" in m.buttons[0]), None)
        )
        press(client, privacy, privacy.buttons[0])
        anna_chat = emulator.user(501, first_name="Anna")
        anna_chat.send("/clients")
        assert "No client has shared" in anna_chat.next_message().plain_text
    with Store(db) as store:
        store.consultants.disable(anna.code)
    with BotRunner(emulator, db):
        anna_chat.send("/mylink")
        assert "registered consultants" in anna_chat.next_message().plain_text
        late = emulator.user(631, first_name="Finn")
        late.send(f"/start c{anna.code}")
        assert next_question(late).plain_text.startswith("1/")
        assert "invited you" not in texts(late)


def test_an_invite_code_makes_a_consultant_once(emulator, db):
    with Store(db) as store:
        code = store.consultants.invite()
    with BotRunner(emulator, db):
        gina = emulator.user(701, first_name="Gina")
        gina.send(f"/consultant {code}")
        assert "registered as a consultant" in gina.next_message().plain_text
        assert "https://t.me/" in gina.next_message().plain_text
        other = emulator.user(702, first_name="Hugo")
        other.send(f"/consultant {code}")
        assert "not valid" in other.next_message().plain_text
        other.send("/clients")
        assert "registered consultants" in other.next_message().plain_text


def test_a_link_can_preset_the_clients_language(emulator, db):
    from advisor.i18n import translator

    anna = register(db, "Anna Consult", 501)
    pl = translator("pl")
    with BotRunner(emulator, db):
        client = emulator.user(641, first_name="Ola", language_code="en")
        client.send(f"/start c{anna.code}_lpl")
        greeting = client.next_message()
        assert pl("Hello {name}! I am your outsourcing advisor.", name="Ola") in greeting.plain_text
        prompt = client.next_message()
        assert prompt.buttons == [pl("Yes, share"), pl("No, keep it private")]
        assert pl(BotRunner.__init__.__globals__["FLOW"].questions[0].text) in (
            next_question(client).plain_text
        )


def test_clients_export_sends_the_csv_and_pdfs_only_to_their_consultant(emulator, db):
    anna = register(db, "Anna Consult", 501)
    register(db, "Bert Advisory", 502)
    with BotRunner(emulator, db):
        client = emulator.user(651, first_name="Kim", last_name="Client")
        finish(client, f"c{anna.code}", "Yes, share")
        bert_chat = emulator.user(502, first_name="Bert")
        for attempt in ("/clients export", f"/start c{anna.code}", "/mylink"):
            bert_chat.send(attempt)
            bert_chat.next_message()
        assert not any(m.document for m in bert_chat.messages)
        assert not any("Kim" in (m.plain_text or "") for m in bert_chat.messages)
        anna_chat = emulator.user(501, first_name="Anna")
        anna_chat.send("/clients export")
        documents = anna_chat.wait_for(
            lambda: [m.document for m in anna_chat.messages if m.document][:2] or None
        )
        anna_chat.wait_for(lambda: len([m for m in anna_chat.messages if m.document]) == 2)
        documents = [m.document for m in anna_chat.messages if m.document]
        assert documents[0].filename == "clients.csv"
        assert "overflow" in documents[0].data.decode("utf-8-sig")
        assert documents[1].filename.endswith(".pdf")


def test_an_over_long_consultant_name_is_refused_or_shortened(emulator, db):
    import subprocess
    import sys

    added = subprocess.run(
        [sys.executable, "-m", "bot.cli", "consultants", "add", "X" * 2100, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 2 and "64" in added.stderr
    with Store(db) as store:
        code = store.consultants.invite()
    with BotRunner(emulator, db):
        long = emulator.user(520, first_name="Y" * 2100)
        long.send(f"/consultant {code}")
        long.wait_for(lambda: "registered as a consultant" in texts(long))
        link = long.wait_for(
            lambda: next((m for m in long.messages if "t.me" in m.plain_text), None)
        )
        payload = link.plain_text.split("start=")[1].split()[0]
        client = emulator.user(521, first_name="Zoe")
        client.send(f"/start {payload}")
        prompt = client.wait_for(
            lambda: next(
                (m for m in client.messages if "invited you" in (m.plain_text or "")), None
            )
        )
        assert len(prompt.text) <= 4096 and "…" in prompt.plain_text
