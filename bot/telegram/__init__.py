"""The Telegram front end (python-telegram-bot 22): one handler per action, split by
feature, each calling the advisor service and showing its result (see `app.py`)."""
