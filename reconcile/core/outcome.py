"""An application of a workbook as data: its preparation, what each operation became, its verification.

Pure. `prepare` resolves the workbook with the journal and the server's drift and plans what
remains; `verify` re-plans against the server read again after the run: what is left is a
difference. `reconcile.app.executor` fills an `Outcome` as it sends; the reports read an `ApplyRun`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from reconcile.core.errors import DriftAmbiguous
from reconcile.core.journal_facts import EarlierWork, JournalFacts
from reconcile.core.model import ServerState, User, UserType, WantedState, class_key, user_order
from reconcile.core.operations import DeleteClasses, DeleteUsers, Operation, Plan, Step
from reconcile.core.plan import make_plan
from reconcile.core.ports import ItemOutcome
from reconcile.core.resume import Resolution, resolve
from reconcile.core.safeguards import DEFAULT_SAFEGUARDS, Safeguards
from reconcile.core.wording import describe_operation


class OpStatus(StrEnum):
    DONE = "fait"
    PARTIAL = "en partie fait"
    FAILED = "échec"
    KEPT = "fait, classe conservée (dossier de travail non vide)"


@dataclass(frozen=True)
class OpResult:
    """What became of one operation: its status and a French account of it."""

    op: Operation
    status: OpStatus
    message: str
    attempts: int = 1
    refusals: tuple[ItemOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account this application made (or adopted after a lost answer)."""

    key: str
    login: str
    password: str | None
    last_name: str
    first_name: str
    type: UserType
    adopted: bool = False


@dataclass(frozen=True, slots=True)
class Archive:
    """A class work folder saved into a checked zip and emptied, before its class is deleted.

    Made by the folder workaround (`reconcile.app.folders`), read by the reports.
    `provisional_deleted` is False when the provisional pupil made to reach the folder
    could not be deleted: its login is journaled and the next run removes it.
    """

    class_name: str
    path: Path | None  # None when the folder held no file after all
    files: int
    size: int  # bytes
    provisional_login: str = ""
    provisional_deleted: bool = True


@dataclass
class Outcome:
    """Everything one run of `execute` did, for the report."""

    results: list[OpResult] = field(default_factory=list)
    new_accounts: list[NewAccount] = field(default_factory=list)
    archives: list[Archive] = field(default_factory=list)
    kept_classes: list[str] = field(default_factory=list)
    incomplete_step: Step | None = None
    reason: str = ""

    @property
    def complete(self) -> bool:
        return self.incomplete_step is None


@dataclass(frozen=True)
class Preparation:
    """The server as read, the wanted state resolved with the journal, and what remains to do."""

    current: ServerState
    resolution: Resolution
    plan: Plan


def prepare(
    current: ServerState,
    wanted: WantedState,
    facts: JournalFacts,
    *,
    allow_mass_delete: bool = False,
    earlier: EarlierWork | None = None,
    safeguards: Safeguards = DEFAULT_SAFEGUARDS,
) -> Preparation:
    """Resolve the workbook with the journal and the server's drift, and plan what remains (pure).

    Raises `DriftAmbiguous` where the workbook's intent became unclear.
    """
    resolution = resolve(wanted, facts, current, earlier)
    remaining = make_plan(
        current,
        resolution.wanted,
        allow_mass_delete=allow_mass_delete,
        safeguards=safeguards,
        workbook=wanted,
    )
    return Preparation(current, resolution, remaining)


_VERIFYING = Safeguards(moves_checked=True)


@dataclass(frozen=True)
class Verification:
    """The server read again after the run, compared with the wanted state."""

    state: ServerState
    differences: tuple[str, ...]
    unassigned: tuple[User, ...]  # pupils left in no class ("classe : aucune")

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(
    state: ServerState,
    wanted: WantedState,
    facts: JournalFacts,
    *,
    kept_classes: Sequence[str] = (),
    provisional: Sequence[User] = (),
) -> Verification:
    """Re-plan the wanted state against the server as it is now: what is left is a difference.

    `provisional`: the provisional pupils of the class-folder workaround still on the server
    (`reconcile.app.folders.find_provisional_pupils`); each one is a difference.
    """
    kept = {class_key(n) for n in kept_classes}
    differences = [
        f"L'élève provisoire {u.display_name} ({u.login}), créé(e) par reconcile pour archiver un dossier "
        "de travail, est encore sur le serveur : relancez la même commande pour le supprimer."
        for u in sorted(provisional, key=user_order)
    ]
    try:
        # The run was confirmed: its moves are no difference, only what is left undone.
        remaining = prepare(state, wanted, facts, allow_mass_delete=True, safeguards=_VERIFYING).plan
    except DriftAmbiguous as ambiguous:
        differences.extend(ambiguous.reasons)
    else:
        keepers = {c.responsible_login for c in state.classes if class_key(c.name) in kept}
        for op in remaining.operations:
            if _kept_on_purpose(op, kept, keepers):
                continue
            words = describe_operation(op, remaining.names, remaining.origins)
            differences.append(f"{words.one_line} : pas fait")
        differences.extend(str(p) for p in remaining.problems)
    unassigned = tuple(
        sorted(
            (u for u in state.users if u.type is UserType.PUPIL and u.class_id is None),
            key=user_order,
        )
    )
    return Verification(state, tuple(differences), unassigned)


def _kept_on_purpose(op: Operation, kept: set[str], keepers: set[str]) -> bool:
    """A class kept for its work folder (--garder-dossiers), or its responsible teacher, is no difference."""
    match op:
        case DeleteClasses():
            return all(class_key(n) in kept for n in op.class_names)
        case DeleteUsers():
            return set(op.logins) <= keepers
        case _:
            return False


@dataclass(frozen=True)
class ApplyRun:
    """One run of `reconcile apply`: what was planned, done and found afterwards."""

    preparation: Preparation
    outcome: Outcome
    verification: Verification | None  # None when the run stopped before the end
    journal: Path
    accounts: tuple[NewAccount, ...]  # every account made for this workbook, across runs


def accounts_of(wanted: WantedState, facts: JournalFacts) -> tuple[NewAccount, ...]:
    """The accounts made for the workbook's new rows, as the journal recorded them (any run)."""
    accounts = []
    for row in wanted.users:
        account = facts.created_users.get(row.key)
        if account is not None:
            accounts.append(
                NewAccount(row.key, account.login, account.password, row.last_name, row.first_name, row.type)
            )
    return tuple(accounts)
