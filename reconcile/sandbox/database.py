"""The sandbox's SQLite file: its schema, and a new school with only its administrator."""

from __future__ import annotations

import secrets
import sqlite3
import string
from pathlib import Path

from reconcile.sandbox.records import COMMON_FOLDER

SCHEMA = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    responsible TEXT NOT NULL
);
CREATE TABLE users (
    login TEXT PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('eleve', 'adulte')),
    class_id INTEGER,
    password TEXT NOT NULL
);
CREATE INDEX users_by_class ON users (class_id);
CREATE TABLE folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    class_id INTEGER UNIQUE
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (folder_id, path)
);
-- Folder and file ids live in other ranges than class ids, as on a real server
-- where they come from other tables: a client must never mix them up.
INSERT INTO sqlite_sequence (name, seq) VALUES ('folders', 100), ('files', 1000);
"""


def connect(path: Path | str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    # A sandbox is a test double: durability across a power cut does not matter.
    connection.execute("PRAGMA synchronous = OFF")
    return connection


def new_admin_password() -> str:
    """A random password for a new state's administrator: never the same twice, nor guessable
    from the seed (a sandbox reachable by others must not open with a known password)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def give_new_admin_password(connection: sqlite3.Connection) -> None:
    """A fresh state's administrator gets its own password (the demo school is copied from a template)."""
    with connection:
        connection.execute(
            "UPDATE settings SET value = ? WHERE key = 'admin_password'", (new_admin_password(),)
        )


def initialise_empty(connection: sqlite3.Connection, school: str | None = None) -> None:
    """The schema, the administrator account, the `Commun` folder; no user, no class."""
    with connection:
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)",
            [
                ("admin_login", "admin"),
                ("admin_password", new_admin_password()),
                ("school", school or "École élémentaire Jules Ferry"),
            ],
        )
        connection.execute("INSERT INTO folders (name, class_id) VALUES (?, NULL)", (COMMON_FOLDER,))
