"""Every captured server's pages, read by the readers of `pages.py`.

Each folder of `tests/data/html/captures/` is a capture of `reconcile diagnostic --capture`
turned into fixtures by `python -m tests.capture_to_fixtures` (see docs/intrascol.md): a
new server variant is supported when its folder passes here, by a change in `pages.py` only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.capture_to_fixtures import CAPTURES, read_fixture

ENTRIES = [
    pytest.param(folder, entry, id=f"{folder.name}/{entry['file']}")
    for folder in sorted(p.parent for p in CAPTURES.glob("*/manifest.json"))
    for entry in json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
]


def test_there_is_a_captured_server() -> None:
    assert ENTRIES


@pytest.mark.parametrize(("folder", "entry"), ENTRIES)
def test_each_captured_page_is_read(folder: Path, entry: dict[str, str]) -> None:
    read = read_fixture(folder, entry)  # PageNotRecognised names what the reader missed
    if entry["reader"] == "is_login_form":
        assert read is True
