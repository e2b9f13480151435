"""An in-memory `ports.IntraScolServer`, to put lost answers and races exactly where a test wants.

Not a mock of HTTP: the end-to-end tests drive the sandbox over loopback. This
fake only lets a test decide that *this* POST's answer is lost, or that a file
changes between the listing and its download, deterministically.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reconcile.core.errors import AnswerLost, AuthenticationFailed
from reconcile.core.model import SchoolClass, ServerState, User, UserType
from reconcile.core.ports import BatchOutcome, CreatedUser, Folder, ItemOutcome, Refusal, SharedFile


@dataclass
class StoredFile:
    id: str
    path: str
    data: bytes


@dataclass
class FakeSchool:
    classes: dict[int, str] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    files: dict[int, list[StoredFile]] = field(default_factory=dict)
    lose_answer_of: set[str] = field(default_factory=set)  # method names: applied, then AnswerLost
    after_listing: Callable[[FakeSchool], None] | None = None
    requests: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    url = "memoire://ecole/"

    # --- setup helpers -------------------------------------------------------------
    def add_class(self, class_id: int, name: str) -> None:
        self.classes[class_id] = name
        self.files.setdefault(class_id, [])

    def add_file(self, class_id: int, path: str, data: bytes) -> None:
        self.files[class_id].append(StoredFile(f"f{next(self._ids)}", path, data))

    def _lost(self, method: str) -> None:
        if method in self.lose_answer_of:
            self.lose_answer_of.discard(method)
            raise AnswerLost(self.url + method, "connexion coupée")

    # --- IntraScolServer --------------------------------------------------------------
    @property
    def request_count(self) -> int:
        return self.requests

    def read_state(self) -> ServerState:
        self.requests += 1
        classes = tuple(
            SchoolClass(cid, name, "prof", size=sum(1 for u in self.users.values() if u.class_id == cid))
            for cid, name in self.classes.items()
        )
        return ServerState(classes, tuple(self.users.values()))

    def create_user(self, first_name: str, last_name: str, user_type: UserType) -> CreatedUser:
        self.requests += 1
        login = f"{first_name[0]}{last_name}".lower().replace(" ", "")
        while login in self.users:
            login += "2"
        password = f"mdp{len(self.users)}"
        self.users[login] = User(login, last_name, first_name, user_type, None, password)
        self._lost("create_user")
        return CreatedUser(login, password)

    def assign(self, login: str, class_id: int) -> ItemOutcome:
        self.requests += 1
        user = self.users[login]
        self.users[login] = User(
            user.login, user.last_name, user.first_name, user.type, class_id, user.password
        )
        self._lost("assign")
        return ItemOutcome(login, True, f"L'utilisateur {login} a été affecté.")

    def transfer(self, logins: Sequence[str], class_id: int) -> BatchOutcome:
        raise NotImplementedError

    def delete_users(self, logins: Sequence[str]) -> BatchOutcome:
        self.requests += 1
        items = []
        for login in logins:
            if self.users.pop(login, None) is None:
                items.append(ItemOutcome(login, False, "inconnu", Refusal.UNKNOWN_USER))
            else:
                items.append(ItemOutcome(login, True, f"L'utilisateur {login} a été supprimé."))
        self._lost("delete_users")
        return BatchOutcome(tuple(items))

    def create_class(self, name: str, responsible_login: str) -> ItemOutcome:
        raise NotImplementedError

    def modify_class(self, class_id: int, responsible_login: str) -> ItemOutcome:
        raise NotImplementedError

    def delete_classes(self, class_ids: Sequence[int]) -> BatchOutcome:
        raise NotImplementedError

    def user_session(self, login: str, password: str) -> FakeSession:
        self.requests += 2
        user = self.users.get(login)
        if user is None or user.password != password:
            raise AuthenticationFailed(self.url, login)
        return FakeSession(self, user)


@dataclass
class FakeSession:
    school: FakeSchool
    user: User
    closed: bool = False

    def folders(self) -> Sequence[Folder]:
        self.school.requests += 1
        class_id = self.school.users[self.user.login].class_id
        shown = [Folder("commun", "Commun")]
        if class_id is not None:
            shown.append(Folder(f"d{class_id}", self.school.classes[class_id]))
        return shown

    def files(self, folder_id: str) -> Sequence[SharedFile]:
        self.school.requests += 1
        listing = [SharedFile(f.id, f.path, len(f.data)) for f in self.school.files[int(folder_id[1:])]]
        if self.school.after_listing is not None:
            hook, self.school.after_listing = self.school.after_listing, None
            hook(self.school)
        return listing

    def download(self, file_id: str) -> bytes:
        self.school.requests += 1
        for stored in itertools.chain.from_iterable(self.school.files.values()):
            if stored.id == file_id:
                return stored.data
        raise AssertionError(f"fichier {file_id} absent")

    def delete_files(self, folder_id: str, file_ids: Sequence[str]) -> BatchOutcome:
        self.school.requests += 1
        stored = self.school.files[int(folder_id[1:])]
        gone = [f for f in stored if f.id in file_ids]
        self.school.files[int(folder_id[1:])] = [f for f in stored if f.id not in file_ids]
        self.school._lost("delete_files")
        return BatchOutcome(tuple(ItemOutcome(f.path, True, "supprimé") for f in gone))

    def close(self) -> None:
        self.closed = True
