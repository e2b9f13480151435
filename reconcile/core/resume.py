"""Resumption and drift (pure): the wanted state, resolved with what happened since the export.

A run of `reconcile apply` never trusts its own memory of an earlier run: it reads
the server, folds the journal into facts, and resolves the workbook's wanted state
with them — a new row the journal says was created becomes that existing account,
a class we created becomes a kept class, an account we deleted is no longer asked
for. Planning the resolved state against the server then yields exactly what
remains to do: nothing when all is done.

The same pass compares the server with the export (`ExportInfo`): it says what
changed since, skips what can no longer be done, and refuses (`DriftAmbiguous`)
only where the workbook's intent became unclear.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from reconcile.core.errors import DriftAmbiguous
from reconcile.core.journal_facts import EarlierAccount, EarlierWork, JournalFacts, PendingCreation
from reconcile.core.model import (
    ExportedUser,
    ExportInfo,
    ServerState,
    Target,
    User,
    WantedClass,
    WantedState,
    WantedUser,
    class_key,
    display_name,
    person_key,
)
from reconcile.core.vocabulary import ClassStatus


@dataclass(frozen=True, slots=True)
class Adoption:
    """An account made by a CreateUser whose answer was lost, found on the server."""

    key: str
    login: str
    password: str | None


@dataclass(frozen=True)
class Resolution:
    """The wanted state to plan against now, and what the journal must record first."""

    wanted: WantedState
    adoptions: tuple[Adoption, ...] = ()
    # Accounts the workbook deletes that are gone from the server (recorded so that a
    # later account given the same login is never taken for them).
    gone: frozenset[str] = frozenset()
    # `Créer` classes an earlier application of another workbook created (kept now).
    taken_classes: frozenset[str] = frozenset()
    # What changed on the server since the export, in French, one line each.
    changes: tuple[str, ...] = ()
    # Rows that can no longer be carried out and are skipped, in French.
    skipped: tuple[str, ...] = ()


Person = User | ExportedUser | WantedUser | EarlierAccount


def _label(person: Person) -> str:
    return display_name(person.first_name, person.last_name)


def _same_person(a: Person, b: Person) -> bool:
    return person_key(a.last_name, a.first_name) == person_key(b.last_name, b.first_name)


def resolve(
    wanted: WantedState,
    facts: JournalFacts,
    current: ServerState,
    earlier: EarlierWork | None = None,
) -> Resolution:
    """The wanted state resolved with the journal's facts and the server's drift.

    `earlier`: what the application of another version of the workbook created
    (`journal.earlier_work`); a new row naming one of its accounts takes it over, a
    class it created is kept.
    Raises `DriftAmbiguous` when the workbook's intent for some row is unclear now.
    """
    resolver = _Resolver(wanted, facts, current, earlier or EarlierWork())
    users = resolver.users()
    if resolver.ambiguous:
        raise DriftAmbiguous(resolver.ambiguous)
    return Resolution(
        wanted=WantedState(users=users, classes=resolver.classes(), export=wanted.export),
        adoptions=tuple(resolver.adoptions),
        gone=frozenset(resolver.gone),
        taken_classes=resolver.taken_classes(),
        changes=tuple(drift_changes(wanted, facts, current, adopted={a.login for a in resolver.adoptions})),
        skipped=tuple(resolver.skipped),
    )


class _Resolver:
    """One pass over the workbook's rows: a new row becomes the account the journal or an
    earlier application made for it; an existing row is checked against the server now."""

    def __init__(
        self, wanted: WantedState, facts: JournalFacts, current: ServerState, earlier: EarlierWork
    ) -> None:
        self.wanted = wanted
        self.facts = facts
        self.current = current
        self.earlier = earlier
        self.ambiguous: list[str] = []
        self.skipped: list[str] = []
        self.adoptions: list[Adoption] = []
        self.gone: set[str] = set()
        self.key_to_login: dict[str, str] = {}  # new row's key -> the login it was given
        self.journal_logins = _logins_made_by(facts, current)
        self.exported = {u.login: u for u in wanted.export.users} if wanted.export else {}
        # Logins of rows naming an account deleted by an application: any account with that login
        # now is a newer one, free to be taken over by a new row.
        deleted_rows = {
            u.login
            for u in wanted.users
            if u.login and (u.login in facts.deleted_logins or self._deleted_by_earlier(u.login))
        }
        self.claimed = {u.login for u in wanted.users if u.login and u.login not in deleted_rows}
        self.claimed |= {a.login for a in facts.created_users.values()}

    def _deleted_by_earlier(self, login: str) -> bool:
        return _deleted_before_export(self.earlier.deleted.get(login), self.wanted)

    # --- The users' rows -------------------------------------------------------------------

    def users(self) -> tuple[WantedUser, ...]:
        resolved = (
            self._new_row(row) if row.is_new else self._existing_row(row) for row in self.wanted.users
        )
        return tuple(row for row in resolved if row is not None)

    def _new_row(self, row: WantedUser) -> WantedUser:
        """The existing account a new row became, or the row itself, still to create."""
        resolved = self._made_by_journal(row)
        if resolved is None and row.key not in self.facts.pending_users:
            resolved = self._taken_over(row)
        if resolved is None:
            return row
        self.key_to_login[row.key] = resolved.key
        return resolved

    def _made_by_journal(self, row: WantedUser) -> WantedUser | None:
        """The existing account a new row became, if the journal says it was made."""
        account = self.facts.created_users.get(row.key)
        if account is not None:
            on_server = self.current.user(account.login)
            if on_server is None or not _same_person(on_server, row):
                self.ambiguous.append(
                    f"{_label(row)} ({row.location or row.key}) a été créé(e) par une application "
                    f"précédente avec l'identifiant {account.login}, qui n'existe plus sur le serveur ou "
                    "désigne quelqu'un d'autre."
                )
                return None
            return _as_existing(row, account.login)
        pending = self.facts.pending_users.get(row.key)
        return None if pending is None else self._made_by_interrupted_creation(row, pending)

    def _made_by_interrupted_creation(self, row: WantedUser, pending: PendingCreation) -> WantedUser | None:
        """The one account with the row's names that appeared since its creation was sent."""
        candidates = _appeared_for(pending, self.current)
        if len(candidates) > 1:
            logins = ", ".join(sorted(u.login for u in candidates))
            self.ambiguous.append(
                f"La création de {_label(row)} a été interrompue, et plusieurs comptes à ce nom sont "
                f"apparus depuis ({logins}) : impossible de savoir lequel est le sien."
            )
            return None
        if not candidates:
            return None  # the interrupted POST did not create it: it is still to create
        adopted = candidates[0]
        self.adoptions.append(Adoption(row.key, adopted.login, adopted.password))
        return _as_existing(row, adopted.login)

    def _taken_over(self, row: WantedUser) -> WantedUser | None:
        """The account an earlier application made for this person, if it is still there."""
        for account in self.earlier.accounts:
            on_server = self.current.user(account.login)
            if (
                account.login in self.claimed
                or account.type is not row.type
                or not _same_person(account, row)
                or on_server is None
                or not _same_person(on_server, row)
            ):
                continue
            self.claimed.add(account.login)
            self.adoptions.append(Adoption(row.key, account.login, account.password))
            self.skipped.append(
                f"{_label(row)} a déjà été créé(e) par une application précédente (identifiant "
                f"{account.login}) : ce compte est repris, pas recréé."
            )
            return _as_existing(row, account.login)
        return None

    def _existing_row(self, row: WantedUser) -> WantedUser | None:
        """The row of an existing account, or None when there is nothing left to ask of it."""
        login = row.login or row.key
        if login in self.facts.deleted_logins:
            # We deleted this account: any account with that login now is someone else's.
            return None
        if self._deleted_by_earlier(login):
            self.gone.add(login)  # journaled: later runs (and the verification) drop the row too
            self.skipped.append(
                f"Le compte {login} ({_label(row)}) a été supprimé par une application précédente : "
                "le compte qui porte aujourd'hui cet identifiant n'est pas touché."
            )
            return None
        on_server = self.current.user(login)
        reference: User | ExportedUser | WantedUser = self.exported.get(login, row)
        if on_server is None:
            self._account_gone(row, login, reference)
            return None
        if not _same_person(on_server, reference):
            self._login_given_again(row, login, reference, on_server)
            return None
        return row

    def _account_gone(self, row: WantedUser, login: str, reference: Person) -> None:
        if row.target is Target.LEAVES:
            self.gone.add(login)
        elif row.target is Target.CLASS:
            self.skipped.append(
                f"{_label(reference)} ({login}) devait aller en {row.target_class}, "
                "mais n'existe plus sur le serveur : ignoré."
            )

    def _login_given_again(self, row: WantedUser, login: str, reference: Person, on_server: User) -> None:
        """The login names another person than the workbook's: left alone, or ambiguous if acted on."""
        message = (
            f"L'identifiant {login} désignait {_label(reference)} à l'export ; il désigne "
            f"maintenant {_label(on_server)} (un identifiant libéré est redonné au compte suivant)."
        )
        if row.target is Target.UNCHANGED:
            self.skipped.append(message + " Ce compte n'est pas touché.")
        elif login in self.journal_logins:
            # Our own new account took the login of an account deleted outside the journal.
            self.skipped.append(message + " Ce compte, créé par reconcile, n'est pas touché.")
        else:
            self.ambiguous.append(message + f" Le classeur demande « {_target_words(row)} » pour lui.")

    # --- The classes' rows -----------------------------------------------------------------

    def _created_here(self) -> set[str]:
        """Class keys this workbook's journal created (or sent the creation of)."""
        return {class_key(n) for n in self.facts.created_classes | self.facts.pending_classes}

    def _created_earlier(self) -> set[str]:
        """Class keys the application of another workbook created."""
        return {class_key(n) for n in self.earlier.class_names} - self._created_here()

    def classes(self) -> tuple[WantedClass, ...]:
        ours = self._created_here() | self._created_earlier()
        resolved = (_resolve_class(c, ours, self.current, self.key_to_login) for c in self.wanted.classes)
        return tuple(c for c in resolved if c is not None)

    def taken_classes(self) -> frozenset[str]:
        """`Créer` classes an earlier application of another workbook created."""
        theirs = self._created_earlier()
        return frozenset(
            c.name
            for c in self.wanted.classes
            if c.status is ClassStatus.CREATE
            and class_key(c.name) in theirs
            and self.current.class_by_name(c.name)
        )


def _logins_made_by(facts: JournalFacts, current: ServerState) -> set[str]:
    """The accounts the journal made: new rows' accounts, provisional pupils, and the accounts
    that appeared for a creation whose answer an interrupted run never read."""
    made = {a.login for a in facts.created_users.values()}
    made |= {a.login for a in facts.provisional_pupils.values()}
    for pending in facts.pending_users.values():
        made |= {u.login for u in _appeared_for(pending, current)}
    return made


def _appeared_for(pending: PendingCreation, current: ServerState) -> list[User]:
    """The accounts with the names and type of a pending creation that were not there when it was sent."""
    names = person_key(pending.last_name, pending.first_name)
    return [
        u
        for u in current.users
        if u.type is pending.type
        and person_key(u.last_name, u.first_name) == names
        and u.login not in pending.logins_before
    ]


def _deleted_before_export(deleted_at: str | None, wanted: WantedState) -> bool:
    """Whether an earlier application deleted this login before this workbook was exported.

    When the export came later, the workbook's row names the account that has the
    login now; in doubt (no export time), the row is taken to name the deleted one.
    """
    if deleted_at is None:
        return False
    exported_at = wanted.export.exported_at if wanted.export else ""
    try:
        deleted, exported = datetime.fromisoformat(deleted_at), datetime.fromisoformat(exported_at)
        if deleted.tzinfo is None or exported.tzinfo is None:
            return True
        return exported < deleted
    except ValueError:
        return True


def _target_words(row: WantedUser) -> str:
    if row.target is Target.LEAVES:
        return "Quitte l'école"
    return f"aller en {row.target_class}"


def _as_existing(row: WantedUser, login: str) -> WantedUser:
    return replace(row, key=login, login=login)


def _resolve_class(
    wanted: WantedClass, ours: set[str], current: ServerState, key_to_login: dict[str, str]
) -> WantedClass | None:
    """A class we created (the journal says so) is a kept class now; one already gone is done."""
    responsible = key_to_login.get(wanted.responsible or "", wanted.responsible)
    on_server = current.class_by_name(wanted.name)
    status = wanted.status
    if status is ClassStatus.CREATE and on_server is not None and class_key(wanted.name) in ours:
        status = ClassStatus.KEEP
    if status is ClassStatus.DELETE and on_server is None:
        return None  # already gone: nothing left to do
    return replace(wanted, status=status, responsible=responsible)


def drift_changes(
    wanted: WantedState, facts: JournalFacts, current: ServerState, *, adopted: Collection[str] = ()
) -> list[str]:
    """What changed on the server since the export that the workbook itself does not explain.

    The accounts an application of this workbook made (any run of its journal, even one
    interrupted before it read the server's answer) or takes over (`adopted`) are its own
    work: never "added since the export".
    """
    export = wanted.export
    if export is None or export.fingerprint == current.fingerprint():
        return []
    wanted_classes = {class_key(c.name): c for c in wanted.classes}
    ours = _logins_made_by(facts, current) | set(adopted)
    return [
        *_user_changes(wanted, export, ours, current),
        *_class_list_changes(export, wanted_classes, current),
        *_responsible_changes(export, wanted_classes, facts, current),
    ]


def _user_changes(wanted: WantedState, export: ExportInfo, ours: set[str], current: ServerState) -> list[str]:
    """Accounts deleted, given to someone else, moved or added since the export."""
    rows = {u.login: u for u in wanted.users if u.login}
    exported = {u.login: u for u in export.users}
    changes = [
        change
        for login, before in sorted(exported.items())
        if (change := _exported_user_change(before, rows.get(login), ours, current)) is not None
    ]
    added = [u for u in current.users if u.login not in exported and u.login not in ours]
    changes.extend(
        f"{_label(u)} ({u.login}) a été ajouté(e) au serveur depuis l'export ; il/elle ne sera pas touché(e)."
        for u in sorted(added, key=lambda u: u.login)
    )
    return changes


def _exported_user_change(
    before: ExportedUser, row: WantedUser | None, ours: set[str], current: ServerState
) -> str | None:
    """What happened to one exported account, unless the workbook or the journal explains it."""
    login = before.login
    now = current.user(login)
    leaving = row is not None and row.target is Target.LEAVES
    if now is None:
        return (
            None if leaving else f"{_label(before)} ({login}) a été supprimé(e) du serveur depuis l'export."
        )
    if not _same_person(now, before):
        if login in ours or leaving:
            return None
        return f"L'identifiant {login} désigne maintenant {_label(now)} (à l'export : {_label(before)})."
    return _class_move(before, now, row, current)


def _class_move(before: ExportedUser, now: User, row: WantedUser | None, current: ServerState) -> str | None:
    """A pupil moved to another class since the export, unless the workbook sends them there."""
    class_now = current.class_name_of(now)
    target = row.target_class if row is not None and row.target is Target.CLASS else None
    moved = class_key(class_now or "") != class_key(before.class_name or "")
    asked = target is not None and class_key(target) == class_key(class_now or "")
    if not moved or asked:
        return None
    return (
        f"{_label(now)} ({now.login}) a changé de classe depuis l'export : "
        f"{before.class_name or 'aucune'} → {class_now or 'aucune'}."
    )


def _class_list_changes(
    export: ExportInfo, wanted_classes: dict[str, WantedClass], current: ServerState
) -> list[str]:
    """Classes deleted or created on the server since the export, but by the workbook's request."""
    exported_classes = {class_key(n): n for n in export.class_names}
    changes: list[str] = []
    for key, name in sorted(exported_classes.items()):
        asked = wanted_classes.get(key)
        if current.class_by_name(name) is None and (asked is None or asked.status is not ClassStatus.DELETE):
            changes.append(f"La classe {name} a été supprimée du serveur depuis l'export.")
    for school_class in current.classes:
        key = class_key(school_class.name)
        asked = wanted_classes.get(key)
        if key not in exported_classes and (asked is None or asked.status is not ClassStatus.CREATE):
            changes.append(f"La classe {school_class.name} a été créée sur le serveur depuis l'export.")
    return changes


def _responsible_changes(
    export: ExportInfo, wanted_classes: dict[str, WantedClass], facts: JournalFacts, current: ServerState
) -> list[str]:
    """Responsible teachers changed since the export, but where the workbook asked for that teacher."""
    exported = {u.login: u for u in export.users}

    def label(login: str) -> str:
        person = current.user(login) or exported.get(login)
        return f"{_label(person)} ({login})" if person is not None else login

    changes: list[str] = []
    for name, before in sorted(export.class_responsibles, key=lambda pair: class_key(pair[0])):
        school_class = current.class_by_name(name)
        if school_class is None or school_class.responsible_login == before:
            continue
        now = school_class.responsible_login
        asked = wanted_classes.get(class_key(name))
        chosen = asked.responsible if asked is not None else None
        if chosen is not None and chosen in facts.created_users:
            chosen = facts.created_users[chosen].login  # a new teacher an earlier run created
        if chosen is not None and chosen != before and chosen == now:
            continue  # what the workbook asks: done by an earlier run, or by someone else
        changes.append(
            f"L'enseignant responsable de la classe {school_class.name} a changé depuis l'export : "
            f"{label(before)} → {label(now)}."
        )
    return changes
