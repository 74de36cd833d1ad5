"""Consultants through the service door (`service.consultants`): links, consent, clients.

A client's summaries reach a consultant only with the client's consent and while the
consultant is enabled; storage/consultants.py filters every query on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from storage import Client, Consent, Consultant, Store, Summary, User

NAME_LIMIT = 64  # a consultant's name goes into clients' messages and /clients lists


def shorten(name: str, limit: int = NAME_LIMIT) -> str:
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def share_link(username: str, consultant: Consultant, language: str | None = None) -> str:
    """The deep link a consultant sends: `c<code>`, with `_l<lang>` to preset a language."""
    payload = f"c{consultant.code}" + (f"_l{language}" if language else "")
    return f"https://t.me/{username}?start={payload}"


class Consulting:
    """What people and operators do about consultants."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._consultants = store.consultants

    # -- a client ---------------------------------------------------------------------------

    def is_code(self, code: str) -> bool:
        """Whether a consultant has this code (a word typed alone may look like one)."""
        return self._consultants.by_code(code) is not None

    def arrive(self, user: User, code: str) -> Consultant | None:
        """A person came through a consultant's link: the consultant to ask consent for, or
        None (an unknown or disabled code, or consent already given or refused)."""
        consultant = self._consultants.by_code(code)
        if consultant is None or not consultant.enabled:
            return None  # a disabled consultant's link still works, without sharing
        pending = self._consultants.link_client(user.id, consultant) == "pending"
        return consultant if pending else None

    def consent(self, user: User, consultant_id: int, granted: bool) -> Consultant | None:
        """Grant, refuse or withdraw; None when this person never came through them."""
        if not self._consultants.set_consent(user.id, consultant_id, granted):
            return None
        return self._consultants.get(consultant_id)

    def consents_of(self, user: User) -> list[Consent]:
        return self._consultants.consents_of(user.id)

    # -- a consultant ---------------------------------------------------------------------

    def get(self, consultant_id: int) -> Consultant | None:
        return self._consultants.get(consultant_id)

    def of_telegram(self, telegram_id: int | str) -> Consultant | None:
        return self._consultants.by_telegram(telegram_id)

    def redeem(self, code: str, *, name: str, telegram_id: int | str) -> Consultant | None:
        """A one-time invite turned into a consultant, named after their Telegram account
        (shortened to NAME_LIMIT, as their name goes into clients' messages)."""
        return self._consultants.redeem(code, name=shorten(name), telegram_id=telegram_id)

    def clients(self, consultant: Consultant) -> list[Client]:
        return self._consultants.clients_of(consultant)

    def client_summaries(self, consultant: Consultant) -> Iterator[tuple[Client, Summary]]:
        return self._consultants.client_summaries(consultant)

    # -- operators --------------------------------------------------------------------------

    def add(
        self, name: str, *, telegram_id: str | None = None, language: str | None = None
    ) -> Consultant:
        """A new consultant; a name over NAME_LIMIT characters is refused (ValueError)."""
        name = " ".join(name.split())
        if not name or len(name) > NAME_LIMIT:
            raise ValueError(f"a consultant's name is 1 to {NAME_LIMIT} characters")
        return self._consultants.add(name, telegram_id=telegram_id, language=language)

    def invite(self) -> str:
        return self._consultants.invite()

    def disable(self, id_or_code: str) -> Consultant | None:
        return self._consultants.disable(id_or_code)

    def find(self, id_or_code: str) -> Consultant | None:
        found = self._consultants.by_code(id_or_code)
        if found is None and id_or_code.isdigit():
            found = self._consultants.get(int(id_or_code))
        return found

    def all(self) -> list[Consultant]:
        return self._consultants.all()


def describe(consultant: Consultant) -> dict[str, Any]:
    """A consultant as plain data (`advisor consultants list --json`)."""
    return {
        "id": consultant.id,
        "code": consultant.code,
        "name": consultant.name,
        "telegram_id": consultant.telegram_id,
        "language": consultant.language,
        "enabled": consultant.enabled,
        "created_at": consultant.created_at,
    }
