"""`advisor run` as a real process against the Bot API emulator: polling, webhook, tokens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def advisor(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """`python -m bot.cli` on this checkout's code (not an installed copy)."""
    environment = {**os.environ, **(env or {})}
    environment.pop("TELEGRAM_BOT_TOKEN", None) if env is None else None
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def test_run_without_a_token_explains_and_fails(tmp_path):
    process = advisor("run", "--db", str(tmp_path / "x.db"), env={"TELEGRAM_BOT_TOKEN": ""})
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in err


def test_a_rejected_token_is_a_clear_error_and_never_printed(emulator, tmp_path):
    wrong = "999999:WRONG-secret-token-value"
    process = advisor(
        "run",
        "--db",
        str(tmp_path / "x.db"),
        "--api-url",
        emulator.base_url,
        env={"TELEGRAM_BOT_TOKEN": wrong},
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "rejected the bot token" in err
    assert "WRONG-secret" not in out + err


def secret_file(path: Path, value: str, mode: int = 0o600) -> Path:
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def test_polling_bot_process_answers_a_user(emulator, tmp_path):
    process = advisor(
        "-v",
        "run",
        "--db",
        str(tmp_path / "bot.db"),
        "--api-url",
        emulator.base_url,
        "--token-file",
        str(secret_file(tmp_path / "token", emulator.token)),
        env={"TELEGRAM_BOT_TOKEN": ""},
    )
    try:
        alice = emulator.user(1001, first_name="Alice")
        alice.send("/start")
        alice.next_message(timeout=30)
        question = alice.next_message()
        assert question.plain_text.startswith("1/")
    finally:
        err = stop(process)
    assert "getUpdates" in err or "polling" in err  # debug logging was on
    assert "warning" not in err  # the token file is owner-only
    assert emulator.token not in err
    assert emulator.token.split(":")[1] not in err


def test_webhook_mode_needs_a_secret(tmp_path):
    process = advisor(
        "run",
        "--db",
        str(tmp_path / "x.db"),
        "--webhook-url",
        "https://example.org/hook",
        env={"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": ""},
    )
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "secret" in err


def test_webhook_mode_serves_the_right_secret_and_refuses_a_wrong_one(emulator, tmp_path):
    port = free_port()
    process = advisor(
        "run",
        "--db",
        str(tmp_path / "bot.db"),
        "--api-url",
        emulator.base_url,
        "--webhook-url",
        "https://bot.example.test/telegram",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        "--webhook-secret-file",
        str(secret_file(tmp_path / "webhook-secret", "s3cret-Value_1")),
        env={"TELEGRAM_BOT_TOKEN": emulator.token},
    )
    emulator.proxy("https://bot.example.test", f"http://127.0.0.1:{port}")
    try:
        emulator.wait_for(lambda: emulator.webhook_url, timeout=30, what="setWebhook")
        bob = emulator.user(2002, first_name="Bob")
        bob.send("/start")
        bob.next_message(timeout=30)
        assert bob.next_message().plain_text.startswith("1/")
        update = {
            "update_id": 999_999,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/start",
                "chat": {"id": 3003, "type": "private"},
                "from": {"id": 3003, "is_bot": False, "first_name": "Mallory"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        assert emulator.post_raw_webhook(update, secret="wrong") == 403
        assert emulator.post_raw_webhook(update, secret=None) == 403
        huge = {**update, "padding": "x" * 400_000}
        assert emulator.post_raw_webhook(huge, secret="s3cret-Value_1") == 413
        assert not any(
            c.params.get("chat_id") in (3003, "3003") for c in emulator.calls_to("sendMessage")
        )
    finally:
        stop(process)


def test_a_broken_flow_is_refused_at_start_up_with_the_exact_error(tmp_path):
    broken = tmp_path / "advisor.yaml"
    broken.write_text("flow: x\nquestions:\n  - id: a\n    kind: maybe\n", encoding="utf-8")
    process = advisor(
        "run",
        "--db",
        str(tmp_path / "x.db"),
        "--flow",
        str(broken),
        env={"TELEGRAM_BOT_TOKEN": "1:x"},
    )
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"{broken}:4: unknown kind 'maybe'" in err


def test_a_webhook_url_that_is_not_https_is_refused_at_start(tmp_path):
    process = advisor(
        "run",
        "--db",
        str(tmp_path / "x.db"),
        "--webhook-url",
        "http://bot.example.org/telegram",
        env={"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "s3cret"},
    )
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "https://" in err


def test_a_secret_on_the_command_line_is_refused_and_not_repeated(tmp_path):
    for words in (["--token", "123456:Typed-On-The-Line"], ["--webhook-secret=Typed-On-The-Line"]):
        process = advisor("run", "--db", str(tmp_path / "x.db"), *words, env={})
        out, err = process.communicate(timeout=30)
        assert process.returncode == 2
        assert "no longer accepted" in err
        assert "Typed-On-The-Line" not in out + err
    assert not (tmp_path / "x.db").exists()


def test_missing_or_loose_secret_files_are_named(tmp_path):
    missing = tmp_path / "missing"
    process = advisor("run", "--token-file", str(missing), "--db", str(tmp_path / "x.db"), env={})
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err == f"advisor: the bot token file {missing} does not exist\n"
    loose = secret_file(tmp_path / "webhook-secret", "not-allowed!", mode=0o644)
    process = advisor(
        "run",
        "--webhook-url",
        "https://bot.example.org/telegram",
        "--webhook-secret-file",
        str(loose),
        "--db",
        str(tmp_path / "x.db"),
        env={"TELEGRAM_BOT_TOKEN": "1:x"},
    )
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"other users may read or change {loose} (-rw-r--r--)" in err
    assert "may use only A-Z a-z 0-9 _ -" in err and "not-allowed!" not in err
