"""The words the user reads and types: sheets, columns, statuses, and a few sentences.

Each is written here once; the workbook, the plan, the reports and the ONDE fill all
use these names, so that a column renamed here is renamed everywhere.
"""

from __future__ import annotations

import re
from enum import StrEnum

# --- The workbook's sheets and columns -------------------------------------------------

USERS_SHEET = "Utilisateurs"
CLASSES_SHEET = "Classes"
README_SHEET = "Lisez-moi"
LISTS_SHEET = "Listes"
EXPORT_SHEET = "Export (ne pas modifier)"

# Column headers, in the order the template lays them out.
LOGIN = "Identifiant"
LAST_NAME = "Nom"
FIRST_NAME = "Prénom"
TYPE = "Type"
CURRENT_CLASS = "Classe actuelle"
TARGET_CLASS = "Classe cible"
REMARKS = "Remarques"
USERS_HEADERS = (LOGIN, LAST_NAME, FIRST_NAME, TYPE, CURRENT_CLASS, TARGET_CLASS, REMARKS)
USERS_REQUIRED = (LOGIN, LAST_NAME, FIRST_NAME, TYPE, TARGET_CLASS)

CLASS_NAME = "Classe"
RESPONSIBLE = "Enseignant responsable"
STATUS = "Statut"
SIZE = "Effectif actuel"
CLASSES_HEADERS = (CLASS_NAME, RESPONSIBLE, STATUS, SIZE)
CLASSES_REQUIRED = (CLASS_NAME, RESPONSIBLE, STATUS)


# --- What the secretary writes ---------------------------------------------------------

LEAVES_SCHOOL = "Quitte l'école"
"""The `Classe cible` value that deletes an account."""


class ClassStatus(StrEnum):
    KEEP = "Conserver"
    DELETE = "Supprimer"
    CREATE = "Créer"


# --- Safety ----------------------------------------------------------------------------

DEFAULT_MASS_DELETE_THRESHOLD = 0.40
"""Above this share of the pupils deleted, the plan refuses unless --suppression-massive."""


# --- Sentences said in several places ---------------------------------------------------

NOTHING_TO_DO = "Rien à faire : le serveur est déjà dans l'état que demande le classeur."


# --- Command lines suggested to the user ------------------------------------------------

# Typed as is in every shell (sh, bash, zsh, cmd, PowerShell): letters (accented too), digits, ./:_,+=@-
_PLAIN_WORD = re.compile(r"[\w./:,+=@-]+")
# Special inside double quotes somewhere (sh: $ ` " \ !; cmd: % "; PowerShell: $ `).
_NOT_IN_DOUBLE_QUOTES = re.compile(r'[$`"!%]|\\$')


def shell_word(word: str) -> str:
    """`word` as it must be typed in the user's shell: double quotes around spaces and
    parentheses, understood by sh, cmd and PowerShell alike; single quotes (sh) as a last resort."""
    if word and _PLAIN_WORD.fullmatch(word):
        return word
    if not _NOT_IN_DOUBLE_QUOTES.search(word):
        return f'"{word}"'
    return "'" + word.replace("'", "'\"'\"'") + "'"


def suggested_command(*words: str) -> str:
    """A `reconcile` command line to copy and paste, each word quoted for the shell."""
    return " ".join(["reconcile", *(shell_word(word) for word in words)])


# --- What the secretary may write instead ------------------------------------------------

LEAVING_WORDS = (
    "départ", "départs", "part", "parti", "partie", "partant", "partante", "quitte", "sortie",
    "sortant", "sortante", "collège", "6e", "6ème", "sixième", "déménage", "déménagement",
    "radié", "radiée", "radiation", "supprimer", "suppression", "à supprimer",
)  # fmt: skip
"""Words typed in `Classe cible` that mean LEAVES_SCHOOL: the problem suggests it."""
