"""Files holding passwords are readable by their owner only, from their first byte."""

from __future__ import annotations

import os
import stat

import pytest

from reconcile.adapters.files import (
    create_private_binary,
    open_private_append,
    replace_atomically,
    write_private_bytes,
    write_private_text,
)
from tests.conftest import is_private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.posix_only
def test_new_file_is_0600_even_with_a_permissive_umask(tmp_path):
    previous = os.umask(0)
    try:
        path = write_private_text(tmp_path / "sous-dossier" / "listes.html", "motdepasse")
    finally:
        os.umask(previous)
    assert mode(path) == 0o600
    assert path.read_text(encoding="utf-8") == "motdepasse"


@pytest.mark.posix_only
def test_replacing_a_readable_file_leaves_a_0600_file_and_no_temporary(tmp_path):
    path = tmp_path / "rapport.html"
    path.write_text("ancien")
    path.chmod(0o644)
    write_private_bytes(path, b"nouveau")
    assert mode(path) == 0o600
    assert path.read_bytes() == b"nouveau"
    assert [p.name for p in tmp_path.iterdir()] == ["rapport.html"]


@pytest.mark.posix_only
def test_a_file_replaced_atomically_gets_its_mode_and_a_failed_write_leaves_the_old_one(tmp_path):
    path = tmp_path / "rentree.xlsx"  # a workbook holds no password: it may be readable by others
    replace_atomically(path, lambda stream: stream.write(b"premier"), mode=0o644)
    assert mode(path) == 0o644
    assert path.read_bytes() == b"premier"

    def crash(stream):
        stream.write(b"la moitie")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_atomically(path, crash, mode=0o644)
    assert path.read_bytes() == b"premier"
    assert [p.name for p in tmp_path.iterdir()] == ["rentree.xlsx"]


@pytest.mark.posix_only
def test_append_narrows_an_existing_journal_and_appends(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"a": 1}\n')
    path.chmod(0o664)
    with open_private_append(path) as stream:
        stream.write('{"b": 2}\n')
    assert mode(path) == 0o600
    assert path.read_text().splitlines() == ['{"a": 1}', '{"b": 2}']


def test_archive_creation_never_overwrites(tmp_path):
    path = tmp_path / "archive.zip"
    with create_private_binary(path) as stream:
        stream.write(b"PK")
    assert is_private(path)
    with pytest.raises(FileExistsError), create_private_binary(path) as stream:
        stream.write(b"autre")
    assert path.read_bytes() == b"PK"
