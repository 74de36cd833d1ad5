"""HTTP to the Bot API that rides out short network trouble.

A connection error or timeout is retried a few times with growing pauses before the error
reaches the handlers; a Bot API answer (even an error) is never retried here, and 429s are
the rate limiter's to wait out.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)
PAUSES = (0.5, 1.0, 2.0)


class RetryingRequest(HTTPXRequest):
    async def do_request(self, *args, **kwargs):
        for pause in PAUSES:
            try:
                return await super().do_request(*args, **kwargs)
            except (TimedOut, NetworkError) as error:
                name = type(error).__name__
                log.warning("Bot API request failed (%s); retrying in %.1f s", name, pause)
                await asyncio.sleep(pause)
        return await super().do_request(*args, **kwargs)
