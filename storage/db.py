"""The SQLite file: one writer thread that commits what has queued up together, readers apart.

A write is a job, a function of a connection, handed to the writer thread. The writer runs
every job queued at that moment in one transaction (group commit); a job that fails leaves
the others (see `Writer._commit`), and the callers learn their results only once the
transaction is committed. Reads use a connection of the reading thread, so a
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
from functools import partial
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
        """This thread's connection for reading (each thread has its own; a job on the
        writer reads through the writer's, so it sees what its transaction wrote)."""
        if self.writer.is_current():
            return self.writer.conn
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._readers.conn = self.connect()
            with self._lock:
                self._all_readers.append(conn)
        return conn

    def write(self, job: Job[T]) -> T:
        """Run `job` in the writer's next transaction; its result once committed. On the
        writer itself (a job that writes more) it runs at once, in the job's transaction."""
        if self.writer.is_current():
            return job(self.writer.conn)
        return self.writer.submit(job).result()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once what was just written is committed: at once when this is
        not the writer (its write has returned, so it is committed), else after the
        running job's transaction."""
        if self.writer.is_current():
            self.writer.after_commit(callback)
        else:
            callback()

    @property
    def gone(self) -> StorageError | None:
        """Why writing stopped for good (the file was deleted or replaced), or None."""
        return self.writer.gone

    def when_gone(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the writer's thread) once the file turns out to be gone."""
        self.writer.gone_callbacks.append(callback)

    def empty_wal(self) -> None:
        """Copy the WAL into the file and empty it (after an erasure: no old copy stays)."""
        emptied = self.writer.submit(
            lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone(), alone=True
        )
        if not self.writer.is_current():  # a job on the writer: it runs after the commit
            emptied.result()

    def close(self) -> None:
        self.writer.close()
        with self._lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()


class Writer:
    """The one thread that writes, committing the jobs queued up together."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn  # for the writer's thread alone
        self._path = path
        # the file and its WAL, held open to see whether they are still linked to a name
        self._watched = [
            os.open(name, os.O_RDONLY | os.O_CLOEXEC) for name in (path, path + "-wal")
        ]
        self.gone: StorageError | None = None
        self.gone_callbacks: list[Callable[[], None]] = []
        # called when another process (a purge, a tool) has committed since the last batch:
        # what this process remembers of the file may be out of date
        self.outside_change_callbacks: list[Callable[[], None]] = []
        self._data_version: int | None = None
        self._current: _Task[Any] | None = None
        # updates marked done by their effect's transaction, until told they are handled
        self.marked: set[int] = set()
        self._closed = False
        self._queue: queue.SimpleQueue[_Task[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()
        self.commits = 0  # transactions committed, for the benchmarks

    def is_current(self) -> bool:
        """Whether this is the writer's own thread (running a job)."""
        return threading.current_thread() is self._thread

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
            self.conn.close()
            for fd in self._watched:
                os.close(fd)

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
                    task.run_alone(self.conn)

    def _commit(self, batch: list[_Task[Any]]) -> None:
        """Run the batch in one transaction and commit it. A job that fails without having
        written anything simply fails; one that fails halfway (rare: a full disk, a bug)
        undoes the batch, which then runs again with a savepoint for each job."""
        if not batch:
            return
        try:
            self._check_file()
            done = self._run_batch(batch, savepoints=False)
            if done is None:
                done = self._run_batch(batch, savepoints=True)
            assert done is not None
            self.conn.execute("COMMIT")
        except (sqlite3.Error, StorageError) as error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            _fail(batch, error)
            return
        self.commits += 1
        for task, result, problem in done:
            if problem is None:
                for callback in task.after:
                    callback()
                task.future.set_result(result)
            else:
                task.future.set_exception(_storage(problem))

    def _run_batch(
        self, batch: list[_Task[Any]], *, savepoints: bool
    ) -> list[tuple[_Task[Any], Any, BaseException | None]] | None:
        """Every job of the batch in an open transaction; None if one failed halfway (and
        the transaction was rolled back), when not in savepoints."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        self._notice_outside_change(conn)
        done: list[tuple[_Task[Any], Any, BaseException | None]] = []
        for task in batch:
            task.after = []
            self._current = task
            if savepoints:
                conn.execute("SAVEPOINT job")
            changes = conn.total_changes
            try:
                result = task.job(conn)
                if task.update_id is not None:
                    mark_done(conn, task.update_id)
                    task.after.append(partial(self.marked.add, task.update_id))
                if savepoints:
                    conn.execute("RELEASE job")
                done.append((task, result, None))
            except BaseException as failure:  # the job's own failure: it alone is undone
                task.after = []
                if savepoints:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                elif conn.total_changes != changes:
                    conn.execute("ROLLBACK")
                    return None
                done.append((task, None, failure))
            finally:
                self._current = None
        return done

    def _notice_outside_change(self, conn: sqlite3.Connection) -> None:
        """With the write lock held: has another connection committed since last time?
        (`data_version` does not move for this connection's own commits.)"""
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if self._data_version is not None and version != self._data_version:
            for callback in self.outside_change_callbacks:
                callback()
        self._data_version = version

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the running job's transaction is committed (not if undone)."""
        assert self._current is not None, "only a job on the writer waits for its commit"
        self._current.after.append(callback)

    def _check_file(self) -> None:
        """Refuse to write once the file was deleted or replaced under the process."""
        if self.gone is None and not all(_linked(fd) for fd in self._watched):
            self.gone = StorageError(
                "gone", f"{self._path} was deleted or replaced while the advisor was running"
            )
            for callback in self.gone_callbacks:
                callback()
        if self.gone is not None:
            raise self.gone


class _Task(Generic[T]):
    """A job, where its result goes, and the update it is done for."""

    __slots__ = ("after", "alone", "future", "job", "update_id")

    def __init__(self, job: Job[T], future: Future[T], update_id: int | None, alone: bool) -> None:
        self.job, self.future, self.update_id, self.alone = job, future, update_id, alone
        self.after: list[Callable[[], None]] = []  # to run once its transaction is committed

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


def _linked(fd: int) -> bool:
    """Whether an open file still has a name: deleted, or replaced by a rename over it, it
    has none (a write to it would be lost when the process ends)."""
    return os.fstat(fd).st_nlink > 0


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
