"""End to end on the sandbox's demo school: `reconcile export`, `reconcile onde` with an ONDE
extraction of its next year, then `reconcile plan` and `reconcile apply --oui`.

The extraction is generated from the sandbox's own pupils, as ONDE lists them after the
passage decisions: CM2 pupils gone to collège, everybody else one level up, three new CP,
and the demo school's two Léa MARTIN (one in CE1 who stays, one in CM2 who leaves).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.workbook import load_wanted
from reconcile.cli import app
from reconcile.core.model import Target, WantedState, fold
from reconcile.core.operations import CreateClass, CreateUser, DeleteUsers, TransferPupils
from reconcile.core.plan import make_plan
from reconcile.sandbox import RunningSandbox

# This year's class -> (next year's level, the ONDE class label).
NEXT_YEAR = {
    "GS": ("CP", "CP"),
    "CP": ("CE1", "CE1"),
    "CE1": ("CE2", "CE2 Lemaître"),  # a new class, named after its teacher
    "CE2": ("CM1", "CE2-CM1"),
    "CE2-CM1": ("CM1", "CM1"),
    "CM1": ("CM2", "CM2"),
    "ULIS": ("CE2", "ULIS"),
}
NEW_CP = (("AUBERTIN", "Capucine"), ("QUÉRNEL", "Timéo"), ("NDONG", "Ilyès"))
HEADER = (
    "Nom élève;Nom d'usage élève;Prénom élève;Date naissance;Sexe;INE;Adresse1;Cp1;Commune1;Pays1;"
    "Adresse2;Cp2;Commune2;Pays2; Cycle;Niveau;Libellé classe;Identifiant classe;Attestation fournie;"
    "Autorisation associations;Autorisation photo;Décision de passage"
)


class NextYear:
    """The extraction (UTF-8 with BOM: the demo school has names outside Latin-1), and what
    it says of each staying pupil: its INE and its class label."""

    def __init__(self, sb: RunningSandbox) -> None:
        self.lines = [HEADER]
        self.ine: dict[str, str] = {}
        self.label: dict[str, str] = {}
        self.ids = {label: str(1000 + i) for i, (_, label) in enumerate(NEXT_YEAR.values())}
        for pupil in sb.store.users("eleve"):
            if pupil.class_name in NEXT_YEAR:  # else CM2: gone to collège
                level, label = NEXT_YEAR[pupil.class_name]
                self.ine[pupil.login] = self._line(pupil.last_name, pupil.first_name, level, label)
                self.label[pupil.login] = label
        for last, first in NEW_CP:
            self._line(last, first, "CP", "CP")

    def _line(self, last: str, first: str, level: str, label: str) -> str:
        number = len(self.lines)
        ine = f"{number:09d}AB"
        born = f"{1 + number % 28:02d}/{1 + number % 12:02d}/{2014 + number % 6}"
        cells = [last.upper(), "", first, born, "F", ine, "1 rue de l'École", "07000", "PRIVAS", "FRANCE"]
        cells += ["", "", "", "", "CYCLE III", level, label, self.ids[label], "Oui", "Oui", "Non", "Admis"]
        self.lines.append(";".join(cells))
        return ine

    def write(self, path: Path) -> Path:
        path.write_bytes(("\ufeff" + "\r\n".join(self.lines) + "\r\n").encode("utf-8"))
        return path


def set_cell(path: Path, login: str, header: str, value: str) -> None:
    """What the secretary does in Calc: type a value in one row of `Utilisateurs`."""
    book = load_workbook(path)
    sheet = book["Utilisateurs"]
    header_cells = next(r for r in sheet.iter_rows(max_row=10) if any(c.value == "Identifiant" for c in r))
    columns = {c.value: c.column for c in header_cells}
    row = next(r for r in sheet.iter_rows(min_row=header_cells[0].row + 1) if r[0].value == login)
    sheet.cell(row[0].row, columns[header], value)
    book.save(path)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def connected(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    monkeypatch.setenv("INTRASCOL_URL", sandbox.url)
    monkeypatch.setenv("INTRASCOL_LOGIN", sandbox.admin_login)
    monkeypatch.setenv("INTRASCOL_PASSWORD", sandbox.admin_password)
    return sandbox


def fill_from_next_year(sb: RunningSandbox, folder: Path) -> tuple[Path, NextYear]:
    """export -> onde (homonyms left undecided) -> the secretary names one -> onde again."""
    run("export", "-o", str(folder / "rentree.xlsx"))
    next_year = NextYear(sb)
    csv = next_year.write(folder / "CSVExtraction.csv")
    staying = next(
        u for u in sb.store.pupils_of("CE1") if (fold(u.last_name), fold(u.first_name)) == ("martin", "lea")
    )
    first = run("onde", str(folder / "rentree.xlsx"), str(csv), "-o", str(folder / "onde-1.xlsx"))
    assert "ambigu" in first
    set_cell(folder / "onde-1.xlsx", staying.login, "INE", next_year.ine[staying.login])
    run("onde", str(folder / "onde-1.xlsx"), str(csv), "-o", str(folder / "rentree-onde.xlsx"))
    memory = json.loads((folder / ".reconcile-onde.json").read_text(encoding="utf-8"))
    assert memory["correspondances"][next_year.ine[staying.login]]["identifiant"] == staying.login
    return folder / "rentree-onde.xlsx", next_year


def test_onde_fills_the_demo_school_workbook_for_next_year(connected: RunningSandbox, tmp_path: Path) -> None:
    sb = connected
    workbook, next_year = fill_from_next_year(sb, tmp_path)
    wanted: WantedState = load_wanted(workbook)
    by_login = {u.login: u for u in wanted.users if u.login}
    cm2 = {u.login for u in sb.store.pupils_of("CM2")}
    # Every staying pupil goes to its ONDE class, every CM2 pupil (both Léa MARTIN settled) leaves.
    for login, label in next_year.label.items():
        assert (by_login[login].target, by_login[login].target_class) == (Target.CLASS, label), login
    for login in cm2:
        assert by_login[login].target is Target.LEAVES, login
    # Adults untouched.
    assert all(u.target is Target.UNCHANGED for u in wanted.users if u.type.value == "adulte")
    new = sorted((u.last_name, u.first_name, u.target_class) for u in wanted.users if u.is_new)
    assert new == sorted((last, first, "CP") for last, first in NEW_CP)
    created = [c for c in wanted.classes if c.status.value == "Créer"]
    lemaitre = next(a for a in sb.store.adults() if a.last_name == "Lemaître")
    assert [(c.name, c.responsible) for c in created] == [("CE2 Lemaître", lemaitre.login)]


def test_the_plan_of_the_onde_workbook_is_the_expected_rentree(
    connected: RunningSandbox, tmp_path: Path
) -> None:
    sb = connected
    workbook, next_year = fill_from_next_year(sb, tmp_path)
    output = run("plan", str(workbook), "--dossier-sortie", str(tmp_path / "plan"))
    assert "Rien n'a été modifié" in output
    client = IntraScolClient(sb.url, sb.admin_login, sb.admin_password)
    rentree = make_plan(client.read_state(), load_wanted(workbook))
    assert not rentree.problems, rentree.problems
    operations = rentree.operations
    deleted = {login for op in operations if isinstance(op, DeleteUsers) for login in op.logins}
    assert deleted == {u.login for u in sb.store.pupils_of("CM2")}
    assert {(op.last_name, op.first_name) for op in operations if isinstance(op, CreateUser)} == set(NEW_CP)
    lemaitre = next(a for a in sb.store.adults() if a.last_name == "Lemaître")
    created = [(op.name, op.responsible) for op in operations if isinstance(op, CreateClass)]
    assert created == [("CE2 Lemaître", lemaitre.login)]
    moved = {
        login: op.class_name for op in operations if isinstance(op, TransferPupils) for login in op.logins
    }
    assert moved == {
        login: label for login, label in next_year.label.items() if label != sb.store.user(login).class_name
    }


def test_apply_of_the_onde_workbook_ends_verified(connected: RunningSandbox, tmp_path: Path) -> None:
    sb = connected
    workbook, next_year = fill_from_next_year(sb, tmp_path)
    cm2 = {u.login for u in sb.store.pupils_of("CM2")}
    applied = run("apply", str(workbook), "--oui", "--dossier-sortie", str(tmp_path / "rentree"))
    assert "le serveur relu est dans l'état demandé" in applied
    for login, label in next_year.label.items():
        user = sb.store.user(login)
        assert user is not None, login
        assert user.class_name == label, (login, label, user.class_name)
    assert all(sb.store.user(login) is None for login in cm2)
    arrived = {(u.last_name, u.first_name) for u in sb.store.pupils_of("CP")} & set(NEW_CP)
    assert arrived == set(NEW_CP)
    lemaitre = next(a for a in sb.store.adults() if a.last_name == "Lemaître")
    new_class = sb.store.class_named("CE2 Lemaître")
    assert new_class is not None
    assert new_class.responsible == lemaitre.login
    # A second apply finds nothing left to do.
    again = run("apply", str(workbook), "--oui", "--dossier-sortie", str(tmp_path / "rentree"))
    assert "Rien à faire" in again
