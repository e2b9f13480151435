"""The diff engine: `plan(current, wanted)` -> the ordered operations of the rentrée.

Pure: no HTTP, no files, no clock. The plan is data (JSON-serialisable): `reconcile
plan` renders it, `reconcile apply` executes and journals it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from reconcile.errors import Problem
from reconcile.model import Location, ServerState, UserType, WantedState


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


STEP_TITLES = {
    Step.CLASSES: "Ajustement des classes",
    Step.DEPARTURES: "Suppression des utilisateurs qui quittent l'école",
    Step.ARRIVALS: "Création des nouveaux utilisateurs",
    Step.DISTRIBUTION: "Répartition des élèves dans les classes",
    Step.CLASS_REMOVALS: "Suppression des classes",
}


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
    kind: ClassVar[str] = "change_responsible"
    class_name: str
    responsible: str

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

OPERATION_TYPES: dict[str, type[Operation]] = {
    t.kind: t
    for t in (
        CreateUser,
        CreateClass,
        ChangeResponsible,
        DeleteUsers,
        AssignPupil,
        TransferPupils,
        DeleteClasses,
    )
}


@dataclass(frozen=True, slots=True)
class Warning:  # noqa: A001 - a plan warning, not the builtin category
    message: str
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.location} : {self.message}" if self.location else self.message


@dataclass(frozen=True)
class Plan:
    """The operations of each step, in execution order, with problems and warnings."""

    steps: tuple[tuple[Step, tuple[Operation, ...]], ...]
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Warning, ...] = ()
    # Display names of every user key the operations mention (login or nouveau:<row>).
    names: dict[str, str] = field(default_factory=dict)

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for _, ops in self.steps for op in ops)

    @property
    def is_empty(self) -> bool:
        return not self.operations

    @property
    def can_apply(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps(_plan_to_data(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return _plan_from_data(json.loads(text))


def _location_data(location: Location | None) -> dict[str, Any] | None:
    return None if location is None else asdict(location)


def _location_from(data: dict[str, Any] | None) -> Location | None:
    return None if data is None else Location(**data)


def _operation_data(op: Operation) -> dict[str, Any]:
    return {"kind": op.kind, **asdict(op)}


def _operation_from(data: dict[str, Any]) -> Operation:
    values = dict(data)
    op_type = OPERATION_TYPES[values.pop("kind")]
    for name in ("logins", "class_names"):
        if name in values:
            values[name] = tuple(values[name])
    if "type" in values:
        values["type"] = UserType(values["type"])
    if "step" in values:
        values["step"] = Step(values["step"])
    return op_type(**values)


def _plan_to_data(plan: Plan) -> dict[str, Any]:
    return {
        "steps": [[int(step), [_operation_data(op) for op in ops]] for step, ops in plan.steps],
        "problems": [{"message": p.message, "location": _location_data(p.location)} for p in plan.problems],
        "warnings": [{"message": w.message, "location": _location_data(w.location)} for w in plan.warnings],
        "names": plan.names,
    }


def _plan_from_data(data: dict[str, Any]) -> Plan:
    return Plan(
        steps=tuple((Step(step), tuple(_operation_from(op) for op in ops)) for step, ops in data["steps"]),
        problems=tuple(Problem(p["message"], _location_from(p["location"])) for p in data["problems"]),
        warnings=tuple(Warning(w["message"], _location_from(w["location"])) for w in data["warnings"]),
        names=dict(data.get("names", {})),
    )


DEFAULT_MASS_DELETE_THRESHOLD = 0.40


def plan(
    current: ServerState,
    wanted: WantedState,
    *,
    mass_delete_threshold: float = DEFAULT_MASS_DELETE_THRESHOLD,
    allow_mass_delete: bool = False,
) -> Plan:
    """The operations that take `current` to `wanted`, grouped by step and ordered."""
    raise NotImplementedError  # implemented in the plan issue
