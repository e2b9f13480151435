"""How each kind of operation is sent and recognised on the server, and the picture of it kept meanwhile.

The attempt loops of `reconcile.app.attempts` follow these descriptions: a `SingleSend`
for a creation, a new responsible teacher or an assignment (one POST each), a
`BatchSend` for transfers and deletions (one POST for many subjects). Each says how to
send its POST, what the answer means, and how to recognise the operation on the server
re-read after a doubt. `ServerPicture` is the state the plan was made from, kept up to
date from the answers, so that the server is re-read only on doubt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from reconcile.app.attempts import (
    BatchRequest,
    BatchSend,
    ItemVerdict,
    Landed,
    Refused,
    Request,
    Seen,
    SingleSend,
    StepFailed,
    Unrecognisable,
)
from reconcile.core.errors import ServerRefused
from reconcile.core.journal_facts import Event
from reconcile.core.model import (
    SchoolClass,
    ServerState,
    User,
    UserType,
    class_key,
    display_name,
    is_new_person,
    person_key,
)
from reconcile.core.operations import (
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    TransferPupils,
)
from reconcile.core.outcome import NewAccount, Outcome
from reconcile.core.ports import BatchOutcome, ClassLister, CreatedUser, IntraScolServer, ItemOutcome, Refusal


class ServerPicture:
    """The executor's picture of the server.

    It starts from the state the plan was made from and is updated from the server's
    success messages, so that the server is re-read only on doubt.
    """

    def __init__(
        self, server: IntraScolServer, state: ServerState, names: Mapping[str, str], keys: dict[str, str]
    ) -> None:
        self.server = server
        self.names = names  # the plan's display names of workbook keys
        self.keys = keys  # workbook key of a new row -> login of the account made for it
        self.load(state)

    def load(self, state: ServerState) -> None:
        self.users: dict[str, User] = {u.login: u for u in state.users}
        self.classes: dict[str, SchoolClass] = {class_key(c.name): c for c in state.classes}
        self.classes_stale = False  # a class was created: its id is known only from the server's list
        # Logins by (names, type): who a new account could be mistaken for after a lost answer.
        self._people: dict[tuple[tuple[str, str], UserType], set[str]] = {}
        for user in state.users:
            self._people.setdefault((person_key(user.last_name, user.first_name), user.type), set()).add(
                user.login
            )

    def reread(self) -> ServerState:
        state = self.server.read_state()
        self.load(state)
        return state

    def login_of(self, key: str) -> str:
        login = self.keys.get(key, key)
        if is_new_person(login):
            raise StepFailed(f"le compte de la ligne {key.split(':', 1)[1]} n'a pas été créé")
        return login

    def class_id(self, name: str) -> int:
        found = self.classes.get(class_key(name))
        if found is None and self.classes_stale:
            # A class created in this run: its id is only known from the server's list.
            if isinstance(self.server, ClassLister):
                self.classes = {class_key(c.name): c for c in self.server.read_classes()}
                self.classes_stale = False
            else:
                self.reread()
            found = self.classes.get(class_key(name))
        if found is None:
            raise StepFailed(f"la classe {name} n'existe pas sur le serveur")
        return found.id

    def name_of(self, key: str) -> str:
        return self.names.get(key) or key

    def homonyms(self, names: tuple[str, str], user_type: UserType) -> list[str]:
        """The logins of the accounts of these names and type, as far as the picture knows."""
        return sorted(login for login in self._people.get((names, user_type), ()) if login in self.users)

    def account_made(self, key: str, user: User) -> None:
        self.keys[key] = user.login
        self.users[user.login] = user
        self._people.setdefault((person_key(user.last_name, user.first_name), user.type), set()).add(
            user.login
        )

    def moved(self, logins: Sequence[str], class_id: int) -> None:
        for login in logins:
            user = self.users.get(login)
            if user is not None:
                self.users[login] = User(
                    user.login, user.last_name, user.first_name, user.type, class_id, user.password
                )


# --- The operations sent as one POST ---------------------------------------------------------


class CreateUserSend(SingleSend[CreatedUser | Refused]):
    """Recognised after a doubt by a new account of the same names and type (adopted)."""

    op: CreateUser

    def __init__(self, op: CreateUser, picture: ServerPicture, outcome: Outcome) -> None:
        if op.user in picture.keys:
            raise StepFailed(f"{op.user} a déjà été créé ({picture.keys[op.user]}) : rien n'est recréé")
        self.op, self.picture, self.outcome = op, picture, outcome
        self.names = person_key(op.last_name, op.first_name)
        self.label = display_name(op.first_name, op.last_name)
        self.unseen = {"user": op.user, "reason": "non créé"}
        self.before: list[str] = []  # the homonyms there before this attempt: never adopted

    def request(self) -> Request[CreatedUser | Refused]:
        op = self.op
        self.before = self.picture.homonyms(self.names, op.type)
        data = {
            "user": op.user,
            "last_name": op.last_name,
            "first_name": op.first_name,
            "type": op.type.value,
            "logins_before": self.before,
        }
        return Request(self._create, data)

    def _create(self) -> CreatedUser | Refused:
        try:
            return self.picture.server.create_user(self.op.first_name, self.op.last_name, self.op.type)
        except ServerRefused as refused:
            # A creation answers the new login and password; its refusal comes as an error.
            message = f"{self.label} : refusé ({refused.server_message})"
            return Refused({"user": self.op.user, "reason": refused.server_message}, message)

    def answered(self, answer: CreatedUser | Refused) -> Landed | Refused:
        if isinstance(answer, Refused):
            return answer
        return self._made(answer.login, answer.password, adopted=False)

    def recognise(self, state: ServerState) -> Landed | None:
        op = self.op
        candidates = [
            u
            for u in state.users
            if u.type is op.type
            and person_key(u.last_name, u.first_name) == self.names
            and u.login not in self.before
        ]
        if len(candidates) > 1:
            raise Unrecognisable(
                {"user": op.user, "reason": "plusieurs candidats"},
                f"après une réponse perdue, plusieurs comptes {self.label} sont apparus "
                f"({', '.join(u.login for u in candidates)})",
            )
        if not candidates:
            return None
        return self._made(candidates[0].login, candidates[0].password, adopted=True)

    def _made(self, login: str, password: str | None, *, adopted: bool) -> Landed:
        op = self.op

        def note() -> None:
            self.picture.account_made(
                op.user, User(login, op.last_name, op.first_name, op.type, None, password)
            )
            self.outcome.new_accounts.append(
                NewAccount(op.user, login, password, op.last_name, op.first_name, op.type, adopted)
            )

        how = " (retrouvé après une réponse perdue)" if adopted else ""
        data = {"user": op.user, "login": login, "password": password, "adopted": adopted}
        return Landed(Event.CREATED, data, f"{self.label} : compte {login} créé{how}", note)

    def given_up(self, attempts: int) -> str:
        return f"{self.label} : non créé après {attempts} essais"


class CreateClassSend(SingleSend[ItemOutcome]):
    """Recognised after a doubt by a class of that name."""

    op: CreateClass

    def __init__(self, op: CreateClass, picture: ServerPicture) -> None:
        self.op, self.picture = op, picture
        self.responsible = picture.login_of(op.responsible)

    def request(self) -> Request[ItemOutcome]:
        send = partial(self.picture.server.create_class, self.op.name, self.responsible)
        return Request(send, {"name": self.op.name, "responsible": self.responsible})

    def answered(self, answer: ItemOutcome) -> Landed | Refused:
        if not answer.ok:
            message = f"Classe {self.op.name} : {answer.message}"
            return Refused({"name": self.op.name, "reason": answer.message}, message, (answer,))
        return replace(self._created(), then=self._stale)

    def _stale(self) -> None:
        self.picture.classes_stale = True

    def recognise(self, state: ServerState) -> Landed | None:
        return self._created() if state.class_by_name(self.op.name) is not None else None

    def _created(self) -> Landed:
        return Landed(Event.DONE, {"name": self.op.name}, f"Classe {self.op.name} créée")

    def given_up(self, attempts: int) -> str:
        return f"Classe {self.op.name} : non créée après {attempts} essais"


class ChangeResponsibleSend(SingleSend[ItemOutcome]):
    """Recognised after a doubt by the class's responsible teacher."""

    op: ChangeResponsible

    def __init__(self, op: ChangeResponsible, picture: ServerPicture) -> None:
        self.op, self.picture = op, picture
        self.responsible = picture.login_of(op.responsible)

    def request(self) -> Request[ItemOutcome]:
        class_id = self.picture.class_id(self.op.class_name)
        send = partial(self.picture.server.modify_class, class_id, self.responsible)
        return Request(send, {"class_name": self.op.class_name, "responsible": self.responsible})

    def answered(self, answer: ItemOutcome) -> Landed | Refused:
        if not answer.ok:
            message = f"Classe {self.op.class_name} : {answer.message}"
            return Refused({"reason": answer.message}, message, (answer,))
        return self._changed()

    def recognise(self, state: ServerState) -> Landed | None:
        now = state.class_by_name(self.op.class_name)
        return self._changed() if now is not None and now.responsible_login == self.responsible else None

    def _changed(self) -> Landed:
        op = self.op
        message = f"Classe {op.class_name} : responsable {self.picture.name_of(op.responsible)}"
        return Landed(Event.DONE, {"class_name": op.class_name, "responsible": self.responsible}, message)

    def given_up(self, attempts: int) -> str:
        return f"Classe {self.op.class_name} : responsable non changé"


class AssignSend(SingleSend[ItemOutcome]):
    """Recognised after a doubt by the pupil's class."""

    op: AssignPupil

    def __init__(self, op: AssignPupil, picture: ServerPicture) -> None:
        self.op, self.picture = op, picture
        self.login = picture.login_of(op.user)
        self.label = picture.name_of(op.user)
        self.class_id = 0  # this attempt's

    def request(self) -> Request[ItemOutcome]:
        self.class_id = self.picture.class_id(self.op.class_name)
        send = partial(self.picture.server.assign, self.login, self.class_id)
        return Request(send, {"login": self.login, "class_name": self.op.class_name})

    def answered(self, answer: ItemOutcome) -> Landed | Refused:
        if not answer.ok:
            message = f"{self.label} : {answer.message}"
            return Refused({"login": self.login, "reason": answer.message}, message, (answer,))
        return replace(self._assigned(), then=partial(self.picture.moved, [self.login], self.class_id))

    def recognise(self, state: ServerState) -> Landed | None:
        now = state.user(self.login)
        return self._assigned() if now is not None and now.class_id == self.class_id else None

    def _assigned(self) -> Landed:
        op = self.op
        message = f"{self.label} ({self.login}) mis(e) en {op.class_name}"
        return Landed(Event.DONE, {"login": self.login, "class_name": op.class_name}, message)

    def given_up(self, attempts: int) -> str:
        return f"{self.label} : non affecté(e) à {self.op.class_name}"


# --- The operations sent as one POST for many subjects -------------------------------------


class TransferSend(BatchSend):
    """Pupils into one class; a pupil missing from the server is ignored, said so."""

    op: TransferPupils

    def __init__(self, op: TransferPupils, picture: ServerPicture) -> None:
        self.op, self.picture = op, picture
        self.class_id = 0  # this attempt's

    def request(self, subjects: Sequence[str]) -> BatchRequest:
        self.class_id = self.picture.class_id(self.op.class_name)
        batch = list(subjects)
        send = partial(self.picture.server.transfer, batch, self.class_id)
        return BatchRequest(send, {"class_name": self.op.class_name, "logins": batch}, batch)

    def refused(self, item: ItemOutcome) -> ItemVerdict:
        return ItemVerdict.GONE if item.refusal is Refusal.UNKNOWN_USER else ItemVerdict.REFUSED

    def stopped(self, answer: BatchOutcome) -> tuple[ItemOutcome, ...]:
        # The server says the class itself is missing: nothing was moved.
        return tuple(i for i in answer.items if i.refusal is Refusal.UNKNOWN_DESTINATION)

    def learn(self, done: Sequence[str]) -> None:
        self.picture.moved(done, self.class_id)

    def recognise(self, state: ServerState, subject: str) -> Seen:
        user = state.user(subject)
        if user is None:
            return Seen.GONE
        return Seen.DONE if user.class_id == self.class_id else Seen.LEFT

    def done_data(self, done: list[str]) -> Mapping[str, object]:
        return {"class_name": self.op.class_name, "moved": done}


class DeleteUsersSend(BatchSend):
    """Accounts deleted; one already gone is what a deletion wants."""

    op: DeleteUsers

    def __init__(self, op: DeleteUsers, picture: ServerPicture) -> None:
        self.op, self.picture = op, picture
        self.names = {
            login: (user.last_name, user.first_name)
            for login in op.logins
            if (user := picture.users.get(login)) is not None
        }

    def request(self, subjects: Sequence[str]) -> BatchRequest:
        batch = list(subjects)
        return BatchRequest(partial(self.picture.server.delete_users, batch), {"logins": batch}, batch)

    def refused(self, item: ItemOutcome) -> ItemVerdict:
        # An unknown login is one already gone: what a deletion wants.
        return ItemVerdict.DONE if item.refusal is Refusal.UNKNOWN_USER else ItemVerdict.REFUSED

    def learn(self, done: Sequence[str]) -> None:
        for login in done:
            self.picture.users.pop(login, None)

    def recognise(self, state: ServerState, subject: str) -> Seen:
        return Seen.LEFT if _still_there(state, subject, self.names.get(subject)) else Seen.DONE

    def done_data(self, done: list[str]) -> Mapping[str, object]:
        return {"deleted": done}


class DeleteClassesSend(BatchSend):
    """Classes deleted; one whose work folder holds files is set aside for the folder workaround."""

    op: DeleteClasses

    def __init__(self, op: DeleteClasses, picture: ServerPicture) -> None:
        self.op, self.picture = op, picture

    def request(self, subjects: Sequence[str]) -> BatchRequest:
        # `class_id` may re-read the server (a class created in this run): the picture after it.
        ids = {self.picture.class_id(n): self.picture.classes[class_key(n)].name for n in subjects}
        names = list(ids.values())
        return BatchRequest(
            partial(self.picture.server.delete_classes, list(ids)), {"class_names": names}, names
        )

    def refused(self, item: ItemOutcome) -> ItemVerdict:
        return ItemVerdict.SET_ASIDE if item.refusal is Refusal.FOLDER_NOT_EMPTY else ItemVerdict.REFUSED

    def learn(self, done: Sequence[str]) -> None:
        for name in done:
            self.picture.classes.pop(class_key(name), None)

    def recognise(self, state: ServerState, subject: str) -> Seen:
        return Seen.DONE if state.class_by_name(subject) is None else Seen.LEFT

    def done_data(self, done: list[str]) -> Mapping[str, object]:
        return {"class_names": done}


def _still_there(state: ServerState, login: str, names: tuple[str, str] | None) -> bool:
    """Whether the account `login` (with those names) is still on the server.

    A login given again to a new account after a deletion is not the one deleted.
    """
    user = state.user(login)
    if user is None:
        return False
    return names is None or person_key(*names) == person_key(user.last_name, user.first_name)
