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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from reconcile.core.errors import DriftAmbiguous
from reconcile.core.journal_facts import EarlierAccount, EarlierWork, JournalFacts
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


def _label(user: User | ExportedUser | WantedUser | EarlierAccount) -> str:
    return f"{user.first_name} {user.last_name.upper()}"


Person = User | ExportedUser | WantedUser | EarlierAccount


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
    ambiguous: list[str] = []
    skipped: list[str] = []
    adoptions: list[Adoption] = []
    gone: set[str] = set()
    key_to_login: dict[str, str] = {}
    journal_logins = {a.login for a in facts.created_users.values()}
    journal_logins |= {a.login for a in facts.provisional_pupils.values()}
    exported = {u.login: u for u in wanted.export.users} if wanted.export else {}

    # Logins of rows naming an account deleted by an application: any account with that login
    # now is a newer one, free to be taken over by a new row.
    deleted_rows = {
        u.login
        for u in wanted.users
        if u.login
        and (
            u.login in facts.deleted_logins
            or (earlier is not None and _deleted_before_export(earlier.deleted.get(u.login), wanted))
        )
    }
    claimed = {u.login for u in wanted.users if u.login and u.login not in deleted_rows}
    claimed |= {a.login for a in facts.created_users.values()}
    users: list[WantedUser] = []
    for row in wanted.users:
        if row.is_new:
            resolved = _resolve_new_row(row, facts, current, adoptions, ambiguous)
            if resolved is None and row.key not in facts.pending_users:
                accounts = earlier.accounts if earlier else ()
                resolved = _take_over_earlier(row, accounts, current, claimed, adoptions, skipped)
            if resolved is not None:
                key_to_login[row.key] = resolved.key
                users.append(resolved)
            else:
                users.append(row)
            continue
        login = row.login or row.key
        if login in facts.deleted_logins:
            # We deleted this account: any account with that login now is someone else's.
            continue
        if earlier is not None and _deleted_before_export(earlier.deleted.get(login), wanted):
            gone.add(login)  # journaled: later runs (and the verification) drop the row too
            skipped.append(
                f"Le compte {login} ({_label(row)}) a été supprimé par une application précédente : "
                "le compte qui porte aujourd'hui cet identifiant n'est pas touché."
            )
            continue
        on_server = current.user(login)
        reference: User | ExportedUser | WantedUser = exported.get(login, row)
        if on_server is None:
            if row.target is Target.LEAVES:
                gone.add(login)
            elif row.target is Target.CLASS:
                skipped.append(
                    f"{_label(reference)} ({login}) devait aller en {row.target_class}, "
                    "mais n'existe plus sur le serveur : ignoré."
                )
            continue
        if not _same_person(on_server, reference):
            message = (
                f"L'identifiant {login} désignait {_label(reference)} à l'export ; il désigne "
                f"maintenant {_label(on_server)} (un identifiant libéré est redonné au compte suivant)."
            )
            if row.target is Target.UNCHANGED:
                skipped.append(message + " Ce compte n'est pas touché.")
            elif login in journal_logins:
                # Our own new account took the login of an account deleted outside the journal.
                skipped.append(message + " Ce compte, créé par reconcile, n'est pas touché.")
            else:
                ambiguous.append(message + f" Le classeur demande « {_target_words(row)} » pour lui.")
            continue
        users.append(row)

    if ambiguous:
        raise DriftAmbiguous(ambiguous)

    ours = {class_key(n) for n in facts.created_classes | facts.pending_classes}
    theirs = {class_key(n) for n in (earlier.class_names if earlier else ())} - ours
    classes = [_resolve_class(c, ours | theirs, current, key_to_login) for c in wanted.classes]
    taken = frozenset(
        c.name
        for c in wanted.classes
        if c.status is ClassStatus.CREATE and class_key(c.name) in theirs and current.class_by_name(c.name)
    )
    resolved_wanted = WantedState(
        users=tuple(users),
        classes=tuple(c for c in classes if c is not None),
        export=wanted.export,
    )
    return Resolution(
        wanted=resolved_wanted,
        adoptions=tuple(adoptions),
        gone=frozenset(gone),
        taken_classes=taken,
        changes=tuple(drift_changes(wanted, facts, current)),
        skipped=tuple(skipped),
    )


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


def _resolve_new_row(
    row: WantedUser,
    facts: JournalFacts,
    current: ServerState,
    adoptions: list[Adoption],
    ambiguous: list[str],
) -> WantedUser | None:
    """The existing account a new row became, if the journal says it was made."""
    account = facts.created_users.get(row.key)
    if account is not None:
        on_server = current.user(account.login)
        if on_server is None or not _same_person(on_server, row):
            ambiguous.append(
                f"{_label(row)} ({row.location or row.key}) a été créé(e) par une application précédente "
                f"avec l'identifiant {account.login}, qui n'existe plus sur le serveur ou désigne "
                "quelqu'un d'autre."
            )
            return None
        return _as_existing(row, account.login)
    pending = facts.pending_users.get(row.key)
    if pending is None:
        return None
    candidates = [
        u
        for u in current.users
        if u.type is pending.type
        and person_key(u.last_name, u.first_name) == person_key(pending.last_name, pending.first_name)
        and u.login not in pending.logins_before
    ]
    if len(candidates) > 1:
        logins = ", ".join(sorted(u.login for u in candidates))
        ambiguous.append(
            f"La création de {_label(row)} a été interrompue, et plusieurs comptes à ce nom sont "
            f"apparus depuis ({logins}) : impossible de savoir lequel est le sien."
        )
        return None
    if not candidates:
        return None  # the interrupted POST did not create it: it is still to create
    adopted = candidates[0]
    adoptions.append(Adoption(row.key, adopted.login, adopted.password))
    return _as_existing(row, adopted.login)


def _take_over_earlier(
    row: WantedUser,
    earlier: Sequence[EarlierAccount],
    current: ServerState,
    claimed: set[str],
    adoptions: list[Adoption],
    skipped: list[str],
) -> WantedUser | None:
    """The account an earlier application made for this person, if it is still there."""
    for account in earlier:
        on_server = current.user(account.login)
        if (
            account.login in claimed
            or account.type is not row.type
            or not _same_person(account, row)
            or on_server is None
            or not _same_person(on_server, row)
        ):
            continue
        claimed.add(account.login)
        adoptions.append(Adoption(row.key, account.login, account.password))
        skipped.append(
            f"{_label(row)} a déjà été créé(e) par une application précédente (identifiant "
            f"{account.login}) : ce compte est repris, pas recréé."
        )
        return _as_existing(row, account.login)
    return None


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


def drift_changes(wanted: WantedState, facts: JournalFacts, current: ServerState) -> list[str]:
    """What changed on the server since the export that the workbook itself does not explain."""
    export = wanted.export
    if export is None or export.fingerprint == current.fingerprint():
        return []
    rows = {u.login: u for u in wanted.users if u.login}
    ours = {a.login for a in facts.created_users.values()} | {
        a.login for a in facts.provisional_pupils.values()
    }
    exported = {u.login: u for u in export.users}
    changes: list[str] = []
    for login, before in sorted(exported.items()):
        row = rows.get(login)
        now = current.user(login)
        leaving = row is not None and row.target is Target.LEAVES
        if now is None:
            if not leaving:
                changes.append(f"{_label(before)} ({login}) a été supprimé(e) du serveur depuis l'export.")
            continue
        if not _same_person(now, before):
            if login not in ours and not leaving:
                changes.append(
                    f"L'identifiant {login} désigne maintenant {_label(now)} (à l'export : {_label(before)})."
                )
            continue
        class_now = current.class_name_of(now)
        target = row.target_class if row is not None and row.target is Target.CLASS else None
        if class_key(class_now or "") != class_key(before.class_name or "") and (
            target is None or class_key(target) != class_key(class_now or "")
        ):
            changes.append(
                f"{_label(now)} ({login}) a changé de classe depuis l'export : "
                f"{before.class_name or 'aucune'} → {class_now or 'aucune'}."
            )
    added = [u for u in current.users if u.login not in exported and u.login not in ours]
    changes.extend(
        f"{_label(u)} ({u.login}) a été ajouté(e) au serveur depuis l'export ; il/elle ne sera pas touché(e)."
        for u in sorted(added, key=lambda u: u.login)
    )
    exported_classes = {class_key(n): n for n in export.class_names}
    wanted_classes = {class_key(c.name): c for c in wanted.classes}
    for key, name in sorted(exported_classes.items()):
        asked = wanted_classes.get(key)
        if current.class_by_name(name) is None and (asked is None or asked.status is not ClassStatus.DELETE):
            changes.append(f"La classe {name} a été supprimée du serveur depuis l'export.")
    for school_class in current.classes:
        key = class_key(school_class.name)
        asked = wanted_classes.get(key)
        if key not in exported_classes and (asked is None or asked.status is not ClassStatus.CREATE):
            changes.append(f"La classe {school_class.name} a été créée sur le serveur depuis l'export.")
    changes.extend(_responsible_changes(export, wanted_classes, facts, current))
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
