"""The append-only journal of an apply run (JSON lines).

One line per event, flushed and fsynced before and after each POST, so that a run
killed at any point leaves a record of what it was doing. The journal holds the
passwords the server made: it is created readable by its owner only.

The first line identifies the workbook (its path and a digest of its wanted state):
a journal left by the application of another workbook is detected, not mixed in.
`fold_journal` turns the lines into facts (pure); `reconcile.app.apply` resolves the
wanted state with them and re-plans, which is how a run resumes.

A journal is evidence, never guessed: a line that is not a record reconcile wrote stops
the run (`JournalDamaged`, with the file and the line). Only a last line torn by a crash
(no final newline) is recognised as such: set aside into the `.abime` file, never lost.

`exclusive_run` is the run lock: one application per server (whatever the output folder)
and per output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import platformdirs
from filelock import FileLock, Timeout

from reconcile.adapters.files import PRIVATE_MODE, french_reason, make_private_folder, open_private_append
from reconcile.core.errors import ApplicationInProgress, JournalDamaged, JournalError
from reconcile.core.journal_facts import (
    EarlierWork,
    Event,
    JournalFacts,
    fold_earlier_work,
    fold_journal,
    line_problem,
)
from reconcile.core.safeguards import server_address

JOURNAL_NAME = "journal-application.jsonl"
JOURNAL_FORMAT = 1
TORN_SUFFIX = ".abime"  # next to the journal: the torn last lines set aside, never lost

LOCK_NAME = ".application-en-cours.lock"
STATE_DIR_VARIABLE = "RECONCILE_STATE_DIR"
"""Where the servers' locks go instead of the user's state directory (the tests use it)."""


# --- One application per server, and per output folder ---------------------------------


def state_dir() -> Path:
    """The user's state directory of reconcile (`$RECONCILE_STATE_DIR` when set).

    `~/.local/state/reconcile` on Linux, its equivalents on macOS and Windows (platformdirs).
    """
    given = os.environ.get(STATE_DIR_VARIABLE, "").strip()
    return Path(given) if given else Path(platformdirs.user_state_dir("reconcile", appauthor=False))


def server_lock_path(url: str) -> Path:
    digest = hashlib.sha256(server_address(url).encode("utf-8")).hexdigest()[:32]
    return state_dir() / f"application-{digest}.lock"


@contextmanager
def exclusive_run(server_url: str, output_dir: Path) -> Iterator[None]:
    """Refuse a second `reconcile apply` on the same server, or the same output folder, while one runs.

    Two locks, held for the whole run: one keyed by the server (its base URL, hashed, in the
    user's state directory), so two runs against one server refuse each other whatever their
    output folders; one in the output folder, so its journal is only written by one run. They
    are the system's locks (filelock: `flock`, or `msvcrt.locking` on Windows), released by the
    system when the process ends, even killed: a stale lock never blocks the next run. Their
    files are removed when the run ends, finished or failed (see `_held`).
    """
    server_busy = ApplicationInProgress(server_url=server_url)
    folder_busy = ApplicationInProgress(output_dir=str(output_dir))
    with (
        _held(server_lock_path(server_url), "le dossier d'état de reconcile", server_busy),
        _held(output_dir / LOCK_NAME, "le dossier de sortie", folder_busy),
    ):
        yield


@contextmanager
def _held(path: Path, folder: str, busy: JournalError) -> Iterator[None]:
    try:
        make_private_folder(path.parent)
        lock = FileLock(path, mode=PRIVATE_MODE)
        lock.acquire(timeout=0)
    except Timeout as error:
        raise busy from error
    except OSError as error:
        raise JournalError(
            f"Impossible d'utiliser {folder} {path.parent} : {french_reason(error)}."
        ) from error
    try:
        yield
    finally:
        # The file goes while the lock is still held: a run that opened it meanwhile finds it
        # unlinked once it gets the lock and refuses (filelock checks the link count), so no two
        # runs ever hold different files of one name. Never removed by a run that did not hold it.
        # Windows refuses to remove an open file; filelock removes it there after the release.
        with suppress(OSError):
            path.unlink()
        lock.release()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Journal:
    """An open journal file: `record` appends one durable line; `close` (or `with`) ends it."""

    def __init__(self, path: Path, lines: list[dict[str, Any]]) -> None:
        self.path = path
        self._lines = lines
        # Opened once and kept for the run: a run records two lines per POST, and opening the
        # file (its folder made, its mode narrowed) for each cost more than the fsync itself.
        self._stream: TextIO | None = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            with suppress(OSError):  # every line was already fsynced
                stream.close()

    @classmethod
    def open(cls, output_dir: Path, *, workbook: str, digest: str, server_url: str) -> Journal:
        """Open (or create) the journal of `workbook` in `output_dir`, to append to it.

        Raises `JournalError` when the folder holds the journal of another workbook
        that did change something; a journal that never sent a POST is replaced.
        """
        try:
            make_private_folder(output_dir)
        except OSError as error:
            raise JournalError(f"Impossible de créer le dossier de sortie {output_dir} : {error}.") from error
        path = output_dir / JOURNAL_NAME
        set_aside_torn_line(output_dir)  # the next record must start on its own line
        lines = _matching_lines(path, digest)
        if lines:
            return cls(path, lines)
        if path.exists():
            # Another workbook's journal that is finished or never sent anything: kept aside.
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            path.rename(path.with_name(f"{path.stem}-{stamp}{path.suffix}"))
        journal = cls(path, [])
        journal._append(
            {
                "event": Event.HEADER,
                "format": JOURNAL_FORMAT,
                "workbook": workbook,
                "digest": digest,
                "server": server_url,
            }
        )
        return journal

    @staticmethod
    def existing_facts(output_dir: Path, digest: str) -> JournalFacts:
        """The facts of the journal of this workbook in `output_dir`, without writing anything."""
        return fold_journal(_matching_lines(output_dir / JOURNAL_NAME, digest))

    @property
    def lines(self) -> tuple[dict[str, Any], ...]:
        return tuple(self._lines)

    def facts(self) -> JournalFacts:
        return fold_journal(self._lines)

    def record(self, op: str, event: str, **data: Any) -> None:
        """Append one event for operation `op`, durably (flushed and fsynced)."""
        self._append({"op": op, "event": event, **data})

    def _append(self, line: dict[str, Any]) -> None:
        entry = {"at": _now(), **line}
        text = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            if self._stream is None:
                # The journal holds the passwords the server made: 0600, narrowed if it was not.
                self._stream = open_private_append(self.path)
            _write_durably(self._stream, text)
        except OSError as error:
            raise JournalError(
                f"Impossible d'écrire le journal {self.path} ({error.strerror or error}) : l'application "
                "s'arrête, car elle ne fait rien qu'elle ne puisse noter. Libérez de la place ou "
                "choisissez un autre dossier de sortie, puis relancez la même commande."
            ) from error
        self._lines.append(entry)


def earlier_work(output_dir: Path, digest: str) -> EarlierWork:
    """Accounts and classes created by the other journals of `output_dir` (set aside or not).

    A workbook corrected and applied again after a finished application still lists
    its new people as new rows and its new classes as `Créer`: these let the next
    run take them over instead of creating them a second time.
    """
    paths = sorted(output_dir.glob(f"{Path(JOURNAL_NAME).stem}*{Path(JOURNAL_NAME).suffix}"))
    return fold_earlier_work((read_lines(path) for path in paths), digest)


def _matching_lines(path: Path, digest: str) -> list[dict[str, Any]]:
    """The lines of the journal at `path` if it is this workbook's; [] if none or unused."""
    lines = read_lines(path)
    if not lines:
        return []  # no journal, or nothing but a torn first line
    header = lines[0]
    if header.get("event") != Event.HEADER:
        raise JournalError(
            f"Le fichier {path} n'est pas un journal de reconcile lisible. "
            "Déplacez-le ou choisissez un autre dossier de sortie (--dossier-sortie)."
        )
    if header.get("digest") == digest:
        return lines
    started = any(line.get("event") == Event.START for line in lines)
    finished = bool(lines) and lines[-1].get("event") == Event.VERIFIED
    if started and not finished:
        raise JournalError(
            f"Le dossier {path.parent} contient le journal d'une application commencée avec "
            f"un autre classeur ({header.get('workbook', '?')}, ou ce classeur modifié depuis). "
            "Pour reprendre cette application, relancez-la avec le classeur d'alors ; pour "
            "appliquer ce classeur-ci, choisissez un autre dossier de sortie (--dossier-sortie) "
            "après avoir vérifié le résultat de la précédente."
        )
    return []  # finished, or never sent anything: it can be set aside


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The journal's records, each checked; a last line torn by a crash (no final newline) is left out.

    Raises `JournalDamaged`, naming the file and the line, for any other line that is not a
    record reconcile wrote: not UTF-8, not JSON, or a field of the wrong type. Blank lines hold
    nothing and are passed over.
    """
    records, _ = _parse(path, _read(path))
    return records


def set_aside_torn_line(output_dir: Path) -> str | None:
    """Move a torn last line of the journal of `output_dir` into its `.abime` file; say so in French.

    A run killed while writing leaves a last line without its newline: the next record would
    be glued to it and lost. The fragment is appended to `journal-application.jsonl.abime`
    (0600, never lost), then cut from the journal, so the next record starts on its own line.
    It is safe to leave it out of the facts: a POST is journaled (`start`) before it is sent,
    and what the torn line was saying is read again on the server. Call it under the run lock.
    Returns None when there was nothing to set aside.
    """
    path = output_dir / JOURNAL_NAME
    aside = _set_aside_torn_line(path)
    if aside is None:
        return None
    return (
        f"Le journal {path} se terminait par une ligne coupée (une application arrêtée brutalement "
        f"pendant qu'elle l'écrivait) : elle est mise de côté dans {aside}, et le journal reprend sur "
        "une nouvelle ligne. Ce qu'elle notait est relu sur le serveur."
    )


def _set_aside_torn_line(path: Path) -> Path | None:
    data = _read(path)
    if not data or data.endswith(b"\n"):
        return None
    records, torn = _parse(path, data)  # a damaged line before the end: raised, nothing touched
    try:
        if not torn:  # a whole record that only lacks its newline: completed
            with path.open("ab") as stream:
                _write_durably(stream, b"\n")
            return None
        aside = path.with_name(path.name + TORN_SUFFIX)
        with open_private_append(aside) as kept:
            heading = f"# {_now()} : fin coupée de {path.name}, mise de côté ({len(torn)} octets) :\n"
            _write_durably(kept, heading + torn.decode("utf-8", errors="backslashreplace") + "\n")
        if records:
            with path.open("r+b") as stream:
                stream.truncate(len(data) - len(torn))
                _write_durably(stream, b"")
        else:
            path.unlink()  # only a torn header: the journal starts again
    except OSError as error:
        raise JournalError(
            f"Impossible de réparer la fin du journal {path} : {french_reason(error)}. Libérez de la "
            "place ou choisissez un autre dossier de sortie, puis relancez la même commande."
        ) from error
    return aside


def _write_durably(stream: Any, data: str | bytes) -> None:
    """Write, flush and fsync: the record is on the disk before anything else is done."""
    stream.write(data)
    stream.flush()
    os.fsync(stream.fileno())


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as error:
        raise JournalError(f"Impossible de lire le journal {path} : {french_reason(error)}.") from error


def _parse(path: Path, data: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """The records of a journal's bytes, and the torn last line (b"" if none)."""
    chunks = data.split(b"\n")
    last = chunks.pop()  # b"" when the file ends with its newline
    records = [_record(path, number, chunk) for number, chunk in enumerate(chunks, start=1) if chunk.strip()]
    if not last.strip():
        return records, b""
    try:
        records.append(_record(path, len(chunks) + 1, last))
    except JournalDamaged:
        return records, last
    return records, b""


def _record(path: Path, number: int, chunk: bytes) -> dict[str, Any]:
    try:
        line = json.loads(chunk.decode("utf-8"))
    except UnicodeDecodeError:
        raise JournalDamaged(str(path), number, "ce n'est pas du texte UTF-8") from None
    except json.JSONDecodeError:
        raise JournalDamaged(str(path), number, "ce n'est pas une ligne JSON complète") from None
    problem = line_problem(line)
    if problem is not None:
        raise JournalDamaged(str(path), number, problem)
    return dict(line)
