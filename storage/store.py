"""Everything the advisor keeps, in one SQLite file: a few verbs, each one transaction.

Only the storage package writes SQL (this module, `consultants.py` and `deliveries.py`
beside it), and only through the file's writer thread (`db.py`). Every answer is committed
(with the conversation's new state) before the next question is shown, so a process killed
at any moment resumes at the same question with every earlier answer.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from advisor.advice import Recommendation
from advisor.engine import Conversation

from .consultants import Consultants
from .db import (
    BUSY_TIMEOUT,
    DatabaseFile,
    StaleConversation,
    default_path,
    first,
    now_iso,
    rows,
    storage_error,
    to_json,
)
from .deliveries import Deliveries, owe
from .records import StoredConversation, Summary, User, conversation_of, summary_of, user_of
from .reports import Reports
from .schema import migrations

OPEN_CACHE = 20_000  # open conversations remembered, one per person


class Store:
    """The advisor's SQLite file, opened (created and migrated if need be) on construction."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = str(path or default_path())
        self.file = DatabaseFile(self.path, timeout)
        # each person's open conversation as last committed, so that an answer need not read
        # it back; changed only after a commit (`after_commit`), checked by every write (seq)
        self._open: dict[int, StoredConversation] = {}
        # another process (a purge, a tool) may have changed or erased them
        self.file.writer.outside_change_callbacks.append(self._forget)
        self.consultants = Consultants(self.file)
        self.reports = Reports(self.file)
        self.deliveries = Deliveries(self.file)

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        return first(self.file.reader().execute(sql, params))

    def schema_version(self) -> list[str]:
        return [m.name for m in migrations.applied(Database(self.file.reader()))]

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
        """The user of a channel ('telegram', 'terminal'), created on first sight; their
        name kept up to date. Writes only when something is new."""
        external_id = str(external_id)
        row = self._user_row(channel, external_id)
        if row is not None and (name is None or row["name"] == name):
            return user_of(row)
        stamp = now or now_iso()

        def job(conn: sqlite3.Connection) -> dict[str, Any]:
            if row is None:
                conn.execute(
                    "INSERT OR IGNORE INTO users (channel, external_id, name, language, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (channel, external_id, name, language, stamp, stamp),
                )
            else:
                conn.execute(
                    "UPDATE users SET name = ?, updated_at = ? WHERE id = ?",
                    (name, stamp, row["id"]),
                )
            found = first(
                conn.execute(
                    "SELECT * FROM users WHERE channel = ? AND external_id = ?",
                    (channel, external_id),
                )
            )
            assert found is not None
            return found

        return user_of(self.file.write(job))

    def _user_row(self, channel: str, external_id: str) -> dict[str, Any] | None:
        return self._read(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )

    def find_user(self, channel: str, external_id: str | int) -> User | None:
        """The user of a channel's id, if they have ever written; never creates one."""
        row = self._user_row(channel, str(external_id))
        return user_of(row) if row else None

    def get_user(self, user_id: int) -> User | None:
        row = self._read("SELECT * FROM users WHERE id = ?", (user_id,))
        return user_of(row) if row else None

    def set_language(self, user_id: int, language: str, *, now: str | None = None) -> None:
        """Remember a language the user chose; it wins over what their client says."""
        stamp = now or now_iso()
        self._forget(user_id)  # its open conversation changes language too

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE users SET language = ?, language_chosen = 1, updated_at = ? WHERE id = ?",
                (language, stamp, user_id),
            )
            conn.execute(
                "UPDATE conversations SET language = ? WHERE user_id = ? AND status = 'open'",
                (language, user_id),
            )

        self.file.write(job)

    def set_active(self, user_id: int, active: bool, *, now: str | None = None) -> None:
        self.file.write(
            lambda conn: conn.execute(
                "UPDATE users SET active = ?, updated_at = ? WHERE id = ?",
                (int(active), now or now_iso(), user_id),
            )
        )

    # -- conversations -----------------------------------------------------------------------

    def open_conversation(self, user_id: int) -> StoredConversation | None:
        """The user's unfinished conversation, if any."""
        known = self._open.get(user_id)
        if known is not None:
            return known
        row = self._read(
            "SELECT * FROM conversations WHERE user_id = ? AND status = 'open' "
            "ORDER BY id DESC LIMIT 1",
            (user_id,),
        )
        return conversation_of(row) if row else None

    def _remember(self, stored: StoredConversation) -> None:
        """Once committed: this is the person's open conversation (or none, if finished)."""

        def remember() -> None:
            if len(self._open) >= OPEN_CACHE:
                self._open.clear()  # rarely: it fills again with those who are answering
            if stored.status == "open":
                self._open[stored.user_id] = stored
            else:
                self._open.pop(stored.user_id, None)

        self.file.after_commit(remember)

    def _forget(self, user_id: int | None = None) -> None:
        """Read the person's open conversation (or everyone's) from the file next time."""
        if user_id is None:
            self._open.clear()
        else:
            self._open.pop(user_id, None)

    def start_conversation(
        self,
        user_id: int,
        conversation: Conversation,
        *,
        language: str | None = None,
        now: str | None = None,
    ) -> StoredConversation:
        """Begin a new conversation; an open one is kept in history as 'restarted'."""
        stamp = now or now_iso()

        def job(conn: sqlite3.Connection) -> int:
            conn.execute(
                "UPDATE conversations SET status = 'restarted', updated_at = ? "
                "WHERE user_id = ? AND status = 'open'",
                (stamp, user_id),
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
                    stamp,
                    stamp,
                ),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        conversation_id = self.file.write(job)
        started = StoredConversation(
            conversation_id, user_id, conversation, language, "open", 0, stamp, stamp, None
        )
        self._remember(started)
        return started

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

        With a recommendation the conversation is finished, its summary saved and what that
        owes put in the outbox, in the same transaction. Raises StaleConversation when the
        conversation moved on meanwhile.
        """
        stamp = now or now_iso()
        seq = stored.seq + 1
        finished = recommendation is not None
        state = (to_json(new.answers), to_json(new.path), to_json(value))

        def job(conn: sqlite3.Connection) -> None:
            answers, path, answer = state
            # the status (indexed) is set only when it changes: an answer touches no index
            finishing = ", status = 'finished', finished_at = ?" if finished else ""
            cursor = conn.execute(
                "UPDATE conversations SET flow_version = ?, state = ?, answers = ?, path = ?, "
                f"seq = ?, updated_at = ?, ticks = NULL{finishing} "
                "WHERE id = ? AND seq = ? AND status = 'open'",
                (
                    new.flow_version,
                    new.state,
                    answers,
                    path,
                    seq,
                    stamp,
                    *((stamp,) if finished else ()),
                    stored.id,
                    stored.seq,
                ),
            )
            if cursor.rowcount != 1:
                self._forget(stored.user_id)  # moved on elsewhere: read it afresh
                raise StaleConversation(f"conversation {stored.id} is no longer at step {seq - 1}")
            conn.execute(
                "INSERT INTO answers (conversation_id, seq, action, question_id, value, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (stored.id, seq, action, question_id, answer, stamp),
            )
            if recommendation is not None:
                cursor = conn.execute(
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
                        stamp,
                    ),
                )
                assert cursor.lastrowid is not None
                owe(conn, stored.user_id, cursor.lastrowid, stamp)

        self.file.write(job)
        recorded = StoredConversation(
            stored.id,
            stored.user_id,
            new,
            stored.language,
            "finished" if finished else "open",
            seq,
            stored.started_at,
            stamp,
            stamp if finished else None,
        )
        self._remember(recorded)
        return recorded

    def set_ticks(
        self, stored: StoredConversation, ticks: tuple[str, ...], *, now: str | None = None
    ) -> StoredConversation:
        """Remember the options ticked on the current question (the step stays the same).

        Raises StaleConversation when the conversation moved on meanwhile.
        """
        params = (to_json(ticks), now or now_iso(), stored.id, stored.seq)

        def job(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE conversations SET ticks = ?, updated_at = ? "
                "WHERE id = ? AND seq = ? AND status = 'open'",
                params,
            )
            if cursor.rowcount != 1:
                self._forget(stored.user_id)
                raise StaleConversation(f"conversation {stored.id} is no longer at {stored.seq}")

        self.file.write(job)
        ticked = replace(stored, ticks=ticks)
        self._remember(ticked)
        return ticked

    def steps(self, conversation_id: int) -> list[dict[str, Any]]:
        """The conversation's log, in order: action, question and value of each step."""
        cursor = self.file.reader().execute(
            "SELECT seq, action, question_id, value, created_at FROM answers "
            "WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
        found = list(rows(cursor))
        for row in found:
            row["value"] = json.loads(row["value"])
        return found

    def conversations(self, user_id: int) -> list[StoredConversation]:
        cursor = self.file.reader().execute(
            "SELECT * FROM conversations WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [conversation_of(row) for row in rows(cursor)]

    # -- summaries ---------------------------------------------------------------------------

    def latest_summary(self, user_id: int) -> Summary | None:
        row = self._read(
            "SELECT * FROM summaries WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,)
        )
        return summary_of(row) if row else None

    # -- privacy and operations ------------------------------------------------------------

    def delete_user_data(self, user_id: int) -> int:
        """Erase a person (GDPR erasure): their conversations, answers, summaries, consents,
        what was owed to them, and their row with name and channel id. The freed pages are
        overwritten (secure_delete) and the WAL checkpointed and emptied, so no copy stays in
        the file. Consultants lose access in the same transaction. Returns the conversations
        erased."""

        def job(conn: sqlite3.Connection) -> int:
            ids = [
                r[0]
                for r in conn.execute("SELECT id FROM conversations WHERE user_id = ?", (user_id,))
            ]
            _delete_conversations(conn, ids)
            _delete_users(conn, [user_id])
            return len(ids)

        self._forget(user_id)
        erased = self.file.write(job)
        self.file.empty_wal()
        return erased

    def purge(self, older_than: str) -> int:
        """Delete finished, restarted and abandoned conversations last touched before a time,
        and the people left with nothing (their names, ids and consent history with them).

        An open conversation counts as abandoned once it has not moved since then. Returns
        how many conversations were deleted.
        """

        def job(conn: sqlite3.Connection) -> int:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM conversations WHERE updated_at < ?", (older_than,)
                )
            ]
            _delete_conversations(conn, ids)
            empty = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM users u WHERE updated_at < ? "
                    "AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.user_id = u.id) "
                    "AND NOT EXISTS (SELECT 1 FROM summaries s WHERE s.user_id = u.id)",
                    (older_than,),
                )
            ]
            _delete_users(conn, empty)
            return len(ids)

        self._forget()
        purged = self.file.write(job)
        self.deliveries.forget_done()
        self.file.empty_wal()
        return purged

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
                self.file.reader().backup(target, pages=pages, progress=progress)
        except sqlite3.Error as error:
            raise storage_error(error) from error
        finally:
            target.close()


def _delete_conversations(conn: sqlite3.Connection, ids: list[int]) -> None:
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM answers WHERE conversation_id IN ({marks})", chunk)
        conn.execute(
            f"DELETE FROM outbox WHERE summary_id IN "
            f"(SELECT id FROM summaries WHERE conversation_id IN ({marks}))",
            chunk,
        )
        conn.execute(f"DELETE FROM summaries WHERE conversation_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM conversations WHERE id IN ({marks})", chunk)


def _delete_users(conn: sqlite3.Connection, ids: list[int]) -> None:
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for table in ("outbox", "summaries", "clients", "consent_events"):
            conn.execute(f"DELETE FROM {table} WHERE user_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM users WHERE id IN ({marks})", chunk)


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
