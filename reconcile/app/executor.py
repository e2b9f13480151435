"""Executing a plan through an `IntraScolServer`, step by step, in order.

`execute` carries out a plan's operations, each sent by the attempt loops of
`reconcile.app.attempts` (journal, send, re-read on doubt, back off) as its description
in `reconcile.app.sends` says. A step that cannot complete stops the run before the
next step: running `reconcile apply` again re-plans from the server and the journal
(`reconcile.core.resume`) and does just what remains.

Only the `ports.IntraScolServer` protocol is used here, never the HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, assert_never

from reconcile.adapters.journal import Journal
from reconcile.app.attempts import Attempts, BatchProgress, StepFailed
from reconcile.app.sends import (
    AssignSend,
    ChangeResponsibleSend,
    CreateClassSend,
    CreateUserSend,
    DeleteClassesSend,
    DeleteUsersSend,
    ServerPicture,
    TransferSend,
)
from reconcile.core.errors import FolderArchiveError, JournalError, ServerError
from reconcile.core.journal_facts import Event
from reconcile.core.model import SchoolClass, ServerState, class_key
from reconcile.core.operations import (
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Operation,
    Plan,
    Step,
    TransferPupils,
)
from reconcile.core.outcome import Archive, OpResult, OpStatus, Outcome
from reconcile.core.ports import IntraScolServer, ItemOutcome, Refusal
from reconcile.core.wording import describe_operation

MAX_ATTEMPTS = 3
"""How many times one operation is sent before its step is given up for this run."""


class Progress(Protocol):
    """What `execute` reports as it goes (the CLI draws a progress bar per step)."""

    def start_step(self, step: Step, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def end_step(self) -> None: ...


FolderWorkaround = Callable[[SchoolClass], Archive]
"""Save the work folder of a class into a checked archive and empty it (not delete the class)."""


def execute(
    plan: Plan,
    server: IntraScolServer,
    journal: Journal,
    state: ServerState,
    *,
    keep_folders: bool = False,
    folder_workaround: FolderWorkaround | None = None,
    progress: Progress | None = None,
    retry_delay: float = 1.0,
    max_attempts: int = MAX_ATTEMPTS,
) -> Outcome:
    """Carry out `plan` (made from `state`) step by step; stop at the first step that fails.

    The outcome says what was done; `outcome.complete` is False when a step could
    not complete (the next run resumes). Never raises for a server failure during
    the run: it is the reason of the incomplete outcome.
    """
    picture = ServerPicture(
        server, state, plan.names, {k: a.login for k, a in journal.facts().created_users.items()}
    )
    attempts = Attempts(journal, picture.reread, retry_delay=retry_delay, max_attempts=max_attempts)
    executor = _Executor(
        plan, picture, attempts, keep_folders=keep_folders, folder_workaround=folder_workaround
    )
    outcome = executor.outcome
    journal.record("", Event.RUN, operations=len(plan.operations))
    for step, operations in plan.steps:
        if progress is not None:
            progress.start_step(step, len(operations))
        failures: list[str] = []
        for op in operations:
            try:
                result = executor.run(op)
            except StepFailed as failed:
                result = OpResult(op, OpStatus.FAILED, str(failed))
            except JournalError as error:
                # Nothing more is sent once a POST can no longer be journaled.
                outcome.results.append(OpResult(op, OpStatus.FAILED, str(error)))
                outcome.incomplete_step, outcome.reason = step, str(error)
                return outcome
            except ServerError as error:
                # Whether its last POST happened is unknown: the next run decides from the server
                # (an interrupted creation stays pending, to be adopted rather than made again).
                journal.record(op.id, Event.UNKNOWN, reason=str(error))
                outcome.results.append(OpResult(op, OpStatus.FAILED, str(error)))
                outcome.incomplete_step, outcome.reason = step, str(error)
                return outcome
            outcome.results.append(result)
            if result.status in (OpStatus.FAILED, OpStatus.PARTIAL):
                failures.append(result.message)
            if progress is not None:
                progress.advance()
        if progress is not None:
            progress.end_step()
        if failures:
            outcome.incomplete_step, outcome.reason = step, " ; ".join(failures)
            return outcome
    return outcome


class _Executor:
    """Runs each operation by its description; words what became of the batches."""

    def __init__(
        self,
        plan: Plan,
        picture: ServerPicture,
        attempts: Attempts,
        *,
        keep_folders: bool,
        folder_workaround: FolderWorkaround | None,
    ) -> None:
        self.plan = plan
        self.picture = picture
        self.attempts = attempts
        self.keep_folders = keep_folders
        self.folder_workaround = folder_workaround
        self.outcome = Outcome()

    def run(self, op: Operation) -> OpResult:
        match op:
            case CreateUser():
                return self.attempts.single(CreateUserSend(op, self.picture, self.outcome))
            case CreateClass():
                return self.attempts.single(CreateClassSend(op, self.picture))
            case ChangeResponsible():
                return self.attempts.single(ChangeResponsibleSend(op, self.picture))
            case AssignPupil():
                return self.attempts.single(AssignSend(op, self.picture))
            case TransferPupils():
                return self.transfer(op)
            case DeleteUsers():
                return self.delete_users(op)
            case DeleteClasses():
                return self.delete_classes(op)
            case _:
                assert_never(op)

    def transfer(self, op: TransferPupils) -> OpResult:
        logins = [self.picture.login_of(k) for k in op.logins]
        moved = self.attempts.batch(TransferSend(op, self.picture), logins)
        words = (f"transféré(s) en {op.class_name}", "non transféré(s)")
        return self._batch_result(op, moved.attempts, moved, words)

    def delete_users(self, op: DeleteUsers) -> OpResult:
        kind = DeleteUsersSend(op, self.picture)  # the names of the accounts, before any is deleted
        # A teacher responsible of a class kept for its folder (--garder-dossiers) stays with it.
        kept_classes = {class_key(n) for n in self.outcome.kept_classes}
        staying = sorted(
            c.responsible_login
            for key, c in self.picture.classes.items()
            if key in kept_classes and c.responsible_login in op.logins
        )
        deleted = self.attempts.batch(kind, [login for login in op.logins if login not in staying])
        result = self._batch_result(op, max(deleted.attempts, 1), deleted, ("supprimé(s)", "non supprimé(s)"))
        if staying and result.status is OpStatus.DONE:
            who = ", ".join(staying)
            message = f"{result.message} ; conservé(s), responsable(s) d'une classe conservée : {who}"
            return OpResult(op, OpStatus.KEPT, message, result.attempts)
        return result

    def delete_classes(self, op: DeleteClasses) -> OpResult:
        kind = DeleteClassesSend(op, self.picture)
        already = [n for n in op.class_names if class_key(n) not in self.picture.classes]
        pending = [n for n in op.class_names if class_key(n) in self.picture.classes]
        deleted = self.attempts.batch(kind, pending)
        deleted.done[:0] = already
        full, deleted.set_aside = deleted.set_aside, []
        if full and not self.keep_folders and self.folder_workaround is not None:
            archived = self._archive_folders(op, self.folder_workaround, full, deleted.refusals)
            again = self.attempts.batch(kind, archived)
            deleted.done.extend(again.done)
            deleted.refusals.extend(again.refusals)
            deleted.refusals.extend(
                ItemOutcome(n, False, "dossier de travail encore non vide", Refusal.FOLDER_NOT_EMPTY)
                for n in again.set_aside
            )
            deleted.remaining.extend(again.remaining)
            deleted.attempts += again.attempts
        else:
            self.outcome.kept_classes.extend(full)
        words = ("supprimée(s)", "non supprimée(s)")
        result = self._batch_result(op, max(deleted.attempts, 1), deleted, words)
        if result.status is OpStatus.DONE and self.outcome.kept_classes:
            kept = ", ".join(self.outcome.kept_classes)
            message = f"{result.message} ; dossier de travail non vide, classe(s) conservée(s) : {kept}"
            return OpResult(op, OpStatus.KEPT, message, result.attempts)
        return result

    def _archive_folders(
        self,
        op: DeleteClasses,
        workaround: FolderWorkaround,
        names: Sequence[str],
        refusals: list[ItemOutcome],
    ) -> list[str]:
        """Save and empty the work folders of these classes; the classes whose folder is now empty."""
        archived: list[str] = []
        for name in names:
            school_class = self.picture.classes[class_key(name)]
            try:
                archive = workaround(school_class)
            except FolderArchiveError as error:
                refusals.append(ItemOutcome(name, False, str(error), Refusal.FOLDER_NOT_EMPTY))
                continue
            path = str(archive.path) if archive.path else ""
            self.attempts.journal.record(
                op.id, Event.ARCHIVED, class_name=name, path=path, files=archive.files
            )
            self.outcome.archives.append(archive)
            archived.append(name)
        return archived

    def _batch_result(
        self, op: Operation, attempts: int, progress: BatchProgress, words: tuple[str, str]
    ) -> OpResult:
        done_words, failed_words = words
        done, refusals, remaining, gone = progress.done, progress.refusals, progress.remaining, progress.gone
        sentence = describe_operation(op, self.plan.names, self.plan.origins).text
        parts = [f"{sentence} — {len(set(done))} {done_words}"]
        if gone:
            missing = ", ".join(sorted(set(gone)))
            parts.append(f"{len(set(gone))} introuvable(s) sur le serveur, ignoré(s) : {missing}")
        parts.extend(f"{r.subject} : {r.message}" for r in refusals)
        if remaining:
            parts.append(f"{len(remaining)} {failed_words} après {attempts} essais : {', '.join(remaining)}")
        status = OpStatus.DONE
        if refusals or remaining:
            status = OpStatus.PARTIAL if done else OpStatus.FAILED
        return OpResult(op, status, " ; ".join(parts), attempts, tuple(refusals))
