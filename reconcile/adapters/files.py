"""Files readable by their owner only (mode 0600), for everything that holds passwords or names
pupils, in folders the tool creates for its owner only (0700).

The class lists, the change reports, the journal and the folder archives are
created with mode 0600 from the first byte: the mode is given to `os.open`, never
set by a `chmod` after the data is already on disk, so no other account of a shared
machine can read them even for an instant. A file that already exists gets its
mode narrowed before anything is written into it.

Whole files (`write_private_bytes`, `write_private_text`, and the workbooks through
`replace_atomically`) are written to a private temporary file in the same folder, then
renamed over the target: a reader never sees half a file, and a crash leaves the previous
version in place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from reconcile.core.errors import OutputNotWritable, ReconcileError
from reconcile.core.vocabulary import shell_word

PRIVATE_MODE = 0o600
"""Read and write by the owner only."""

PRIVATE_FOLDER_MODE = 0o700
"""A folder the tool creates: opened, listed and written by the owner only."""


_REASONS = {
    errno.EACCES: "vous n'avez pas le droit d'y écrire",
    errno.EPERM: "vous n'avez pas le droit d'y écrire",
    errno.EROFS: "il est en lecture seule",
    errno.ENOSPC: "le disque est plein",
    errno.EDQUOT: "le disque est plein (quota atteint)",
    errno.EEXIST: "un fichier porte déjà ce nom : ce n'est pas un dossier",
    errno.ENOTDIR: "un fichier porte ce nom (ou celui d'un dossier parent) : ce n'est pas un dossier",
    errno.EISDIR: "un dossier porte le nom du fichier à écrire",
    errno.ENOENT: "il n'existe pas",
}


def french_reason(error: OSError) -> str:
    """Why a file could not be written, in words a secretary reads (the system's are English)."""
    return _REASONS.get(error.errno or 0, error.strerror or str(error))


@contextlib.contextmanager
def writing_into(folder: Path) -> Iterator[None]:
    """An `OSError` while writing into `folder` becomes `OutputNotWritable`, naming the folder."""
    try:
        yield
    except OSError as error:
        raise OutputNotWritable(str(folder), french_reason(error)) from error


def replace_atomically(path: Path, write: Callable[[BinaryIO], object], *, mode: int = PRIVATE_MODE) -> Path:
    """Create or replace `path` with what `write` puts into a stream, atomically; give it `mode`.

    The folder must exist. `mode` is set before the rename: with the default the file is
    never readable by another account; a workbook that holds no password may be given more.
    """
    path = Path(path)
    # mkstemp creates the file with mode 0600 already (O_EXCL, owner only).
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        if mode != PRIVATE_MODE:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def make_private_folder(folder: Path) -> Path:
    """Create `folder` and its missing parents with mode 0700 (an existing one is left as it is).

    `Path.mkdir(mode=…)` gives the mode to the last folder only: each missing one is made here.
    """
    folder = Path(folder)
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            candidate.mkdir(mode=PRIVATE_FOLDER_MODE)
    if not folder.is_dir():
        folder.mkdir()  # a file in the way: the same OSError as `mkdir(exist_ok=True)` gives
    return folder


def write_private_stream(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write `path` (created or replaced, its folder too, 0700) with mode 0600, atomically, by
    `write(stream)`: a workbook or a PDF saved straight into the file."""
    path = Path(path)
    make_private_folder(path.parent)
    return replace_atomically(path, write)


def write_private_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path` (created or replaced, its folder too) with mode 0600, atomically."""
    return write_private_stream(path, lambda stream: stream.write(data))


def write_private_text(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` (created or replaced) with mode 0600, atomically."""
    return write_private_bytes(path, text.encode(encoding))


def _open_private_descriptor(path: Path, flags: int) -> int:
    make_private_folder(path.parent)
    descriptor = os.open(path, flags, PRIVATE_MODE)
    try:
        # An existing file keeps its old mode under O_CREAT: narrow it before writing.
        if sys.platform == "win32":  # no fchmod there; the mode only sets the read-only bit
            os.chmod(path, PRIVATE_MODE)
        else:
            os.fchmod(descriptor, PRIVATE_MODE)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def open_private_append(path: Path, *, encoding: str = "utf-8") -> TextIO:
    """Open a text file for appending (the journal), created with mode 0600; the caller closes it.

    Every `write` goes to the end of the file (O_APPEND), even after a crash
    left a partial last line; the caller flushes and fsyncs as it needs.
    """
    descriptor = _open_private_descriptor(Path(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        return os.fdopen(descriptor, "a", encoding=encoding)
    except BaseException:
        os.close(descriptor)
        raise


@contextlib.contextmanager
def create_private_binary(path: Path) -> Iterator[BinaryIO]:
    """Create a new binary file with mode 0600; fail if it already exists.

    For archives: an existing archive is never overwritten (`FileExistsError`).
    """
    descriptor = _open_private_descriptor(Path(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(descriptor, "wb") as stream:
        yield stream


def check_workbook_name(path: Path, error: type[ReconcileError] = ReconcileError) -> None:
    """Refuse (with `error`) a workbook to write whose name does not end in `.xlsx`."""
    if path.suffix.lower() != ".xlsx":
        example = shell_word(f"{path.stem or 'rentree'}.xlsx")
        raise error(
            f"« {path.name} » : le classeur doit finir par .xlsx, sinon ni Excel ni LibreOffice Calc ni "
            f"reconcile plan ne l'ouvrent comme un classeur. Par exemple : -o {example}"
        )
