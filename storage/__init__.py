"""Storage: the advisor's SQLite file (see store.py for the verbs)."""

from .consultants import Client, Consent, Consultant, Consultants
from .store import (
    DEFAULT_PATH,
    StaleConversation,
    StorageError,
    Store,
    StoredConversation,
    Summary,
    User,
    default_path,
    now_iso,
)

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
