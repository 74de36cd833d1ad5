"""Runs the real Telegram Application in a thread against the Bot API emulator."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from bot.service import AdvisorService
from bot.telegram.app import ALLOWED_UPDATES, BotConfig, build_application
from storage import Store

from .people import FLOW


class BotRunner:
    """The bot as `advisor run` would run it (polling), but in-process so tests stay fast."""

    def __init__(
        self, emulator, db_path: Path, flow=FLOW, busy_timeout: float | None = None, **config
    ) -> None:
        self.emulator = emulator
        self.db_path = db_path
        self.flow = flow
        self.busy_timeout = busy_timeout  # how long a write waits for a lock (default 5 s)
        self.config = config  # BotConfig fields to change, such as read_timeout
        self.store: Store | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> BotRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bot", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the bot did not start")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(20)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # surfaced to the test thread
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self.busy_timeout is None:
            self.store = Store(self.db_path)
        else:
            self.store = Store(self.db_path, timeout=self.busy_timeout)
        service = AdvisorService(self.flow, self.store)
        config = BotConfig(
            token=self.emulator.token,
            api_url=self.emulator.base_url,
            max_rate=1000,
            retry_pauses=(0.01, 0.02, 0.04),  # the retries happen; the test need not wait
            **self.config,
        )
        application = build_application(service, config)
        try:
            async with application:
                await application.post_init(application)
                await application.start()
                await application.updater.start_polling(
                    poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
                )
                self._ready.set()
                await self._stop.wait()
                await application.updater.stop()
                await application.stop()
        finally:
            self.store.close()
