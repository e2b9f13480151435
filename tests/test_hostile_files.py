"""Hostile or broken files given to the command line: a French error within a bounded time,
a bounded peak memory, nothing changed on the server.

Each file is generated here (never checked in): a workbook whose one cell is at XFD1048576,
a million rows, a zip bomb; ONDE extractions too large, binary, with a 200 KB field, an odd
length in UTF-16, bad UTF-8 after a BOM. Each command runs in a process of its own whose
peak memory is its own (`os.wait4`), with an address-space cap as a safety net: a
regression fails the test instead of eating the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.adapters.workbook import read_workbook, write_workbook
from reconcile.adapters.workbook.bounded import WorkbookLimits
from reconcile.core import vocabulary
from reconcile.core.onde_extraction import read_extraction
from reconcile.sandbox import RunningSandbox
from tests.test_cli_apply import environment, filled_workbook, read
from tests.test_onde import tilleuls
from tests.test_workbook import URL, WHEN, school

PEAK_LIMIT_MIB = 300
TIMEOUT = 120  # generous: a regression hangs or takes minutes; this run takes seconds
ADDRESS_SPACE_CAP = 3 * 1024**3  # the child dies (MemoryError) rather than eat the machine
MIB = 1024 * 1024
EXPORT = vocabulary.EXPORT_SHEET  # read first


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str
    peak_mib: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _cap_address_space() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def run_measured(arguments: list[str], env: dict[str, str], folder: Path) -> Finished:
    """`python -m reconcile …` in a process; its exit code, output and peak resident memory."""
    import resource

    out, err = folder / "sortie.txt", folder / "erreurs.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconcile", *arguments],
            env={**env, "COLUMNS": "200"},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=_cap_address_space,
        )
        ended: list[tuple[int, int, resource.struct_rusage]] = []
        waiter = threading.Thread(target=lambda: ended.append(os.wait4(process.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(TIMEOUT)
        if waiter.is_alive():
            process.kill()
            waiter.join()
            pytest.fail(f"reconcile {arguments[0]} n'a pas fini en {TIMEOUT} s")
    process.returncode = os.waitstatus_to_exitcode(ended[0][1])  # reaped here, not by Popen
    return Finished(process.returncode, out.read_text(), err.read_text(), ended[0][2].ru_maxrss / 1024)


def assert_refused_in_french(finished: Finished, *expected: str) -> None:
    assert finished.code != 0, finished.output
    assert "Traceback" not in finished.output, finished.output
    said = " ".join(finished.output.split())  # the terminal's line breaks and narrow spaces undone
    for text in expected:
        assert " ".join(text.split()) in said, finished.output
    assert finished.peak_mib < PEAK_LIMIT_MIB, f"pic mémoire {finished.peak_mib:.0f} Mio"


# --- Hostile workbooks -------------------------------------------------------------------


def _sheet_entry(path: Path, title: str) -> str:
    """The zip entry of a sheet of a workbook written by openpyxl (sheets numbered in order)."""
    titles = load_workbook(path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{titles.index(title) + 1}.xml"


def rewrite_sheet(path: Path, title: str, extra_rows: Callable[[], Iterator[bytes]], dimension: str) -> None:
    """Append `extra_rows` (XML) to the end of a sheet's data, streamed; its `<dimension>` set
    to `dimension` (a lie, or the truth)."""
    entry = _sheet_entry(path, title)
    source = path.with_suffix(".orig.xlsx")
    path.rename(source)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename != entry:
                new.writestr(item, data)
                continue
            text = data.decode("utf-8")
            start = text.index("<dimension ref=")
            text = text[:start] + f'<dimension ref="{dimension}"/>' + text[text.index("/>", start) + 2 :]
            head, tail = text.split("</sheetData>")
            with new.open(entry, "w", force_zip64=True) as stream:
                stream.write(head.encode("utf-8"))
                for chunk in extra_rows():
                    stream.write(chunk)
                stream.write(("</sheetData>" + tail).encode("utf-8"))
    source.unlink()


def far_cell(path: Path) -> None:
    """One cell at XFD1048576, the last of a sheet (the file stays a few dozen kilobytes)."""
    workbook = load_workbook(path)
    workbook[vocabulary.USERS_SHEET]["XFD1048576"] = "x"
    workbook.save(path)


def million_rows(path: Path) -> None:
    """A million more rows (40 MB unpacked, under the zip's limits), the sheet's `<dimension>`
    lying about them."""

    def rows() -> Iterator[bytes]:
        for start in range(1_000, 1_001_000, 10_000):
            yield "".join(
                f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(start, start + 10_000)
            ).encode("ascii")

    rewrite_sheet(path, vocabulary.USERS_SHEET, rows, dimension="A1:G30")


def zip_bomb(path: Path) -> None:
    """A sheet whose XML unpacks to 300 MB (blanks between rows, valid XML), packed into ~300 KB."""

    def blanks() -> Iterator[bytes]:
        chunk = b" " * MIB
        for _ in range(300):
            yield chunk

    rewrite_sheet(path, vocabulary.USERS_SHEET, blanks, dimension="A1:G30")


@pytest.mark.posix_only
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (far_cell, ("Utilisateurs : l'onglet a une valeur en XFD1048576", "limite de 100 000 lignes")),
        (million_rows, ("Utilisateurs : l'onglet a une valeur en A100001", "limite de 100 000 lignes")),
        (zip_bomb, ("une fois décompressée, sa partie xl/worksheets/sheet", "limite de 100 Mo")),
    ],
    ids=["cellule-XFD1048576", "million-de-lignes", "bombe-zip"],
)
def test_a_hostile_workbook_is_refused_by_plan_in_french_within_bounds(
    sandbox: RunningSandbox,
    tmp_path: Path,
    make: Callable[[Path], None],
    expected: tuple[str, ...],
) -> None:
    workbook, before = filled_workbook(sandbox, tmp_path)
    make(workbook)
    arguments = ["plan", str(workbook), "--url", sandbox.url, "--login", sandbox.admin_login]
    finished = run_measured(arguments, environment(sandbox), tmp_path)
    assert_refused_in_french(finished, f"Le classeur {workbook} ne peut pas être utilisé", *expected)
    assert read(sandbox) == before


# --- Hostile ONDE extractions --------------------------------------------------------------

HEADER = "Nom élève;Prénom élève;Date naissance;INE;Niveau;Libellé classe\r\n"
PUPIL = "MARTIN;Léa;01/02/2019;123456789AB;CE1;CE1 A\r\n"


def too_large_csv(path: Path) -> None:
    """167 MB: a real header, then a hole (sparse: no disk used)."""
    path.write_bytes((HEADER + PUPIL).encode("cp1252"))
    with path.open("r+b") as stream:
        stream.truncate(167 * MIB)


def binary_csv(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64)


def huge_field_csv(path: Path) -> None:
    path.write_bytes((HEADER + PUPIL + "DURAND;Marie;01/02/2019;;CE1;" + "x" * 200_000 + "\r\n").encode())


def odd_utf16_csv(path: Path) -> None:
    path.write_bytes((HEADER + PUPIL).encode("utf-16") + b"\x41")


def bad_utf8_after_bom_csv(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + PUPIL).encode("utf-8") + "DUPRÉ;Zoé".encode("cp1252"))


@pytest.mark.posix_only
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (too_large_csv, "L'extraction eleves.csv pèse 167 Mo, au-delà de la limite de 20 Mo"),
        (binary_csv, "L'extraction eleves.csv, ligne 3 : caractère nul : ce n'est pas un fichier texte"),
        (huge_field_csv, "L'extraction eleves.csv, ligne 3 : un champ dépasse 131\u202f072 caractères"),
        (odd_utf16_csv, "ligne 3 : le fichier est en UTF-16 mais est tronqué (nombre impair d'octets)"),
        (bad_utf8_after_bom_csv, "L'extraction eleves.csv, ligne 3 : le fichier s'annonce en UTF-8"),
    ],
    ids=["167-Mo", "binaire", "champ-de-200-Ko", "UTF-16-impair", "UTF-8-abime-apres-BOM"],
)
def test_a_hostile_extraction_is_refused_by_onde_in_french_within_bounds(
    tmp_path: Path, make: Callable[[Path], None], expected: str
) -> None:
    workbook = tmp_path / "rentree.xlsx"
    write_workbook(tilleuls(), workbook, server_url="http://127.0.0.1/", exported_at=datetime(2027, 6, 30))
    extraction = tmp_path / "eleves.csv"
    make(extraction)
    finished = run_measured(["onde", str(workbook), str(extraction)], dict(os.environ), tmp_path)
    assert_refused_in_french(finished, expected)
    assert not (tmp_path / "rentree-onde.xlsx").exists()


@pytest.mark.posix_only
def test_a_hostile_workbook_is_refused_by_onde_before_it_is_loaded(tmp_path: Path) -> None:
    workbook = tmp_path / "rentree.xlsx"
    write_workbook(tilleuls(), workbook, server_url="http://127.0.0.1/", exported_at=datetime(2027, 6, 30))
    far_cell(workbook)
    extraction = tmp_path / "eleves.csv"
    extraction.write_bytes((HEADER + PUPIL).encode("cp1252"))
    finished = run_measured(["onde", str(workbook), str(extraction)], dict(os.environ), tmp_path)
    assert_refused_in_french(
        finished,
        f"Le classeur {workbook} ne peut pas être utilisé : onglet « Utilisateurs » : l'onglet a une "
        "valeur en XFD1048576",
    )
    assert not (tmp_path / "rentree-onde.xlsx").exists()


# --- The limits, in the process (small limits: fast) ----------------------------------------


@pytest.fixture
def small_workbook(tmp_path: Path) -> Path:
    path = tmp_path / "rentree.xlsx"
    write_workbook(school(), path, server_url=URL, exported_at=WHEN)
    return path


def test_rows_past_a_lying_dimension_are_read(small_workbook: Path) -> None:
    """Streaming does not trust `<dimension>`: a row under it is read (here: refused)."""

    def late_row() -> Iterator[bytes]:
        yield b'<row r="500"><c r="A500" t="inlineStr"><is><t>inconnu</t></is></c></row>'

    rewrite_sheet(small_workbook, vocabulary.USERS_SHEET, late_row, dimension="A1:B2")
    assert [str(p) for p in read_workbook(small_workbook).problems] == [
        "Utilisateurs, ligne 500, colonne « Identifiant » : l'identifiant « inconnu » ne figure pas "
        "dans l'export : pour une nouvelle personne, laissez l'Identifiant vide (le serveur le créera)."
    ]


def test_formatting_far_away_costs_nothing_and_is_not_refused(small_workbook: Path) -> None:
    """An empty cell with a style at XFD1048576 (formatting only) is no value: the workbook reads."""

    def styled_far_cell() -> Iterator[bytes]:
        yield b'<row r="1048576"><c r="XFD1048576" s="1"/></row>'

    rewrite_sheet(small_workbook, vocabulary.USERS_SHEET, styled_far_cell, dimension="A1:XFD1048576")
    assert read_workbook(small_workbook).problems == ()


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (WorkbookLimits(file_bytes=10_000), "le fichier pèse "),
        (WorkbookLimits(entry_bytes=5_000), "une fois décompressée, sa partie xl/"),
        (WorkbookLimits(unpacked_bytes=20_000), "une fois décompressé, il pèserait "),
        (WorkbookLimits(rows=8), f"{EXPORT} : l'onglet a une valeur en D9 (ligne 9, colonne 4)"),
        (WorkbookLimits(columns=6), f"{EXPORT} : l'onglet a une valeur en G1 (ligne 1, colonne 7)"),
    ],
    ids=["fichier", "partie", "total", "lignes", "colonnes"],
)
def test_each_limit_is_one_problem_naming_it(
    small_workbook: Path, limits: WorkbookLimits, expected: str
) -> None:
    problems = [str(p) for p in read_workbook(small_workbook, limits).problems]
    assert len(problems) == 1
    assert problems[0].startswith(expected), problems


def test_a_sheet_cut_short_is_an_unreadable_workbook(small_workbook: Path) -> None:
    """A sheet whose XML stops midway (a copy interrupted) is said unreadable, not a traceback."""
    entry = _sheet_entry(small_workbook, vocabulary.USERS_SHEET)
    with zipfile.ZipFile(small_workbook) as old:
        parts = {item.filename: old.read(item) for item in old.infolist()}
    parts[entry] = parts[entry][: len(parts[entry]) // 2]
    with zipfile.ZipFile(small_workbook, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)
    assert [str(p) for p in read_workbook(small_workbook).problems] == [
        "rentree.xlsx n'est pas un classeur Excel (.xlsx) lisible. "
        "Enregistrez-le au format « Classeur Excel (.xlsx) » et recommencez."
    ]


def test_an_extraction_whose_lines_end_with_a_lone_cr_is_read() -> None:
    """Old Mac line endings: before, `csv` stopped on « new-line character seen in unquoted field »."""
    data = (HEADER + PUPIL + "DURAND;Marie;03/04/2019;;CE1;CE1 A\r\n").replace("\r\n", "\r").encode("cp1252")
    extraction = read_extraction(data, "L'extraction eleves.csv")
    assert [(p.line, p.last_name) for p in extraction.pupils] == [(2, "MARTIN"), (3, "DURAND")]
