"""People through the service door (`service.people`): who is talking, in which language,
and whether they still want to hear from us."""

from __future__ import annotations

from advisor.i18n import negotiate
from storage import Store, User


class People:
    """A person per channel id, their language, and whether they block the bot."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def person(
        self,
        channel: str,
        external_id: str | int,
        *,
        name: str | None = None,
        language_tag: str | None = None,
    ) -> User:
        """The person behind a channel's id, created on first sight; one who writes to us is
        active again (they no longer block the bot). Writes only when something changes."""
        user = self._store.user(channel, external_id, name=name, language=negotiate(language_tag))
        if not user.active:
            self._store.set_active(user.id, True)
            user = self._store.get_user(user.id) or user
        return user

    def find(self, channel: str, external_id: str | int) -> User | None:
        """The person behind a channel's id if they ever wrote to us; never writes."""
        return self._store.find_user(channel, external_id)

    def language_for(self, user: User | None, language_tag: str | None = None) -> str:
        """The language to speak: the one the person chose, else their app's, else English."""
        if user is not None and user.language_chosen and user.language:
            return user.language
        return negotiate(language_tag)

    def set_language(self, user: User, language: str) -> User:
        self._store.set_language(user.id, language)
        return self._store.get_user(user.id) or user

    def note_blocked(self, channel: str, external_id: str | int, blocked: bool) -> None:
        """The channel says a person blocked (or unblocked) the bot."""
        user = self._store.find_user(channel, external_id)  # nobody new, nobody erased back
        if user is not None and user.active == blocked:
            self._store.set_active(user.id, not blocked)
