"""No secret in anything `advisor` prints: log lines, tracebacks, its own messages, any case."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bot.logs import REDACTED, Redact
from testkit.people import PEAKS

ROOT = Path(__file__).resolve().parent.parent
# mixed case, so that a copy lower-cased on the way (python-telegram-bot capitalizes error
# descriptions) is caught too; the emulator rejects it
TOKEN = "424242:Leak-Me-If-You-Can_0123456789"
KEY = TOKEN.partition(":")[2]


def advisor(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    """`python -m bot.cli` on this checkout's code, with only the Telegram variables given."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**environment, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
    )


# each command with what it should end with; those marked True call the Bot API with the token
COMMANDS: list[tuple[list[str], int, bool]] = [
    (["chat", "--user", "anna"], 0, False),
    (["advise", "--answers", "{answers}"], 0, False),
    (["check"], 0, False),
    (["consultants", "list"], 0, True),
    (["consultants", "add", "Bo Ek"], 0, True),
    (["consultants", "link", "1"], 0, True),
    (["consultants", "invite"], 0, False),
    (["consultants", "disable", "1"], 0, False),
    (["export", "--format", "json"], 0, False),
    (["export", "--format", "csv", "--out", "{folder}/all.csv"], 0, False),
    (["stats"], 0, False),
    (["purge", "--older-than", "30"], 0, False),
    (["backup", "{folder}/copy.db"], 0, False),
    (["run"], 1, True),  # the emulator rejects the token
]


@pytest.mark.parametrize("verbosity", [["-v"], ["-v", "-v"]], ids=["v", "vv"])
def test_no_command_ever_prints_the_token_in_any_case(emulator, finished_db, tmp_path, verbosity):
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(PEAKS), encoding="utf-8")
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emulator.base_url}

    def one(index: int) -> subprocess.CompletedProcess:
        words, _, _ = COMMANDS[index]
        folder = tmp_path / str(index)
        folder.mkdir()
        shutil.copy(finished_db, folder / "x.db")
        args = [w.format(answers=answers, folder=folder) for w in words]
        return advisor(*verbosity, *args, "--db", str(folder / "x.db"), env=env, stdin="quit\n")

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one, range(len(COMMANDS))))
    for (words, code, calls_telegram), result in zip(COMMANDS, results, strict=True):
        output = (result.stdout + result.stderr).lower()
        assert result.returncode == code, (words, result.stderr[-2000:])
        assert TOKEN.lower() not in output, words
        assert KEY.lower() not in output, words
        if calls_telegram:  # the token was in what would have been printed, and was replaced
            assert REDACTED in output, words
    assert "rejected the bot token" in results[-1].stderr


def test_a_token_from_a_file_is_redacted_too(emulator, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    env = {"TELEGRAM_BOT_TOKEN_FILE": str(token_file), "TELEGRAM_API_URL": emulator.base_url}
    result = advisor("-v", "-v", "consultants", "list", "--db", str(tmp_path / "x.db"), env=env)
    output = (result.stdout + result.stderr).lower()
    assert "cannot ask telegram" in output and REDACTED in output
    assert KEY.lower() not in output


def test_an_uncaught_exception_shows_no_token(tmp_path):
    # what any crash would print: the traceback goes through the guarded stderr
    script = (
        "import os, sys; from bot.cli import main; "
        "import bot.operators as o; "
        "o.cmd_stats = lambda args: (_ for _ in ()).throw("
        "RuntimeError('bad: ' + os.environ['TELEGRAM_BOT_TOKEN'].upper())); "
        "sys.argv = ['advisor', 'stats', '--db', sys.argv[1]]; main()"
    )
    environment = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "x.db")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "RuntimeError: bad: " + REDACTED in result.stderr
    assert KEY.lower() not in result.stderr.lower()


def test_redact_replaces_the_token_and_its_key_in_any_case_in_messages_and_tracebacks():
    redact = Redact([TOKEN, "short"])
    assert redact.clean(f"url /bot{TOKEN.lower()}/getMe") == f"url /bot{REDACTED}/getMe"
    assert redact.clean(f"key {KEY.upper()}!") == f"key {REDACTED}!"
    assert redact.clean("short words stay") == "short words stay"
    try:
        raise ValueError(f"The token `{TOKEN.capitalize()}` was rejected")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "f", 1, "failed %s", (TOKEN,), None)
        record.exc_info = sys.exc_info()
    assert redact.filter(record)
    line = logging.Formatter().format(record)
    assert "ValueError: The token" in line and line.count(REDACTED) == 2
    assert KEY.lower() not in line.lower()
