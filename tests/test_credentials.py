"""The bot token and the webhook secret come from the environment or a file, never argv."""

from __future__ import annotations

import pytest

from bot import credentials
from bot.logs import REDACT, REDACTED


@pytest.fixture
def clean_environment(monkeypatch):
    for suffix in ("BOT_TOKEN", "BOT_TOKEN_FILE", "WEBHOOK_SECRET", "WEBHOOK_SECRET_FILE"):
        monkeypatch.delenv(f"TELEGRAM_{suffix}", raising=False)
    return monkeypatch


def owner_only(path, text):
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def test_the_token_file_option_then_the_file_variable_then_the_token_variable(
    clean_environment, tmp_path
):
    env = clean_environment
    assert credentials.bot_token() is None
    env.setenv("TELEGRAM_BOT_TOKEN", "111:from-the-environment")
    assert credentials.bot_token() == "111:from-the-environment"
    env.setenv("TELEGRAM_BOT_TOKEN_FILE", owner_only(tmp_path / "a", "222:from-variable-file\n"))
    assert credentials.bot_token() == "222:from-variable-file"
    option = owner_only(tmp_path / "b", "  333:from-option-file  \n")
    assert credentials.bot_token(option) == "333:from-option-file"
    assert REDACT.clean("333:FROM-OPTION-FILE") == REDACTED  # hidden as soon as it is read


def test_a_webhook_secret_file_must_hold_a_secret_telegram_accepts(clean_environment, tmp_path):
    assert credentials.webhook_secret(owner_only(tmp_path / "s", "s3cret-Value_1\n")) == (
        "s3cret-Value_1"
    )
    with pytest.raises(credentials.SecretError, match="may use only A-Z a-z 0-9 _ -"):
        credentials.webhook_secret(owner_only(tmp_path / "t", "s3cret+value"))
    clean_environment.setenv("TELEGRAM_WEBHOOK_SECRET", "from_the_environment")
    assert credentials.webhook_secret() == "from_the_environment"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "alone, on one line"), ("  \n", "alone, on one line"), ("a b\n", "alone, on one line")],
)
def test_a_secret_file_without_one_value_is_refused(tmp_path, text, problem):
    with pytest.raises(credentials.SecretError, match=problem):
        credentials.from_file(owner_only(tmp_path / "token", text), "bot token")


def test_a_secret_file_others_can_read_is_used_with_a_warning(tmp_path, capsys):
    path = tmp_path / "token"
    path.write_text("444:group-readable\n", encoding="utf-8")
    path.chmod(0o640)
    assert credentials.from_file(str(path), "bot token") == "444:group-readable"
    warning = capsys.readouterr().err
    assert f"other users may read or change {path} (-rw-r-----)" in warning
    assert f"chmod 600 {path}" in warning
    path.chmod(0o600)
    credentials.from_file(str(path), "bot token")
    assert capsys.readouterr().err == ""


def test_options_that_took_a_secret_are_refused_and_their_successors_are_not():
    for argv in (["run", "--token", "x"], ["--token=x"], ["run", "--webhook-secret", "x"]):
        assert "no longer accepted" in (credentials.retired_option(argv) or ""), argv
    for argv in (["run", "--token-file", "t"], ["run", "--webhook-secret-file=t"]):
        assert credentials.retired_option(argv) is None
