"""Everything the advisor keeps, in one SQLite file: a few verbs, each one transaction.

Only the storage package writes SQL (this module, and `consultants.py` beside it). Every
answer is committed (with the conversation's new state) before the next question is shown,
so a process killed at any moment resumes at the same question with every earlier answer.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from advisor.advice import Recommendation
from advisor.engine import Conversation

from .consultants import Consultants
from .db import (
    BUSY_TIMEOUT,
    StaleConversation,
    default_path,
    first,
    now_iso,
    open_database,
    rows,
    storage_error,
    to_json,
    write,
)
from .records import StoredConversation, Summary, User, conversation_of, summary_of, user_of
from .reports import Reports
from .schema import migrations


class Store:
    """The advisor's SQLite file, opened (created and migrated if need be) on construction."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = str(path or default_path())
        self.db = open_database(self.path, timeout)
        self.consultants = Consultants(self.db)
        self.reports = Reports(self.db)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on this file (see `db.write`)."""
        with write(self.db) as conn:
            yield conn

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
            return user_of(row)
        now = now or now_iso()
        with self.write() as conn:
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
        row = self._user_row(channel, external_id)
        assert row is not None, "the user was just written"
        return user_of(row)

    def _user_row(self, channel: str, external_id: str) -> dict[str, Any] | None:
        cursor = self.db.conn.execute(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return first(cursor)

    def find_user(self, channel: str, external_id: str | int) -> User | None:
        """The user of a channel's id, if they have ever written; never creates one."""
        row = self._user_row(channel, str(external_id))
        return user_of(row) if row else None

    def get_user(self, user_id: int) -> User | None:
        row = first(self.db.conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)))
        return user_of(row) if row else None

    def set_language(self, user_id: int, language: str, *, now: str | None = None) -> None:
        """Remember a language the user chose; it wins over what their client says."""
        with self.write() as conn:
            conn.execute(
                "UPDATE users SET language = ?, language_chosen = 1, updated_at = ? WHERE id = ?",
                (language, now or now_iso(), user_id),
            )
            conn.execute(
                "UPDATE conversations SET language = ? WHERE user_id = ? AND status = 'open'",
                (language, user_id),
            )

    def set_active(self, user_id: int, active: bool, *, now: str | None = None) -> None:
        with self.write() as conn:
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
        row = first(cursor)
        return conversation_of(row) if row else None

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
        with self.write() as conn:
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
                    to_json(conversation.answers),
                    to_json(conversation.path),
                    language,
                    now,
                    now,
                ),
            )
            conversation_id = cursor.lastrowid
        assert conversation_id is not None
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
        with self.write() as conn:
            cursor = conn.execute(
                "UPDATE conversations SET flow_version = ?, state = ?, answers = ?, path = ?, "
                "seq = ?, updated_at = ?, status = ?, finished_at = ?, ticks = NULL "
                "WHERE id = ? AND seq = ? AND status = 'open'",
                (
                    new.flow_version,
                    new.state,
                    to_json(new.answers),
                    to_json(new.path),
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
                (stored.id, seq, action, question_id, to_json(value), now),
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
                        to_json(recommendation.flags),
                        to_json(recommendation.to_dict()),
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

    def set_ticks(
        self, stored: StoredConversation, ticks: tuple[str, ...], *, now: str | None = None
    ) -> StoredConversation:
        """Remember the options ticked on the current question (the step stays the same).

        Raises StaleConversation when the conversation moved on meanwhile.
        """
        with self.write() as conn:
            cursor = conn.execute(
                "UPDATE conversations SET ticks = ?, updated_at = ? "
                "WHERE id = ? AND seq = ? AND status = 'open'",
                (to_json(ticks), now or now_iso(), stored.id, stored.seq),
            )
            if cursor.rowcount != 1:
                raise StaleConversation(f"conversation {stored.id} is no longer at {stored.seq}")
        return replace(stored, ticks=ticks)

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
        return [conversation_of(row) for row in rows(cursor)]

    # -- summaries ---------------------------------------------------------------------------

    def latest_summary(self, user_id: int) -> Summary | None:
        cursor = self.db.conn.execute(
            "SELECT * FROM summaries WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,)
        )
        row = first(cursor)
        return summary_of(row) if row else None

    # -- privacy and operations ------------------------------------------------------------

    def delete_user_data(self, user_id: int) -> int:
        """Erase a user's conversations, answers, summaries and consents (GDPR erasure).

        The user row stays, emptied of name and language, so the person can start afresh;
        consultants lose access in the same transaction. Returns the conversations erased.
        """
        with self.write() as conn:
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
        with self.write() as conn:
            conversations = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM conversations WHERE updated_at < ?", (older_than,)
                )
            ]
            _delete_conversations(conn, conversations)
        return len(conversations)

    def backup(
        self,
        destination: str | Path,
        *,
        pages: int = -1,
        progress: Callable[[int, int, int], object] | None = None,
    ) -> None:
        """A consistent copy of the live database (SQLite's online backup API) in a new file.

        The file is created here, owner-only, exclusively and never through a symlink, before
        SQLite opens it: nobody can open the copy while it is written. `pages` and `progress`
        are those of `sqlite3.Connection.backup`.
        """
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        os.close(os.open(destination, flags, 0o600))
        target = sqlite3.connect(str(destination))
        try:
            with target:
                self.db.conn.backup(target, pages=pages, progress=progress)
        except sqlite3.Error as error:
            raise storage_error(error) from error
        finally:
            target.close()


def _delete_conversations(conn: sqlite3.Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM answers WHERE conversation_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM summaries WHERE conversation_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM conversations WHERE id IN ({marks})", chunk)
