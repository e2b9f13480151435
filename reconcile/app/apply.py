"""Executing a plan through an `IntraScolServer`: journal, doubt, retries, verification.

`execute` carries out a plan step by step, in order, journaling every POST before
it is sent and after its result is known. A POST whose answer was lost (or that
failed with a `500`) is never repeated blindly: the server is re-read and the
operation is marked done only if the server shows it, else retried with backoff a
bounded number of times. A step that cannot complete stops the run before the next
step: running `reconcile apply` again re-plans from the server and the journal
(`reconcile.core.resume`) and does just what remains.

Only the `ports.IntraScolServer` protocol is used here, never the HTTP client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

from reconcile.adapters.journal import JOURNAL_NAME, Journal, earlier_work, exclusive_run
from reconcile.app.folders import (
    FolderEvent,
    FolderStep,
    archive_class_folder,
    find_provisional_pupils,
    remove_provisional_pupils,
)
from reconcile.core.errors import (
    AnswerLost,
    FolderArchiveError,
    JournalError,
    NotConfirmed,
    PlanBlocked,
    ServerError,
    ServerFailure,
    ServerRefused,
    ServerUnreachable,
)
from reconcile.core.journal_facts import Event, wanted_digest
from reconcile.core.model import (
    SchoolClass,
    ServerState,
    User,
    UserType,
    WantedState,
    class_key,
    display_name,
    person_key,
)
from reconcile.core.outcome import (
    ApplyRun,
    Archive,
    NewAccount,
    OpResult,
    OpStatus,
    Outcome,
    Preparation,
    Verification,
    accounts_of,
    prepare,
    verify,
)
from reconcile.core.plan import (
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
from reconcile.core.ports import BatchOutcome, ClassLister, IntraScolServer, ItemOutcome, Refusal
from reconcile.core.resume import Resolution
from reconcile.core.wording import describe_operation

MAX_ATTEMPTS = 3
"""How many times one operation is sent before its step is given up for this run."""

# Errors after which a POST may or may not have been applied: decided by a re-read.
_DOUBTFUL = (AnswerLost, ServerFailure, ServerUnreachable)

_T = TypeVar("_T")


class Progress(Protocol):
    """What `execute` reports as it goes (the CLI draws a progress bar per step)."""

    def start_step(self, step: Step, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def end_step(self) -> None: ...


FolderWorkaround = Callable[[SchoolClass], Archive]
"""Save the work folder of a class into a checked archive and empty it (not delete the class)."""


class _StepFailed(Exception):
    """Internal: the current step cannot complete in this run."""


class _Executor:
    """Runs operations against the server, keeping a local picture of its state.

    The picture starts from the state the plan was made from and is updated from
    the server's success messages, so that the server is re-read only on doubt.
    """

    def __init__(
        self,
        plan: Plan,
        server: IntraScolServer,
        journal: Journal,
        state: ServerState,
        *,
        keep_folders: bool,
        folder_workaround: FolderWorkaround | None,
        retry_delay: float,
        max_attempts: int,
    ) -> None:
        self.plan = plan
        self.server = server
        self.journal = journal
        self.keep_folders = keep_folders
        self.folder_workaround = folder_workaround
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts
        self.outcome = Outcome()
        self.keys: dict[str, str] = {k: a.login for k, a in journal.facts().created_users.items()}
        self._load(state)

    # --- The local picture of the server -------------------------------------------

    def _load(self, state: ServerState) -> None:
        self.users: dict[str, User] = {u.login: u for u in state.users}
        self.classes: dict[str, SchoolClass] = {class_key(c.name): c for c in state.classes}
        self._classes_stale = False
        # Logins by (names, type): who a new account could be mistaken for after a lost answer.
        self._people: dict[tuple[tuple[str, str], UserType], set[str]] = {}
        for user in state.users:
            self._people.setdefault((person_key(user.last_name, user.first_name), user.type), set()).add(
                user.login
            )

    def _reread(self) -> ServerState:
        state = self.server.read_state()
        self._load(state)
        return state

    def login_of(self, key: str) -> str:
        login = self.keys.get(key, key)
        if login.startswith("nouveau:"):
            raise _StepFailed(f"le compte de la ligne {key.split(':', 1)[1]} n'a pas été créé")
        return login

    def class_id(self, name: str) -> int:
        found = self.classes.get(class_key(name))
        if found is None and self._classes_stale:
            # A class created in this run: its id is only known from the server's list.
            if isinstance(self.server, ClassLister):
                self.classes = {class_key(c.name): c for c in self.server.read_classes()}
                self._classes_stale = False
            else:
                self._reread()
            found = self.classes.get(class_key(name))
        if found is None:
            raise _StepFailed(f"la classe {name} n'existe pas sur le serveur")
        return found.id

    def name_of(self, key: str) -> str:
        return self.plan.names.get(key) or key

    # --- Sending -----------------------------------------------------------------

    def _backoff(self, attempt: int) -> None:
        if self.retry_delay > 0:
            time.sleep(self.retry_delay * 2 ** (attempt - 1))

    def _send(self, op: Operation, attempt: int, send: Callable[[], _T], **data: object) -> _T | None:
        """Send one POST between two journal lines; None when its result is in doubt."""
        self.journal.record(op.id, Event.START, attempt=attempt, **data)
        try:
            return send()
        except _DOUBTFUL as error:
            self.journal.record(op.id, Event.UNKNOWN, attempt=attempt, reason=str(error))
            return None

    # --- Operations --------------------------------------------------------------

    def run(self, op: Operation) -> OpResult:
        if isinstance(op, CreateUser):
            return self.create_user(op)
        if isinstance(op, CreateClass):
            return self.create_class(op)
        if isinstance(op, ChangeResponsible):
            return self.change_responsible(op)
        if isinstance(op, AssignPupil):
            return self.assign(op)
        if isinstance(op, TransferPupils):
            return self.transfer(op)
        if isinstance(op, DeleteUsers):
            return self.delete_users(op)
        return self.delete_classes(op)

    def create_user(self, op: CreateUser) -> OpResult:
        if op.user in self.keys:
            raise _StepFailed(f"{op.user} a déjà été créé ({self.keys[op.user]}) : rien n'est recréé")
        names = person_key(op.last_name, op.first_name)
        label = display_name(op.first_name, op.last_name)
        for attempt in range(1, self.max_attempts + 1):
            before = sorted(login for login in self._people.get((names, op.type), ()) if login in self.users)
            try:
                created = self._send(
                    op,
                    attempt,
                    partial(self.server.create_user, op.first_name, op.last_name, op.type),
                    user=op.user,
                    last_name=op.last_name,
                    first_name=op.first_name,
                    type=op.type.value,
                    logins_before=before,
                )
            except ServerRefused as refused:
                self.journal.record(op.id, Event.FAILED, user=op.user, reason=refused.server_message)
                return OpResult(op, OpStatus.FAILED, f"{label} : refusé ({refused.server_message})", attempt)
            adopted = False
            if created is None:
                candidates = [
                    u
                    for u in self._reread().users
                    if u.type is op.type
                    and person_key(u.last_name, u.first_name) == names
                    and u.login not in before
                ]
                if len(candidates) > 1:
                    self.journal.record(op.id, Event.FAILED, user=op.user, reason="plusieurs candidats")
                    raise _StepFailed(
                        f"après une réponse perdue, plusieurs comptes {label} sont apparus "
                        f"({', '.join(u.login for u in candidates)})"
                    )
                if not candidates:
                    self.journal.record(op.id, Event.FAILED, user=op.user, reason="non créé")
                    self._backoff(attempt)
                    continue
                login, password, adopted = candidates[0].login, candidates[0].password, True
            else:
                login, password = created.login, created.password
            self.journal.record(
                op.id,
                Event.CREATED,
                user=op.user,
                login=login,
                password=password,
                adopted=adopted,
            )
            self.keys[op.user] = login
            self.users[login] = User(login, op.last_name, op.first_name, op.type, None, password)
            self._people.setdefault((names, op.type), set()).add(login)
            self.outcome.new_accounts.append(
                NewAccount(op.user, login, password, op.last_name, op.first_name, op.type, adopted)
            )
            how = " (retrouvé après une réponse perdue)" if adopted else ""
            return OpResult(op, OpStatus.DONE, f"{label} : compte {login} créé{how}", attempt)
        return OpResult(op, OpStatus.FAILED, f"{label} : non créé après {self.max_attempts} essais")

    def create_class(self, op: CreateClass) -> OpResult:
        responsible = self.login_of(op.responsible)
        for attempt in range(1, self.max_attempts + 1):
            answer = self._send(
                op,
                attempt,
                partial(self.server.create_class, op.name, responsible),
                name=op.name,
                responsible=responsible,
            )
            if answer is None:
                exists = self._reread().class_by_name(op.name) is not None
            elif not answer.ok:
                self.journal.record(op.id, Event.FAILED, name=op.name, reason=answer.message)
                message = f"Classe {op.name} : {answer.message}"
                return OpResult(op, OpStatus.FAILED, message, attempt, (answer,))
            else:
                exists = True
                self._classes_stale = True
            if exists:
                self.journal.record(op.id, Event.DONE, name=op.name)
                return OpResult(op, OpStatus.DONE, f"Classe {op.name} créée", attempt)
            self._backoff(attempt)
        return OpResult(op, OpStatus.FAILED, f"Classe {op.name} : non créée après {self.max_attempts} essais")

    def change_responsible(self, op: ChangeResponsible) -> OpResult:
        responsible = self.login_of(op.responsible)
        for attempt in range(1, self.max_attempts + 1):
            class_id = self.class_id(op.class_name)
            answer = self._send(
                op,
                attempt,
                partial(self.server.modify_class, class_id, responsible),
                class_name=op.class_name,
                responsible=responsible,
            )
            if answer is None:
                now = self._reread().class_by_name(op.class_name)
                changed = now is not None and now.responsible_login == responsible
            elif not answer.ok:
                self.journal.record(op.id, Event.FAILED, reason=answer.message)
                return OpResult(
                    op, OpStatus.FAILED, f"Classe {op.class_name} : {answer.message}", attempt, (answer,)
                )
            else:
                changed = True
            if changed:
                self.journal.record(op.id, Event.DONE, class_name=op.class_name, responsible=responsible)
                return OpResult(
                    op,
                    OpStatus.DONE,
                    f"Classe {op.class_name} : responsable {self.name_of(op.responsible)}",
                    attempt,
                )
            self._backoff(attempt)
        return OpResult(op, OpStatus.FAILED, f"Classe {op.class_name} : responsable non changé")

    def assign(self, op: AssignPupil) -> OpResult:
        login = self.login_of(op.user)
        label = self.name_of(op.user)
        for attempt in range(1, self.max_attempts + 1):
            class_id = self.class_id(op.class_name)
            answer = self._send(
                op,
                attempt,
                partial(self.server.assign, login, class_id),
                login=login,
                class_name=op.class_name,
            )
            if answer is None:
                now = self._reread().user(login)
                assigned = now is not None and now.class_id == class_id
            elif not answer.ok:
                self.journal.record(op.id, Event.FAILED, login=login, reason=answer.message)
                return OpResult(op, OpStatus.FAILED, f"{label} : {answer.message}", attempt, (answer,))
            else:
                assigned = True
                self._moved([login], class_id)
            if assigned:
                self.journal.record(op.id, Event.DONE, login=login, class_name=op.class_name)
                return OpResult(op, OpStatus.DONE, f"{label} ({login}) mis(e) en {op.class_name}", attempt)
            self._backoff(attempt)
        return OpResult(op, OpStatus.FAILED, f"{label} : non affecté(e) à {op.class_name}")

    def _moved(self, logins: Sequence[str], class_id: int) -> None:
        for login in logins:
            user = self.users.get(login)
            if user is not None:
                self.users[login] = User(
                    user.login, user.last_name, user.first_name, user.type, class_id, user.password
                )

    def transfer(self, op: TransferPupils) -> OpResult:
        remaining = [self.login_of(k) for k in op.logins]
        moved: list[str] = []
        refusals: list[ItemOutcome] = []
        gone: list[str] = []
        attempt = 0
        while remaining and attempt < self.max_attempts:
            attempt += 1
            class_id = self.class_id(op.class_name)
            batch = list(remaining)
            answer = self._send(
                op,
                attempt,
                partial(self.server.transfer, batch, class_id),
                class_name=op.class_name,
                logins=batch,
            )
            if answer is not None:
                done, refused, unclear = _split(answer, batch)
                refusals.extend(i for i in refused if i.refusal is not Refusal.UNKNOWN_USER)
                gone.extend(i.subject for i in refused if i.refusal is Refusal.UNKNOWN_USER)
                no_destination = [i for i in answer.items if i.refusal is Refusal.UNKNOWN_DESTINATION]
                if no_destination:
                    # The server says the class itself is missing: nothing was moved.
                    refusals.extend(no_destination)
                    break
                self._moved(done, class_id)
                moved.extend(done)
                remaining = unclear
            if answer is None or remaining:
                state = self._reread()
                now_in = [x for x in remaining if (u := state.user(x)) is not None and u.class_id == class_id]
                gone.extend(x for x in remaining if state.user(x) is None)
                moved.extend(now_in)
                remaining = [x for x in remaining if x not in now_in and state.user(x) is not None]
            if moved:
                self.journal.record(op.id, Event.DONE, class_name=op.class_name, moved=sorted(set(moved)))
            if remaining:
                self._backoff(attempt)
        return self._batch_result(
            op,
            attempt,
            done=moved,
            refusals=refusals,
            remaining=remaining,
            gone=gone,
            words=(f"transféré(s) en {op.class_name}", "non transféré(s)"),
        )

    def delete_users(self, op: DeleteUsers) -> OpResult:
        names = {
            login: (user.last_name, user.first_name)
            for login in op.logins
            if (user := self.users.get(login)) is not None
        }
        # A teacher responsible of a class kept for its folder (--keep-folders) stays with it.
        kept_classes = {class_key(n) for n in self.outcome.kept_classes}
        staying = sorted(
            c.responsible_login
            for key, c in self.classes.items()
            if key in kept_classes and c.responsible_login in op.logins
        )
        remaining = [login for login in op.logins if login not in staying]
        deleted: list[str] = []
        refusals: list[ItemOutcome] = []
        attempt = 0
        while remaining and attempt < self.max_attempts:
            attempt += 1
            batch = list(remaining)
            answer = self._send(op, attempt, partial(self.server.delete_users, batch), logins=batch)
            if answer is not None:
                done, refused, unclear = _split(answer, batch)
                # An unknown login is one already gone: what a deletion wants.
                done = done + [i.subject for i in refused if i.refusal is Refusal.UNKNOWN_USER]
                refusals.extend(i for i in refused if i.refusal is not Refusal.UNKNOWN_USER)
                deleted.extend(done)
                for login in done:
                    self.users.pop(login, None)
                remaining = unclear
            if answer is None or remaining:
                state = self._reread()
                there = [x for x in remaining if _still_there(state, x, names.get(x))]
                deleted.extend(x for x in remaining if x not in there)
                remaining = there
            if deleted:
                self.journal.record(op.id, Event.DONE, deleted=sorted(set(deleted)))
            if remaining:
                self._backoff(attempt)
        result = self._batch_result(
            op,
            max(attempt, 1),
            done=deleted,
            refusals=refusals,
            remaining=remaining,
            gone=[],
            words=("supprimé(s)", "non supprimé(s)"),
        )
        if staying and result.status is OpStatus.DONE:
            who = ", ".join(staying)
            message = f"{result.message} ; conservé(s), responsable(s) d'une classe conservée : {who}"
            return OpResult(op, OpStatus.KEPT, message, result.attempts)
        return result

    def delete_classes(self, op: DeleteClasses) -> OpResult:
        deleted = [n for n in op.class_names if class_key(n) not in self.classes]
        pending = [n for n in op.class_names if class_key(n) in self.classes]
        deleted_now, full, refusals, remaining, attempts = self._delete_class_batch(op, pending)
        deleted.extend(deleted_now)
        archived: list[str] = []
        if full and not self.keep_folders and self.folder_workaround is not None:
            for name in full:
                school_class = self.classes[class_key(name)]
                try:
                    archive = self.folder_workaround(school_class)
                except FolderArchiveError as error:
                    refusals.append(ItemOutcome(name, False, str(error), Refusal.FOLDER_NOT_EMPTY))
                    continue
                self.journal.record(
                    op.id,
                    Event.ARCHIVED,
                    class_name=name,
                    path=str(archive.path) if archive.path else "",
                    files=archive.files,
                )
                self.outcome.archives.append(archive)
                archived.append(name)
            deleted_now, still_full, more_refusals, more_remaining, more = self._delete_class_batch(
                op, archived
            )
            deleted.extend(deleted_now)
            refusals.extend(more_refusals)
            refusals.extend(
                ItemOutcome(n, False, "dossier de travail encore non vide", Refusal.FOLDER_NOT_EMPTY)
                for n in still_full
            )
            remaining.extend(more_remaining)
            attempts += more
        else:
            self.outcome.kept_classes.extend(full)
        result = self._batch_result(
            op,
            max(attempts, 1),
            done=deleted,
            refusals=refusals,
            remaining=remaining,
            gone=[],
            words=("supprimée(s)", "non supprimée(s)"),
        )
        if result.status is OpStatus.DONE and self.outcome.kept_classes:
            kept = ", ".join(self.outcome.kept_classes)
            return OpResult(
                op,
                OpStatus.KEPT,
                f"{result.message} ; dossier de travail non vide, classe(s) conservée(s) : {kept}",
                result.attempts,
            )
        return result

    def _delete_class_batch(
        self, op: DeleteClasses, names: Sequence[str]
    ) -> tuple[list[str], list[str], list[ItemOutcome], list[str], int]:
        """Delete classes in one POST (again on doubt): deleted, folder not empty, refused, left."""
        remaining = list(names)
        deleted: list[str] = []
        full: list[str] = []
        refusals: list[ItemOutcome] = []
        attempt = 0
        while remaining and attempt < self.max_attempts:
            attempt += 1
            ids = {self.class_id(n): self.classes[class_key(n)].name for n in remaining}
            answer = self._send(
                op,
                attempt,
                partial(self.server.delete_classes, list(ids)),
                class_names=list(ids.values()),
            )
            if answer is not None:
                done, refused, unclear = _split(answer, list(ids.values()))
                full.extend(i.subject for i in refused if i.refusal is Refusal.FOLDER_NOT_EMPTY)
                refusals.extend(i for i in refused if i.refusal is not Refusal.FOLDER_NOT_EMPTY)
                deleted.extend(done)
                remaining = unclear
            if answer is None or remaining:
                state = self._reread()
                deleted.extend(n for n in remaining if state.class_by_name(n) is None)
                remaining = [n for n in remaining if state.class_by_name(n) is not None]
            for name in deleted:
                self.classes.pop(class_key(name), None)
            if deleted:
                self.journal.record(op.id, Event.DONE, class_names=sorted(set(deleted)))
            if remaining:
                self._backoff(attempt)
        return deleted, full, refusals, remaining, attempt

    def _batch_result(
        self,
        op: Operation,
        attempts: int,
        *,
        done: Sequence[str],
        refusals: Sequence[ItemOutcome],
        remaining: Sequence[str],
        gone: Sequence[str],
        words: tuple[str, str],
    ) -> OpResult:
        done_words, failed_words = words
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


def _still_there(state: ServerState, login: str, names: tuple[str, str] | None) -> bool:
    """Whether the account `login` (with those names) is still on the server.

    A login given again to a new account after a deletion is not the one deleted.
    """
    user = state.user(login)
    if user is None:
        return False
    return names is None or person_key(*names) == person_key(user.last_name, user.first_name)


def _split(answer: BatchOutcome, subjects: Sequence[str]) -> tuple[list[str], list[ItemOutcome], list[str]]:
    """Subjects the answer says done, the refused items, and subjects it said nothing about."""
    by_subject = {i.subject: i for i in answer.items}
    done = [s for s in subjects if (i := by_subject.get(s)) is not None and i.ok]
    refused = [i for s in subjects if (i := by_subject.get(s)) is not None and not i.ok]
    unclear = [s for s in subjects if s not in by_subject]
    return done, refused, unclear


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
    executor = _Executor(
        plan,
        server,
        journal,
        state,
        keep_folders=keep_folders,
        folder_workaround=folder_workaround,
        retry_delay=retry_delay,
        max_attempts=max_attempts,
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
            except _StepFailed as failed:
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


# --- A whole run: prepare, confirm, execute, verify -----------------------------------


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
    folder_workaround: FolderWorkaround | None = None,
    progress: Progress | None = None,
    retry_delay: float = 1.0,
) -> ApplyRun:
    """Take the server to the workbook's wanted state, resuming whatever an earlier run left.

    Raises before any change: `PlanBlocked` (problems), `DriftAmbiguous`,
    `NotConfirmed`, `JournalError`, `ServerError` (cannot read the server). Once
    changes began, returns the run; `outcome.complete` and `verification.ok` say
    whether it is finished (else running it again resumes).
    """
    with exclusive_run(output_dir):
        return _apply_workbook(
            server,
            wanted,
            workbook=workbook,
            output_dir=output_dir,
            confirm=confirm,
            keep_folders=keep_folders,
            allow_mass_delete=allow_mass_delete,
            folder_workaround=folder_workaround,
            progress=progress,
            retry_delay=retry_delay,
        )


def _apply_workbook(
    server: IntraScolServer,
    wanted: WantedState,
    *,
    workbook: Path,
    output_dir: Path,
    confirm: Callable[[Preparation], bool],
    keep_folders: bool,
    allow_mass_delete: bool,
    folder_workaround: FolderWorkaround | None,
    progress: Progress | None,
    retry_delay: float,
) -> ApplyRun:
    digest = wanted_digest(wanted)
    facts = Journal.existing_facts(output_dir, digest)
    as_read = server.read_state()
    # Provisional pupils left by a run killed during the folder workaround: removed below.
    leftovers = find_provisional_pupils(as_read)
    current = _without(as_read, leftovers)
    earlier = earlier_work(output_dir, digest) if output_dir.is_dir() else None
    preparation = prepare(current, wanted, facts, allow_mass_delete=allow_mass_delete, earlier=earlier)
    remaining = preparation.plan
    if remaining.problems:
        raise PlanBlocked(remaining.problems)
    resolution = preparation.resolution
    journal_path = output_dir / JOURNAL_NAME
    if remaining.is_empty:
        if resolution.adoptions or resolution.gone or resolution.taken_classes or leftovers:
            journal = _open_journal(output_dir, workbook, digest, server)
            record_resolution(journal, resolution)
            _remove_leftovers(server, journal, as_read, leftovers)
            facts = journal.facts()
        nothing_left = verify(current, wanted, facts)
        return ApplyRun(preparation, Outcome(), nothing_left, journal_path, accounts_of(wanted, facts))
    if not confirm(preparation):
        raise NotConfirmed()
    journal = _open_journal(output_dir, workbook, digest, server)
    record_resolution(journal, resolution)
    _remove_leftovers(server, journal, as_read, leftovers)
    if folder_workaround is None and not keep_folders:
        folder_workaround = folder_workaround_for(server, journal, output_dir, school=as_read.school)
    outcome = execute(
        remaining,
        server,
        journal,
        current,
        keep_folders=keep_folders,
        folder_workaround=folder_workaround,
        progress=progress,
        retry_delay=retry_delay,
    )
    verification: Verification | None = None
    if outcome.complete:
        try:
            after = server.read_state()
        except ServerError as error:
            outcome.reason = f"vérification impossible : {error}"
        else:
            verification = verify(after, wanted, journal.facts(), kept_classes=outcome.kept_classes)
            if verification.ok:
                journal.record("", Event.VERIFIED)
    return ApplyRun(preparation, outcome, verification, journal_path, accounts_of(wanted, journal.facts()))


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
        deleted = remove_provisional_pupils(server, state, logins)
    except ServerError as error:
        journal.record("provisional_cleanup", Event.FAILED, reason=str(error))
        return  # harmless: they are not in the workbook; the next run tries again
    journal.record("provisional_cleanup", Event.DONE, deleted=sorted(deleted))


def _open_journal(output_dir: Path, workbook: Path, digest: str, server: IntraScolServer) -> Journal:
    return Journal.open(output_dir, workbook=str(workbook), digest=digest, server_url=server.url)
