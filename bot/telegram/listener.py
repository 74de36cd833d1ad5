"""Refusals at the webhook, counted: a log line a minute instead of a line a request.

Only Telegram should reach the webhook (through the reverse proxy); anything else is a
mistake or an attack, and must not be able to fill the log.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

log = logging.getLogger(__name__)

REPORT_EVERY = 60.0


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
