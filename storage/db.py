"""The SQLite file: opening it, one write transaction, and turning rows into values.

Every module of storage/ writes through `write()` and reads rows with `rows()`/`first()`;
nothing outside storage/ writes SQL.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .schema import migrations

DEFAULT_PATH = "advisor.db"
BUSY_TIMEOUT = 5.0


class StorageError(RuntimeError):
    """The database cannot take a write now (locked, full, read-only); nothing was written.

    `code` is a message id for the front end: `busy` or `unavailable`.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class StaleConversation(RuntimeError):
    """Another write moved the conversation on first (a double press, a second process)."""


def default_path() -> str:
    return os.environ.get("ADVISOR_DB") or DEFAULT_PATH


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _jsonable(value: Any) -> Any:
    """For the JSON encoder: read-only mappings are written as objects (tuples already are
    arrays)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_jsonable).encode


def open_database(path: str | Path, timeout: float = BUSY_TIMEOUT) -> Database:
    """The file, created owner-only if new, in WAL mode and migrated to the current schema."""
    path = str(path)
    if path != ":memory:" and not os.path.exists(path):
        # owner-only from the first byte: the file holds people's business answers
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
    db = Database(connection)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(db)
    except sqlite3.Error as error:
        connection.close()
        raise storage_error(error) from error
    return db


@contextmanager
def write(db: Database) -> Iterator[sqlite3.Connection]:
    """One write transaction; the write lock is taken up front so it waits, then commits.

    Any SQLite error becomes a StorageError, and nothing of the transaction is kept.
    """
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise storage_error(error) from error
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            raise storage_error(error) from error
        raise


def rows(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    columns = [c[0] for c in cursor.description]
    for row in cursor:
        yield dict(zip(columns, row, strict=True))


def first(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    return next(rows(cursor), None)


def storage_error(error: sqlite3.Error) -> StorageError:
    message = str(error)
    busy = "locked" in message or "busy" in message
    return StorageError("busy" if busy else "unavailable", message)
