"""The test kit: a Bot API emulator, the bot run against it, and people to play users.

Tests and the benchmarks both import it (`from testkit.botapi import BotApiEmulator`); it
is installed with the project so that neither needs a path edit. It never talks to the
real Telegram.
"""
