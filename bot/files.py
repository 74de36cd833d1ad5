"""Files written for operators (backups, exports): owner-only from their first byte, never
through a symbolic link, never over an existing file unless asked (`--force`).

Each file is written under a fresh hidden name in the destination's folder, created `0600`
and exclusively, and takes its real name only when complete: nobody can open it early, a
failed or interrupted write leaves no half file under that name, and `--force` replaces an
old file in one step (the old one stays whole if the new one fails).
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

OWNER_ONLY = 0o600
# open flags for a new file: create it, fail if the name exists (a symlink counts as existing)
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class OutputError(Exception):
    """A file that cannot or may not be written; the message is one line for the operator."""


def check_destination(path: Path, force: bool) -> None:
    """Refuse a destination in a missing folder, a symbolic link, a folder, or an existing
    file without `force`."""
    folder = path.parent
    if not folder.is_dir():
        missing = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"cannot write {path}: the folder {folder} {missing}")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise failure(path, error) from None
    if stat.S_ISLNK(mode):
        raise OutputError(f"refusing to write {path}: it is a symbolic link")
    if stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {path}: it is a folder")
    if not force:
        raise OutputError(f"{path} already exists; pass --force to replace it")


def failure(path: Path, error: OSError) -> OutputError:
    if isinstance(error, PermissionError):
        return OutputError(f"cannot write {path}: permission denied")
    return OutputError(f"cannot write {path}: {error.strerror or error}")


@contextmanager
def staged(destination: str | Path, force: bool = False) -> Iterator[Path]:
    """A fresh, not yet existing name beside `destination` for the caller to create (owner-only,
    exclusively) and fill; when the block ends without an error it becomes `destination`."""
    path = Path(destination)
    check_destination(path, force)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
    try:
        yield temporary
        publish(temporary, path, force)
    except OSError as error:
        raise failure(path, error) from None
    finally:
        temporary.unlink(missing_ok=True)


def publish(temporary: Path, path: Path, force: bool) -> None:
    """Give the finished file its name: replacing the old file with `force`, else only if
    the name is still free (a hard link fails on an existing name, a symlink included)."""
    if force:
        check_destination(path, force)  # still not a symlink or a folder
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputError(f"{path} already exists; pass --force to replace it") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        check_destination(path, force)  # a file system without hard links (FAT)
        os.rename(temporary, path)


def create(path: str | Path) -> int:
    """Create a new file owner-only, exclusively, never through a symlink; its descriptor."""
    return os.open(path, NEW_FILE, OWNER_ONLY)


@contextmanager
def new_binary(destination: str | Path, force: bool = False) -> Iterator[BinaryIO]:
    """A new file to write bytes to (see the module's description)."""
    with staged(destination, force) as temporary, os.fdopen(create(temporary), "wb") as file:
        yield file


@contextmanager
def new_text(destination: str | Path, force: bool = False) -> Iterator[TextIO]:
    """A new UTF-8 text file, newlines written as given (for CSV's own line ends)."""
    with new_binary(destination, force) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        yield text
        text.detach()  # flushes; the file itself is closed by new_binary


def output_folder(path: str | Path) -> Path:
    """A folder to write exports into: created owner-only if its parent exists; never a
    symbolic link."""
    path = Path(path)
    if path.is_symlink():
        raise OutputError(f"refusing to write into {path}: it is a symbolic link")
    if path.is_dir():
        return path
    if path.exists():
        raise OutputError(f"cannot write into {path}: it is not a folder")
    if not path.parent.is_dir():
        raise OutputError(f"cannot create {path}: the folder {path.parent} does not exist")
    try:
        path.mkdir(mode=0o700)
    except OSError as error:
        raise failure(path, error) from None
    return path
