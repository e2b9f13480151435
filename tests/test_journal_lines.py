"""The journal is never guessed: a damaged line stops the run; a line torn by a crash is set aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconcile.adapters.journal import JOURNAL_NAME, Journal, earlier_work, read_lines
from reconcile.core.errors import JournalError
from reconcile.core.journal_facts import Event
from tests.conftest import is_private

CREATED_LINE = 3  # header, start, created, verified


def finished_journal(folder: Path) -> Path:
    journal = Journal.open(folder, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("create_user:nouveau:3", Event.START, user="nouveau:3", last_name="Roux", first_name="Léa",
                   type="eleve", logins_before=[])  # fmt: skip
    journal.record(
        "create_user:nouveau:3", Event.CREATED, user="nouveau:3", login="lea.roux", password="chat12"
    )
    journal.record("", Event.VERIFIED)
    return journal.path


def replace_line(path: Path, number: int, text: bytes) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    lines[number - 1] = text
    path.write_bytes(b"".join(lines))


def assert_stops_at(folder: Path, number: int, message_part: str = "") -> None:
    path = folder / JOURNAL_NAME
    for read in (
        lambda: Journal.existing_facts(folder, "d1"),
        lambda: Journal.open(folder, workbook="a.xlsx", digest="d1", server_url="http://s/"),
        lambda: earlier_work(folder, "another workbook"),
    ):
        with pytest.raises(JournalError) as caught:
            read()
        message = " ".join(str(caught.value).split())
        assert f"Le journal {path} est abîmé à la ligne {number}" in message
        assert "Restaurez le journal" in message
        assert message_part in message


def test_a_created_line_damaged_in_the_middle_stops_the_run_naming_the_file_and_the_line(
    tmp_path: Path,
) -> None:
    path = finished_journal(tmp_path)
    created = path.read_bytes().splitlines(keepends=True)[CREATED_LINE - 1]
    replace_line(path, CREATED_LINE, created[:30] + b"\n")  # cut, then the next line follows
    assert_stops_at(tmp_path, CREATED_LINE, "n'est pas une ligne JSON complète")


def test_a_line_that_is_not_utf_8_is_damaged(tmp_path: Path) -> None:
    path = finished_journal(tmp_path)
    replace_line(path, CREATED_LINE, b'{"event": "created", "login": "l\xe9a"}\n')
    assert_stops_at(tmp_path, CREATED_LINE, "UTF-8")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('[1, 2]', "pas un objet JSON"),
        ('"created"', "pas un objet JSON"),
        ('{"event": "zzz", "op": ""}', "événement « zzz » inconnu"),
        ('{"op": "create_user:nouveau:3", "user": "nouveau:3", "login": "x"}', "« event »"),
        ('{"event": "created", "op": "create_user:nouveau:3", "user": "nouveau:3"}', "« login » manque"),
        ('{"event": "created", "op": "create_user:nouveau:3", "user": "nouveau:3", "login": null}',
         "« login » devrait être un texte"),
        ('{"event": "created", "op": "create_user:nouveau:3", "user": 3, "login": "x"}', "« user »"),
        ('{"event": "created", "op": 7, "user": "nouveau:3", "login": "x"}', "« op »"),
        ('{"event": "start", "op": "create_user:nouveau:3", "user": "nouveau:3", "last_name": "Roux", '
         '"first_name": "Léa", "type": "prof"}', "« type »"),
        ('{"event": "start", "op": "create_user:nouveau:3", "user": "nouveau:3", "last_name": "Roux", '
         '"first_name": "Léa", "type": "eleve", "logins_before": "lea.roux"}', "« logins_before »"),
        ('{"event": "start", "op": "create_class:CE2"}', "« name » manque"),
        ('{"event": "gone", "op": "", "logins": 5}', "« logins »"),
        ('{"event": "done", "op": "delete_users:2", "deleted": [1, 2]}', "« deleted »"),
        ('{"event": "provisional", "op": "archive:CM2", "login": "p1", "password": "x"}', "« class_name »"),
        ('{"event": "archived", "op": "archive:CM2", "class_name": "CM2"}', "« path » manque"),
    ],
)  # fmt: skip
def test_a_line_of_json_with_missing_fields_or_wrong_types_is_damaged_never_a_traceback(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = finished_journal(tmp_path)
    replace_line(path, CREATED_LINE, line.encode() + b"\n")
    assert_stops_at(tmp_path, CREATED_LINE, reason)


def test_a_damaged_last_line_ending_with_its_newline_is_damaged_not_torn(tmp_path: Path) -> None:
    path = finished_journal(tmp_path)
    replace_line(path, 4, b'{"at": "2026", "event": "veri\n')
    assert_stops_at(tmp_path, 4)


def test_a_torn_last_line_is_set_aside_and_the_next_record_starts_on_its_own_line(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    journal.record("create_class:CE2", Event.DONE, name="CE2")
    torn = '{"at": "2026-09-01T08:00:00.000+00:00", "event": "created", "login": "lé'
    with journal.path.open("ab") as handle:
        handle.write(torn.encode()[:-1])  # cut in the middle of « é », as a kill can
    assert Journal.existing_facts(tmp_path, "d1").created_classes == {"CE2"}  # reading ignores it

    again = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    again.record("create_class:CM1", Event.DONE, name="CM1")
    assert journal.path.read_bytes().endswith(b"\n")
    events = [json.loads(text)["event"] for text in journal.path.read_text(encoding="utf-8").splitlines()]
    assert events == ["header", "done", "done"]
    assert Journal.existing_facts(tmp_path, "d1").created_classes == {"CE2", "CM1"}
    aside = tmp_path / f"{JOURNAL_NAME}.abime"
    kept = aside.read_text(encoding="utf-8")
    assert torn[:-2] in kept  # the fragment, never lost
    assert is_private(aside)
    assert not list(tmp_path.glob("journal-application-*.jsonl"))  # not taken for another journal


def test_a_last_record_complete_but_for_its_newline_is_kept(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    with journal.path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"at": "2026", "op": "create_class:CE2", "event": "done", "name": "CE2"}))
    again = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    again.record("create_class:CM1", Event.DONE, name="CM1")
    assert len(read_lines(journal.path)) == 3
    assert again.facts().created_classes == {"CE2", "CM1"}
    assert not (tmp_path / f"{JOURNAL_NAME}.abime").exists()


def test_a_journal_whose_only_line_was_torn_starts_again(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    path.write_text('{"at": "2026", "digest": "d1", "event": "hea', encoding="utf-8")
    journal = Journal.open(tmp_path, workbook="a.xlsx", digest="d1", server_url="http://s/")
    assert [line["event"] for line in read_lines(path)] == ["header"]
    assert journal.lines[0]["digest"] == "d1"
    assert '"event": "hea' in (tmp_path / f"{JOURNAL_NAME}.abime").read_text(encoding="utf-8")


def test_blank_lines_hold_nothing_and_are_passed_over(tmp_path: Path) -> None:
    path = finished_journal(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\n", 1) + b"\n")
    assert Journal.existing_facts(tmp_path, "d1").created_users["nouveau:3"].login == "lea.roux"
