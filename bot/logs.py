"""Logging: to standard error, and never a secret in a line."""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    """Keeps the bot token out of every log line (httpx and PTB log request URLs)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        if (
            record.exc_info
            and record.exc_info[1] is not None
            and self.token in str(record.exc_info[1])
        ):
            record.exc_info = None
            record.msg = f"{record.msg} (details withheld: they contained the token)"
        return True
