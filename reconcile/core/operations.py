"""The plan as data: the five steps of the procedure, the operations, `Plan`.

What `make_plan` (`reconcile.core.plan`) computes, what `wording` words, what
`reconcile apply` executes and journals; with the procedure's order of classes and
the users each operation mentions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, assert_never

from reconcile.core.findings import Finding
from reconcile.core.model import UserType, fold, level_rank
from reconcile.core.plausibility import UnusualMove


class Step(IntEnum):
    """The five steps of the documented manual procedure, in order."""

    CLASSES = 1
    DEPARTURES = 2
    ARRIVALS = 3
    DISTRIBUTION = 4
    CLASS_REMOVALS = 5

    @property
    def title(self) -> str:
        return STEP_TITLES[self]

    @property
    def heading(self) -> str:
        """`Étape 2 : Suppression des utilisateurs qui quittent l'école`."""
        return f"Étape {int(self)} : {self.title}"


STEP_TITLES = {
    Step.CLASSES: "Ajustement des classes",
    Step.DEPARTURES: "Suppression des utilisateurs qui quittent l'école",
    Step.ARRIVALS: "Création des nouveaux utilisateurs",
    Step.DISTRIBUTION: "Répartition des élèves dans les classes",
    Step.CLASS_REMOVALS: "Suppression des classes",
}


def class_order_key(name: str) -> tuple[int, int, str, str]:
    """The procedure's order of destination classes.

    Highest level first (the class receiving the CM1s, i.e. the CM2s, first, down to
    CP, then GS, MS, PS), a double-level class by its highest level, classes whose
    name carries no level last; ties broken by name.
    """
    rank = level_rank(name)
    return (0 if rank >= 0 else 1, -rank, fold(name), name)


@dataclass(frozen=True, slots=True)
class CreateUser:
    """Create an account; `user` is the workbook key (`nouveau:<row>`) later ops refer to."""

    kind: ClassVar[str] = "create_user"
    user: str
    last_name: str
    first_name: str
    type: UserType

    @property
    def id(self) -> str:
        return f"create_user:{self.user}"


@dataclass(frozen=True, slots=True)
class CreateClass:
    """Create a class; `responsible` is a user key (a login or `nouveau:<row>`)."""

    kind: ClassVar[str] = "create_class"
    name: str
    responsible: str

    @property
    def id(self) -> str:
        return f"create_class:{self.name}"


@dataclass(frozen=True, slots=True)
class ChangeResponsible:
    """Make `responsible` (a user key) the responsible teacher of an existing class
    (`modifier_classe.php`); `previous` is the login responsible before the plan."""

    kind: ClassVar[str] = "change_responsible"
    class_name: str
    responsible: str
    previous: str | None = None

    @property
    def id(self) -> str:
        return f"change_responsible:{self.class_name}"


@dataclass(frozen=True, slots=True)
class DeleteUsers:
    """Delete accounts, all in one POST."""

    kind: ClassVar[str] = "delete_users"
    logins: tuple[str, ...]
    step: Step = Step.DEPARTURES

    @property
    def id(self) -> str:
        return f"delete_users:{int(self.step)}"


@dataclass(frozen=True, slots=True)
class AssignPupil:
    """Put a newly created pupil (a user key) in its class (`affecter.php`)."""

    kind: ClassVar[str] = "assign_pupil"
    user: str
    class_name: str

    @property
    def id(self) -> str:
        return f"assign_pupil:{self.user}"


@dataclass(frozen=True, slots=True)
class TransferPupils:
    """Move existing pupils into one destination class, in one POST."""

    kind: ClassVar[str] = "transfer_pupils"
    class_name: str
    logins: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"transfer_pupils:{self.class_name}"


@dataclass(frozen=True, slots=True)
class DeleteClasses:
    """Delete classes in one POST; a class whose work folder holds files is archived
    first (the documented workaround) unless `apply` is told to keep folders."""

    kind: ClassVar[str] = "delete_classes"
    class_names: tuple[str, ...]

    @property
    def id(self) -> str:
        return "delete_classes"


Operation = (
    CreateUser | CreateClass | ChangeResponsible | DeleteUsers | AssignPupil | TransferPupils | DeleteClasses
)


def mentioned_users(op: Operation) -> tuple[str, ...]:
    """The user keys an operation mentions (logins, or `nouveau:<row>` for new rows)."""
    match op:
        case CreateUser() | AssignPupil():
            return (op.user,)
        case CreateClass():
            return (op.responsible,)
        case ChangeResponsible():
            return (op.responsible,) if op.previous is None else (op.responsible, op.previous)
        case DeleteUsers() | TransferPupils():
            return op.logins
        case DeleteClasses():
            return ()
        case _:
            assert_never(op)


ADULT_ORIGIN = ""
"""`Plan.origins` value of an adult: adults are in no class, and no class name is empty."""


@dataclass(frozen=True)
class Plan:
    """The operations of each step, in execution order, with problems and warnings."""

    steps: tuple[tuple[Step, tuple[Operation, ...]], ...]
    problems: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    # Display names of every user key the operations mention (login or nouveau:<row>).
    names: dict[str, str] = field(default_factory=dict)
    # Where each existing user the operations mention is before the plan, to say "de CE2
    # vers CM1": login -> class name; ADULT_ORIGIN ("") for an adult (no class name is
    # empty); absent for a pupil in no class.
    origins: dict[str, str] = field(default_factory=dict)
    # The pupils' moves a school rarely means, listed for checking (`core.plausibility`).
    unusual_moves: tuple[UnusualMove, ...] = ()

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for _, ops in self.steps for op in ops)

    @property
    def is_empty(self) -> bool:
        return not self.operations

    @property
    def can_apply(self) -> bool:
        return not self.problems
