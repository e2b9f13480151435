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
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from reconcile.adapters.files import create_private_binary, make_private_folder
from reconcile.core.errors import FolderArchiveError, ServerFailure
from reconcile.core.ports import SharedFile


def archive_file_name(class_name: str, day: date, school: str = "") -> str:
    """`<école>-<classe>-<date>.zip` (ASCII, no spaces), `classe-…` without a school."""
    prefix = _slug(school) if school.strip() else "classe"
    return f"{prefix}-{_slug(class_name)}-{day.isoformat()}.zip"


def write_checked_archive(
    archive_dir: Path,
    file_name: str,
    *,
    class_name: str,
    folder_name: str,
    listing: Sequence[SharedFile],
    download: Callable[[str], bytes],
    on_file: Callable[[int, SharedFile], None],
) -> Path:
    """Save the files of `listing` under a top folder named `folder_name`; return the checked zip's path.

    `download` reads a file's bytes by its id; `on_file(index, file)` is called once each
    file is in the zip. Raises `FolderArchiveError` (no zip left behind) when a path is
    unsafe, a file cannot be downloaded or differs from the listing, or the zip re-read
    from disk does not match it.
    """
    _check_paths(class_name, listing)
    make_private_folder(archive_dir)
    final_path, partial_path = _free_archive_paths(archive_dir, file_name)
    top = _archive_top_folder(folder_name)
    stamp = _zip_timestamp()
    try:
        with (
            create_private_binary(partial_path) as stream,
            zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            for index, shared in enumerate(listing, start=1):
                data = _downloaded(class_name, shared, download)
                info = zipfile.ZipInfo(f"{top}/{shared.path}", date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16  # the zip itself is 0600; its files open normally
                archive.writestr(info, data)
                on_file(index, shared)
            stream.flush()
            os.fsync(stream.fileno())
        _verify_archive(class_name, partial_path, top, listing)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial_path.unlink()
        raise
    os.replace(partial_path, final_path)
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


def _downloaded(class_name: str, shared: SharedFile, download: Callable[[str], bytes]) -> bytes:
    try:
        data = download(shared.id)
    except ServerFailure as error:
        # Gone or unreadable since the listing (a 404): nothing deleted yet.
        raise FolderArchiveError(
            class_name, f"le fichier « {shared.path} » n'a pas pu être téléchargé ({error})."
        ) from error
    if len(data) != shared.size:
        raise FolderArchiveError(
            class_name,
            f"le fichier « {shared.path} » fait {len(data)} octets au téléchargement "
            f"alors que le serveur en annonce {shared.size} (modifié pendant l'archivage ?).",
        )
    return data


def _verify_archive(class_name: str, path: Path, top: str, listing: Sequence[SharedFile]) -> None:
    """Re-read the zip from disk: same files, same sizes, every CRC right."""
    expected = {f"{top}/{shared.path}": shared.size for shared in listing}
    try:
        with zipfile.ZipFile(path) as archive:
            found = {info.filename: info.file_size for info in archive.infolist()}
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
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


def _slug(text: str) -> str:
    """ASCII letters, digits and hyphens: safe on every file system and USB stick."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-") or "sans-nom"


def _archive_top_folder(folder_name: str) -> str:
    """The folder's name as the zip's top folder (no separators, never empty)."""
    cleaned = re.sub(r"[/\\\x00]+", "-", folder_name).strip(" .")
    return cleaned or "dossier"


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
