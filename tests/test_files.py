"""Files for operators (backups, exports): owner-only from the first byte, never through a
symlink, never over an existing file without --force, and a one-line error when refused."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot import files, housekeeping

ROOT = Path(__file__).resolve().parent.parent


def advisor(*args: str) -> subprocess.CompletedProcess:
    """`python -m bot.cli` on this checkout's code."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def refused(result: subprocess.CompletedProcess, words: str) -> None:
    """Exit code 2 and one line naming the problem: no traceback."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert result.stderr.startswith("advisor: ")


@pytest.fixture
def permissive_umask():
    """A umask that would leave a new file readable by everyone unless it is created 0600."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_a_backup_is_owner_only_and_unnamed_while_it_is_written(
    finished_db, tmp_path, permissive_umask
):
    destination = tmp_path / "backups" / "copy.db"
    destination.parent.mkdir()
    during = []

    def look(status: int, remaining: int, total: int) -> None:
        # called by SQLite between the pages it copies: the copy is being written now
        entries = {p.name: mode(p) for p in destination.parent.iterdir()}
        during.append((remaining, entries))

    copied = housekeeping.backup(finished_db, destination, pages=1, progress=look)
    assert copied == str(finished_db)
    assert len([r for r, _ in during if r > 0]) >= 5  # looked several times mid-copy
    for _, entries in during:
        assert destination.name not in entries  # the name appears only when complete
        assert entries and set(entries.values()) == {0o600}, entries
    assert mode(destination) == 0o600
    assert list(destination.parent.iterdir()) == [destination]  # nothing partial left
    with sqlite3.connect(destination) as copy:
        assert copy.execute("SELECT name FROM consultants").fetchall() == [("Anna Berg",)]


def test_a_new_file_is_owner_only_before_its_first_byte(tmp_path, permissive_umask):
    destination = tmp_path / "summaries.csv"
    with files.new_text(destination) as out:
        (partial,) = tmp_path.iterdir()
        assert mode(partial) == 0o600 and partial.stat().st_size == 0
        out.write("a,b\r\n")
        assert not destination.exists()
    assert destination.read_bytes() == b"a,b\r\n" and mode(destination) == 0o600


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    destination = tmp_path / "summaries.csv"
    destination.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), files.new_text(destination, force=True) as out:
        out.write("half")
        raise RuntimeError("the database went away")
    assert list(tmp_path.iterdir()) == [destination]
    assert destination.read_text(encoding="utf-8") == "old"


def test_backup_refuses_an_existing_file_without_force_and_replaces_it_with(finished_db, tmp_path):
    destination = tmp_path / "copy.db"
    destination.write_text("yesterday's backup", encoding="utf-8")
    destination.chmod(0o644)
    refused(
        advisor("backup", str(destination), "--db", str(finished_db)),
        f"{destination} already exists; pass --force to replace it",
    )
    assert destination.read_text(encoding="utf-8") == "yesterday's backup"
    result = advisor("backup", str(destination), "--db", str(finished_db), "--force")
    assert result.returncode == 0, result.stderr
    assert mode(destination) == 0o600
    with sqlite3.connect(destination) as copy:
        assert copy.execute("SELECT count(*) FROM summaries").fetchone() == (1,)


def test_backup_refuses_a_symlink_even_with_force(finished_db, tmp_path):
    target = tmp_path / "elsewhere.db"
    link = tmp_path / "copy.db"
    link.symlink_to(target)
    for force in ([], ["--force"]):
        refused(
            advisor("backup", str(link), "--db", str(finished_db), *force),
            f"refusing to write {link}: it is a symbolic link",
        )
    assert not target.exists() and link.is_symlink()


def test_backup_into_a_missing_folder_is_a_one_line_error(finished_db, tmp_path):
    destination = tmp_path / "no-such-folder" / "copy.db"
    refused(
        advisor("backup", str(destination), "--db", str(finished_db)),
        f"the folder {destination.parent} does not exist",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_backup_into_a_folder_without_write_permission_is_a_one_line_error(finished_db, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    refused(
        advisor("backup", str(folder / "copy.db"), "--db", str(finished_db)),
        "permission denied",
    )


def test_a_permission_problem_is_a_one_line_error(tmp_path, monkeypatch):
    # what a folder without write permission gives a user who is not root
    def denied(path: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(files, "create", denied)
    message = r"^cannot write .*x\.csv: permission denied$"
    with pytest.raises(files.OutputError, match=message), files.new_text(tmp_path / "x.csv"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_export_to_a_file_refuses_an_existing_file_a_symlink_and_a_missing_folder(
    finished_db, tmp_path
):
    out = tmp_path / "all.csv"
    out.write_text("keep", encoding="utf-8")
    refused(
        advisor("export", "--out", str(out), "--db", str(finished_db)),
        "already exists; pass --force",
    )
    assert out.read_text(encoding="utf-8") == "keep"
    result = advisor(
        "export", "--format", "json", "--out", str(out), "--force", "--db", str(finished_db)
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith("[") and mode(out) == 0o600
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "target.csv")
    refused(
        advisor("export", "--out", str(link), "--force", "--db", str(finished_db)),
        "it is a symbolic link",
    )
    assert not (tmp_path / "target.csv").exists()
    refused(
        advisor("export", "--out", str(tmp_path / "nope" / "x.csv"), "--db", str(finished_db)),
        "does not exist",
    )


def test_export_to_a_folder_writes_owner_only_files_and_refuses_to_overwrite(finished_db, tmp_path):
    folder = tmp_path / "reports"
    export = ("export", "--format", "markdown", "--out", str(folder), "--db", str(finished_db))
    assert advisor(*export).returncode == 0
    (report,) = folder.iterdir()
    assert mode(folder) == 0o700 and mode(report) == 0o600
    report.write_text("edited", encoding="utf-8")
    refused(advisor(*export), f"{report} already exists; pass --force")
    assert report.read_text(encoding="utf-8") == "edited"
    assert advisor(*export, "--force").returncode == 0
    assert report.read_text(encoding="utf-8").startswith("# ")
    linked = tmp_path / "linked"
    linked.symlink_to(folder)
    refused(
        advisor("export", "--format", "pdf", "--out", str(linked), "--db", str(finished_db)),
        f"refusing to write into {linked}: it is a symbolic link",
    )
