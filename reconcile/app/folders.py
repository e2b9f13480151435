"""The documented workaround for a class whose work folder holds files.

IntraScol refuses to delete a class while its work folder ("dossier de travail")
holds a file, and the administrator cannot reach that folder. The manual procedure
says: create a provisional user, put it in the class, log in as that user on the
users' side, back the folder up, delete its files, then delete the class.

`archive_class_folder` does exactly that through `ports.IntraScolServer` and saves
the folder into a zip checked against the server's listing (count, sizes and CRC;
`reconcile.adapters.archive`) before any file is deleted. It never deletes the
class: the caller does, after.

Every step is reported to an `on_event` callback, before each POST and after each
answer, so that the caller can journal it: a run killed at any point leaves either
nothing, or a provisional pupil whose login is journaled (or whose names give it
away) and that `remove_provisional_pupils` deletes on the next run.

Archives are created with mode 0600, like every file of the output folder: they
hold pupils' work, personal data of minors, and the folder may sit on a machine
other accounts use. The owner can copy or open them up deliberately.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

from reconcile.adapters.archive import ArchiveLimits, archive_file_name, size_in_words, write_checked_archive
from reconcile.core.errors import AnswerLost, FolderArchiveError, ReconcileError
from reconcile.core.journal_facts import Account
from reconcile.core.model import SchoolClass, ServerState, User, UserType, fold
from reconcile.core.outcome import Archive
from reconcile.core.ports import CreatedUser, Folder, IntraScolServer, SharedFile, UserSession
from reconcile.core.wording import plural

PROVISIONAL_FIRST_NAME = "Provisoire"
PROVISIONAL_LAST_NAME_PREFIX = "Reconcile"
SHARED_FOLDER_NAME = "Commun"
"""The school-wide folder every user reaches: never a class's work folder."""

DELETE_ATTEMPTS = 3
"""How many times the files left in a folder are deleted again (lost answers)."""


class FolderStep(StrEnum):
    """What an event reports; the values are stable, for the journal."""

    CREATING_PROVISIONAL = "creation_eleve_provisoire"
    PROVISIONAL_CREATED = "eleve_provisoire_cree"
    ASSIGNING_PROVISIONAL = "affectation_eleve_provisoire"
    PROVISIONAL_ASSIGNED = "eleve_provisoire_affecte"
    FOLDER_FOUND = "dossier_trouve"
    FILES_LISTED = "fichiers_listes"
    FILE_ARCHIVED = "fichier_archive"
    ARCHIVE_VERIFIED = "archive_verifiee"
    DELETING_FILES = "suppression_fichiers"
    FOLDER_EMPTIED = "dossier_vide"
    DELETING_PROVISIONAL = "suppression_eleve_provisoire"
    PROVISIONAL_DELETED = "eleve_provisoire_supprime"
    PROVISIONAL_LEFT = "eleve_provisoire_restant"


@dataclass(frozen=True, slots=True)
class FolderEvent:
    """One step of the workaround.

    `message` is French, for the terminal, and never holds a password; `data` is
    for the journal (0600) and holds the provisional pupil's password once known.
    """

    step: FolderStep
    class_name: str
    message: str
    data: Mapping[str, str | int] = field(default_factory=dict)


FolderEventHandler = Callable[[FolderEvent], None]


def provisional_names(class_name: str) -> tuple[str, str]:
    """(first name, last name) of the provisional pupil made for a class."""
    return PROVISIONAL_FIRST_NAME, f"{PROVISIONAL_LAST_NAME_PREFIX} {class_name}"


def is_provisional_pupil(user: User) -> bool:
    """A pupil this workaround created (its names say so), whatever its class."""
    return (
        user.type is UserType.PUPIL
        and fold(user.first_name) == fold(PROVISIONAL_FIRST_NAME)
        and fold(user.last_name).startswith(fold(PROVISIONAL_LAST_NAME_PREFIX) + " ")
    )


def find_provisional_pupils(state: ServerState, journaled: Iterable[Account] = ()) -> tuple[User, ...]:
    """The provisional pupils left on the server (by a run that was killed, say).

    Recognised by the names this workaround gives them, or as a pupil a journal's
    `provisional` line names with its password (`journaled`): a login freed and given
    to a real pupil since comes with another password, and that pupil stays.
    """
    ours = {account.login: account.password for account in journaled if account.password}
    return tuple(
        user
        for user in state.users
        if is_provisional_pupil(user)
        or (
            user.type is UserType.PUPIL
            and user.password is not None
            and ours.get(user.login) == user.password
        )
    )


def remove_provisional_pupils(
    server: IntraScolServer,
    state: ServerState | None = None,
    logins: Iterable[str] | None = None,
    *,
    on_event: FolderEventHandler | None = None,
    journaled: Iterable[Account] = (),
) -> tuple[str, ...]:
    """Delete leftover provisional pupils, in one POST; return the logins deleted.

    With `logins` (those a journal recorded), only those; without, every
    provisional pupil on the server. A login is deleted only if `state` (read now
    when not given) still shows a provisional pupil under it (`find_provisional_pupils`,
    with the `journaled` ones): a login freed by a deletion may since have been given to
    a real pupil, who must stay. A lost answer returns nothing: read the server again.
    """
    state = state if state is not None else server.read_state()
    leftovers = find_provisional_pupils(state, journaled)
    if logins is not None:
        wanted = set(logins)
        leftovers = tuple(user for user in leftovers if user.login in wanted)
    if not leftovers:
        return ()
    emit = on_event or _ignore
    targets = [user.login for user in leftovers]
    for user in leftovers:
        emit(
            FolderEvent(
                FolderStep.DELETING_PROVISIONAL,
                state.class_name_of(user) or "",
                f"Suppression de l'élève provisoire {user.login}.",
                {"login": user.login},
            )
        )
    try:
        outcome = server.delete_users(targets)
    except AnswerLost:
        # Whether it happened is read back: the caller's next read shows it.
        return ()
    for user in leftovers:
        item = outcome.for_subject(user.login)
        if item is not None and item.ok:
            emit(
                FolderEvent(
                    FolderStep.PROVISIONAL_DELETED,
                    state.class_name_of(user) or "",
                    f"Élève provisoire {user.login} supprimé.",
                    {"login": user.login},
                )
            )
    return outcome.succeeded


def archive_class_folder(
    server: IntraScolServer,
    school_class: SchoolClass,
    archive_dir: Path,
    *,
    on_event: FolderEventHandler | None = None,
    school: str = "",
    today: date | None = None,
    limits: ArchiveLimits | None = None,
) -> Archive:
    """Save a class's work folder into a checked zip, then empty it on the server.

    Steps: create a provisional pupil, assign it to the class, log in as it on the
    users' side, find the folder named after the class, download every file into
    `archive_dir/<école>-<classe>-<date>.zip` (paths inside the folder kept under a
    top folder named after the class), check the zip against the listing, delete
    the files, check the folder is empty, delete the provisional pupil (also on
    failure). An existing archive is never overwritten (`-2`, `-3`… are added).

    `limits` (`ArchiveLimits()` by default) bound each file, the folder and the time a
    download may take. Raises `FolderArchiveError` (French message) when something does
    not add up or passes a limit, `ArchiveNotWritten` when the disk refuses;
    no file is deleted on the server unless the archive holding it was checked.
    Server errors (`ServerError`) pass through, the provisional pupil removed.
    """
    emit = on_event or _ignore
    name = school_class.name
    first_name, last_name = provisional_names(name)
    provisional = _create_provisional(server, school_class, first_name, last_name, emit)
    provisional_deleted = False
    try:
        _assign_provisional(server, school_class, provisional.login, emit)
        session = server.user_session(provisional.login, provisional.password)
        try:
            where = _Where(Path(archive_dir), school, today or date.today(), limits or ArchiveLimits())
            result = _archive_and_empty(session, school_class, where, emit)
        finally:
            with contextlib.suppress(ReconcileError):
                session.close()
    finally:
        provisional_deleted = _delete_provisional(server, name, provisional.login, emit)
    archive_path, files_count, total_bytes = result
    return Archive(
        class_name=name,
        path=archive_path,
        files=files_count,
        size=total_bytes,
        provisional_login=provisional.login,
        provisional_deleted=provisional_deleted,
    )


# --- The steps -------------------------------------------------------------------------


def _create_provisional(
    server: IntraScolServer,
    school_class: SchoolClass,
    first_name: str,
    last_name: str,
    emit: FolderEventHandler,
) -> CreatedUser:
    name = school_class.name
    emit(
        FolderEvent(
            FolderStep.CREATING_PROVISIONAL,
            name,
            f"Création d'un élève provisoire « {first_name} {last_name} » pour la classe {name}.",
            {"first_name": first_name, "last_name": last_name},
        )
    )
    try:
        created = server.create_user(first_name, last_name, UserType.PUPIL)
    except AnswerLost:
        # The account may exist: the admin list shows pupils' passwords, so adopt it.
        created = _adopt_provisional(server, first_name, last_name) or server.create_user(
            first_name, last_name, UserType.PUPIL
        )
    emit(
        FolderEvent(
            FolderStep.PROVISIONAL_CREATED,
            name,
            f"Élève provisoire créé : {created.login}.",
            {"login": created.login, "password": created.password},
        )
    )
    return created


def _adopt_provisional(server: IntraScolServer, first_name: str, last_name: str) -> CreatedUser | None:
    key = (fold(first_name), fold(last_name))
    for user in server.read_state().users:
        names = (fold(user.first_name), fold(user.last_name))
        if user.type is UserType.PUPIL and names == key and user.password:
            return CreatedUser(user.login, user.password)
    return None


def _assign_provisional(
    server: IntraScolServer, school_class: SchoolClass, login: str, emit: FolderEventHandler
) -> None:
    name = school_class.name
    emit(
        FolderEvent(
            FolderStep.ASSIGNING_PROVISIONAL,
            name,
            f"Affectation de l'élève provisoire {login} à la classe {name}.",
            {"login": login, "class_id": school_class.id},
        )
    )
    try:
        outcome = server.assign(login, school_class.id)
    except AnswerLost:
        # Putting a pupil in a class twice changes nothing: ask again.
        outcome = server.assign(login, school_class.id)
    if not outcome.ok:
        raise FolderArchiveError(
            name, f"l'élève provisoire {login} n'a pas pu être affecté à la classe ({outcome.message})."
        )
    emit(
        FolderEvent(
            FolderStep.PROVISIONAL_ASSIGNED,
            name,
            f"Élève provisoire {login} affecté à la classe {name}.",
            {"login": login, "class_id": school_class.id},
        )
    )


@dataclass(frozen=True, slots=True)
class _Where:
    """Where and how an archive is written."""

    archive_dir: Path
    school: str
    day: date
    limits: ArchiveLimits


def _archive_and_empty(
    session: UserSession,
    school_class: SchoolClass,
    where: _Where,
    emit: FolderEventHandler,
) -> tuple[Path | None, int, int]:
    name = school_class.name
    folder = _class_folder(session, name)
    emit(
        FolderEvent(
            FolderStep.FOLDER_FOUND,
            name,
            f"Dossier de travail « {folder.name} » trouvé.",
            {"folder_id": folder.id, "folder": folder.name},
        )
    )
    listing = tuple(session.files(folder.id))
    total = sum(f.size for f in listing)
    emit(
        FolderEvent(
            FolderStep.FILES_LISTED,
            name,
            f"{plural(len(listing), 'fichier')} ({size_in_words(total)}) dans le dossier « {folder.name} ».",
            {"folder_id": folder.id, "files": len(listing), "bytes": total},
        )
    )
    if not listing:
        emit(FolderEvent(FolderStep.FOLDER_EMPTIED, name, f"Le dossier « {folder.name} » est vide.", {}))
        return None, 0, 0
    archive_path = _write_checked_archive(session, name, folder, listing, where, emit)
    _delete_all(session, name, folder, listing, emit)
    return archive_path, len(listing), total


def _class_folder(session: UserSession, class_name: str) -> Folder:
    folders = tuple(session.folders())
    key = fold(class_name)
    matches = [f for f in folders if fold(f.name) == key and fold(f.name) != fold(SHARED_FOLDER_NAME)]
    if len(matches) == 1:
        return matches[0]
    seen = ", ".join(f"« {f.name} »" for f in folders) or "aucun"
    if not matches:
        reason = (
            f"l'élève provisoire ne voit pas de dossier nommé comme la classe (dossiers visibles : {seen})."
        )
    else:
        reason = f"plusieurs dossiers portent le nom de la classe ({seen})."
    raise FolderArchiveError(class_name, reason)


def _write_checked_archive(
    session: UserSession,
    class_name: str,
    folder: Folder,
    listing: Sequence[SharedFile],
    where: _Where,
    emit: FolderEventHandler,
) -> Path:
    def archived(index: int, shared: SharedFile) -> None:
        emit(
            FolderEvent(
                FolderStep.FILE_ARCHIVED,
                class_name,
                f"Archivé ({index}/{len(listing)}) : {shared.path}",
                {"path": shared.path, "bytes": shared.size, "index": index, "total": len(listing)},
            )
        )

    final_path = write_checked_archive(
        where.archive_dir,
        archive_file_name(class_name, where.day, where.school),
        class_name=class_name,
        folder_name=folder.name,
        listing=listing,
        download=session.download,
        on_file=archived,
        limits=where.limits,
    )
    emit(
        FolderEvent(
            FolderStep.ARCHIVE_VERIFIED,
            class_name,
            f"Archive vérifiée : {final_path} ({plural(len(listing), 'fichier')}).",
            {"archive": str(final_path), "files": len(listing), "bytes": sum(f.size for f in listing)},
        )
    )
    return final_path


def _delete_all(
    session: UserSession,
    class_name: str,
    folder: Folder,
    archived: Sequence[SharedFile],
    emit: FolderEventHandler,
) -> None:
    """Delete the archived files, re-list, delete again what a lost answer left."""
    in_archive = {(f.id, f.path, f.size) for f in archived}
    remaining: Sequence[SharedFile] = archived
    deleted_any = False
    for _attempt in range(DELETE_ATTEMPTS):
        emit(
            FolderEvent(
                FolderStep.DELETING_FILES,
                class_name,
                f"Suppression de {plural(len(remaining), 'fichier')} du dossier « {folder.name} ».",
                {"folder_id": folder.id, "files": len(remaining)},
            )
        )
        with contextlib.suppress(AnswerLost):
            session.delete_files(folder.id, [f.id for f in remaining])
        deleted_any = True
        remaining = tuple(session.files(folder.id))
        if not remaining:
            emit(
                FolderEvent(
                    FolderStep.FOLDER_EMPTIED,
                    class_name,
                    f"Le dossier « {folder.name} » est vide.",
                    {"folder_id": folder.id},
                )
            )
            return
        unknown = [f.path for f in remaining if (f.id, f.path, f.size) not in in_archive]
        if unknown:
            raise FolderArchiveError(
                class_name,
                "des fichiers sont apparus ou ont changé dans le dossier pendant l'archivage "
                f"({', '.join(unknown)}) ; relancez pour les archiver à leur tour.",
                files_deleted=deleted_any,
            )
    raise FolderArchiveError(
        class_name,
        f"le serveur n'a pas supprimé {plural(len(remaining), 'fichier')} "
        f"({', '.join(f.path for f in remaining)}) après {DELETE_ATTEMPTS} essais.",
        files_deleted=deleted_any,
    )


def _delete_provisional(
    server: IntraScolServer, class_name: str, login: str, emit: FolderEventHandler
) -> bool:
    emit(
        FolderEvent(
            FolderStep.DELETING_PROVISIONAL,
            class_name,
            f"Suppression de l'élève provisoire {login}.",
            {"login": login},
        )
    )
    reason = ""
    try:
        outcome = server.delete_users([login])
        item = outcome.for_subject(login)
        if item is not None and item.ok:
            emit(
                FolderEvent(
                    FolderStep.PROVISIONAL_DELETED,
                    class_name,
                    f"Élève provisoire {login} supprimé.",
                    {"login": login},
                )
            )
            return True
        reason = item.message if item is not None else "le serveur n'a rien répondu pour ce compte"
    except ReconcileError as error:
        # Never hide the error that brought us here: report the leftover instead.
        reason = str(error)
    emit(
        FolderEvent(
            FolderStep.PROVISIONAL_LEFT,
            class_name,
            f"L'élève provisoire {login} n'a pas pu être supprimé ({reason}) ; "
            "il le sera à la prochaine exécution.",
            {"login": login, "reason": reason},
        )
    )
    return False


# --- Small helpers ---------------------------------------------------------------------


def _ignore(_event: FolderEvent) -> None:
    return None
