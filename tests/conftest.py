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
