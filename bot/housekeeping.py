"""What operators do with the database alone, and advice for a file of answers.

Part of the service layer (front ends call these, never storage or the engine): `advisor
advise`, `advisor purge` and `advisor backup`, which need no conversation and, for purge
and backup, no flow either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from advisor.advice import Recommendation
from advisor.engine import AnswersError, Engine
from advisor.flow import Flow
from storage import StorageError, Store, Summary

from . import files

__all__ = ["AnswersError", "advise", "backup", "purge", "stats", "summaries"]


def advise(flow: Flow, answers: Mapping[str, Any], locale: str = "en") -> Recommendation:
    """The recommendation for a whole set of answers, without storing anything (`advisor
    advise`); raises AnswersError naming every question with a missing or invalid answer."""
    return Engine(flow).run(answers, locale)[1].recommendation


def purge(path: str | Path | None, older_than_days: int) -> tuple[int, str]:
    """Delete conversations untouched for that many days: (how many, the cut-off)."""
    cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat()
    with Store(path) as store:
        return store.purge(cutoff), cutoff


def backup(
    path: str | Path | None,
    destination: str | Path,
    *,
    force: bool = False,
    pages: int = -1,
    progress: Callable[[int, int, int], object] | None = None,
) -> str:
    """Copy the live database consistently into a new owner-only file, which replaces an
    existing one only with `force` (see `files`); returns the path of the database copied.
    `pages` and `progress` are those of `sqlite3.Connection.backup`."""
    with files.staged(destination, force) as partial, Store(path) as store:
        try:
            store.backup(partial, pages=pages, progress=progress)
        except StorageError as error:
            raise files.OutputError(f"the backup to {destination} failed: {error}") from None
        return store.path


def summaries(
    path: str | Path | None,
    *,
    since: str | None = None,
    conversation_id: int | None = None,
    consultant_code: str | None = None,
) -> Iterator[Summary]:
    """Finished summaries in order, streamed from the database (for exports)."""
    with Store(path) as store:
        yield from store.reports.summaries(
            since=since, conversation_id=conversation_id, consultant_code=consultant_code
        )


def stats(path: str | Path | None) -> dict[str, Any]:
    """Started, finished and abandoned conversations, drop-off per question, verdicts."""
    with Store(path) as store:
        return store.reports.stats()
