"""The webhook attacked as an outsider would: idle connections, large unsigned bodies, floods.

Half the tests run `advisor run` as a process against the Bot API emulator (with a lowered
file-descriptor limit where it matters); the rest run the listener in-process, where an
exhausted `accept()` can be simulated and time-outs shortened.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.cli import build_parser
from bot.telegram import listener, webhook
from bot.telegram.app import BotConfig
from bot.telegram.listener import GuardedServer, Refusals

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


@pytest.fixture
def many_files():
    """Room in this process for the attacker's 1,100 sockets, whatever `ulimit -n` says."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_more_idle_connections_than_file_descriptors_leave_room_for_telegram(
    emulator, start_bot, many_files
):
    bot = start_bot(file_limit=1024)
    idle = []
    try:
        # more than the bot may open files: half-open requests, and connections that say nothing
        for n in range(1100):
            sock = socket.create_connection(("127.0.0.1", bot.port), timeout=10)
            if n % 2:
                sock.sendall(b"POST /telegram HTTP/1.1\r\n")
            idle.append(sock)
        bob = emulator.user(2002, first_name="Bob")
        bob.send("/start")
        bob.next_message(timeout=30)
        assert bob.next_message().plain_text.startswith("1/")
    finally:
        for sock in idle:
            sock.close()
        log = bot.stop()
    assert bot.process.returncode == 0
    assert len(log) < 3000 and len(log.splitlines()) < 15, log[:3000]
    assert "Traceback" not in log and "Too many open files" not in log
    turned_away = refusal_counts(log, "turned away")
    assert sum(turned_away.values()) >= 1000, log  # all but the hundred it may hold


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


def test_an_update_delivered_twice_is_handled_once_and_a_malformed_one_refused(start_bot, emulator):
    start_bot()
    ann = emulator.user(7701)
    update = {
        "update_id": 77_001,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": ann.chat_json(),
            "from": ann.as_json(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    assert emulator.post_raw_webhook(update, secret=SECRET) == 200
    assert emulator.post_raw_webhook(update, secret=SECRET) == 200  # Telegram tries again
    ann.send("/help")
    ann.wait_for(lambda: any("/privacy" in (m.plain_text or "") for m in ann.messages), 30)
    questions = [m for m in ann.messages if (m.plain_text or "").startswith("1/")]
    assert len(questions) == 1
    for body in (None, 1, [], "x", {"update_id": "x"}, {"update_id": 5, "message": "x"}):
        assert emulator.post_raw_webhook(body, secret=SECRET) == 400
    too_large = {**update, "update_id": 2**70}  # would fail every write it makes
    beyond_the_calendar = {**update, "update_id": 77_002}
    beyond_the_calendar["message"] = {**update["message"], "date": 10**20}
    for body in (too_large, beyond_the_calendar, b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000):
        assert emulator.post_raw_webhook(body, secret=SECRET) == 400


# -- the listener, in-process ---------------------------------------------------------------


class Recorded(Refusals):
    """Refusals that also keep every reason (a report starts the counts over)."""

    def __init__(self) -> None:
        super().__init__(clock=lambda: 0.0)
        self.seen: Counter[str] = Counter()

    def turned_away(self, reason: str) -> None:
        self.seen[reason] += 1
        super().turned_away(reason)


class Ok(RequestHandler):
    async def get(self) -> None:
        await self.settings["busy"].wait()
        self.write("ok")


class Exhausted(socket.socket):
    """A listening socket whose next `failures` accepts fail as if the process were out of
    file descriptors."""

    failures = 0

    def accept(self):
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


def guarded(
    max_connections: int, refusals: Refusals, busy: asyncio.Event
) -> tuple[GuardedServer, Exhausted, int]:
    """A GuardedServer whose one page answers once `busy` is set; the socket, the port."""
    server = GuardedServer(
        TornadoApplication([("/", Ok)], busy=busy),
        max_connections=max_connections,
        refusals=refusals,
    )
    sock = Exhausted(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server.add_sockets([sock])
    return server, sock, sock.getsockname()[1]


async def until(condition: Callable[[], object], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def get(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return reader, writer


async def closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


def test_a_new_connection_takes_the_place_of_the_oldest_idle_one():
    async def scenario() -> None:
        refusals = Recorded()
        busy = asyncio.Event()
        busy.set()
        server, _, port = guarded(2, refusals, busy)
        first = await asyncio.open_connection("127.0.0.1", port)
        second = await asyncio.open_connection("127.0.0.1", port)
        await until(lambda: len(server.waiting) == 2)
        reader, _ = await get(port)
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        assert await closed(first[0])
        assert not second[0].at_eof()
        assert refusals.seen == {listener.REPLACED: 1}
        server.stop()
        await server.close_all_connections()

    asyncio.run(scenario())


def test_a_connection_beyond_the_limit_is_closed_when_all_are_busy():
    async def scenario() -> None:
        refusals = Recorded()
        busy = asyncio.Event()
        server, _, port = guarded(2, refusals, busy)
        requests = [await get(port), await get(port)]
        await until(lambda: server.open == 2 and not server.waiting)
        reader, _ = await asyncio.open_connection("127.0.0.1", port)
        assert await closed(reader)
        assert refusals.seen == {listener.OVER_LIMIT: 1}
        busy.set()
        for request_reader, _ in requests:
            assert (await request_reader.readline()).startswith(b"HTTP/1.1 200")
        server.stop()
        await server.close_all_connections()

    asyncio.run(scenario())


def test_out_of_file_descriptors_closes_an_idle_connection_or_pauses(monkeypatch, caplog):
    monkeypatch.setattr(listener, "ACCEPT_PAUSE", 0.05)

    async def scenario() -> None:
        refusals = Recorded()
        busy = asyncio.Event()
        busy.set()
        server, sock, port = guarded(10, refusals, busy)
        sock.failures = 3  # with nobody idle: accepting pauses, three times
        reader, _ = await get(port)
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        idle_reader, _ = await asyncio.open_connection("127.0.0.1", port)
        await until(lambda: len(server.waiting) == 2)  # the idle one, the kept-alive one
        sock.failures = 2  # now each failure closes one of them instead
        reader, _ = await get(port)
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        assert await closed(idle_reader)
        assert refusals.seen == {
            listener.PAUSED: 3,
            listener.FREED: 2,
        }
        server.stop()
        await server.close_all_connections()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert len([r for r in caplog.records if "webhook:" in r.getMessage()]) == 1


def test_time_outs_close_slow_headers_and_slow_bodies(monkeypatch):
    monkeypatch.setattr(webhook, "HEADER_TIMEOUT", 0.2)
    monkeypatch.setattr(webhook, "BODY_TIMEOUT", 0.2)

    async def scenario() -> None:
        server = webhook.webhook_server(
            None, secret=SECRET, path=PATH, refusals=Refusals(clock=lambda: 0.0)
        )
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        slow_headers, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /telegram HTTP/1.1\r\nHost: x\r\n")
        slow_body, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            f"{webhook.SECRET_HEADER}: {SECRET}\r\n\r\n{{".encode()
        )
        started = time.monotonic()
        assert await closed(slow_headers)
        assert await closed(slow_body)
        assert time.monotonic() - started < 3
        server.stop()
        await server.close_all_connections()

    asyncio.run(scenario())


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
