"""The HTTP listener under the webhook: time-outs, a cap on connections, refusals counted.

Only Telegram should reach this server (through the reverse proxy), with a few connections
that send their headers at once. Anything else is a mistake or an attack and must cost
little: a connection that sends nothing is closed after a few seconds, or as soon as a new
one needs its place; running out of file descriptors pauses accepting instead of raising in
a loop; and refusals are summed up in a log line a minute instead of a line each.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from tornado import httputil
from tornado.http1connection import HTTP1ServerConnection
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

log = logging.getLogger(__name__)

# Telegram opens at most 40 connections to a webhook unless setWebhook asks for up to 100
MAX_CONNECTIONS = 100
HEADER_TIMEOUT = 10.0  # seconds for a request's headers, on a new or a kept-alive connection
BODY_TIMEOUT = 10.0  # seconds for the body (Telegram's are a few kB)
MAX_HEADERS = 16 * 1024
REPORT_EVERY = 60.0
ACCEPT_PAUSE = 0.5  # out of file descriptors, with no idle connection to close: wait this long
ACCEPT_BATCH = 128  # accepts per wake-up, as tornado does, so other work is not starved
OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# why a connection was turned away, as the log says it
REPLACED = "replaced while idle"
FREED = "closed while idle to free a descriptor"
OVER_LIMIT = "over the limit"
PAUSED = "accept paused without descriptors"


def connection_limit() -> int:
    """`MAX_CONNECTIONS`, or a quarter of the file descriptors the process may open if that is
    fewer, so the bot's own connections to Telegram and its database always find one."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft // 4))


class Refusals:
    """Refused requests and turned-away connections, counted and logged at most about once a
    minute: the first after a quiet minute at once, the rest summed up a minute later."""

    def __init__(self, clock: Callable[[], float], every: float = REPORT_EVERY) -> None:
        self.clock = clock
        self.every = every
        self.requests: Counter[str] = Counter()
        self.connections: Counter[str] = Counter()
        self.reported_at: float | None = None

    def refused(self, reason: str) -> None:
        self.requests[reason] += 1
        self.tick()

    def turned_away(self, reason: str) -> None:
        self.connections[reason] += 1
        self.tick()

    def tick(self) -> None:
        """Report what was counted if the last report is a minute old (call it now and then)."""
        due = self.reported_at is None or self.clock() - self.reported_at >= self.every
        if due and (self.requests or self.connections):
            self.report()

    def report(self) -> None:
        """Log what was counted since the last report, one line per kind, and start over."""
        for counts, verb, noun in (
            (self.requests, "refused", "request"),
            (self.connections, "turned away", "connection"),
        ):
            if counts:
                total = counts.total()
                details = ", ".join(f"{reason} {n}" for reason, n in counts.most_common())
                plural = "" if total == 1 else "s"
                log.warning("webhook: %s %d %s%s in the last minute (%s)",
                            verb, total, noun, plural, details)  # fmt: skip
                counts.clear()
                self.reported_at = self.clock()


class GuardedServer(HTTPServer):
    """tornado's HTTPServer with at most `max_connections` connections at once.

    At the limit a new connection takes the place of the one that has waited longest for a
    request's headers (idle, or sending them slowly: Telegram sends its headers at once), or
    is closed if every connection is busy with a request. Running out of file descriptors
    in `accept()` does the same, or pauses accepting; tornado's own accept loop would raise
    and be called again at once, logging a traceback each time.
    """

    def initialize(  # type: ignore[override]  # two settings more than HTTPServer's
        self, *args: Any, max_connections: int, refusals: Refusals, **kwargs: Any
    ) -> None:
        super().initialize(*args, **kwargs)
        self.max_connections = max_connections
        self.refusals = refusals
        self.open = 0
        self.waiting: dict[IOStream, None] = {}  # connections waiting for headers, oldest first
        self.closing: set[IOStream] = set()  # closed here, not yet seen off by tornado
        self.paused: dict[int, object] = {}  # listening socket -> when accepting resumes
        self.stopped = False

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        sockets = list(sockets)
        super().add_sockets(sockets)  # so that stop() knows them; the accept loop is ours
        for sock in sockets:
            IOLoop.current().remove_handler(sock)
            self._accept_from(sock)

    def stop(self) -> None:
        self.stopped = True
        for resume in self.paused.values():
            IOLoop.current().remove_timeout(resume)
        self.paused.clear()
        super().stop()

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        full = self.open - len(self.closing) >= self.max_connections
        if full and not self.close_oldest_waiting(REPLACED):
            stream.close()
            self.refusals.turned_away(OVER_LIMIT)
            return
        self.open += 1
        self.waiting[stream] = None  # from now: tornado starts reading on the next turn
        super().handle_stream(stream, address)

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        stream = cast(HTTP1ServerConnection, server_conn).stream
        if not stream.closed():  # closed here before tornado began to read it
            # a new connection keeps its place in the queue, a kept-alive one goes to the back
            self.waiting.setdefault(stream)
        request = super().start_request(server_conn, request_conn)
        return _HeadersWatched(request, lambda: self.waiting.pop(stream, None))

    def on_close(self, server_conn: object) -> None:
        stream = cast(HTTP1ServerConnection, server_conn).stream
        self.open -= 1
        self.waiting.pop(stream, None)
        self.closing.discard(stream)
        super().on_close(server_conn)

    def close_oldest_waiting(self, reason: str) -> bool:
        """Close the connection that has waited longest for a request; False if none waits."""
        if not self.waiting:
            return False
        oldest = next(iter(self.waiting))
        del self.waiting[oldest]
        self.closing.add(oldest)  # tornado sees it off on the next turn of the loop
        oldest.close()
        self.refusals.turned_away(reason)
        return True

    def _accept_from(self, sock: socket.socket) -> None:
        self.paused.pop(sock.fileno(), None)
        if not self.stopped:
            IOLoop.current().add_handler(sock, self._accept, IOLoop.READ)

    def _accept(self, sock: socket.socket, events: int) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                connection, address = sock.accept()
            except BlockingIOError:
                return  # every waiting connection is accepted
            except ConnectionAbortedError:
                continue  # closed by the client while in the queue
            except OSError as error:
                if error.errno not in OUT_OF_DESCRIPTORS:
                    raise
                if self.close_oldest_waiting(FREED):
                    continue
                # the socket stays readable: without a pause this would spin
                self.refusals.turned_away(PAUSED)
                IOLoop.current().remove_handler(sock)
                resume = IOLoop.current().call_later(ACCEPT_PAUSE, self._accept_from, sock)
                self.paused[sock.fileno()] = resume
                return
            stream = IOStream(
                connection,
                max_buffer_size=self.max_buffer_size,
                read_chunk_size=self.read_chunk_size,
            )
            self.handle_stream(stream, address)


class _HeadersWatched(httputil.HTTPMessageDelegate):
    """A request passed through unchanged, telling the server when its headers arrive."""

    def __init__(self, inner: httputil.HTTPMessageDelegate, on_headers: Callable[[], object]):
        self.inner = inner
        self.on_headers = on_headers

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Awaitable[None] | None:
        self.on_headers()
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.inner.on_connection_close()
