"""The sandbox's state and the school's rules over it: what the admin pages change.

The pages (`admin.py`, `users.py`) and the tests go through the same `Store`, so that
what a test sets up is exactly what the pages then show, and every rule of the contract
(the refusals and their messages) lives in one place. Reading is in `reading.py`, the
SQLite file in `database.py`, what the store hands out in `records.py`.
"""

from __future__ import annotations

import random
import sqlite3
import string
from collections.abc import Iterable
from pathlib import Path

from reconcile.sandbox.database import connect, give_new_admin_password, initialise_empty
from reconcile.sandbox.reading import StoreReader, class_key
from reconcile.sandbox.records import PUPIL, USER_TYPES, Message, StoredClass, StoredFile, StoredUser
from reconcile.sandbox.text import ascii_slug, clean_name

_PUPIL_PASSWORD_WORDS = (
    "lune", "soleil", "pomme", "chat", "loup", "velo", "nuage", "etoile", "bateau", "sapin",
    "tigre", "zebre", "ballon", "fleur", "livre", "piano", "renard", "tortue", "violon", "castor",
)  # fmt: skip


class Store(StoreReader):
    """The state of one sandbox server, in one SQLite file; safe to use from several threads.

    Test setup and inspection (every name below is a plain method of the store):

    - `add_user(first_name, last_name, user_type="eleve", class_name=None) -> StoredUser`:
      creates an account the way `ajout_utilisateur.php` does (server-made `login` and
      `password` on the result), then puts a pupil in `class_name` if given.
    - `add_class(name, responsible) -> StoredClass`: `responsible` is an adult's login.
    - `add_file(class_name, path, data)` / `add_common_file(path, data) -> StoredFile`:
      a file in a class's work folder (sub-folders in `path` with `/`) or in `Commun`.
    - `files_of(class_name)`, `common_files() -> list[StoredFile]` (by path).
    - `users(user_type=None, *, class_id=None, no_class=False)` (by name), `user(login)`,
      `pupils_of(class_name)`, `adults()`; a `StoredUser` has `login`, `first_name`,
      `last_name`, `type` (`eleve`/`adulte`), `class_id`, `class_name`, `password`.
    - `classes()`, `class_named(name)` (case-insensitive), `class_by_id(id)`.
    - `folders()`, `folders_for(login)`: the folders a user reaches on the users' side
      (a pupil: its class's folder and `Commun`; a teacher: its classes' and `Commun`);
      `file(id)`, `reachable_file(login, id)`.
    - `snapshot()`: a comparable summary of users, classes and files, to assert
      that a refused or failed request changed nothing.
    - `admin_login`, `admin_password`, `school_name`, `path`.

    The operations the admin pages perform (`create_user`, `assign`, `transfer`,
    `delete_users`, `create_class`, `modify_class`, `delete_classes`, `delete_files`)
    return the contract's French messages, one per item, and change nothing for a
    refused item (e.g. `delete_users([login])` in a test). Names are stored as typed
    (numeric character references decoded): a name outside Latin-1 reads back as
    Python text, `Łukasz`.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path | None, *, seed: int) -> None:
        super().__init__(connection, path)
        self._rng = random.Random(f"passwords:{seed}")

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, demo: bool, seed: int) -> Store:
        """The state kept in `path`; a new state is the demo school or an empty school."""
        is_new = not path.exists() or path.stat().st_size == 0
        try:
            connection = connect(path)
        except sqlite3.DatabaseError as error:
            raise ValueError(f"{path} n'est pas un état de bac à sable IntraScol.") from error
        if is_new:
            if demo:
                from reconcile.sandbox.demo import copy_demo_school

                copy_demo_school(connection, seed)
                give_new_admin_password(connection)
            else:
                initialise_empty(connection)
            return cls(connection, path, seed=seed)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError:
            tables = set()
        if not {"settings", "users", "classes", "folders", "files"} <= tables:
            connection.close()
            raise ValueError(f"{path} n'est pas un état de bac à sable IntraScol.")
        return cls(connection, path, seed=seed)

    # -- the admin pages' operations -----------------------------------------------------------

    def create_user(
        self, first_name: str, last_name: str, user_type: str
    ) -> tuple[StoredUser | None, list[Message]]:
        """`ajout_utilisateur.php`: the server makes the login and the password."""
        first_name, last_name = clean_name(first_name), clean_name(last_name)
        problems = []
        if not first_name:
            problems.append(Message.error("Le prénom est vide."))
        if not last_name:
            problems.append(Message.error("Le nom est vide."))
        if user_type not in USER_TYPES:
            problems.append(Message.error("Le type d'utilisateur est inconnu."))
        if problems:
            return None, problems
        with self._transaction() as db:
            login = self._free_login(first_name, last_name)
            password = self._new_password(user_type)
            db.execute(
                "INSERT INTO users (login, first_name, last_name, type, class_id, password) "
                "VALUES (?, ?, ?, ?, NULL, ?)",
                (login, first_name, last_name, user_type, password),
            )
        created = self.user(login)
        assert created is not None
        return created, [Message.success("L'utilisateur a été créé.")]

    def _free_login(self, first_name: str, last_name: str) -> str:
        # The first free one of `prenom.nom`, `prenom.nom2`…: a login freed by a
        # deletion is given again, as the real server does.
        first, last = ascii_slug(first_name)[:20], ascii_slug(last_name)[:20]
        base = f"{first}.{last}" if first and last else (first or last or "utilisateur")
        taken = {
            row[0] for row in self._db.execute("SELECT login FROM users WHERE login LIKE ?", (base + "%",))
        }
        taken.add(self.admin_login)
        if base not in taken:
            return base
        number = 2
        while f"{base}{number}" in taken:
            number += 1
        return f"{base}{number}"

    def _new_password(self, user_type: str) -> str:
        if user_type == PUPIL:
            return f"{self._rng.choice(_PUPIL_PASSWORD_WORDS)}{self._rng.randrange(10, 100)}"
        alphabet = string.ascii_letters + string.digits
        return "".join(self._rng.choice(alphabet) for _ in range(10))

    def assign(self, login: str, class_id: int | None) -> Message:
        """`affecter.php`: puts one pupil in a class."""
        school_class = self.class_by_id(class_id) if class_id is not None else None
        if school_class is None:
            return Message.error("La classe de destination n'existe pas.")
        with self._transaction() as db:
            refusal = self._cannot_be_in_class(login)
            if refusal:
                return refusal
            db.execute("UPDATE users SET class_id = ? WHERE login = ?", (school_class.id, login))
        return Message.success(f"L'utilisateur {login} a été affecté à la classe {school_class.name}.")

    def _cannot_be_in_class(self, login: str) -> Message | None:
        found = self.user(login)
        if found is None:
            return Message.error(f"L'utilisateur {login} n'existe pas.")
        if not found.is_pupil:
            return Message.error(
                f"L'utilisateur {login} est un adulte : seuls les élèves peuvent être dans une classe."
            )
        return None

    def transfer(self, logins: Iterable[str], class_id: int | None) -> list[Message]:
        """`utilisateurs.php`, `action=transferer`: one message per login."""
        school_class = self.class_by_id(class_id) if class_id is not None else None
        if school_class is None:
            return [Message.error("La classe de destination n'existe pas.")]
        messages = []
        with self._transaction() as db:
            for login in logins:
                refusal = self._cannot_be_in_class(login)
                if refusal:
                    messages.append(refusal)
                    continue
                db.execute("UPDATE users SET class_id = ? WHERE login = ?", (school_class.id, login))
                messages.append(
                    Message.success(
                        f"L'utilisateur {login} a été transféré dans la classe {school_class.name}."
                    )
                )
        return messages

    def delete_users(self, logins: Iterable[str]) -> list[Message]:
        """`utilisateurs.php`, `action=supprimer`: one message per login."""
        messages = []
        with self._transaction() as db:
            for login in logins:
                if self.user(login) is None:
                    messages.append(Message.error(f"L'utilisateur {login} n'existe pas."))
                    continue
                responsible_of = db.execute(
                    "SELECT name FROM classes WHERE responsible = ? ORDER BY name", (login,)
                ).fetchone()
                if responsible_of:
                    messages.append(
                        Message.error(
                            f"L'utilisateur {login} est responsable de la classe {responsible_of[0]}."
                        )
                    )
                    continue
                db.execute("DELETE FROM users WHERE login = ?", (login,))
                messages.append(Message.success(f"L'utilisateur {login} a été supprimé."))
        return messages

    def _class_refusal(self, name: str, responsible: str, *, except_id: int | None = None) -> Message | None:
        if not name:
            return Message.error("Le nom de classe est vide.")
        same_name = self.class_named(name)
        if same_name is not None and same_name.id != except_id:
            return Message.error("Une classe porte déjà ce nom.")
        teacher = self.user(responsible)
        if teacher is None or teacher.is_pupil:
            return Message.error("L'enseignant responsable est inconnu.")
        return None

    def create_class(self, name: str, responsible: str) -> Message:
        """`ajout_classe.php`: a class and its (empty) work folder."""
        name = clean_name(name)
        with self._transaction() as db:
            refusal = self._class_refusal(name, responsible)
            if refusal:
                return refusal
            cursor = db.execute(
                "INSERT INTO classes (name, name_key, responsible) VALUES (?, ?, ?)",
                (name, class_key(name), responsible),
            )
            db.execute("INSERT INTO folders (name, class_id) VALUES (NULL, ?)", (cursor.lastrowid,))
        return Message.success(f"La classe {name} a été créée.")

    def modify_class(self, class_id: int | None, name: str | None, responsible: str | None) -> Message:
        """`modifier_classe.php`: a field left out (None) keeps its value."""
        current = self.class_by_id(class_id) if class_id is not None else None
        if current is None:
            return Message.error("Cette classe n'existe pas.")
        new_name = current.name if name is None else clean_name(name)
        new_responsible = current.responsible if responsible is None else responsible
        with self._transaction() as db:
            refusal = self._class_refusal(new_name, new_responsible, except_id=current.id)
            if refusal:
                return refusal
            db.execute(
                "UPDATE classes SET name = ?, name_key = ?, responsible = ? WHERE id = ?",
                (new_name, class_key(new_name), new_responsible, current.id),
            )
        return Message.success(f"La classe {new_name} a été modifiée.")

    def delete_classes(self, class_ids: Iterable[int | None]) -> list[Message]:
        """`classes.php`, `action=supprimer`: refused while the work folder holds a file."""
        messages = []
        with self._transaction() as db:
            for class_id in class_ids:
                school_class = self.class_by_id(class_id) if class_id is not None else None
                if school_class is None:
                    messages.append(Message.error("Cette classe n'existe pas."))
                    continue
                if self.files_in(school_class.folder_id):
                    messages.append(
                        Message.error(
                            f"La classe {school_class.name} ne peut pas être supprimée : "
                            "son dossier de travail n'est pas vide."
                        )
                    )
                    continue
                # Its pupils stay, in no class ("classe : aucune").
                db.execute("UPDATE users SET class_id = NULL WHERE class_id = ?", (school_class.id,))
                db.execute("DELETE FROM folders WHERE id = ?", (school_class.folder_id,))
                db.execute("DELETE FROM classes WHERE id = ?", (school_class.id,))
                messages.append(Message.success(f"La classe {school_class.name} a été supprimée."))
        return messages

    def delete_files(self, login: str, file_ids: Iterable[int | None]) -> list[Message]:
        """`partages.php?dossier=ID`, `action=supprimer`: only files the user reaches."""
        messages = []
        with self._transaction() as db:
            for file_id in file_ids:
                found = self.reachable_file(login, file_id) if file_id is not None else None
                if found is None:
                    messages.append(Message.error("Ce fichier n'existe pas ou ne vous est pas accessible."))
                    continue
                db.execute("DELETE FROM files WHERE id = ?", (found.id,))
                messages.append(Message.success(f"Le fichier {found.path} a été supprimé."))
        return messages

    # -- test setup helpers --------------------------------------------------------------------

    def add_user(
        self, first_name: str, last_name: str, user_type: str = PUPIL, class_name: str | None = None
    ) -> StoredUser:
        """Creates an account as the admin page would; raises ValueError when refused."""
        created, messages = self.create_user(first_name, last_name, user_type)
        if created is None:
            raise ValueError(" ".join(m.text for m in messages))
        if class_name is not None:
            message = self.assign(created.login, self._class_or_fail(class_name).id)
            if message.kind != "succes":
                raise ValueError(message.text)
            created = self.user(created.login)
            assert created is not None
        return created

    def add_class(self, name: str, responsible: str) -> StoredClass:
        """Creates a class led by the adult `responsible` (a login); raises ValueError when refused."""
        message = self.create_class(name, responsible)
        if message.kind != "succes":
            raise ValueError(message.text)
        return self._class_or_fail(name)

    def add_file(self, class_name: str, path: str, data: bytes) -> StoredFile:
        """Puts a file in a class's work folder (`path` may hold sub-folders: `Photos/a.jpg`)."""
        return self._add_file(self._class_or_fail(class_name).folder_id, path, data)

    def add_common_file(self, path: str, data: bytes) -> StoredFile:
        """Puts a file in the school-wide `Commun` folder."""
        return self._add_file(self._common_folder_id(), path, data)

    def _add_file(self, folder_id: int, path: str, data: bytes) -> StoredFile:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO files (folder_id, path, data) VALUES (?, ?, ?)",
                (folder_id, path.strip("/"), data),
            )
        found = self.file(int(cursor.lastrowid or 0))
        assert found is not None
        return found


def memory_store(seed: int) -> Store:
    """An empty school in memory (used to build the demo school once per process)."""
    connection = connect(":memory:")
    initialise_empty(connection)
    return Store(connection, None, seed=seed)
