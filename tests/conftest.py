"""Fixtures every test file shares: the Bot API emulator, and the bot running against it."""

from __future__ import annotations

import pytest

from testkit.botapi import BotApiEmulator
from testkit.harness import BotRunner


@pytest.fixture
def emulator():
    with BotApiEmulator() as emu:
        yield emu


@pytest.fixture
def bot(emulator, tmp_path):
    with BotRunner(emulator, tmp_path / "bot.db") as runner:
        yield runner


@pytest.fixture
def finished_db(tmp_path):
    """A database file with one finished recommendation (the PEAKS manager) and one consultant."""
    from bot.service import AdvisorService, Asking
    from storage import Store
    from testkit.people import FLOW, PEAKS

    path = tmp_path / "finished.db"
    with Store(path) as store:
        service = AdvisorService(FLOW, store)
        user = store.user("terminal", "anna", language="en")
        step = service.current(user)
        while isinstance(step.turn, Asking):
            step = service.answer(user, PEAKS[step.turn.prompt.id])
        service.consultants.add("Anna Berg")
    return path
