"""Logging: to standard error, and never a secret in a line.

`-v` shows the advisor's own debug lines; the libraries underneath (python-telegram-bot,
aiohttp, transitions, the PDF's font tools ...) stay at warnings unless `-v -v`. Every
command redacts the bot token, whatever its case (python-telegram-bot lower-cases some
error descriptions).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

LIBRARIES = ("telegram", "httpx", "httpcore", "aiohttp", "transitions", "fontTools", "fpdf", "PIL",
             "tornado", "asyncio")  # fmt: skip
REDACTED = "<redacted>"


class Redact(logging.Filter):
    """Replaces each secret in a log line (its message, arguments and exception) by a mark."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        words = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, words)), re.I) if words else None

    def clean(self, text: str) -> str:
        return self.pattern.sub(REDACTED, text) if self.pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.pattern is None:
            return True
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            import traceback

            details = "".join(traceback.format_exception(*record.exc_info))
            if self.clean(details) != details:
                record.exc_info = None
                record.msg = f"{record.msg}\n{self.clean(details)}"
                record.args = None
        return True


def setup(verbosity: int, level: int = logging.WARNING, secrets: Iterable[str] = ()) -> None:
    """Log to standard error at `level`, or debug with -v (the libraries at warnings unless
    -v -v), with `secrets` redacted from every line."""
    logging.basicConfig(
        level=logging.DEBUG if verbosity else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    redact = Redact(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
