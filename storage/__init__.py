"""Storage: the advisor's SQLite file.

`db.py` opens it and runs its writer thread (group commit) and readers, `store.py` the
verbs of a conversation, `consultants.py` those of consultants and consent, `deliveries.py`
the inbox of updates and the outbox of what is owed, `reports.py` the read-only queries for
exports and statistics, `records.py` the values they return.
"""

from .consultants import Client, Consent, Consultant, Consultants
from .db import DEFAULT_PATH, HANDLING, StaleConversation, StorageError, default_path, now_iso
from .records import Owed, StoredConversation, Summary, User
from .store import Store

__all__ = [
    "DEFAULT_PATH",
    "HANDLING",
    "Client",
    "Consent",
    "Consultant",
    "Consultants",
    "Owed",
    "StaleConversation",
    "StorageError",
    "Store",
    "StoredConversation",
    "Summary",
    "User",
    "default_path",
    "now_iso",
]
