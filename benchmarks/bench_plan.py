"""Time the plan engine on synthetic schools of 2,000 and 50,000 users (best of 3),
its rendering (best of 3) and the writing of its report (HTML + xlsx, once).

Each school has classes of 25 pupils on the eight levels and one teacher per class;
the workbook is a realistic rentrée: the CM2s leave, everybody else moves up a level,
new PS and CP pupils arrive, one class per level is removed and one created.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from reconcile.adapters.reports.plan_report import write_plan_report
from reconcile.core.model import (
    LEVELS,
    Location,
    SchoolClass,
    ServerState,
    Target,
    User,
    UserType,
    WantedClass,
    WantedState,
    WantedUser,
)
from reconcile.core.operations import Plan
from reconcile.core.plan import make_plan
from reconcile.core.vocabulary import ClassStatus
from reconcile.core.wording import class_changes, step_sections

PUPILS_PER_CLASS = 25


def synthetic_rentree(users: int) -> tuple[ServerState, WantedState]:
    per_level = max(1, users // ((PUPILS_PER_CLASS + 1) * len(LEVELS)))
    classes: list[SchoolClass] = []
    server_users: list[User] = []
    for level_index, level in enumerate(LEVELS):
        for number in range(per_level):
            class_id = len(classes) + 1
            teacher = f"prof{class_id}"
            classes.append(SchoolClass(class_id, f"{level}-{number}", teacher))
            server_users.append(User(teacher, f"Enseignant{class_id}", "Prénom", UserType.ADULT))
            for pupil in range(PUPILS_PER_CLASS):
                login = f"e{level_index}x{number}x{pupil}"
                server_users.append(
                    User(login, f"Nom{level_index}{number}{pupil}", "Élève", UserType.PUPIL, class_id, "pw")
                )
    current = ServerState(tuple(classes), tuple(server_users))
    removed = {f"{level}-{per_level - 1}" for level in LEVELS} if per_level > 1 else set()
    wanted_classes = [
        WantedClass(c.name, ClassStatus.DELETE if c.name in removed else ClassStatus.KEEP) for c in classes
    ]
    wanted_classes.append(WantedClass("CP-nouvelle", ClassStatus.CREATE, "prof1"))
    rows: list[WantedUser] = []
    for row_number, user in enumerate(server_users, start=2):
        where = current.class_name_of(user)
        target, target_class = Target.UNCHANGED, None
        if user.type is UserType.PUPIL and where is not None:
            level, _, number = where.partition("-")
            index = LEVELS.index(level)
            if level == "CM2":
                target = Target.LEAVES
            else:
                target, target_class = (
                    Target.CLASS,
                    f"{LEVELS[index + 1]}-{int(number) % max(1, per_level - 1)}",
                )
        rows.append(
            WantedUser(
                user.login,
                user.login,
                user.last_name,
                user.first_name,
                user.type,
                target,
                target_class,
                Location("Utilisateurs", row_number),
            )
        )
    start = len(rows) + 2
    for offset in range(per_level * PUPILS_PER_CLASS):
        row_number = start + offset
        rows.append(
            WantedUser(
                f"nouveau:{row_number}",
                None,
                f"Arrivant{offset}",
                "Élève",
                UserType.PUPIL,
                Target.CLASS,
                "PS-0" if offset % 2 else "CP-nouvelle",
                Location("Utilisateurs", row_number),
            )
        )
    return current, WantedState(tuple(rows), tuple(wanted_classes))


def best_of(runs: int, action: object) -> float:
    assert callable(action)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def write_report(result: Plan, current: ServerState, wanted: WantedState, folder: Path) -> None:
    """The plan report (HTML + xlsx) of `result` into `folder`, as `reconcile plan` writes it."""
    write_plan_report(
        result,
        current,
        wanted,
        folder,
        server_url="http://serveur/intrascol/",
        school="École de mesure",
        generated_at=datetime.now(UTC),
    )


def main() -> None:
    print(f"{'utilisateurs':>12} {'opérations':>10} {'plan (s)':>9} {'rendu (s)':>9} {'rapport (s)':>11}")
    for size in (2_000, 50_000):
        current, wanted = synthetic_rentree(size)
        result = make_plan(current, wanted, allow_mass_delete=True)
        assert result.can_apply, result.problems[:3]
        plan_time = best_of(3, lambda c=current, w=wanted: make_plan(c, w, allow_mass_delete=True))
        render_time = best_of(3, lambda r=result, c=current: (step_sections(r), class_changes(r, c)))
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            write_report(result, current, wanted, Path(folder))
            report_time = time.perf_counter() - started  # once: HTML + xlsx of every pupil
        print(
            f"{len(current.users):>12,} {len(result.operations):>10,} {plan_time:>9.3f} "
            f"{render_time:>9.3f} {report_time:>11.2f}"
        )


if __name__ == "__main__":
    main()
