"""The zip of a class work folder: written privately, re-read and checked before anything is deleted.

`write_checked_archive` downloads every file of a listing into
`<école>-<classe>-<date>.zip` (a free name: an earlier archive is never
overwritten), fsyncs it, re-reads it from disk (same files, same sizes, every CRC
right) and only then gives it its final name. The folder workaround
(`reconcile.app.folders`) deletes the files on the server after that, never before.

Archives are created with mode 0600, like every file of the output folder: they hold
pupils' work, personal data of minors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sys
import time
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from reconcile.adapters.archive_names import (
    ORIGINAL_NAMES_FILE,
    original_names_text,
    safe_component,
    safe_entry_names,
)
from reconcile.adapters.files import create_private_binary, french_reason, make_private_folder
from reconcile.core.errors import ArchiveNotWritten, FolderArchiveError, ServerFailure
from reconcile.core.ports import SharedFile

GIB = 1024**3

Download = Callable[[str], Generator[bytes, None, None]]
"""A file's bytes by its id, in chunks as they arrive (`UserSession.download`)."""


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What a class folder may weigh, and how slowly a file may come.

    A primary school's class folder holds documents, scans, photos and now and then
    a phone video of a class project or show (about 130 Mo a minute in 1080p): 2 Gio
    per file lets a quarter of an hour of video through, 20 Gio per folder is many
    times a real year of a class. Beyond, something is wrong on the server: the class
    is kept, nothing deleted, and the message says how to save it by hand. A file must
    come at 64 Kio/s at least (half a megabit, below any school's line) after a
    two-minute allowance: a server that drips never holds the run forever.
    """

    file_bytes: int = 2 * GIB
    folder_bytes: int = 20 * GIB
    min_bytes_per_second: int = 64 * 1024
    allowance_seconds: float = 120.0

    def seconds_for(self, size: int) -> float:
        """How long a file of `size` bytes may take to download."""
        return self.allowance_seconds + size / self.min_bytes_per_second


DISK_MARGIN = 16 * 1024 * 1024
"""Free space kept above the folder's size (the zip's own bytes, the reports, the journal)."""


def archive_file_name(class_name: str, day: date, school: str = "") -> str:
    """`<école>-<classe>-<date>.zip` (ASCII, no spaces), `classe-…` without a school."""
    prefix = _slug(school) if school.strip() else "classe"
    return f"{prefix}-{_slug(class_name)}-{day.isoformat()}.zip"


def _remove_partial_archives(archive_dir: Path) -> None:
    """Remove the `.<name>.zip.partiel` an interrupted run left in `archive_dir`.

    Only one apply runs at a time in an output folder (the run lock): a partial file
    found here is never one being written.
    """
    for leftover in Path(archive_dir).glob(".*.zip.partiel"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def write_checked_archive(
    archive_dir: Path,
    file_name: str,
    *,
    class_name: str,
    folder_name: str,
    listing: Sequence[SharedFile],
    download: Download,
    on_file: Callable[[int, SharedFile], None],
    limits: ArchiveLimits | None = None,
) -> Path:
    """Save the files of `listing` under a top folder named `folder_name`; return the checked zip's path.

    `download` streams a file's bytes by its id; `on_file(index, file)` is called once each
    file is in the zip. Nothing is held whole in memory: each file goes to disk as it
    comes, and stops as soon as it passes the size the listing announced. Names Windows
    refuses are changed (`archive_names`), the list of changes kept in the zip. Raises
    `FolderArchiveError` (no zip left behind) when a path is unsafe, a size passes
    `limits`, a file cannot be downloaded or differs from the listing, or the zip re-read
    from disk does not match it; `ArchiveNotWritten` when the disk refuses (full, read-only…).
    """
    limits = limits or ArchiveLimits()
    _check_paths(class_name, listing)
    _check_sizes(class_name, listing, limits)
    top = _archive_top_folder(folder_name)
    names = {path: f"{top}/{safe}" for path, safe in safe_entry_names(f.path for f in listing).items()}
    renamed = {names[f.path]: f"{top}/{f.path}" for f in listing if names[f.path] != f"{top}/{f.path}"}
    expected = {names[f.path]: f.size for f in listing}
    try:
        make_private_folder(archive_dir)
        _remove_partial_archives(archive_dir)
        _check_free_space(class_name, archive_dir, listing)
        final_path, partial_path = _free_archive_paths(archive_dir, file_name)
    except OSError as error:
        raise ArchiveNotWritten(class_name, str(archive_dir), _disk_reason(error)) from error
    try:
        with create_private_binary(partial_path) as stream:
            with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for index, shared in enumerate(listing, start=1):
                    _add_file(archive, names[shared.path], shared, class_name, download, limits)
                    on_file(index, shared)
                if renamed:
                    expected[ORIGINAL_NAMES_FILE] = _add_names_list(archive, renamed)
            stream.flush()
            os.fsync(stream.fileno())
        _verify_archive(class_name, partial_path, expected)
        os.replace(partial_path, final_path)
        _sync_folder(archive_dir)
    except BaseException as error:
        with contextlib.suppress(OSError):
            partial_path.unlink()
        if isinstance(error, OSError):
            raise ArchiveNotWritten(class_name, str(archive_dir), _disk_reason(error)) from error
        raise
    return final_path


def _check_paths(class_name: str, listing: Sequence[SharedFile]) -> None:
    """Refuse paths that would escape the archive's folder or collide in it."""
    seen: set[str] = set()
    for shared in listing:
        parts = re.split(r"[/\\]", shared.path)
        if any(part in {"", ".", ".."} for part in parts) or "\x00" in shared.path:
            raise FolderArchiveError(
                class_name, f"le chemin de fichier « {shared.path} » n'est pas un chemin relatif sûr."
            )
        if shared.path in seen:
            raise FolderArchiveError(class_name, f"le fichier « {shared.path} » apparaît deux fois.")
        seen.add(shared.path)


def _check_sizes(class_name: str, listing: Sequence[SharedFile], limits: ArchiveLimits) -> None:
    """Refuse, before any download, a file or a folder bigger than the limits."""
    advice = "sauvegardez-le et videz-le à la main (procédure manuelle d'IntraScol), puis relancez."
    for shared in listing:
        if shared.size > limits.file_bytes:
            size, limit = _compared(shared.size, limits.file_bytes)
            raise FolderArchiveError(
                class_name,
                f"le fichier « {shared.path} » fait {size}, plus que la limite de {limit} par fichier ; "
                f"{advice}",
            )
    total = sum(shared.size for shared in listing)
    if total > limits.folder_bytes:
        size, limit = _compared(total, limits.folder_bytes)
        raise FolderArchiveError(
            class_name, f"le dossier fait {size}, plus que la limite de {limit} par dossier ; {advice}"
        )


def _compared(size: int, limit: int) -> tuple[str, str]:
    """Both in words, with the exact bytes when the words alone would look equal."""
    words = size_in_words(size), size_in_words(limit)
    if words[0] != words[1]:
        return words
    return f"{words[0]} ({size} octets)", f"{words[1]} ({limit} octets)"


def _check_free_space(class_name: str, archive_dir: Path, listing: Sequence[SharedFile]) -> None:
    needed = sum(shared.size for shared in listing) + DISK_MARGIN
    free = shutil.disk_usage(archive_dir).free
    if free < needed:
        raise ArchiveNotWritten(
            class_name,
            str(archive_dir),
            f"il y faut {size_in_words(needed)} libres, il n'en reste que {size_in_words(free)}",
        )


def _add_file(
    archive: zipfile.ZipFile,
    name: str,
    shared: SharedFile,
    class_name: str,
    download: Download,
    limits: ArchiveLimits,
) -> None:
    """Stream one file into the zip, never past its announced size nor its time allowance."""
    info = _entry(name)
    deadline = time.monotonic() + limits.seconds_for(shared.size)
    received = 0
    # zip64 when the entry may pass 2 Gio (zipfile decides it before the first byte).
    large = shared.size * 1.05 > zipfile.ZIP64_LIMIT
    try:
        with (
            contextlib.closing(download(shared.id)) as chunks,
            archive.open(info, "w", force_zip64=large) as entry,
        ):
            for chunk in chunks:
                received += len(chunk)
                if received > shared.size:
                    raise _size_differs(class_name, shared, f"plus de {received} octets")
                entry.write(chunk)
                if time.monotonic() > deadline:
                    raise _too_slow(class_name, shared, received, limits)
    except ServerFailure as error:
        # Gone or unreadable since the listing (a 404): nothing deleted yet.
        raise FolderArchiveError(
            class_name, f"le fichier « {shared.path} » n'a pas pu être téléchargé ({error})."
        ) from error
    if received != shared.size:
        raise _size_differs(class_name, shared, f"{received} octets")


def _size_differs(class_name: str, shared: SharedFile, received: str) -> FolderArchiveError:
    return FolderArchiveError(
        class_name,
        f"le fichier « {shared.path} » fait {received} au téléchargement alors que le serveur en "
        f"annonce {shared.size} (modifié pendant l'archivage ?) ; téléchargement arrêté.",
    )


def _too_slow(
    class_name: str, shared: SharedFile, received: int, limits: ArchiveLimits
) -> FolderArchiveError:
    seconds = round(limits.seconds_for(shared.size))
    return FolderArchiveError(
        class_name,
        f"le fichier « {shared.path} » n'est pas arrivé dans le temps permis ({seconds} s pour "
        f"{size_in_words(shared.size)}, {size_in_words(received)} reçus) : le serveur est trop lent.",
    )


def _add_names_list(archive: zipfile.ZipFile, renamed: Mapping[str, str]) -> int:
    data = original_names_text(renamed).encode("utf-8")
    archive.writestr(_entry(ORIGINAL_NAMES_FILE), data)
    return len(data)


def _entry(name: str) -> zipfile.ZipInfo:
    """A file of the archive: compressed, dated now, readable once extracted."""
    info = zipfile.ZipInfo(name, date_time=_zip_timestamp())
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # the zip itself is 0600; its files open normally
    return info


def _verify_archive(class_name: str, path: Path, expected: Mapping[str, int]) -> None:
    """Re-read the zip from disk: same files, same sizes, every CRC right."""
    try:
        with zipfile.ZipFile(path) as archive:
            found = {info.filename: info.file_size for info in archive.infolist()}
            damaged = archive.testzip()
    except zipfile.BadZipFile as error:
        raise FolderArchiveError(class_name, f"l'archive {path} est illisible ({error}).") from error
    if damaged is not None:
        raise FolderArchiveError(class_name, f"le fichier « {damaged} » est abîmé dans l'archive.")
    if found != expected:
        missing = sorted(set(expected) - set(found))
        wrong = sorted(p for p in expected.keys() & found.keys() if expected[p] != found[p])
        raise FolderArchiveError(
            class_name,
            f"l'archive ne correspond pas au dossier ({len(found)} fichiers sur {len(expected)} ; "
            f"manquants : {', '.join(missing) or 'aucun'} ; "
            f"tailles différentes : {', '.join(wrong) or 'aucune'}).",
        )


def _disk_reason(error: OSError) -> str:
    if error.errno == errno.EFBIG:
        return "l'archive dépasse la taille qu'un fichier peut avoir sur ce disque ou pour ce compte"
    return french_reason(error)


def _sync_folder(folder: Path) -> None:
    """Make the archive's new name durable (fsync of the folder), where the system allows it."""
    if sys.platform == "win32":
        return  # a folder cannot be opened for fsync there; NTFS journals the rename
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def size_in_words(size: int) -> str:
    """`512 octets`, `1,5 Ko`, `12,0 Mo`, `2,0 Go` (binary units, as file managers show them)."""
    if size < 1024:
        return f"{size} octets"
    power, unit = next(
        (p, u) for p, u in ((1, "Ko"), (2, "Mo"), (3, "Go")) if size < 1024 ** (p + 1) or p == 3
    )
    return f"{size / 1024**power:.1f} {unit}".replace(".", ",")


def _slug(text: str) -> str:
    """ASCII letters, digits and hyphens: safe on every file system and USB stick."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-") or "sans-nom"


def _archive_top_folder(folder_name: str) -> str:
    """The folder's name as the zip's top folder (no separators, never empty)."""
    cleaned = re.sub(r"[/\\\x00]+", "-", folder_name).strip(" .")
    return safe_component(cleaned) if cleaned else "dossier"


def _free_archive_paths(archive_dir: Path, file_name: str) -> tuple[Path, Path]:
    """The first `name.zip`, `name-2.zip`… free, with its partial twin."""
    stem = file_name.removesuffix(".zip")
    for number in range(1, 1000):
        candidate = archive_dir / (file_name if number == 1 else f"{stem}-{number}.zip")
        partial = candidate.with_name(f".{candidate.name}.partiel")
        if not candidate.exists() and not partial.exists():
            return candidate, partial
    raise FolderArchiveError(stem, f"trop d'archives portent déjà ce nom dans {archive_dir}.")


def _zip_timestamp() -> tuple[int, int, int, int, int, int]:
    now = datetime.now()
    return (max(now.year, 1980), now.month, now.day, now.hour, now.minute, now.second)
