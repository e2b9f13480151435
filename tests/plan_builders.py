"""Small hand-written schools and workbooks for the plan tests.

`school()` is a server with one class per level; `workbook()` turns a server state
into the workbook an export would give (every row unchanged), then applies edits
written the way the secretary writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconcile.core.model import (
    ExportInfo,
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
from reconcile.core.vocabulary import LEAVES_SCHOOL, ClassStatus

FIRST_NEW_ROW = 100


def make_server(
    classes: Sequence[tuple[int, str, str]],
    adults: Sequence[tuple[str, str, str]],
    pupils: Sequence[tuple[str, str, str, str | None]],
) -> ServerState:
    """classes: (id, name, responsible login); adults: (login, last, first);
    pupils: (login, last, first, class name or None)."""
    ids = {name: class_id for class_id, name, _ in classes}
    users = [User(login, last, first, UserType.ADULT) for login, last, first in adults]
    users += [
        User(login, last, first, UserType.PUPIL, class_id=ids[where] if where else None, password="pw")
        for login, last, first, where in pupils
    ]
    return ServerState(
        classes=tuple(SchoolClass(class_id, name, resp) for class_id, name, resp in classes),
        users=tuple(users),
        school="École élémentaire Jules Ferry",
    )


def school() -> ServerState:
    """Five classes CP..CM2, their five teachers, two pupils each, one pupil in no class."""
    return make_server(
        classes=[
            (1, "CP", "adurand"),
            (2, "CE1", "bmartin"),
            (3, "CE2", "cpetit"),
            (4, "CM1", "dleroy"),
            (5, "CM2", "emoreau"),
        ],
        adults=[
            ("adurand", "Durand", "Anne"),
            ("bmartin", "Martin", "Bruno"),
            ("cpetit", "Petit", "Claire"),
            ("dleroy", "Leroy", "David"),
            ("emoreau", "Moreau", "Emma"),
        ],
        pupils=[
            ("lbernard", "Bernard", "Léa", "CP"),
            ("tthomas", "Thomas", "Tom", "CP"),
            ("mrobert", "Robert", "Manon", "CE1"),
            ("hrichard", "Richard", "Hugo", "CE1"),
            ("cdubois", "Dubois", "Chloé", "CE2"),
            ("lmoreau", "Moreau", "Louis", "CE2"),
            ("jlaurent", "Laurent", "Jade", "CM1"),
            ("nsimon", "Simon", "Nathan", "CM1"),
            ("imichel", "Michel", "Inès", "CM2"),
            ("llefebvre", "Lefebvre", "Lucas", "CM2"),
            ("zgarcia", "Garcia", "Zoé", None),
        ],
    )


def _target(text: str | None) -> tuple[Target, str | None]:
    if not text:
        return Target.UNCHANGED, None
    if text == LEAVES_SCHOOL:
        return Target.LEAVES, None
    return Target.CLASS, text


def export_info(state: ServerState) -> ExportInfo:
    return ExportInfo.of_state(
        state,
        server_url="http://127.0.0.1/intrascol/",
        exported_at="2026-07-01T10:00:00+00:00",
        tool_version="0.1.0",
        template_version="2",
    )


def workbook(
    state: ServerState,
    *,
    targets: Mapping[str, str] | None = None,
    new: Iterable[tuple[str, str, UserType, str | None]] = (),
    classes: Mapping[str, tuple[ClassStatus, str | None]] | None = None,
    omit: Iterable[str] = (),
    exported_from: ServerState | None = None,
    rows: Iterable[WantedUser] = (),
    responsibles_filled: bool = False,
) -> WantedState:
    """The workbook of `state`, edited.

    targets: login -> `Classe cible` text (`Quitte l'école`, a class name, "" unchanged);
    new: rows (last, first, type, Classe cible) keyed `nouveau:100`, `nouveau:101`…;
    classes: class name -> (status, responsible key) for edited or created classes;
    omit: logins whose row the secretary removed; rows: extra existing-user rows;
    responsibles_filled: an unedited class carries its responsible as exported (the cell
    the export wrote, as the reader gives it back) rather than an emptied cell.
    """
    targets = dict(targets or {})
    users: list[WantedUser] = []
    skip = set(omit)
    for row_number, user in enumerate(state.users, start=2):
        if user.login in skip:
            continue
        target, target_class = _target(targets.pop(user.login, None))
        users.append(
            WantedUser(
                key=user.login,
                login=user.login,
                last_name=user.last_name,
                first_name=user.first_name,
                type=user.type,
                target=target,
                target_class=target_class,
                location=Location("Utilisateurs", row_number),
            )
        )
    assert not targets, f"unknown logins in targets: {targets}"
    users.extend(rows)
    for row_number, (last, first, user_type, text) in enumerate(new, start=FIRST_NEW_ROW):
        target, target_class = _target(text)
        users.append(
            WantedUser(
                key=f"nouveau:{row_number}",
                login=None,
                last_name=last,
                first_name=first,
                type=user_type,
                target=target,
                target_class=target_class,
                location=Location("Utilisateurs", row_number),
            )
        )
    edits = dict(classes or {})
    wanted_classes: list[WantedClass] = []
    row_number = 2
    for school_class in state.classes:
        as_exported = school_class.responsible_login if responsibles_filled else None
        status, responsible = edits.pop(school_class.name, (ClassStatus.KEEP, as_exported))
        wanted_classes.append(
            WantedClass(school_class.name, status, responsible, Location("Classes", row_number))
        )
        row_number += 1
    for name, (status, responsible) in edits.items():
        wanted_classes.append(WantedClass(name, status, responsible, Location("Classes", row_number)))
        row_number += 1
    return WantedState(
        users=tuple(users),
        classes=tuple(wanted_classes),
        export=export_info(exported_from or state),
    )
