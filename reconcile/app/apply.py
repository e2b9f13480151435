"""A whole run of `reconcile apply`: prepare, confirm, execute, verify.

`apply_workbook` holds the locks of the server and of the output folder for the whole run:
it reads the server and the journal, resolves the workbook with them and plans what remains
(`reconcile.core.outcome.prepare`), asks for confirmation, journals what the
resolution found, removes the provisional pupils a killed run left, executes the plan
(`reconcile.app.executor`) and reads the server again to verify it.

Only the `ports.IntraScolServer` protocol is used here, never the HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconcile.adapters.files import PRIVATE_MODE, french_reason
from reconcile.adapters.journal import (
    JOURNAL_NAME,
    Journal,
    earlier_work,
    exclusive_run,
    set_aside_torn_line,
)
from reconcile.app.executor import FolderWorkaround, Progress, execute
from reconcile.app.folders import (
    FolderEvent,
    FolderStep,
    archive_class_folder,
    find_provisional_pupils,
    remove_provisional_pupils,
)
from reconcile.core.errors import JournalError, NotConfirmed, PlanBlocked, ReconcileError, ServerError
from reconcile.core.journal_facts import Account, Event, JournalFacts, wanted_digest
from reconcile.core.model import SchoolClass, ServerState, User, WantedState
from reconcile.core.outcome import (
    ApplyRun,
    Archive,
    Outcome,
    Preparation,
    Verification,
    accounts_of,
    prepare,
    verify,
)
from reconcile.core.ports import IntraScolServer
from reconcile.core.resume import Resolution
from reconcile.core.safeguards import DEFAULT_SAFEGUARDS, Safeguards


def record_resolution(journal: Journal, resolution: Resolution) -> None:
    """Journal what the resolution found, before any POST: adopted accounts, accounts gone."""
    for adoption in resolution.adoptions:
        journal.record(
            f"create_user:{adoption.key}",
            Event.CREATED,
            user=adoption.key,
            login=adoption.login,
            password=adoption.password,
            adopted=True,
        )
    if resolution.gone:
        journal.record("", Event.GONE, logins=sorted(resolution.gone))
    for name in sorted(resolution.taken_classes):
        journal.record(f"create_class:{name}", Event.DONE, name=name, taken_over=True)


def apply_workbook(
    server: IntraScolServer,
    wanted: WantedState,
    *,
    workbook: Path,
    output_dir: Path,
    confirm: Callable[[Preparation], bool],
    keep_folders: bool = False,
    allow_mass_delete: bool = False,
    safeguards: Safeguards = DEFAULT_SAFEGUARDS,
    folder_workaround: FolderWorkaround | None = None,
    progress: Progress | None = None,
    retry_delay: float = 1.0,
    notify: Callable[[str], None] | None = None,
) -> ApplyRun:
    """Take the server to the workbook's wanted state, resuming whatever an earlier run left.

    Raises before any change: `PlanBlocked` (problems), `DriftAmbiguous`,
    `NotConfirmed`, `JournalError`, `ServerError` (cannot read the server). Once
    changes began, returns the run; `outcome.complete` and `verification.ok` say
    whether it is finished (else running it again resumes). `notify` is told, in French,
    of a torn last journal line set aside.
    """
    with exclusive_run(server.url, output_dir):
        torn = set_aside_torn_line(output_dir)
        if torn is not None and notify is not None:
            notify(torn)
        digest = wanted_digest(wanted)
        facts = Journal.existing_facts(output_dir, digest)
        as_read = server.read_state()
        # Provisional pupils left by a run killed during the folder workaround: removed below.
        leftovers = find_provisional_pupils(as_read, facts.provisional_pupils.values())
        current = _without(as_read, leftovers)
        earlier = earlier_work(output_dir, digest) if output_dir.is_dir() else None
        preparation = prepare(
            current,
            wanted,
            facts,
            allow_mass_delete=allow_mass_delete,
            earlier=earlier,
            safeguards=safeguards,
        )
        if preparation.plan.problems:
            raise PlanBlocked(preparation.plan.problems)
        start = _Start(server, output_dir, workbook, digest, as_read, leftovers)
        if preparation.plan.is_empty:
            return _nothing_to_do(start, preparation, wanted, facts)
        if not confirm(preparation):
            raise NotConfirmed()
        with start.journal(preparation.resolution) as journal:
            if folder_workaround is None and not keep_folders:
                folder_workaround = folder_workaround_for(server, journal, output_dir, school=as_read.school)
            outcome = execute(
                preparation.plan,
                server,
                journal,
                current,
                keep_folders=keep_folders,
                folder_workaround=folder_workaround,
                progress=progress,
                retry_delay=retry_delay,
            )
            verification = _verify(server, wanted, journal, outcome)
        return ApplyRun(
            preparation, outcome, verification, start.journal_path, accounts_of(wanted, journal.facts())
        )


@dataclass(frozen=True)
class _Start:
    """What a run starts from: the server as read, and where its journal goes."""

    server: IntraScolServer
    output_dir: Path
    workbook: Path
    digest: str
    as_read: ServerState
    leftovers: Sequence[User]

    @property
    def journal_path(self) -> Path:
        return self.output_dir / JOURNAL_NAME

    def journal(self, resolution: Resolution) -> Journal:
        """Open the journal, record what the resolution found, remove the leftovers: before any operation."""
        journal = Journal.open(
            self.output_dir, workbook=str(self.workbook), digest=self.digest, server_url=self.server.url
        )
        try:
            if len(journal.lines) == 1:  # only the header: nothing done yet for this workbook
                save_state_before(self.output_dir, self.as_read, server_url=self.server.url)
            record_resolution(journal, resolution)
            _remove_leftovers(self.server, journal, self.as_read, self.leftovers)
        except BaseException:
            journal.close()
            raise
        return journal


# --- The state before the rentrée ------------------------------------------------------------

STATE_BEFORE_NAME = "etat-avant-la-rentree.xlsx"


def save_state_before(output_dir: Path, state: ServerState, *, server_url: str) -> Path:
    """Save the server as read, the workbook `export` writes, before the first change of a rentrée.

    Mode 0600 (it lists minors). One of an earlier rentrée (another workbook) is kept aside,
    renamed with its date, never overwritten. Raises `JournalError` when it cannot be written:
    nothing is changed on a server whose state before could not be kept.
    """
    # Loaded here, not at the top: the workbook adapter brings openpyxl, which every start of the
    # command line would otherwise pay for.
    from reconcile.adapters.workbook.writer import write_workbook

    path = output_dir / STATE_BEFORE_NAME
    try:
        if path.exists():
            stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d-%Hh%M%S")
            path.rename(path.with_name(f"{path.stem}-{stamp}{path.suffix}"))
        when = datetime.now().astimezone()
        write_workbook(state, path, server_url=server_url, exported_at=when, mode=PRIVATE_MODE)
    except (OSError, ReconcileError) as error:
        reason = french_reason(error) if isinstance(error, OSError) else str(error)
        raise JournalError(
            f"Impossible d'enregistrer l'état du serveur avant la rentrée ({path}) : {reason}. "
            "Rien n'a été modifié sur le serveur. Libérez de la place ou choisissez un autre dossier "
            "de sortie (--dossier-sortie), puis relancez la même commande."
        ) from error
    return path


def _nothing_to_do(
    start: _Start, preparation: Preparation, wanted: WantedState, facts: JournalFacts
) -> ApplyRun:
    """A run with nothing left to send: only what the resolution found is journaled, leftovers removed."""
    resolution = preparation.resolution
    state = preparation.current
    if resolution.adoptions or resolution.gone or resolution.taken_classes or start.leftovers:
        with start.journal(resolution) as journal:
            facts = journal.facts()
    if start.leftovers:
        # Whether the leftovers are gone is read, not assumed (an answer may have been lost).
        state = _read_or(start.server, start.as_read)
    left = find_provisional_pupils(state, facts.provisional_pupils.values())
    nothing_left = verify(_without(state, left), wanted, facts, provisional=left)
    return ApplyRun(preparation, Outcome(), nothing_left, start.journal_path, accounts_of(wanted, facts))


def _read_or(server: IntraScolServer, fallback: ServerState) -> ServerState:
    try:
        return server.read_state()
    except ServerError:
        return fallback


def _verify(
    server: IntraScolServer, wanted: WantedState, journal: Journal, outcome: Outcome
) -> Verification | None:
    """The server read again after a complete run and compared with the workbook (None: not complete)."""
    if not outcome.complete:
        return None
    try:
        after = server.read_state()
        left = find_provisional_pupils(after, journal.facts().provisional_pupils.values())
        if left:
            # A provisional pupil whose deletion failed during the run: removed now, then read again.
            _remove_leftovers(server, journal, after, left)
            after = server.read_state()
    except ServerError as error:
        outcome.reason = f"vérification impossible : {error}"
        return None
    facts = journal.facts()
    left = find_provisional_pupils(after, facts.provisional_pupils.values())
    verification = verify(
        _without(after, left), wanted, facts, kept_classes=outcome.kept_classes, provisional=left
    )
    if verification.ok:
        journal.record("", Event.VERIFIED)
    return verification


def _without(state: ServerState, users: Sequence[User]) -> ServerState:
    if not users:
        return state
    logins = {u.login for u in users}
    return ServerState(
        state.classes, tuple(u for u in state.users if u.login not in logins), state.version, state.school
    )


def _remove_leftovers(
    server: IntraScolServer, journal: Journal, state: ServerState, leftovers: Sequence[User]
) -> None:
    """Delete the provisional pupils a killed run left (journaled before and after the POST)."""
    if not leftovers:
        return
    logins = sorted(u.login for u in leftovers)
    journal.record("provisional_cleanup", Event.START, logins=logins)
    try:
        journaled = [Account(u.login, u.password) for u in leftovers]
        deleted = remove_provisional_pupils(server, state, logins, journaled=journaled)
    except ServerError as error:
        journal.record("provisional_cleanup", Event.FAILED, reason=str(error))
        return  # harmless: they are not in the workbook; the next run tries again
    journal.record("provisional_cleanup", Event.DONE, deleted=sorted(deleted))


def folder_workaround_for(
    server: IntraScolServer, journal: Journal, archive_dir: Path, *, school: str = ""
) -> FolderWorkaround:
    """The documented workaround (`reconcile.app.folders`), every step of it journaled.

    The provisional pupil's login and password are journaled as soon as the server
    made them: a run killed in the middle leaves a pupil the next run deletes.
    """

    def on_event(event: FolderEvent) -> None:
        op = f"archive:{event.class_name}"
        data = dict(event.data)
        if event.step is FolderStep.PROVISIONAL_CREATED:
            journal.record(op, Event.PROVISIONAL, class_name=event.class_name, **data)
        elif event.step is FolderStep.PROVISIONAL_DELETED:
            journal.record(op, Event.PROVISIONAL_DELETED, class_name=event.class_name, **data)
        else:
            journal.record(op, Event.FOLDER, step=event.step.value, class_name=event.class_name, **data)

    def workaround(school_class: SchoolClass) -> Archive:
        return archive_class_folder(server, school_class, archive_dir, on_event=on_event, school=school)

    return workaround
