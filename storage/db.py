"""The SQLite file: one writer thread that commits what has queued up together, readers apart.

A write is a job, a function of a connection, handed to the writer thread. The writer runs
every job queued at that moment in one transaction (group commit), each in a savepoint of
its own so that a job that fails leaves the others, and the callers learn their results
only once the transaction is committed. Reads use a connection of the reading thread, so a
write waiting for a lock held by another process delays only the writes, and a reader never
waits for the writer. Nothing outside storage/ writes SQL.

The writer checks before each transaction that the file it writes is still the one it
opened: an answer committed into a deleted or replaced file would be lost, so then it
refuses every write from that moment (`gone`).
"""

from __future__ import annotations

import contextvars
import json
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlite_utils import Database

from .schema import migrations

DEFAULT_PATH = "advisor.db"
BUSY_TIMEOUT = 5.0
BATCH = 512  # at most this many jobs in one transaction
T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]
# the update being handled: the first write made for it marks it done in the inbox, in the
# same transaction (see Store.receive); set by the front end once it starts acting on it
HANDLING: contextvars.ContextVar[int | None] = contextvars.ContextVar("handling", default=None)


class StorageError(RuntimeError):
    """The database cannot take a write now; nothing of it was written.

    `code` is a message id for the front end: `busy` (locked), `unavailable` (full,
    read-only, broken) or `gone` (the file was deleted or replaced under the process).
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class StaleConversation(RuntimeError):
    """Another write moved the conversation on first (a double press, a second process)."""


def default_path() -> str:
    return os.environ.get("ADVISOR_DB") or DEFAULT_PATH


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _jsonable(value: Any) -> Any:
    """For the JSON encoder: read-only mappings are written as objects (tuples already are
    arrays)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_jsonable).encode


class DatabaseFile:
    """One SQLite file in WAL mode: created owner-only, migrated, refused if not writable."""

    def __init__(self, path: str | Path, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = str(path)
        self.timeout = timeout
        _create_private(self.path)
        _check_writable(self.path)
        conn = self.connect(writer=True)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            migrations.apply(Database(conn))
        except sqlite3.Error as error:
            conn.close()
            raise storage_error(error) from error
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # the writer's connection stays open, so the WAL file stays the same file throughout
        self.writer = Writer(conn, self.path)

    def connect(self, *, writer: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if writer:
            conn.execute("PRAGMA secure_delete=ON")  # erased answers leave no bytes behind
        else:
            conn.execute("PRAGMA query_only=ON")
        return conn

    def reader(self) -> sqlite3.Connection:
        """This thread's connection for reading (each thread has its own)."""
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._readers.conn = self.connect()
            with self._lock:
                self._all_readers.append(conn)
        return conn

    def write(self, job: Job[T]) -> T:
        """Run `job` in the writer's next transaction; its result once committed."""
        return self.writer.submit(job).result()

    @property
    def gone(self) -> StorageError | None:
        """Why writing stopped for good (the file was deleted or replaced), or None."""
        return self.writer.gone

    def when_gone(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the writer's thread) once the file turns out to be gone."""
        self.writer.gone_callbacks.append(callback)

    def empty_wal(self) -> None:
        """Copy the WAL into the file and empty it (after an erasure: no old copy stays)."""
        self.writer.submit(
            lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone(), alone=True
        ).result()

    def close(self) -> None:
        self.writer.close()
        with self._lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()


class Writer:
    """The one thread that writes, committing the jobs queued up together."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self._path = path
        self._identity = _identity(path)
        self.gone: StorageError | None = None
        self.gone_callbacks: list[Callable[[], None]] = []
        self._closed = False
        self._queue: queue.SimpleQueue[_Task[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()
        self.commits = 0  # transactions committed, for the benchmarks

    def submit(self, job: Job[T], *, alone: bool = False) -> Future[T]:
        """Queue a job; `alone` runs it outside any transaction (a checkpoint, a vacuum)."""
        if self._closed:
            raise StorageError("unavailable", "the database is closed")
        future: Future[T] = Future()
        self._queue.put(_Task(job, future, HANDLING.get(), alone))
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the thread and close the connection."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
            self._conn.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Task[Any] | None] = [self._queue.get()]
            while (last := batch[-1]) is not None and not last.alone and len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is None:
                stopping = True
                batch.pop()
            # a job whose caller stopped waiting (and cancelled it) is not run at all
            tasks = [t for t in batch if t is not None and t.future.set_running_or_notify_cancel()]
            self._commit([task for task in tasks if not task.alone])
            for task in tasks:
                if task.alone:  # after the transaction before it, outside any
                    task.run_alone(self._conn)

    def _commit(self, batch: list[_Task[Any]]) -> None:
        if not batch:
            return
        conn = self._conn
        try:
            self._check_file()
            conn.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, StorageError) as error:
            _fail(batch, error)
            return
        done: list[tuple[_Task[Any], Any, BaseException | None]] = []
        for task in batch:
            conn.execute("SAVEPOINT job")
            try:
                result = task.job(conn)
                if task.update_id is not None:
                    mark_done(conn, task.update_id)
                conn.execute("RELEASE job")
                done.append((task, result, None))
            except BaseException as failure:  # the job's own failure: it alone is undone
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                done.append((task, None, failure))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            _fail(batch, error)
            return
        self.commits += 1
        for task, result, problem in done:
            if problem is None:
                task.future.set_result(result)
            else:
                task.future.set_exception(_storage(problem))

    def _check_file(self) -> None:
        """Refuse to write once the file was deleted or replaced under the process."""
        if self.gone is None and _identity(self._path) != self._identity:
            self.gone = StorageError(
                "gone", f"{self._path} was deleted or replaced while the advisor was running"
            )
            for callback in self.gone_callbacks:
                callback()
        if self.gone is not None:
            raise self.gone


class _Task(Generic[T]):
    """A job, where its result goes, and the update it is done for."""

    __slots__ = ("alone", "future", "job", "update_id")

    def __init__(self, job: Job[T], future: Future[T], update_id: int | None, alone: bool) -> None:
        self.job, self.future, self.update_id, self.alone = job, future, update_id, alone

    def run_alone(self, conn: sqlite3.Connection) -> None:
        try:
            self.future.set_result(self.job(conn))
        except BaseException as error:
            self.future.set_exception(_storage(error))


def mark_done(conn: sqlite3.Connection, update_id: int) -> None:
    """An update's effect is committed: it is done, and what it said is no longer kept."""
    conn.execute(
        "UPDATE inbox SET done_at = ?, body = NULL WHERE update_id = ? AND done_at IS NULL",
        (now_iso(), update_id),
    )


def _fail(batch: list[_Task[Any]], error: BaseException) -> None:
    for task in batch:
        task.future.set_exception(_storage(error))


def _storage(error: BaseException) -> BaseException:
    return storage_error(error) if isinstance(error, sqlite3.Error) else error


def _identity(path: str) -> tuple[int, int, int, int] | None:
    """Which file is at `path` (and its WAL): device and inode of both, or None if gone."""
    try:
        main, wal = os.stat(path), os.stat(path + "-wal")
    except FileNotFoundError:
        return None
    return main.st_dev, main.st_ino, wal.st_dev, wal.st_ino


def _create_private(path: str) -> None:
    """A new file is owner-only from the first byte: it holds people's business answers."""
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    for where in (path, folder):
        if not os.access(where, os.W_OK):
            raise StorageError(
                "unavailable",
                f"cannot write {where}: the advisor needs to write its database and the "
                "files SQLite keeps beside it (-wal, -shm)",
            )


def rows(cursor: sqlite3.Cursor) -> Iterator[dict[str, Any]]:
    columns = [c[0] for c in cursor.description]
    for row in cursor:
        yield dict(zip(columns, row, strict=True))


def first(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    return next(rows(cursor), None)


def storage_error(error: sqlite3.Error) -> StorageError:
    message = str(error)
    busy = "locked" in message or "busy" in message
    return StorageError("busy" if busy else "unavailable", message)
