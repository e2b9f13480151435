"""Properties of the plan engine on random schools and random rentrée edits.

The plan's operations are executed on the in-memory IntraScol of `tests/memory_server.py`,
which follows INTERFACE.md (logins made by the server and reused after a deletion,
responsible teachers cannot be deleted, pupils of a deleted class are left in no class,
only pupils go into a class, class names unique regardless of case). Any refusal fails
the test: a plan without problems must go through as it is.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.core.model import (
    Location,
    ServerState,
    Target,
    UserType,
    WantedClass,
    WantedState,
    WantedUser,
    class_key,
)
from reconcile.core.operations import (
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Plan,
    TransferPupils,
)
from reconcile.core.plan import make_plan
from reconcile.core.ports import BatchOutcome, ItemOutcome
from reconcile.core.safeguards import Safeguards
from reconcile.core.vocabulary import ClassStatus
from reconcile.core.wording import NO_CLASS_TITLE, class_changes
from tests.memory_server import MemoryServer
from tests.plan_builders import export_info


class Refused(AssertionError):
    """The server refused an item: the plan asked for something impossible."""


# Random moves are often unusual: `tests/test_plausibility.py` tests that safeguard.
MOVES_CHECKED = Safeguards(moves_checked=True)


def accepted(outcome: ItemOutcome | BatchOutcome) -> None:
    """Fails the test on any refused item."""
    items = outcome.items if isinstance(outcome, BatchOutcome) else (outcome,)
    for item in items:
        if not item.ok:
            raise Refused(f"{item.subject} : {item.message}")


def class_id(server: MemoryServer, name: str) -> int:
    found = server.class_named(name)
    if found is None:
        raise Refused(f"La classe de destination n'existe pas : {name}")
    return found.id


def execute(result: Plan, server: MemoryServer) -> dict[str, str]:
    """Run the plan's operations in order; returns the logins made for new rows."""
    made: dict[str, str] = {}

    def login(key: str) -> str:
        return made.get(key, key)

    for op in result.operations:
        if isinstance(op, CreateUser):
            assert op.user not in made, "a user created twice"
            made[op.user] = server.create_user(op.first_name, op.last_name, op.type).login
        elif isinstance(op, CreateClass):
            accepted(server.create_class(op.name, login(op.responsible)))
        elif isinstance(op, ChangeResponsible):
            accepted(server.modify_class(class_id(server, op.class_name), login(op.responsible)))
        elif isinstance(op, DeleteUsers):
            accepted(server.delete_users(op.logins))
        elif isinstance(op, AssignPupil):
            accepted(server.assign(login(op.user), class_id(server, op.class_name)))
        elif isinstance(op, TransferPupils):
            accepted(server.transfer(op.logins, class_id(server, op.class_name)))
        elif isinstance(op, DeleteClasses):
            accepted(server.delete_classes([class_id(server, name) for name in op.class_names]))
    return made


# --- Random schools and random rentrées ------------------------------------------------

CLASS_NAMES = ["PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2", "CE2-CM1", "GS-CP", "Ulis", "Atelier"]
LAST_NAMES = ["Martin", "Bernard", "N'Diaye", "Lefèvre", "De La Fontaine", "Nguyễn"]
FIRST_NAMES = ["Léa", "Tom", "Zoé", "Jean-Baptiste", "Inès"]

names = st.tuples(st.sampled_from(LAST_NAMES), st.sampled_from(FIRST_NAMES))


@st.composite
def schools(draw: st.DrawFn) -> ServerState:
    """A server state built through the simulated server, so logins look like its own."""
    server = MemoryServer([], [])
    class_names = draw(st.lists(st.sampled_from(CLASS_NAMES), min_size=1, max_size=5, unique=True))
    adults = [
        server.create_user(first, last, UserType.ADULT).login
        for last, first in draw(st.lists(names, min_size=len(class_names), max_size=len(class_names) + 3))
    ]
    for name in class_names:
        accepted(server.create_class(name, draw(st.sampled_from(adults))))
    class_ids = [class_id(server, name) for name in class_names]
    for last, first in draw(st.lists(names, max_size=25)):
        pupil = server.create_user(first, last, UserType.PUPIL).login
        chosen = draw(st.none() | st.sampled_from(class_ids))
        if chosen is not None:
            accepted(server.assign(pupil, chosen))
    return server.read_state()


@dataclass(frozen=True)
class Scenario:
    current: ServerState
    wanted: WantedState


@st.composite
def rentrees(draw: st.DrawFn) -> Scenario:
    """A random school and a random, valid workbook for it."""
    current = draw(schools())
    adults = [u for u in current.users if u.type is UserType.ADULT]
    omitted = set(draw(st.lists(st.sampled_from([u.login for u in current.users]), max_size=3)))
    leaving_adults = {u.login for u in adults if u.login not in omitted and draw(st.booleans())}
    removed = {c.name for c in current.classes if draw(st.integers(0, 3)) == 0}
    taken = {class_key(c.name) for c in current.classes}
    free_names = [n for n in CLASS_NAMES if class_key(n) not in taken]
    created = draw(st.lists(st.sampled_from(free_names), max_size=2, unique=True)) if free_names else []
    row_number = 2
    new_rows: list[WantedUser] = []

    def new_row(last: str, first: str, user_type: UserType, target_class: str | None) -> WantedUser:
        nonlocal row_number
        row = WantedUser(
            key=f"nouveau:{row_number}",
            login=None,
            last_name=last,
            first_name=first,
            type=user_type,
            target=Target.CLASS if target_class else Target.UNCHANGED,
            target_class=target_class,
            location=Location("Utilisateurs", row_number),
        )
        row_number += 1
        new_rows.append(row)
        return row

    for last, first in draw(st.lists(names, max_size=2)):
        new_row(last, first, UserType.ADULT, None)
    staying_adults = [u.login for u in adults if u.login not in leaving_adults]

    def a_responsible() -> str:
        candidates = staying_adults + [r.key for r in new_rows if r.type is UserType.ADULT]
        if not candidates or draw(st.integers(0, 4)) == 0:
            last, first = draw(names)
            return new_row(last, first, UserType.ADULT, None).key
        return draw(st.sampled_from(candidates))

    wanted_classes: list[WantedClass] = []
    for school_class in current.classes:
        if school_class.name in removed:
            wanted_classes.append(WantedClass(school_class.name, ClassStatus.DELETE))
            continue
        must_replace = school_class.responsible_login in leaving_adults
        responsible = a_responsible() if must_replace or draw(st.integers(0, 4)) == 0 else None
        name = draw(st.sampled_from([school_class.name, school_class.name.lower()]))
        wanted_classes.append(WantedClass(name, ClassStatus.KEEP, responsible))
    for name in created:
        wanted_classes.append(WantedClass(name, ClassStatus.CREATE, a_responsible()))
    destinations = [c.name for c in current.classes if c.name not in removed] + created

    targets = st.sampled_from([Target.UNCHANGED, Target.LEAVES])
    if destinations:
        targets = targets | st.just(Target.CLASS)
    rows: list[WantedUser] = []
    for user in current.users:
        if user.login in omitted:
            continue
        if user.type is UserType.ADULT:
            target = Target.LEAVES if user.login in leaving_adults else Target.UNCHANGED
        else:
            target = draw(targets)
        target_class = draw(st.sampled_from(destinations)) if target is Target.CLASS else None
        rows.append(
            WantedUser(
                user.login, user.login, user.last_name, user.first_name, user.type, target, target_class
            )
        )
    for last, first in draw(st.lists(names, max_size=6)):
        new_row(last, first, UserType.PUPIL, draw(st.none() | st.sampled_from(destinations or [None])))
    order = draw(st.permutations(rows + new_rows))
    return Scenario(current, WantedState(tuple(order), tuple(wanted_classes), export_info(current)))


# --- What the workbook asks, to compare the end state with ------------------------------


def expected_classes(scenario: Scenario, made: dict[str, str]) -> dict[str, str]:
    """class key -> responsible login, after the rentrée."""
    current, wanted = scenario.current, scenario.wanted
    result = {class_key(c.name): c.responsible_login for c in current.classes}
    for row in wanted.classes:
        key = class_key(row.name)
        if row.status is ClassStatus.DELETE:
            result.pop(key)
        elif row.responsible is not None:
            result[key] = made.get(row.responsible, row.responsible)
    return result


def expected_users(
    scenario: Scenario, made: dict[str, str]
) -> dict[str, tuple[str, str, UserType, str | None]]:
    """login -> (last, first, type, class key) after the rentrée."""
    current, wanted = scenario.current, scenario.wanted
    removed = {class_key(c.name) for c in wanted.classes if c.status is ClassStatus.DELETE}
    result = {}
    for user in current.users:
        where = current.class_name_of(user)
        key = class_key(where) if where is not None else None
        result[user.login] = (user.last_name, user.first_name, user.type, None if key in removed else key)
    for row in wanted.users:
        if row.login is None:
            continue
        if row.target is Target.LEAVES:
            del result[row.login]
        elif row.target is Target.CLASS:
            assert row.target_class is not None
            result[row.login] = (*result[row.login][:3], class_key(row.target_class))
    # After the departures: the server may give a new user a login freed by a deletion.
    for row in wanted.users:
        if row.login is None:
            target = class_key(row.target_class) if row.target_class else None
            result[made[row.key]] = (row.last_name, row.first_name, row.type, target)
    return result


def actual_users(server: MemoryServer) -> dict[str, tuple[str, str, UserType, str | None]]:
    return {
        login: (
            a.last_name,
            a.first_name,
            a.type,
            class_key(server.classes[a.class_id].name) if a.class_id is not None else None,
        )
        for login, a in server.users.items()
    }


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(rentrees())
def test_executing_the_plan_yields_exactly_the_wanted_state(scenario: Scenario) -> None:
    result = make_plan(scenario.current, scenario.wanted, allow_mass_delete=True, safeguards=MOVES_CHECKED)
    assert result.problems == (), [str(p) for p in result.problems]
    server = MemoryServer(scenario.current.classes, scenario.current.users)
    made = execute(result, server)
    new_keys = {r.key for r in scenario.wanted.users if r.login is None}
    assert set(made) == new_keys, "every new row created exactly once"
    assert actual_users(server) == expected_users(scenario, made)
    assert {class_key(c.name): c.responsible_login for c in server.classes.values()} == expected_classes(
        scenario, made
    )


@PROPERTY_SETTINGS
@given(rentrees())
def test_a_second_plan_after_execution_has_nothing_left_to_do(scenario: Scenario) -> None:
    """Idempotence: the server after the plan, read against the same intent, is done."""
    result = make_plan(scenario.current, scenario.wanted, allow_mass_delete=True, safeguards=MOVES_CHECKED)
    server = MemoryServer(scenario.current.classes, scenario.current.users)
    made = execute(result, server)
    after = server.read_state()
    rows = []
    for row in scenario.wanted.users:
        if row.target is Target.LEAVES:
            continue
        login = made.get(row.key, row.login)
        rows.append(
            WantedUser(login, login, row.last_name, row.first_name, row.type, row.target, row.target_class)
        )
    classes = tuple(
        WantedClass(
            c.name, ClassStatus.KEEP, made.get(c.responsible, c.responsible) if c.responsible else None
        )
        for c in scenario.wanted.classes
        if c.status is not ClassStatus.DELETE
    )
    again = make_plan(
        after, WantedState(tuple(rows), classes), allow_mass_delete=True, safeguards=MOVES_CHECKED
    )
    assert again.operations == ()
    assert again.problems == ()


@settings(max_examples=60, deadline=None)
@given(rentrees(), st.randoms(use_true_random=False))
def test_the_plan_is_deterministic_whatever_the_server_order(scenario: Scenario, rnd: random.Random) -> None:
    first = make_plan(scenario.current, scenario.wanted)
    users = list(scenario.current.users)
    classes = list(scenario.current.classes)
    rnd.shuffle(users)
    rnd.shuffle(classes)
    shuffled = ServerState(classes=tuple(classes), users=tuple(users))
    assert make_plan(shuffled, scenario.wanted) == first
    assert make_plan(scenario.current, scenario.wanted) == first


@settings(max_examples=60, deadline=None)
@given(rentrees())
def test_no_user_is_created_twice_and_only_leavers_are_deleted(scenario: Scenario) -> None:
    result = make_plan(scenario.current, scenario.wanted, allow_mass_delete=True, safeguards=MOVES_CHECKED)
    created = Counter(op.user for op in result.operations if isinstance(op, CreateUser))
    assert all(n == 1 for n in created.values())
    deleted = [login for op in result.operations if isinstance(op, DeleteUsers) for login in op.logins]
    leavers = {r.login for r in scenario.wanted.users if r.target is Target.LEAVES}
    assert len(deleted) == len(set(deleted))
    assert set(deleted) == leavers


@settings(max_examples=80, deadline=None)
@given(rentrees())
def test_the_report_class_tables_match_what_the_server_ends_with(scenario: Scenario) -> None:
    """The before/after table of each class counts what executing the plan really gives."""
    result = make_plan(scenario.current, scenario.wanted, allow_mass_delete=True, safeguards=MOVES_CHECKED)
    server = MemoryServer(scenario.current.classes, scenario.current.users)
    execute(result, server)
    pupils_after: Counter[str] = Counter()
    for account in server.users.values():
        if account.type is UserType.PUPIL:
            pupils_after[server.classes[account.class_id].name if account.class_id else NO_CLASS_TITLE] += 1
    changes = class_changes(result, scenario.current)
    reported = {c.name: c.size_after for c in changes if c.size_after}
    assert reported == dict(pupils_after)
    removed = {c.name for c in changes if c.status == "supprimée"}
    assert removed == {c.name for c in scenario.current.classes} - {c.name for c in server.classes.values()}
