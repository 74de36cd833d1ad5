"""Logging to standard error, and never a secret in anything the process prints.

`-v` shows the advisor's own debug lines; the libraries underneath (python-telegram-bot,
aiohttp, transitions, the PDF's font tools ...) stay at warnings unless `-v -v`. A secret
(the bot token, the webhook secret) is registered with `hide()` as soon as it is read, and
from then on it is replaced, whatever its case (python-telegram-bot capitalizes some error
descriptions, lower-casing the rest), in every log line, traceback and message on stdout or
stderr (`guard()` wraps both streams, so a `print`, an uncaught exception's traceback or a
library's warning are covered like the log).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from typing import Any, TextIO, cast

LIBRARIES = ("telegram", "httpx", "httpcore", "aiohttp", "transitions", "fontTools", "fpdf", "PIL",
             "tornado", "asyncio")  # fmt: skip
REDACTED = "<redacted>"
SHORTEST = 6  # shorter values (test tokens like "1:x") would redact ordinary words


class Redact(logging.Filter):
    """Replaces each secret in a log line (its message, arguments, exception and stack) by a
    mark; `clean()` does the same to any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: frozenset[str] = frozenset()
        self.pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        words = set(self.secrets)
        for secret in secrets:
            # a bot token "<bot id>:<key>": the key alone is the secret part, wherever it shows
            for word in (secret or "", (secret or "").partition(":")[2]):
                if len(word) >= SHORTEST:
                    words.add(word)
        if words != self.secrets:
            ordered = sorted(words, key=len, reverse=True)
            self.pattern = re.compile("|".join(map(re.escape, ordered)), re.I)
            self.secrets = frozenset(words)

    def clean(self, text: str) -> str:
        pattern = self.pattern
        return pattern.sub(REDACTED, text) if pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.pattern is None:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}\n{''.join(traceback.format_exception(*record.exc_info))}"
            record.exc_info, record.exc_text = None, None
        if record.stack_info:
            message, record.stack_info = f"{message}\n{record.stack_info}", None
        record.msg, record.args = self.clean(message.rstrip("\n")), None
        return True


REDACT = Redact()  # the process's secrets: the log filter and the guarded streams share them


def hide(*secrets: str | None) -> None:
    """From now on, never show these values (whatever their case) in output or logs."""
    REDACT.add(*secrets)


class RedactedStream:
    """A text stream (stdout, stderr) that writes everything through `REDACT.clean`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(REDACT.clean(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding ...
        return getattr(self.stream, name)


def guard() -> None:
    """Send stdout and stderr through the redaction for the rest of the process."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactedStream):
            setattr(sys, name, cast(TextIO, RedactedStream(stream)))


def setup(verbosity: int, level: int = logging.WARNING, secrets: Iterable[str] = ()) -> None:
    """Log to standard error at `level`, or debug with -v (the libraries at warnings unless
    -v -v), with `secrets` and every hidden value redacted from every line."""
    hide(*secrets)
    guard()
    logging.basicConfig(
        level=logging.DEBUG if verbosity else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(REDACT)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
