"""What arrives and what is owed, through the service door (`service.deliveries`).

Updates are kept in the inbox before they are acknowledged and marked done with their
effect; what finishing a conversation owes waits in the outbox until a front end sent it.
"""

from __future__ import annotations

from concurrent.futures import Future

from storage import Owed, Store, User


class Deliveries:
    def __init__(self, store: Store) -> None:
        self._deliveries = store.deliveries

    def receive(self, updates: list[tuple[int, str]]) -> Future[set[int]]:
        """Keep arriving updates (id, JSON) before they are acknowledged; will tell the new
        ids (without waiting: a locked database must not hold everyone up)."""
        return self._deliveries.receive(updates)

    def unhandled(self) -> list[tuple[int, str]]:
        """Updates kept but not handled when the process stopped, oldest first."""
        return self._deliveries.pending()

    def handled(self, update_id: int) -> None:
        """An update is handled; its effect, if any, marked it already. Does not wait: if
        the process dies first, an update that changed nothing is handled once more."""
        self._deliveries.done(update_id, wait=False)

    def owed_to(self, user: User) -> tuple[Owed, ...]:
        """What is owed to one person and not sent yet."""
        return tuple(self._deliveries.owed(user_id=user.id))

    def owed(self, channel: str) -> list[Owed]:
        """Everything owed and not yet sent to the people of a channel (after a restart)."""
        return self._deliveries.owed(channel=channel)

    def part_sent(self, owed: Owed, parts_sent: int) -> None:
        """Parts of an owed report sent so far (a retry goes on after them)."""
        self._deliveries.progress(owed.id, parts_sent)

    def delivered(self, owed: Owed) -> None:
        self._deliveries.delivered(owed.id)
