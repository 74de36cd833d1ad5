"""Storage: the advisor's SQLite file.

`db.py` opens it and holds the one write transaction, `store.py` the verbs of a
conversation, `consultants.py` those of consultants and consent, `reports.py` the
read-only queries for exports and statistics, `records.py` the values they return.
"""

from .consultants import Client, Consent, Consultant, Consultants
from .db import DEFAULT_PATH, StaleConversation, StorageError, default_path, now_iso
from .records import StoredConversation, Summary, User
from .store import Store

__all__ = [
    "DEFAULT_PATH",
    "Client",
    "Consent",
    "Consultant",
    "Consultants",
    "StaleConversation",
    "StorageError",
    "Store",
    "StoredConversation",
    "Summary",
    "User",
    "default_path",
    "now_iso",
]
