"""The Telegram front end (python-telegram-bot 22): one handler per action, split by
feature, each calling the advisor service and showing its result (see `app.py`)."""

import os

# durations as timedelta, as python-telegram-bot 23 will give them: the future behaviour now,
# without a deprecation warning each time an update carrying one is kept in the inbox
os.environ.setdefault("PTB_TIMEDELTA", "1")
