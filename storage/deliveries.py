"""Exactly once, both ways: the inbox of updates and the outbox of what the advisor owes.

An update is kept from its arrival (`receive`, before Telegram is told it arrived) until
the transaction of its first effect marks it done (`db.HANDLING`), or until it was handled
without any (`done`); an update id seen before is dropped. Updates not done when the
process died are handled again at start-up (`pending`). What finishing a conversation owes
(the report, each consultant's notification) is written in the answer's own transaction
(`owe`) and stays in the outbox until the front end has sent it (`delivered`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

from .db import DatabaseFile, mark_done, now_iso, rows
from .records import Owed, summary_of, user_of

KEEP_DONE = timedelta(days=2)  # Telegram repeats an update for a day at most


class Deliveries:
    """The inbox and outbox of a Store (`store.deliveries`)."""

    def __init__(self, file: DatabaseFile) -> None:
        self._file = file

    # -- the inbox ---------------------------------------------------------------------------

    def receive(self, updates: Iterable[tuple[int, str]]) -> Future[set[int]]:
        """Keep arriving updates (id, JSON); will tell the ids that are new (the others are
        repeats). Does not wait: the caller decides how long it can."""
        updates = list(updates)

        def job(conn: sqlite3.Connection) -> set[int]:
            now, new = now_iso(), set()
            for update_id, body in updates:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
                    (update_id, body, now),
                )
                if cursor.rowcount == 1:
                    new.add(update_id)
            return new

        return self._file.writer.submit(job)

    def pending(self) -> list[tuple[int, str]]:
        """Updates received but not done (the process stopped first), oldest first."""
        cursor = self._file.reader().execute(
            "SELECT update_id, body FROM inbox WHERE done_at IS NULL ORDER BY update_id"
        )
        return [(update_id, body) for update_id, body in cursor]

    def done(self, update_id: int, *, wait: bool = True) -> None:
        """An update has been handled: done, if its effect did not mark it already."""
        writer = self._file.writer
        if update_id in writer.marked:
            writer.marked.discard(update_id)
            return
        future = writer.submit(lambda conn: mark_done(conn, update_id))
        if wait:
            future.result()

    def forget_done(self, now: datetime | None = None) -> int:
        """Drop done updates older than Telegram would ever repeat them."""
        before = ((now or datetime.now(UTC)) - KEEP_DONE).isoformat()
        return self._file.write(
            lambda conn: conn.execute("DELETE FROM inbox WHERE done_at < ?", (before,)).rowcount
        )

    # -- the outbox --------------------------------------------------------------------------

    def owed(
        self,
        user_id: int | None = None,
        channel: str | None = None,
        conversation_id: int | None = None,
    ) -> list[Owed]:
        """What is owed and not sent yet: for one person, one channel, one conversation's
        finish, or all."""
        sql = (
            "SELECT o.id AS owed_id, o.consultant_id, o.parts_sent, u.*, s.id AS summary_id,"
            " s.conversation_id, s.flow_id, s.flow_version, s.language AS summary_language,"
            " s.created_at AS summary_created_at, s.data FROM outbox o"
            " JOIN users u ON u.id = o.user_id JOIN summaries s ON s.id = o.summary_id"
            " WHERE o.sent_at IS NULL"
        )
        params: list[object] = []
        if user_id is not None:
            sql += " AND o.user_id = ?"
            params.append(user_id)
        if channel is not None:
            sql += " AND u.channel = ?"
            params.append(channel)
        if conversation_id is not None:
            sql += " AND s.conversation_id = ?"
            params.append(conversation_id)
        found = []
        for row in rows(self._file.reader().execute(sql + " ORDER BY o.id", params)):
            summary = summary_of(
                {
                    **row,
                    "id": row["summary_id"],
                    "user_id": row["id"],
                    "language": row["summary_language"],
                    "created_at": row["summary_created_at"],
                }
            )
            owed = Owed(
                row["owed_id"], user_of(row), summary, row["consultant_id"], row["parts_sent"]
            )
            found.append(owed)
        return found

    def progress(self, owed_id: int, parts_sent: int) -> None:
        """One more part of an owed report is sent."""
        self._file.write(
            lambda conn: conn.execute(
                "UPDATE outbox SET parts_sent = ? WHERE id = ?", (parts_sent, owed_id)
            )
        )

    def delivered(self, owed_id: int) -> None:
        self._file.write(
            lambda conn: conn.execute(
                "UPDATE outbox SET sent_at = ? WHERE id = ?", (now_iso(), owed_id)
            )
        )


def owe(conn: sqlite3.Connection, user_id: int, summary_id: int, now: str) -> None:
    """In a finished answer's transaction: the report to the person, and a notification to
    every enabled consultant they share with."""
    conn.execute(
        "INSERT INTO outbox (user_id, summary_id, created_at) VALUES (?, ?, ?)",
        (user_id, summary_id, now),
    )
    conn.execute(
        "INSERT INTO outbox (user_id, summary_id, consultant_id, created_at) "
        "SELECT k.user_id, ?, k.consultant_id, ? FROM clients k "
        "JOIN consultants c ON c.id = k.consultant_id "
        "WHERE k.user_id = ? AND k.consent = 'granted' AND c.enabled = 1",
        (summary_id, now, user_id),
    )
