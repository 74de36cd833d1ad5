"""The webhook as an outsider sees it, `advisor run` as a process against the Bot API emulator
(with a lowered file-descriptor limit where it matters)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.telegram.app import BotConfig

SECRET = "s3cret-Value_1"
PUBLIC = "https://bot.example.test"
PATH = "/telegram"
# `advisor run` with a lower limit on open files, as `ulimit -n` would set it
WITH_FILE_LIMIT = (
    "import resource, sys\n"
    "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv.pop(1)), hard))\n"
    "from bot.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float = 10, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class WebhookBot:
    process: subprocess.Popen
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> str:
        """Stop the bot as an operator would (SIGINT) and return its whole log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.log()


@pytest.fixture
def start_bot(emulator, tmp_path):
    """Start `advisor run` in webhook mode (on the default listen address) behind the
    emulator's proxy; wait until it has set its webhook."""
    started: list[WebhookBot] = []

    def start(file_limit: int = 1024) -> WebhookBot:
        port = free_port()
        log_path = tmp_path / f"bot-{len(started)}.log"
        args = ["run", "--db", str(tmp_path / "bot.db"), "--api-url", emulator.base_url,
                "--webhook-url", PUBLIC + PATH, "--port", str(port)]  # fmt: skip
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": emulator.token,
               "TELEGRAM_WEBHOOK_SECRET": SECRET}  # fmt: skip
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-c", WITH_FILE_LIMIT, str(file_limit), *args],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        bot = WebhookBot(process, port, log_path)
        started.append(bot)
        emulator.proxy(PUBLIC, f"http://127.0.0.1:{port}")
        emulator.wait_for(lambda: emulator.webhook_url, timeout=30, what="setWebhook")
        return bot

    yield start
    for bot in started:
        bot.stop()


# -- advisor run, attacked ------------------------------------------------------------------


def test_the_webhook_listens_on_localhost_by_default(start_bot):
    assert BotConfig(token="1:x").listen == "127.0.0.1"
    assert build_parser().parse_args(["run"]).listen == "127.0.0.1"
    bot = start_bot()
    socket.create_connection(("127.0.0.1", bot.port), timeout=10).close()
    with pytest.raises(ConnectionRefusedError):  # another loopback address: not all addresses
        socket.create_connection(("127.0.0.2", bot.port), timeout=10)
