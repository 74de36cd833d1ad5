"""The webhook as an outsider sees it, `advisor run` as a process against the Bot API emulator
(with a lowered file-descriptor limit where it matters)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.cli import build_parser
from bot.telegram import webhook
from bot.telegram.app import BotConfig
from bot.telegram.listener import Refusals

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


def refusal_counts(log: str, kind: str) -> dict[str, int]:
    """Sum, per reason, the counts in the log's 'webhook: <kind> N ... (reason N, ...)' lines."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        if match := re.search(rf"webhook: {kind} \d+ \w+ in the last minute \((.*)\)$", line):
            for reason, n in re.findall(r"([^,]+?) (\d+)(?:, |$)", match.group(1)):
                counts[reason] = counts.get(reason, 0) + int(n)
    return counts


def read_head(sock: socket.socket) -> bytes:
    """The status line and headers of the answer on `sock`."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def post_headers_only(port: int, secret: str | None, length: int) -> socket.socket:
    """Open a connection and send a POST's headers declaring `length` bytes, but no body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = [f"POST {PATH} HTTP/1.1", "Host: bot.example.test",
             "Content-Type: application/json", f"Content-Length: {length}"]  # fmt: skip
    if secret is not None:
        lines.append(f"{webhook.SECRET_HEADER}: {secret}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def resident_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


# -- advisor run, attacked ------------------------------------------------------------------


def test_a_large_body_without_the_secret_is_refused_before_it_is_read(start_bot):
    bot = start_bot()
    for secret, status in ((None, b"403"), ("wrong", b"403"), (SECRET, b"413")):
        with post_headers_only(bot.port, secret, length=1024 * 1024) as sock:
            head = read_head(sock)  # answered although not one byte of the body was sent
            assert head.startswith(b"HTTP/1.1 " + status), head
            assert sock.recv(1) == b""  # and closed: the body will never be read
    # the attack as it was made: 300 unsigned posts of 1 MB no longer grow the bot by 130 MB
    before = resident_kb(bot.process.pid)
    body = b"x" * (1024 * 1024)
    for _ in range(300):
        with post_headers_only(bot.port, "wrong", length=len(body)) as sock:
            with contextlib.suppress(OSError):  # refused and closed before the body is through
                sock.sendall(body)
            assert read_head(sock).startswith(b"HTTP/1.1 403")
    assert resident_kb(bot.process.pid) - before < 20_000


def test_refusals_are_counted_and_logged_once_a_minute(start_bot):
    bot = start_bot()
    url = f"http://127.0.0.1:{bot.port}{PATH}"
    with httpx.Client(timeout=10) as client:
        statuses = {
            client.post(
                url, json={"update_id": n}, headers={webhook.SECRET_HEADER: "wrong"}
            ).status_code
            for n in range(300)
        }
    assert statuses == {403}
    wait_until(lambda: "webhook: refused" in bot.log(), what="the first refusal in the log")
    assert refusal_counts(bot.log(), "refused") == {"wrong secret": 1}  # at once, then quiet
    log = bot.stop()  # the rest is reported when the minute is up, or at the latest on exit
    assert refusal_counts(log, "refused") == {"wrong secret": 300}
    assert len([line for line in log.splitlines() if "webhook: refused" in line]) == 2, log
    assert "tornado" not in log  # no access-log line per refusal


def test_the_webhook_listens_on_localhost_by_default(start_bot):
    assert BotConfig(token="1:x").listen == "127.0.0.1"
    assert build_parser().parse_args(["run"]).listen == "127.0.0.1"
    bot = start_bot()
    socket.create_connection(("127.0.0.1", bot.port), timeout=10).close()
    with pytest.raises(ConnectionRefusedError):  # another loopback address: not all addresses
        socket.create_connection(("127.0.0.2", bot.port), timeout=10)


# -- refusals, counted ----------------------------------------------------------------------


def test_refusals_are_reported_at_once_then_at_most_once_a_minute(caplog):
    now = [1000.0]
    refusals = Refusals(clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="bot.telegram.listener"):
        refusals.refused("wrong secret")
        for _ in range(299):
            refusals.refused("wrong secret")
        refusals.refused("too large")
        refusals.turned_away("over the limit")
        now[0] += 59
        refusals.tick()
        lines = [r.getMessage() for r in caplog.records]
        assert lines == ["webhook: refused 1 request in the last minute (wrong secret 1)"]
        now[0] += 1
        refusals.tick()
        refusals.tick()
    assert [r.getMessage() for r in caplog.records][1:] == [
        "webhook: refused 300 requests in the last minute (wrong secret 299, too large 1)",
        "webhook: turned away 1 connection in the last minute (over the limit 1)",
    ]
