"""The Telegram front end (python-telegram-bot 22) over the advisor service."""
