"""Everything the advisor keeps, in one SQLite file: a few verbs, each one transaction.

Nothing else in the project writes SQL. Every answer is committed (with the conversation's
new state) before the next question is shown, so a process killed at any moment resumes at
the same question with every earlier answer.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from advisor.advice import Recommendation
from advisor.engine import Conversation

from .consultants import Consultants
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


@dataclass(frozen=True)
class User:
    id: int
    channel: str
    external_id: str
    name: str | None
    language: str | None
    language_chosen: bool
    active: bool


@dataclass(frozen=True)
class StoredConversation:
    id: int
    user_id: int
    conversation: Conversation
    language: str | None
    status: str
    seq: int
    started_at: str
    updated_at: str
    finished_at: str | None


@dataclass(frozen=True)
class Summary:
    id: int
    conversation_id: int
    user_id: int
    flow_id: str
    flow_version: str
    language: str | None
    created_at: str
    recommendation: Recommendation


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


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_jsonable).encode


class Store:
    """The advisor's SQLite file, opened (created and migrated if need be) on construction."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = str(path or default_path())
        if self.path != ":memory:" and not os.path.exists(self.path):
            # owner-only from the first byte: the file holds people's business answers
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        connection = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
        self.db = Database(connection)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            migrations.apply(self.db)
        except sqlite3.Error as error:
            connection.close()
            raise _storage_error(error) from error
        self.consultants = Consultants(self)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so it waits, then commits."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise _storage_error(error) from error
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise _storage_error(error) from error
            raise

    def schema_version(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    # -- users -----------------------------------------------------------------------------

    def user(
        self,
        channel: str,
        external_id: str | int,
        *,
        name: str | None = None,
        language: str | None = None,
        now: str | None = None,
    ) -> User:
        """The user of a channel ('telegram', 'terminal'), created on first sight."""
        external_id = str(external_id)
        row = self._user_row(channel, external_id)
        if row is not None and (name is None or row["name"] == name):
            return _user(row)
        now = now or now_iso()
        with self._write() as conn:
            if row is None:
                conn.execute(
                    "INSERT OR IGNORE INTO users (channel, external_id, name, language, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (channel, external_id, name, language, now, now),
                )
            else:
                conn.execute(
                    "UPDATE users SET name = ?, updated_at = ? WHERE id = ?", (name, now, row["id"])
                )
        return _user(self._user_row(channel, external_id))

    def _user_row(self, channel: str, external_id: str) -> sqlite3.Row | None:
        cursor = self.db.conn.execute(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return _first(cursor)

    def get_user(self, user_id: int) -> User | None:
        row = _first(self.db.conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)))
        return _user(row) if row else None

    def set_language(self, user_id: int, language: str, *, now: str | None = None) -> None:
        """Remember a language the user chose; it wins over what their client says."""
        with self._write() as conn:
            conn.execute(
                "UPDATE users SET language = ?, language_chosen = 1, updated_at = ? WHERE id = ?",
                (language, now or now_iso(), user_id),
            )
            conn.execute(
                "UPDATE conversations SET language = ? WHERE user_id = ? AND status = 'open'",
                (language, user_id),
            )

    def set_active(self, user_id: int, active: bool, *, now: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE users SET active = ?, updated_at = ? WHERE id = ?",
                (int(active), now or now_iso(), user_id),
            )

    # -- conversations -----------------------------------------------------------------------

    def open_conversation(self, user_id: int) -> StoredConversation | None:
        """The user's unfinished conversation, if any."""
        cursor = self.db.conn.execute(
            "SELECT * FROM conversations WHERE user_id = ? AND status = 'open' "
            "ORDER BY id DESC LIMIT 1",
            (user_id,),
        )
        row = _first(cursor)
        return _conversation(row) if row else None

    def get_conversation(self, conversation_id: int) -> StoredConversation | None:
        cursor = self.db.conn.execute(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        )
        row = _first(cursor)
        return _conversation(row) if row else None

    def start_conversation(
        self,
        user_id: int,
        conversation: Conversation,
        *,
        language: str | None = None,
        now: str | None = None,
    ) -> StoredConversation:
        """Begin a new conversation; an open one is kept in history as 'restarted'."""
        now = now or now_iso()
        with self._write() as conn:
            conn.execute(
                "UPDATE conversations SET status = 'restarted', updated_at = ? "
                "WHERE user_id = ? AND status = 'open'",
                (now, user_id),
            )
            cursor = conn.execute(
                "INSERT INTO conversations (user_id, flow_id, flow_version, state, answers, path, "
                "language, status, seq, started_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', 0, ?, ?)",
                (
                    user_id,
                    conversation.flow_id,
                    conversation.flow_version,
                    conversation.state,
                    _json(conversation.answers),
                    _json(conversation.path),
                    language,
                    now,
                    now,
                ),
            )
            conversation_id = cursor.lastrowid
        return StoredConversation(
            conversation_id, user_id, conversation, language, "open", 0, now, now, None
        )

    def record(
        self,
        stored: StoredConversation,
        new: Conversation,
        *,
        action: str,
        question_id: str,
        value: Any = None,
        recommendation: Recommendation | None = None,
        now: str | None = None,
    ) -> StoredConversation:
        """Append one step (an answer, a back) and save the new state, in one transaction.

        With a recommendation the conversation is finished and its summary saved in the same
        transaction. Raises StaleConversation when the conversation moved on meanwhile.
        """
        now = now or now_iso()
        seq = stored.seq + 1
        finished = recommendation is not None
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE conversations SET flow_version = ?, state = ?, answers = ?, path = ?, "
                "seq = ?, updated_at = ?, status = ?, finished_at = ? "
                "WHERE id = ? AND seq = ? AND status = 'open'",
                (
                    new.flow_version,
                    new.state,
                    _json(new.answers),
                    _json(new.path),
                    seq,
                    now,
                    "finished" if finished else "open",
                    now if finished else None,
                    stored.id,
                    stored.seq,
                ),
            )
            if cursor.rowcount != 1:
                raise StaleConversation(f"conversation {stored.id} is no longer at step {seq - 1}")
            conn.execute(
                "INSERT INTO answers (conversation_id, seq, action, question_id, value, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (stored.id, seq, action, question_id, _json(value), now),
            )
            if recommendation is not None:
                conn.execute(
                    "INSERT INTO summaries (conversation_id, user_id, flow_id, flow_version, "
                    "verdict, main_goal, flags, data, language, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        stored.id,
                        stored.user_id,
                        new.flow_id,
                        new.flow_version,
                        recommendation.verdict,
                        recommendation.main_goal,
                        _json(recommendation.flags),
                        _json(recommendation.to_dict()),
                        stored.language,
                        now,
                    ),
                )
        return StoredConversation(
            stored.id,
            stored.user_id,
            new,
            stored.language,
            "finished" if finished else "open",
            seq,
            stored.started_at,
            now,
            now if finished else None,
        )

    def steps(self, conversation_id: int) -> list[dict[str, Any]]:
        """The conversation's log, in order: action, question and value of each step."""
        cursor = self.db.conn.execute(
            "SELECT seq, action, question_id, value, created_at FROM answers "
            "WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
        for row in rows:
            row["value"] = json.loads(row["value"])
        return rows

    def conversations(self, user_id: int) -> list[StoredConversation]:
        cursor = self.db.conn.execute(
            "SELECT * FROM conversations WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [_conversation(row) for row in _rows(cursor)]

    # -- summaries ---------------------------------------------------------------------------

    def latest_summary(self, user_id: int) -> Summary | None:
        cursor = self.db.conn.execute(
            "SELECT * FROM summaries WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,)
        )
        row = _first(cursor)
        return _summary(row) if row else None

    def summary_for(self, conversation_id: int) -> Summary | None:
        cursor = self.db.conn.execute(
            "SELECT * FROM summaries WHERE conversation_id = ?", (conversation_id,)
        )
        row = _first(cursor)
        return _summary(row) if row else None

    def iter_summaries(
        self,
        *,
        since: str | None = None,
        conversation_id: int | None = None,
        consultant_code: str | None = None,
    ) -> Iterator[Summary]:
        """Finished summaries in order, read with a cursor so a large export streams.

        With a consultant code, only the summaries of that consultant's consenting clients.
        """
        sql = "SELECT s.* FROM summaries s"
        where, params = [], []
        if consultant_code is not None:
            sql += (
                " JOIN clients k ON k.user_id = s.user_id"
                " JOIN consultants c ON c.id = k.consultant_id"
            )
            where += ["c.code = ?", "k.consent = 'granted'", "c.enabled = 1"]
            params.append(consultant_code)
        if since is not None:
            where.append("s.created_at >= ?")
            params.append(since)
        if conversation_id is not None:
            where.append("s.conversation_id = ?")
            params.append(conversation_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        cursor = self.db.conn.cursor()
        cursor.execute(sql + " ORDER BY s.id", params)
        for row in _rows(cursor):
            yield _summary(row)

    def stats(self) -> dict[str, Any]:
        """Started, finished and abandoned conversations, where people stop, verdicts, flags."""
        conn = self.db.conn
        by_language: dict[str, dict[str, Any]] = {}

        def bucket(language: str | None) -> dict[str, Any]:
            return by_language.setdefault(
                language or "?",
                {
                    "started": 0,
                    "finished": 0,
                    "open": 0,
                    "restarted": 0,
                    "stopped_at": {},
                    "verdicts": {},
                    "flags": {},
                },
            )

        for language, status, count in conn.execute(
            "SELECT language, status, count(*) FROM conversations GROUP BY language, status"
        ):
            entry = bucket(language)
            entry["started"] += count
            if status in ("finished", "open", "restarted"):
                entry[status] += count
        for language, state, count in conn.execute(
            "SELECT language, state, count(*) FROM conversations "
            "WHERE status != 'finished' GROUP BY language, state"
        ):
            bucket(language)["stopped_at"][state] = count
        for language, verdict, flags in conn.execute(
            "SELECT language, verdict, flags FROM summaries"
        ):
            entry = bucket(language)
            entry["verdicts"][verdict] = entry["verdicts"].get(verdict, 0) + 1
            for flag in json.loads(flags or "[]"):
                entry["flags"][flag] = entry["flags"].get(flag, 0) + 1
        return by_language

    # -- privacy and operations ------------------------------------------------------------

    def delete_user_data(self, user_id: int) -> int:
        """Erase a user's conversations, answers, summaries and consents (GDPR erasure).

        The user row stays, emptied of name and language, so the person can start afresh;
        consultants lose access in the same transaction. Returns the conversations erased.
        """
        with self._write() as conn:
            conversations = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM conversations WHERE user_id = ?", (user_id,)
                )
            ]
            _delete_conversations(conn, conversations)
            conn.execute("DELETE FROM summaries WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM clients WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM consent_events WHERE user_id = ?", (user_id,))
            conn.execute(
                "UPDATE users SET name = NULL, language = NULL, language_chosen = 0 WHERE id = ?",
                (user_id,),
            )
        return len(conversations)

    def purge(self, older_than: str) -> int:
        """Delete finished, restarted and abandoned conversations last touched before a time.

        An open conversation counts as abandoned once it has not moved since then.
        Returns how many conversations were deleted.
        """
        with self._write() as conn:
            conversations = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM conversations WHERE updated_at < ?", (older_than,)
                )
            ]
            _delete_conversations(conn, conversations)
        return len(conversations)

    def backup(self, destination: str | Path) -> None:
        """A consistent copy of the live database (SQLite's online backup API)."""
        target = sqlite3.connect(str(destination))
        try:
            with target:
                self.db.conn.backup(target)
        finally:
            target.close()
        os.chmod(destination, 0o600)


def _delete_conversations(conn: sqlite3.Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM answers WHERE conversation_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM summaries WHERE conversation_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM conversations WHERE id IN ({marks})", chunk)


def _rows(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    columns = [c[0] for c in cursor.description]
    for row in cursor:
        yield dict(zip(columns, row, strict=True))


def _first(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    return next(_rows(cursor), None)


def _answers(text: str) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}


def _user(row: Mapping[str, Any]) -> User:
    return User(
        row["id"],
        row["channel"],
        row["external_id"],
        row["name"],
        row["language"],
        bool(row["language_chosen"]),
        bool(row["active"]),
    )


def _conversation(row: Mapping[str, Any]) -> StoredConversation:
    conversation = Conversation(
        row["flow_id"],
        row["flow_version"],
        row["state"],
        _answers(row["answers"]),
        tuple(json.loads(row["path"])),
    )
    return StoredConversation(
        row["id"],
        row["user_id"],
        conversation,
        row["language"],
        row["status"],
        row["seq"],
        row["started_at"],
        row["updated_at"],
        row["finished_at"],
    )


def _summary(row: Mapping[str, Any]) -> Summary:
    return Summary(
        row["id"],
        row["conversation_id"],
        row["user_id"],
        row["flow_id"],
        row["flow_version"],
        row["language"],
        row["created_at"],
        Recommendation.from_dict(json.loads(row["data"])),
    )


def _storage_error(error: sqlite3.Error) -> StorageError:
    message = str(error)
    busy = "locked" in message or "busy" in message
    return StorageError("busy" if busy else "unavailable", message)
