"""Reading across everyone's data for operators: summaries to export, and statistics.

Kept apart from the verbs of the conversation (store.py): these queries scan, stream and
count, and never write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .db import DatabaseFile, rows
from .records import Summary, summary_of


class Reports:
    """The reporting queries of a Store (`store.reports`)."""

    def __init__(self, file: DatabaseFile) -> None:
        self._file = file

    def summaries(
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
        where: list[str] = []
        params: list[Any] = []
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
        cursor = self._file.reader().cursor()
        cursor.execute(sql + " ORDER BY s.id", params)
        for row in rows(cursor):
            yield summary_of(row)

    def stats(self) -> dict[str, Any]:
        """Started, finished and abandoned conversations, where people stop, verdicts, flags."""
        conn = self._file.reader()
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
