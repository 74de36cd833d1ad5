"""The bot token and the webhook secret: from the environment or a file, never an argument.

A value on the command line is visible to every local user (`ps`, /proc/<pid>/cmdline); a
process's environment only to its owner, and a file to whom its mode allows. Every value
read here is hidden from the output and the logs at once (`logs.hide`).
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterable

from .logs import hide

TOKEN = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET = "TELEGRAM_WEBHOOK_SECRET"
# what Telegram accepts in the X-Telegram-Bot-Api-Secret-Token header
SECRET_FORM = re.compile(r"[A-Za-z0-9_-]{1,256}")
# options that took a secret on the command line, and what to use instead
RETIRED = {
    "--token": f"set {TOKEN} or pass --token-file PATH",
    "--webhook-secret": f"set {WEBHOOK_SECRET} or pass --webhook-secret-file PATH",
}


class SecretError(Exception):
    """A secret that cannot be used: missing, unreadable, empty or malformed (one line)."""


def retired_option(argv: Iterable[str]) -> str | None:
    """Why an option in `argv` that would put a secret on the command line is refused."""
    for word in argv:
        name = word.split("=", 1)[0]
        if name in RETIRED:
            return (
                f"{name} is no longer accepted: a secret on the command line can be read by "
                f"every local user (ps); {RETIRED[name]}"
            )
    return None


def from_file(path: str, what: str) -> str:
    """The secret a file holds (white space around it removed); warns on stderr when other
    users may read or change the file."""
    try:
        with open(path, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            data = file.read(64 * 1024)
    except FileNotFoundError:
        raise SecretError(f"the {what} file {path} does not exist") from None
    except PermissionError:
        raise SecretError(f"cannot read the {what} file {path}: permission denied") from None
    except OSError as error:
        raise SecretError(f"cannot read the {what} file {path}: {error.strerror}") from None
    if mode & 0o077:
        print(
            f"advisor: warning: other users may read or change {path} "
            f"({stat.filemode(mode)}); make it owner-only: chmod 600 {path}",
            file=sys.stderr,
        )
    try:
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"the {what} file {path} is not UTF-8 text") from None
    hide(value)
    if not value or len(value.split()) != 1:
        raise SecretError(f"the {what} file {path} must hold the {what} alone, on one line")
    return value


def bot_token(token_file: str | None = None) -> str | None:
    """The bot token: from --token-file, else $TELEGRAM_BOT_TOKEN_FILE, else
    $TELEGRAM_BOT_TOKEN; None when none is configured."""
    path = token_file or os.environ.get(f"{TOKEN}_FILE")
    token = from_file(path, "bot token") if path else os.environ.get(TOKEN) or None
    hide(token)
    return token


def webhook_secret(secret_file: str | None = None) -> str | None:
    """The webhook secret: from --webhook-secret-file, else $TELEGRAM_WEBHOOK_SECRET_FILE,
    else $TELEGRAM_WEBHOOK_SECRET; None when none is configured."""
    path = secret_file or os.environ.get(f"{WEBHOOK_SECRET}_FILE")
    secret = from_file(path, "webhook secret") if path else os.environ.get(WEBHOOK_SECRET) or None
    hide(secret)
    if secret is not None and not SECRET_FORM.fullmatch(secret):
        raise SecretError("the webhook secret may use only A-Z a-z 0-9 _ - (1-256 characters)")
    return secret


def configured() -> bool:
    """Whether the environment names a bot token (then plain `advisor` runs the bot)."""
    return bool(os.environ.get(TOKEN) or os.environ.get(f"{TOKEN}_FILE"))
