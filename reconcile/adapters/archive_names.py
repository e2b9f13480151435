"""Entry names of a folder archive that Windows can extract, and the list of the names changed.

A class folder on IntraScol (a Linux server) may hold names Windows refuses: `CON`,
`aux.txt`, `COM1.doc` (reserved device names, whatever the case or extension),
`a:b` or `devoir?.odt` (forbidden characters and control characters), `notes.` or
`photo ` (a dot or a space at the end), or two names that differ only by case
(`Rapport.txt` and `rapport.txt`: one would overwrite the other). Such entries are
renamed, the same way on every run (paths taken in sorted order), and the archive holds
`noms-d-origine.txt` listing each new name with the name on the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

ORIGINAL_NAMES_FILE = "noms-d-origine.txt"
"""At the zip's root, next to the class's folder: only in an archive where a name was changed."""

_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{suffix}" for device in ("COM", "LPT") for suffix in (*"123456789", "¹", "²", "³")}
)
_FORBIDDEN = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_TRAILING = re.compile(r"[. ]+$")


def safe_component(name: str) -> str:
    """One path component Windows accepts (case clashes aside)."""
    cleaned = _FORBIDDEN.sub("_", name)
    cleaned = _TRAILING.sub(lambda match: "_" * len(match.group()), cleaned)
    stem = cleaned.split(".", 1)[0].rstrip(" ")
    if stem.upper() in _RESERVED:
        cleaned = "_" + cleaned
    return cleaned or "_"


def safe_entry_names(paths: Iterable[str]) -> dict[str, str]:
    """Each path (components separated by `/` or `\\`) mapped to a name Windows can extract.

    Deterministic: folders first, then files, each in sorted order; a name whose safe
    form clashes (ignoring case) with one already given in the same folder gets ` (2)`,
    ` (3)`… before its extension.
    """
    split = {path: re.split(r"[/\\]", path) for path in set(paths)}
    folders = sorted({tuple(parts[:end]) for parts in split.values() for end in range(1, len(parts))})
    taken: set[str] = set()
    safe_folders: dict[tuple[str, ...], str] = {(): ""}
    for folder in folders:
        safe_folders[folder] = _free_name(safe_folders[folder[:-1]], folder[-1], taken)
    names: dict[str, str] = {}
    for path in sorted(split):
        parts = split[path]
        names[path] = _free_name(safe_folders[tuple(parts[:-1])], parts[-1], taken)
    return names


def _free_name(parent: str, name: str, taken: set[str]) -> str:
    """`parent/name` made safe, numbered until no name taken so far matches it (ignoring case)."""
    prefix = f"{parent}/" if parent else ""
    safe = safe_component(name)
    candidate, number = prefix + safe, 2
    while candidate.casefold() in taken:
        candidate, number = prefix + _numbered(safe, number), number + 1
    taken.add(candidate.casefold())
    return candidate


def original_names_text(renamed: Mapping[str, str]) -> str:
    """The text of `noms-d-origine.txt` (Windows line ends) for {name in the zip: name on the server}."""
    lines = [
        "Noms d'origine des fichiers renommés dans cette archive",
        "",
        "Windows refuse certains noms de fichiers (CON, PRN, AUX, NUL, COM1 à COM9, LPT1 à LPT9,",
        'les caractères < > : " | ? * et les caractères de contrôle, un point ou une espace à la fin,',
        "deux noms qui ne diffèrent que par les majuscules) : ces fichiers ont été renommés.",
        "Chaque ligne donne le nom dans l'archive, une tabulation, puis le nom sur le serveur",
        "(un caractère de contrôle y est écrit \\xNN).",
        "",
    ]
    lines.extend(f"{new}\t{_visible(old)}" for new, old in sorted(renamed.items()))
    return "\r\n".join(lines) + "\r\n"


def _numbered(name: str, number: int) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({number})"
    return f"{stem} ({number}).{extension}"


def _visible(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", lambda match: f"\\x{ord(match.group()):02x}", text)
