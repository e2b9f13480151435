"""The append-only journal of an apply run (JSON lines).

One line per event, flushed and fsynced before and after each POST, so that a run
killed at any point leaves a record of what it was doing. The journal holds the
passwords the server made: it is created readable by its owner only.

The first line identifies the workbook (its path and a digest of its wanted state):
a journal left by the application of another workbook is detected, not mixed in.
`fold_journal` turns the lines into facts (pure); `reconcile.app.apply` resolves the
wanted state with them and re-plans, which is how a run resumes.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconcile.adapters.files import french_reason, open_private_append
from reconcile.core.errors import JournalError
from reconcile.core.journal_facts import (
    EarlierWork,
    Event,
    JournalFacts,
    fold_earlier_work,
    fold_journal,
)

JOURNAL_NAME = "journal-application.jsonl"
JOURNAL_FORMAT = 1


LOCK_NAME = ".application-en-cours.lock"


@contextmanager
def exclusive_run(output_dir: Path) -> Iterator[None]:
    """Refuse a second `reconcile apply` on the same output folder while one runs.

    An advisory lock (`flock`) on a file of the folder: the system releases it when
    the process ends, even killed, so a stale lock never blocks the next run.
    """
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(output_dir / LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as error:
        raise JournalError(
            f"Impossible d'utiliser le dossier de sortie {output_dir} : {french_reason(error)}."
        ) from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise JournalError(
                f"Une autre application est en cours avec le dossier de sortie {output_dir} : "
                "attendez qu'elle se termine (deux applications à la fois se gêneraient)."
            ) from error
        yield
    finally:
        os.close(descriptor)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Journal:
    """An open journal file: `record` appends one durable line."""

    def __init__(self, path: Path, lines: list[dict[str, Any]]) -> None:
        self.path = path
        self._lines = lines

    @classmethod
    def open(cls, output_dir: Path, *, workbook: str, digest: str, server_url: str) -> Journal:
        """Open (or create) the journal of `workbook` in `output_dir`, to append to it.

        Raises `JournalError` when the folder holds the journal of another workbook
        that did change something; a journal that never sent a POST is replaced.
        """
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise JournalError(f"Impossible de créer le dossier de sortie {output_dir} : {error}.") from error
        path = output_dir / JOURNAL_NAME
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
            # The journal holds the passwords the server made: 0600, narrowed if it was not.
            with open_private_append(self.path) as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
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
    if not path.exists():
        return []
    lines = read_lines(path)
    header = lines[0] if lines else {}
    if header.get("event") != Event.HEADER:
        raise JournalError(
            f"Le fichier {path} n'est pas un journal de reconcile lisible. "
            "Déplacez-le ou choisissez un autre dossier de sortie (--output-dir)."
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
            "appliquer ce classeur-ci, choisissez un autre dossier de sortie (--output-dir) "
            "après avoir vérifié le résultat de la précédente."
        )
    return []  # finished, or never sent anything: it can be set aside


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The journal's lines; a last line cut short by a kill is ignored."""
    lines: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            if not text.strip():
                continue
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                # Only the line being written when the process was killed can be cut.
                continue
    return lines
