"""Consultants, their invite codes, their clients and the clients' consent.

A consultant sees a client's summaries only while the client's consent is granted and the
consultant is enabled; every query here filters on both, so no caller can forget to.
"""

from __future__ import annotations

import secrets
import sqlite3
from base64 import b32encode
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .db import DatabaseFile, first, now_iso
from .records import Summary, summary_of

CODE_BYTES = 10  # 80 random bits: a share code cannot be guessed from ids or by trying
PENDING, GRANTED, REFUSED, WITHDRAWN = "pending", "granted", "refused", "withdrawn"


def new_code() -> str:
    """16 characters of [a-z2-7]: safe in a deep link, easy to type from a desktop client."""
    return b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").lower()


@dataclass(frozen=True)
class Consultant:
    id: int
    code: str
    name: str
    telegram_id: str | None
    language: str | None
    enabled: bool
    created_at: str


@dataclass(frozen=True)
class Client:
    """A consenting client as the consultant sees them."""

    user_id: int
    name: str | None
    consent_at: str | None
    status: str  # not_started, in_progress, finished
    verdict: str | None
    finished_at: str | None


@dataclass(frozen=True)
class Consent:
    consultant: Consultant
    consent: str
    at: str | None


class Consultants:
    """The consultant verbs of a Store (`store.consultants`)."""

    def __init__(self, file: DatabaseFile) -> None:
        self._file = file

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._file.reader().execute(sql, params)

    def _one(self, sql: str, params: tuple[Any, ...]) -> Consultant | None:
        row = self._execute(sql, params).fetchone()
        return _consultant(row) if row else None

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Consultant]:
        return [_consultant(row) for row in self._execute(sql, params).fetchall()]

    _COLUMNS = "id, code, name, telegram_id, language, enabled, created_at"

    def add(
        self,
        name: str,
        *,
        telegram_id: str | int | None = None,
        language: str | None = None,
        now: str | None = None,
    ) -> Consultant:
        params = (
            new_code(),
            name,
            None if telegram_id is None else str(telegram_id),
            language,
            now or now_iso(),
        )
        return self._added(
            self._file.write(
                lambda conn: (
                    conn.execute(
                        "INSERT INTO consultants (code, name, telegram_id, language, enabled, "
                        "created_at) VALUES (?, ?, ?, ?, 1, ?)",
                        params,
                    ).lastrowid
                )
            )
        )

    def _added(self, consultant_id: int | None) -> Consultant:
        """The consultant just inserted (its row id is known once the insert has run)."""
        found = self.get(consultant_id) if consultant_id is not None else None
        assert found is not None, "the insert was committed"
        return found

    def get(self, consultant_id: int) -> Consultant | None:
        return self._one(f"SELECT {self._COLUMNS} FROM consultants WHERE id = ?", (consultant_id,))

    def by_code(self, code: str) -> Consultant | None:
        return self._one(f"SELECT {self._COLUMNS} FROM consultants WHERE code = ?", (code,))

    def by_telegram(self, telegram_id: str | int) -> Consultant | None:
        """The enabled consultant behind a Telegram account, or None."""
        return self._one(
            f"SELECT {self._COLUMNS} FROM consultants WHERE telegram_id = ? AND enabled = 1 "
            "ORDER BY id LIMIT 1",
            (str(telegram_id),),
        )

    def all(self) -> list[Consultant]:
        return self._all(f"SELECT {self._COLUMNS} FROM consultants ORDER BY id")

    def disable(self, id_or_code: str) -> Consultant | None:
        consultant = self.by_code(id_or_code)
        if consultant is None and id_or_code.isdigit():
            consultant = self.get(int(id_or_code))
        if consultant is None:
            return None
        self._file.write(
            lambda conn: conn.execute(
                "UPDATE consultants SET enabled = 0 WHERE id = ?", (consultant.id,)
            )
        )
        return self.get(consultant.id)

    # -- invites ---------------------------------------------------------------------------------

    def invite(self, *, now: str | None = None) -> str:
        code, stamp = new_code(), now or now_iso()
        self._file.write(
            lambda conn: conn.execute(
                "INSERT INTO invites (code, created_at) VALUES (?, ?)", (code, stamp)
            )
        )
        return code

    def redeem(
        self, code: str, *, name: str, telegram_id: str | int, now: str | None = None
    ) -> Consultant | None:
        """Turn a one-time invite into a consultant; None when the code is unknown or used."""
        stamp = now or now_iso()

        def job(conn: sqlite3.Connection) -> int | None:
            cursor = conn.execute(
                "UPDATE invites SET redeemed_at = ? WHERE code = ? AND redeemed_at IS NULL",
                (stamp, code),
            )
            if cursor.rowcount != 1:
                return None
            cursor = conn.execute(
                "INSERT INTO consultants (code, name, telegram_id, enabled, created_at) "
                "VALUES (?, ?, ?, 1, ?)",
                (new_code(), name, str(telegram_id), stamp),
            )
            conn.execute(
                "UPDATE invites SET consultant_id = ? WHERE code = ?", (cursor.lastrowid, code)
            )
            return cursor.lastrowid

        consultant_id = self._file.write(job)
        return None if consultant_id is None else self._added(consultant_id)

    # -- clients and consent ----------------------------------------------------------------------

    def link_client(self, user_id: int, consultant: Consultant, *, now: str | None = None) -> str:
        """Note that a user came through a consultant's link; returns the current consent."""
        params = (user_id, consultant.id, now or now_iso(), PENDING)
        self._file.write(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO clients (user_id, consultant_id, invited_at, consent) "
                "VALUES (?, ?, ?, ?)",
                params,
            )
        )
        return self.consent(user_id, consultant.id) or PENDING

    def consent(self, user_id: int, consultant_id: int) -> str | None:
        row = self._execute(
            "SELECT consent FROM clients WHERE user_id = ? AND consultant_id = ?",
            (user_id, consultant_id),
        ).fetchone()
        return row[0] if row else None

    def set_consent(
        self, user_id: int, consultant_id: int, granted: bool, *, now: str | None = None
    ) -> bool:
        """Grant, refuse or withdraw; False when this user never came through that consultant."""
        stamp = now or now_iso()

        def job(conn: sqlite3.Connection) -> bool:
            current = conn.execute(
                "SELECT consent FROM clients WHERE user_id = ? AND consultant_id = ?",
                (user_id, consultant_id),
            ).fetchone()
            if current is None:
                return False
            # saying no after a yes withdraws the consent; saying no first refuses it
            withdrawn = current[0] == GRANTED
            consent = GRANTED if granted else WITHDRAWN if withdrawn else REFUSED
            conn.execute(
                "UPDATE clients SET consent = ?, consent_at = ? "
                "WHERE user_id = ? AND consultant_id = ?",
                (consent, stamp, user_id, consultant_id),
            )
            conn.execute(
                "INSERT INTO consent_events (user_id, consultant_id, consent, at) "
                "VALUES (?, ?, ?, ?)",
                (user_id, consultant_id, consent, stamp),
            )
            return True

        return self._file.write(job)

    def consents_of(self, user_id: int) -> list[Consent]:
        rows = self._execute(
            f"SELECT {', '.join('c.' + c for c in self._COLUMNS.split(', '))}, "
            "k.consent, k.consent_at FROM clients k JOIN consultants c ON c.id = k.consultant_id "
            "WHERE k.user_id = ? ORDER BY k.invited_at",
            (user_id,),
        ).fetchall()
        return [Consent(_consultant(r), r[7], r[8]) for r in rows]

    def sharing_with(self, user_id: int) -> list[Consultant]:
        """The enabled consultants this user has consented to share summaries with."""
        return self._all(
            f"SELECT {', '.join('c.' + c for c in self._COLUMNS.split(', '))} "
            "FROM clients k JOIN consultants c ON c.id = k.consultant_id "
            "WHERE k.user_id = ? AND k.consent = ? AND c.enabled = 1",
            (user_id, GRANTED),
        )

    def clients_of(self, consultant: Consultant) -> list[Client]:
        """A consultant's consenting clients with their latest conversation's state."""
        if not consultant.enabled:
            return []
        rows = self._execute(
            """
            SELECT u.id, u.name, k.consent_at,
                   (SELECT status FROM conversations v WHERE v.user_id = u.id
                    ORDER BY v.id DESC LIMIT 1),
                   s.verdict, s.created_at
            FROM clients k
            JOIN users u ON u.id = k.user_id
            LEFT JOIN summaries s ON s.id = (
                SELECT max(id) FROM summaries WHERE user_id = u.id)
            WHERE k.consultant_id = ? AND k.consent = ?
            ORDER BY k.consent_at
            """,
            (consultant.id, GRANTED),
        ).fetchall()
        clients = []
        for user_id, name, consent_at, conversation_status, verdict, finished_at in rows:
            if conversation_status == "finished" or (verdict and conversation_status != "open"):
                status = "finished"
            elif conversation_status is None:
                status = "not_started"
            else:
                status = "in_progress"
            clients.append(Client(user_id, name, consent_at, status, verdict, finished_at))
        return clients

    def client_summaries(self, consultant: Consultant) -> Iterator[tuple[Client, Summary]]:
        """The latest finished summary of each consenting client (nothing when disabled)."""
        for client in self.clients_of(consultant):
            row = first(
                self._execute(
                    "SELECT * FROM summaries WHERE user_id = ? ORDER BY id DESC LIMIT 1",
                    (client.user_id,),
                )
            )
            if row is not None:
                yield client, summary_of(row)


def _consultant(row: tuple[Any, ...]) -> Consultant:
    """A consultant from the first seven columns of a row (see `Consultants._COLUMNS`)."""
    return Consultant(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])
