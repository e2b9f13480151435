"""A capture of `reconcile diagnostic --capture` turned into parser fixtures.

    python -m tests.capture_to_fixtures diagnostic.zip ecole-0-1-5

writes `tests/data/html/captures/ecole-0-1-5/`: every page of the capture that a reader of
`reconcile/adapters/intrascol/pages.py` reads, as the server sent it (anonymised), and
`manifest.json`, naming for each file the page it is and the reader that must read it.
`tests/test_captured_pages.py` runs every reader on every captured server: a server whose
pages differ fails there until the reader learns them, and stays covered afterwards.
See docs/intrascol.md, « The capture, and how a capture becomes a test ».
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path, PurePosixPath

from reconcile.adapters.intrascol.pages import Page, decode

CAPTURES = Path(__file__).parent / "data" / "html" / "captures"
BASE = "http://ecole.example/intrascol/"

# The reader of `pages.Page` for each page of the contract (by its path).
_READERS = {
    "admin/login.php": "is_login_form",
    "login.php": "is_login_form",
    "admin/index.php": "server_info",
    "admin/classes.php": "classes",
    "admin/utilisateurs.php": "users_page",
    "partages.php": "folders",
}


def reader_for(page: str) -> str | None:
    path, _, query = page.partition("?")
    if path == "partages.php" and "dossier=" in query:
        return "files"
    return _READERS.get(path)


def convert(capture: Path, name: str, into: Path = CAPTURES) -> Path:
    """Write the fixtures of `capture` into `into/name/`; returns that folder."""
    folder = into / name
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    with zipfile.ZipFile(capture) as archive:
        for entry in json.loads(archive.read("pages.json")):
            reader = reader_for(entry["page"])
            if reader is None or entry["statut"] != 200 or _enough(manifest, reader):
                continue
            file_name = PurePosixPath(entry["fichier"]).name
            (folder / file_name).write_bytes(archive.read(entry["fichier"]))
            manifest.append(
                {
                    "file": file_name,
                    "page": entry["page"],
                    "reader": reader,
                    "content_type": entry["content_type"],
                }
            )
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return folder


def _enough(manifest: list[dict[str, str]], reader: str) -> bool:
    """Two pages of a kind are enough (the users' list: one with a next page, one after it)."""
    return sum(1 for entry in manifest if entry["reader"] == reader) >= (2 if reader == "users_page" else 3)


def read_fixture(folder: Path, entry: dict[str, str]) -> object:
    """What the entry's reader reads from its page (a login page: whether it is one)."""
    text = decode((folder / entry["file"]).read_bytes(), entry["content_type"])
    page = Page(BASE + entry["page"], text)
    return getattr(page, entry["reader"])()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("Usage : python -m tests.capture_to_fixtures CAPTURE.zip NOM")
    print(convert(Path(sys.argv[1]), sys.argv[2]))
