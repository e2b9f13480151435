"""`reconcile onde`: reading ONDE extractions, matching pupils, filling the workbook.

The sample extractions under `tests/data/onde/` describe the next school year of the
made-up "École des Tilleuls" below (never real pupils): CM2 pupils leave, the others
go up one level, three new CP arrive, and two different pupils are both named Léa MARTIN.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from reconcile.adapters.workbook import load_wanted, write_workbook
from reconcile.adapters.workbook.onde import fill_from_onde
from reconcile.cli import app
from reconcile.core.errors import OndeError
from reconcile.core.model import SchoolClass, ServerState, Target, User, UserType
from reconcile.core.onde import NewPupilRow, Origin, ServerPupil, match_extraction
from reconcile.core.onde_classes import check_complete, map_classes
from reconcile.core.onde_extraction import Layout, OndePupil, read_extraction
from reconcile.core.vocabulary import LEAVES_SCHOOL
from tests.conftest import is_private
from tests.test_workbook import resave_with_libreoffice

DATA = Path(__file__).parent / "data" / "onde"
CURRENT_ISO = DATA / "onde-actuel-iso8859-1.csv"
CURRENT_UTF8 = DATA / "onde-actuel-utf8-bom.csv"
OLD_BE1D = DATA / "be1d-ancien.csv"
FILTERED = DATA / "onde-filtree-une-classe.csv"
TODAY = "2027-06-30"
EXPORTED_AT = datetime(2027, 6, 30, 9, 0)


def tilleuls() -> ServerState:
    """This year's server: four classes, 17 pupils, five adults."""
    classes = (
        SchoolClass(1, "CP", "mdurand", "Marie DURAND"),
        SchoolClass(2, "CE1", "sleveque", "Sophie LEVEQUE"),
        SchoolClass(3, "CE2-CM1", "tmartin", "Thomas MARTIN"),
        SchoolClass(4, "CM2", "cbernard", "Claire BERNARD"),
    )
    adults = [
        User("mdurand", "Durand", "Marie", UserType.ADULT),
        User("sleveque", "Leveque", "Sophie", UserType.ADULT),
        User("tmartin", "Martin", "Thomas", UserType.ADULT),
        User("cbernard", "Bernard", "Claire", UserType.ADULT),
        User("jpetit", "Petit", "Jeanne", UserType.ADULT),
    ]
    pupils_by_class = {
        1: [
            ("lmartin", "Martin", "Léa"),
            ("bnguyen", "Nguyen", "Bao"),
            ("idupontmoreau", "Dupont-Moreau", "Inès"),
            ("jblefevre", "Lefevre", "Jean Baptiste"),
        ],
        2: [
            ("lmartin2", "Martin", "Léa"),
            ("andiaye", "N'Diaye", "Awa"),
            ("zgarcia", "Garcia", "Zoé"),
            ("nrousseau", "Rousseau", "Noé"),
        ],
        3: [
            ("lbenali", "Benali", "Lounes"),
            ("cdelafontaine", "De La Fontaine", "Chloé"),
            ("mpetit", "Petit", "Maël"),
            ("crobert", "Robert", "Camille"),
            ("emorel", "Morel", "Ethan"),
            ("jgirard", "Girard", "Jade"),
        ],
        4: [("tleroy", "Leroy", "Tom"), ("efaure", "Faure", "Emma"), ("lblanc", "Blanc", "Louis")],
    }
    pupils = [
        User(login, last, first, UserType.PUPIL, class_id, password="azerty12")
        for class_id, rows in pupils_by_class.items()
        for login, last, first in rows
    ]
    return ServerState(
        classes=classes, users=(*adults, *pupils), version="0.1.7a", school="École des Tilleuls"
    )


def write_test_workbook(state: ServerState, path: Path) -> Path:
    """The rentrée workbook of `state`, as `reconcile export` writes it."""
    write_workbook(
        state, path, server_url="http://127.0.0.1/intrascol/", exported_at=datetime(2027, 6, 30, 9)
    )
    return path


def server_pupils(state: ServerState) -> list[ServerPupil]:
    return [
        ServerPupil(u.login, u.last_name, u.first_name, state.class_name_of(u) or "")
        for u in state.users
        if u.type is UserType.PUPIL
    ]


def sheet_rows(path: Path, title: str) -> list[dict[str, object]]:
    """The rows of a sheet under its header (found by `Classe` or `Identifiant`), as dicts."""
    sheet = load_workbook(path)[title]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_index = next(
        i for i, r in enumerate(rows) if "Identifiant" in r or "Classe" in r or "Libellé ONDE" in r
    )
    header = rows[header_index]
    return [
        {str(h): v for h, v in zip(header, r, strict=False) if h is not None}
        for r in rows[header_index + 1 :]
        if any(v is not None for v in r)
    ]


def by_login(path: Path) -> dict[str, dict[str, object]]:
    return {str(r["Identifiant"]): r for r in sheet_rows(path, "Utilisateurs") if r["Identifiant"]}


# --- Reading extractions ----------------------------------------------------------------


def test_current_layout_reads_the_same_from_iso_semicolons_and_utf8_bom_commas() -> None:
    iso = read_extraction(CURRENT_ISO.read_bytes())
    utf8 = read_extraction(CURRENT_UTF8.read_bytes())
    assert (iso.layout, iso.separator) == (Layout.ONDE, ";")
    assert (utf8.layout, utf8.separator) == (Layout.ONDE, ",")
    assert iso.encoding.startswith("ISO-8859-1")
    assert utf8.encoding == "UTF-8 (avec BOM)"
    assert len(iso.pupils) == len(utf8.pupils) == 17
    # Same pupils, whatever the encoding, separator, quotes, date format and Unicode form.
    assert [p.__class__(**{**_fields(p), "line": 0}) for p in iso.pupils] == [
        p.__class__(**{**_fields(p), "line": 0}) for p in utf8.pupils
    ]
    first = iso.pupils[0]
    assert (first.last_name, first.first_name, first.ine) == ("MARTIN", "Léa", "070111111AA")
    assert first.birth_date == date(2019, 3, 14)
    assert (first.level, first.class_label, first.class_id) == ("CE1", "CE1", "1002")
    assert iso.pupils[2].usage_name == "DUPONT-MOREAU"
    assert iso.class_labels == ("CE1", "CE2-CM1", "CM2 Bernard", "CP")


def _fields(pupil: OndePupil) -> dict[str, object]:
    return {name: getattr(pupil, name) for name in pupil.__slots__}


def test_old_be1d_layout_has_teacher_labels_and_no_ine() -> None:
    old = read_extraction(OLD_BE1D.read_bytes())
    assert old.layout is Layout.BE1D
    assert all(p.ine == "" and p.class_id == "" for p in old.pupils)
    assert old.class_labels == ("Mme LEVEQUE", "M. MARTIN", "Mme BERNARD", "Mme DURAND")
    assert old.levels_of("M. MARTIN") == ("CE2", "CM1")
    assert old.pupils[3].first_name == "Jean-Baptiste"
    assert old.pupils[3].birth_date == date(2019, 11, 30)


@pytest.mark.parametrize(
    ("text", "separator"),
    [
        ("Nom élève;Prénom élève;Niveau;Libellé classe\nRIVIERE;Lou;CP;CP A\n", ";"),
        ('"Nom élève","Prénom élève","Niveau","Libellé classe"\n"RIVIERE","Lou","CP","CP A"\n', ","),
        ("Nom élève,Prénom élève,Niveau,Libellé classe,,,\nRIVIERE,Lou,CP,CP A,,,\n", ","),
        ("Nom élève\tPrénom élève\tNiveau\tLibellé classe\nRIVIERE\tLou\tCP\tCP A\n", "\t"),
        ('"NOM ÉLÈVE";" prénom eleve ";"niveau";"LIBELLE CLASSE"\r\n"RIVIERE";"Lou";"CP";"CP A"\r\n', ";"),
    ],
)
def test_separator_quotes_and_header_spelling_are_detected(text: str, separator: str) -> None:
    extraction = read_extraction(text.encode("cp1252"))
    assert extraction.separator == separator
    assert [(p.last_name, p.first_name, p.level, p.class_label) for p in extraction.pupils] == [
        ("RIVIERE", "Lou", "CP", "CP A")
    ]


def test_a_comma_inside_a_quoted_name_does_not_split_it() -> None:
    text = 'Nom élève,Prénom élève,Libellé classe\n"DE SOUSA, DA SILVA","Léo","CM1"\n'
    (pupil,) = read_extraction(text.encode("utf-8")).pupils
    assert pupil.last_name == "DE SOUSA, DA SILVA"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "est vide"),
        ("Nom élève;Prénom élève;Libellé classe\n", "aucun élève"),
        ("Nom;Date\nA;01/01/2019\n", "colonne(s) introuvable(s) : Prénom élève, Libellé classe"),
        (
            "Nom élève;Prénom élève;Date naissance;Libellé classe\nA;B;31/02/2019;CP\n",
            "ligne 2 : date de naissance « 31/02/2019 » illisible",
        ),
        ("Nom élève;Prénom élève;Libellé classe\nA;B;CP\nC;D\n", "ligne 3 : 2 champ(s) au lieu des 3"),
        ("Nom élève;Prénom élève;Libellé classe\nA;B;CP\n;D;CP\n", "ligne 3 : le nom de l'élève est vide"),
        (
            "Nom élève;Prénom élève;INE;Libellé classe\nA;B;123;CP\nC;D;123;CP\n",
            "lignes 2, 3 : le même INE 123",
        ),
    ],
)
def test_malformed_extractions_are_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(OndeError, match=None) as error:
        read_extraction(text.encode("utf-8"), source="CSVExtraction.csv")
    assert message in str(error.value)


def test_both_date_formats_and_long_level_names_are_read() -> None:
    text = (
        "Nom élève;Prénom élève;Date naissance;Niveau;Libellé classe\n"
        "A;B;2019-03-04;Cours préparatoire;CP\n"
        "C;D;04/03/2019;CE2;CE2\n"
    )
    first, second = read_extraction(text.encode("utf-8")).pupils
    assert first.birth_date == second.birth_date == date(2019, 3, 4)
    assert (first.level, second.level) == ("CP", "CE2")


# --- Matching ---------------------------------------------------------------------------


def test_unique_names_match_and_homonyms_are_never_guessed() -> None:
    state = tilleuls()
    matching = match_extraction(read_extraction(CURRENT_ISO.read_bytes()), server_pupils(state))
    decisions = {d.pupil.login: d for d in matching.decisions}
    assert decisions["bnguyen"].origin is Origin.EXACT
    assert decisions["bnguyen"].onde is not None
    assert decisions["bnguyen"].onde.class_label == "CE1"
    # Usage name, hyphen vs space, accents: matched after normalisation.
    assert decisions["idupontmoreau"].origin is Origin.EXACT  # same letters as ONDE's usage name
    assert decisions["jblefevre"].origin is Origin.NORMALISED
    assert decisions["lbenali"].origin is Origin.NORMALISED
    assert decisions["cdelafontaine"].origin is Origin.EXACT
    # The two Léa MARTIN: both undecided, both ONDE candidates named.
    for login in ("lmartin", "lmartin2"):
        assert decisions[login].origin is Origin.AMBIGUOUS
        assert {o.ine for o in decisions[login].candidates} == {"070111111AA", "070111115AE"}
    assert {o.ine for o in matching.undecided} == {"070111111AA", "070111115AE"}
    # CM2 pupils are absent; the new CP are arrivals; nobody else.
    assert {login for login, d in decisions.items() if d.origin is Origin.ABSENT} == {
        "tleroy",
        "efaure",
        "lblanc",
    }
    assert sorted(a.onde.first_name for a in matching.arrivals) == ["Hugo", "Manon", "Rose"]


def test_nfd_names_match_as_their_nfc_spelling() -> None:
    state = tilleuls()
    utf8 = read_extraction(CURRENT_UTF8.read_bytes())
    raw = CURRENT_UTF8.read_bytes().decode("utf-8-sig")
    assert unicodedata.normalize("NFD", "Zoé") in raw  # the sample really is NFD
    decisions = {d.pupil.login: d for d in match_extraction(utf8, server_pupils(state)).decisions}
    assert decisions["zgarcia"].origin is Origin.EXACT
    assert decisions["zgarcia"].onde is not None
    assert decisions["zgarcia"].onde.first_name == "Zoé"


def test_one_onde_pupil_for_two_homonym_accounts_is_ambiguous_for_both() -> None:
    text = "Nom élève;Prénom élève;INE;Libellé classe\nMARTIN;Léa;111;CE2\nGARCIA;Zoé;222;CE2\n"
    pupils = [
        ServerPupil("lmartin", "Martin", "Léa", "CE1"),
        ServerPupil("lmartin2", "Martin", "Lea", "CM1"),
        ServerPupil("zgarcia", "Garcia", "Zoé", "CE1"),
    ]
    matching = match_extraction(read_extraction(text.encode()), pupils)
    origins = {d.pupil.login: d.origin for d in matching.decisions}
    assert origins == {"lmartin": Origin.AMBIGUOUS, "lmartin2": Origin.AMBIGUOUS, "zgarcia": Origin.EXACT}
    assert not matching.arrivals


def test_a_reference_typed_in_the_workbook_settles_homonyms_and_the_memory_keeps_it() -> None:
    state = tilleuls()
    extraction = read_extraction(CURRENT_ISO.read_bytes())
    pupils = [
        ServerPupil(
            p.login,
            p.last_name,
            p.first_name,
            p.current_class,
            "070111115AE" if p.login == "lmartin2" else "",
        )
        for p in server_pupils(state)
    ]
    matching = match_extraction(extraction, pupils)
    decisions = {d.pupil.login: d for d in matching.decisions}
    assert decisions["lmartin2"].origin is Origin.CONFIRMED
    assert decisions["lmartin2"].onde is not None
    assert decisions["lmartin2"].onde.class_label == "CE2-CM1"
    # The other Léa is now the only candidate left for the other account.
    assert decisions["lmartin"].origin is Origin.NORMALISED or decisions["lmartin"].origin is Origin.EXACT
    assert decisions["lmartin"].onde is not None
    assert decisions["lmartin"].onde.ine == "070111111AA"
    assert [d.pupil.login for d in matching.confirmed_homonyms] == ["lmartin2"]
    # Next year, the memory alone settles them.
    remembered = match_extraction(extraction, server_pupils(state), memory={"070111115AE": "lmartin2"})
    origins = {d.pupil.login: d.origin for d in remembered.decisions}
    assert origins["lmartin2"] is Origin.CONFIRMED
    assert origins["lmartin"] in {Origin.EXACT, Origin.NORMALISED}


def test_a_remembered_login_now_given_to_somebody_else_is_ignored() -> None:
    text = "Nom élève;Prénom élève;INE;Libellé classe\nMARTIN;Léa;111;CE2\n"
    pupils = [ServerPupil("lmartin", "Roux", "Paul", "CP"), ServerPupil("lmartin3", "Martin", "Léa", "CE1")]
    matching = match_extraction(read_extraction(text.encode()), pupils, memory={"111": "lmartin"})
    origins = {d.pupil.login: d.origin for d in matching.decisions}
    assert origins == {"lmartin": Origin.ABSENT, "lmartin3": Origin.EXACT}


def test_a_typed_ine_of_another_pupil_is_refused() -> None:
    text = "Nom élève;Prénom élève;INE;Libellé classe\nMARTIN;Léa;111;CE2\nROUX;Paul;222;CE2\n"
    pupils = [ServerPupil("lmartin", "Martin", "Léa", "CP", reference="222", row=7)]
    with pytest.raises(OndeError, match=r"ligne 7, colonne « INE » : « 222 » désigne ROUX Paul"):
        match_extraction(read_extraction(text.encode()), pupils)


# --- A partial extraction ---------------------------------------------------------------


def test_a_filtered_extraction_is_refused() -> None:
    state = tilleuls()
    matching = match_extraction(read_extraction(FILTERED.read_bytes()), server_pupils(state))
    with pytest.raises(OndeError) as error:
        check_complete(matching)
    message = str(error.value)
    assert "probablement été filtrée" in message
    assert "quitteraient l'école" in message


def test_a_whole_class_missing_is_refused_even_under_the_threshold() -> None:
    state = tilleuls()
    extraction = read_extraction(CURRENT_ISO.read_bytes())
    pupils = [*server_pupils(state), *(ServerPupil(f"gs{i}", f"Nom{i}", "X", "GS") for i in range(2))]
    with pytest.raises(OndeError, match=r"aucun élève des niveaux GS.*classes « GS » \(2 élèves\)"):
        check_complete(match_extraction(extraction, pupils))
    check_complete(match_extraction(extraction, pupils), leaving_classes=["gs"])  # told: no refusal


def test_the_complete_extraction_passes_with_the_cm2_class_leaving() -> None:
    state = tilleuls()
    check_complete(match_extraction(read_extraction(CURRENT_ISO.read_bytes()), server_pupils(state)))


# --- Class correspondence ---------------------------------------------------------------


def test_class_labels_map_to_existing_classes_or_to_named_new_ones() -> None:
    current = read_extraction(CURRENT_ISO.read_bytes())
    mappings = {m.label: m for m in map_classes(current, ["CP", "CE1", "ce2 cm1", "CM2"])}
    assert mappings["CE1"].target == "CE1"
    assert not mappings["CE1"].is_new
    assert mappings["CE2-CM1"].target == "ce2 cm1"  # the server's spelling
    assert mappings["CM2 Bernard"].target == "CM2 Bernard"
    assert mappings["CM2 Bernard"].is_new
    old = read_extraction(OLD_BE1D.read_bytes())
    mappings = {m.label: m for m in map_classes(old, ["CP", "CE1", "CE2-CM1", "CM2"])}
    assert mappings["M. MARTIN"].target == "CE2-CM1 M. MARTIN"
    assert mappings["Mme DURAND"].target == "CP Mme DURAND"
    # A choice edited in the ONDE sheet wins.
    mappings = {m.label: m for m in map_classes(old, ["CP", "CE2-CM1"], previous={"M. MARTIN": "ce2-cm1"})}
    assert mappings["M. MARTIN"].target == "CE2-CM1"
    assert mappings["M. MARTIN"].origin.value == ("choisie dans le classeur")
    # A whole ONDE class sent to « Quitte l'école » (it moves to another school): no class to create.
    mappings = {m.label: m for m in map_classes(old, ["CP"], previous={"Mme BERNARD": "quitte l'ecole"})}
    assert mappings["Mme BERNARD"].target == LEAVES_SCHOOL
    assert not mappings["Mme BERNARD"].is_new


# --- The workbook -----------------------------------------------------------------------


def test_an_extraction_that_cannot_be_read_is_named_in_french(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    missing = tmp_path / "CSVExtraction.csv"
    with pytest.raises(
        OndeError, match=rf"Impossible de lire l'extraction ONDE {missing} : le fichier n'existe pas"
    ):
        fill_from_onde(workbook, missing, today=TODAY)
    with pytest.raises(OndeError, match=rf"extraction ONDE {tmp_path} : c'est un dossier"):
        fill_from_onde(workbook, tmp_path, today=TODAY)


def test_a_workbook_that_is_not_an_xlsx_is_named_in_french(tmp_path: Path) -> None:
    workbook = tmp_path / "rentree.xlsx"
    workbook.write_text("Identifiant;Nom\n", encoding="utf-8")  # a CSV renamed, not a zip
    with pytest.raises(OndeError, match=r"rentree\.xlsx n'est pas un classeur Excel \(\.xlsx\) lisible"):
        fill_from_onde(workbook, CURRENT_ISO, today=TODAY)
    with pytest.raises(OndeError, match=r"Le classeur .*absent\.xlsx n'existe pas"):
        fill_from_onde(tmp_path / "absent.xlsx", CURRENT_ISO, today=TODAY)


def test_an_output_name_that_is_not_xlsx_is_refused(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    with pytest.raises(OndeError, match=r"« rentree-onde\.csv » : le classeur doit finir par \.xlsx"):
        fill_from_onde(workbook, CURRENT_ISO, tmp_path / "rentree-onde.csv", today=TODAY)
    assert not (tmp_path / "rentree-onde.csv").exists()


def test_onde_fills_a_new_workbook_and_leaves_the_input_alone(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    before = workbook.read_bytes()
    report = fill_from_onde(workbook, CURRENT_ISO, today=TODAY)
    assert workbook.read_bytes() == before
    assert report.output == tmp_path / "rentree-onde.xlsx"
    rows = by_login(report.output)
    assert rows["bnguyen"]["Classe cible"] == "CE1"
    assert rows["bnguyen"]["Origine"] == "correspondance exacte"
    assert rows["bnguyen"]["INE"] == "070111112AB"
    assert rows["crobert"]["Classe cible"] == "CM2 Bernard"
    assert rows["jblefevre"]["Origine"] == "correspondance après normalisation"
    assert rows["tleroy"]["Classe cible"] == LEAVES_SCHOOL
    assert rows["tleroy"]["Origine"] == "absent d'ONDE"
    assert rows["lmartin"]["Classe cible"] is None
    assert rows["lmartin"]["Origine"] == "ambigu"
    assert "070111115AE" in str(rows["lmartin"]["Détail ONDE"])
    # Adults untouched.
    assert rows["mdurand"]["Classe cible"] is None
    assert rows["mdurand"]["Origine"] is None
    new = [r for r in sheet_rows(report.output, "Utilisateurs") if not r["Identifiant"]]
    assert [(r["Nom"], r["Prénom"], r["Type"], r["Classe cible"], r["Origine"]) for r in new] == [
        ("LAMBERT", "Hugo", "Élève", "CP", "nouveau dans ONDE"),
        ("SIMON", "Manon", "Élève", "CP", "nouveau dans ONDE"),
        ("LAMBERT", "Rose", "Élève", "CP", "nouveau dans ONDE"),
    ]
    classes = {r["Classe"]: r for r in sheet_rows(report.output, "Classes")}
    assert classes["CM2 Bernard"]["Statut"] == "Créer"
    assert classes["CM2 Bernard"]["Enseignant responsable"] == "Claire BERNARD"  # guessed from the label
    onde = {r["Libellé ONDE"]: r for r in sheet_rows(report.output, "ONDE")}
    assert onde["CM2 Bernard"]["Classe IntraScol"] == "CM2 Bernard"
    assert onde["CM2 Bernard"]["Correspondance"] == "nouvelle classe proposée"
    assert onde["CE2-CM1"]["Élèves"] == 7
    assert report.counts[Origin.NEW] == 3
    assert report.counts[Origin.AMBIGUOUS] == 2
    # Sheets the tool does not own survive, and the workbook reads back.
    before, after = load_workbook(workbook), load_workbook(report.output)
    for title in ("Lisez-moi", "Export (ne pas modifier)"):
        assert list(after[title].iter_rows(values_only=True)) == list(
            before[title].iter_rows(values_only=True)
        )
    assert after["Export (ne pas modifier)"].sheet_state == "hidden"
    wanted = {u.key: u for u in load_wanted(report.output).users}
    assert wanted["crobert"].target_class == "CM2 Bernard"
    assert wanted["tleroy"].target is Target.LEAVES
    assert sorted((u.first_name, u.target_class) for u in wanted.values() if u.is_new) == [
        ("Hugo", "CP"),
        ("Manon", "CP"),
        ("Rose", "CP"),
    ]


def test_a_rerun_on_its_own_output_changes_nothing(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    first = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    second = fill_from_onde(first, CURRENT_UTF8, tmp_path / "encore.xlsx", today=TODAY).output
    for title in ("Utilisateurs", "Classes", "ONDE"):
        assert sheet_rows(second, title) == sheet_rows(first, title), title


def test_the_secretary_settles_homonyms_in_the_ine_column_and_next_year_remembers(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    first = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    book = load_workbook(first)
    sheet = book["Utilisateurs"]
    header = [c.value for c in sheet[3]]
    row = next(r for r in sheet.iter_rows(min_row=4) if r[0].value == "lmartin2")
    row[header.index("INE")].value = "070111115AE"
    book.save(first)

    report = fill_from_onde(first, CURRENT_ISO, tmp_path / "tranche.xlsx", today=TODAY)
    rows = by_login(report.output)
    assert (rows["lmartin2"]["Classe cible"], rows["lmartin2"]["Origine"]) == (
        "CE2-CM1",
        "correspondance confirmée",
    )
    assert rows["lmartin"]["Classe cible"] == "CE1"
    memory = json.loads((tmp_path / ".reconcile-onde.json").read_text(encoding="utf-8"))
    assert memory["correspondances"]["070111115AE"]["identifiant"] == "lmartin2"
    assert is_private(tmp_path / ".reconcile-onde.json")
    assert report.remembered == 1

    # Next year: a fresh export of the same accounts; the memory settles the homonyms.
    fresh = write_test_workbook(tilleuls(), tmp_path / "rentree-2.xlsx")
    rows = by_login(fill_from_onde(fresh, CURRENT_ISO, today=TODAY).output)
    assert rows["lmartin2"]["Classe cible"] == "CE2-CM1"
    assert rows["lmartin"]["Classe cible"] == "CE1"


def test_a_filtered_extraction_writes_nothing(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    with pytest.raises(OndeError, match="filtrée"):
        fill_from_onde(workbook, FILTERED, today=TODAY)
    assert not (tmp_path / "rentree-onde.xlsx").exists()


def test_old_be1d_extraction_proposes_classes_named_from_levels_and_teachers(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    report = fill_from_onde(workbook, OLD_BE1D, today=TODAY)
    classes = {r["Classe"]: r for r in sheet_rows(report.output, "Classes")}
    assert classes["CE2-CM1 M. MARTIN"]["Statut"] == "Créer"
    assert classes["CE1 Mme LEVEQUE"]["Enseignant responsable"] == "Sophie LEVEQUE"
    # "M. MARTIN": the teacher Thomas Martin is the only adult named Martin.
    assert classes["CE2-CM1 M. MARTIN"]["Enseignant responsable"] == "Thomas MARTIN"
    assert by_login(report.output)["nrousseau"]["Classe cible"] == "CE2-CM1 M. MARTIN"


# --- The command ------------------------------------------------------------------------


def test_the_command_prints_counts_and_refuses_to_overwrite(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    runner = CliRunner()
    result = runner.invoke(
        app, ["onde", str(workbook), str(CURRENT_ISO), "-o", str(tmp_path / "sortie.xlsx")]
    )
    assert result.exit_code == 0, result.output
    assert "correspondance exacte" in result.output
    assert "nouveau dans ONDE" in result.output
    assert "CM2 Bernard" in result.output
    again = runner.invoke(app, ["onde", str(workbook), str(CURRENT_ISO), "-o", str(tmp_path / "sortie.xlsx")])
    assert again.exit_code != 0
    assert isinstance(again.exception, OndeError)
    assert "existe déjà" in str(again.exception)
    forced = runner.invoke(
        app, ["onde", str(workbook), str(CURRENT_ISO), "-o", str(tmp_path / "sortie.xlsx"), "--remplacer"]
    )
    assert forced.exit_code == 0, forced.output


def test_a_departure_the_secretary_overruled_stays_overruled_on_a_rerun(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    first = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    book = load_workbook(first)
    sheet = book["Utilisateurs"]
    header = [c.value for c in sheet[3]]
    row = next(r for r in sheet.iter_rows(min_row=4) if r[0].value == "tleroy")
    row[header.index("Classe cible")].value = "CM2"  # he repeats the year
    book.save(first)
    rows = by_login(fill_from_onde(first, CURRENT_ISO, tmp_path / "bis.xlsx", today=TODAY).output)
    assert rows["tleroy"]["Classe cible"] == "CM2"
    assert rows["efaure"]["Classe cible"] == LEAVES_SCHOOL


@pytest.mark.posix_only
def test_the_new_workbook_is_private_whatever_the_input_permissions(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    workbook.chmod(0o644)  # it names pupils: the copy is readable by its owner only
    output = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    assert output.stat().st_mode & 0o777 == 0o600


def test_an_excel_file_given_as_the_extraction_is_refused_clearly(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    with pytest.raises(OndeError, match="est un classeur Excel, pas un fichier CSV"):
        fill_from_onde(workbook, workbook, tmp_path / "sortie.xlsx", today=TODAY)


def test_a_correspondence_edited_in_the_onde_sheet_moves_its_pupils_on_a_rerun(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    first = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    book = load_workbook(first)
    sheet = book["ONDE"]
    header_row = next(r for r in sheet.iter_rows(max_row=10) if any(c.value == "Libellé ONDE" for c in r))
    columns = {c.value: c.column for c in header_row}
    row = next(r for r in sheet.iter_rows(min_row=header_row[0].row + 1) if r[0].value == "CM2 Bernard")
    sheet.cell(row[0].row, columns["Classe IntraScol"], "cm2")  # the existing class, typed loosely
    book.save(first)
    report = fill_from_onde(first, CURRENT_ISO, tmp_path / "bis.xlsx", today=TODAY)
    rows = by_login(report.output)
    assert rows["crobert"]["Classe cible"] == "CM2"
    onde = {r["Libellé ONDE"]: r for r in sheet_rows(report.output, "ONDE")}
    assert onde["CM2 Bernard"]["Classe IntraScol"] == "CM2"
    assert onde["CM2 Bernard"]["Correspondance"] == "choisie dans le classeur"
    # The class proposed first is left in Classes, and the command says it has no pupil now.
    assert report.unused_new_classes == ("CM2 Bernard",)


def test_onde_text_never_becomes_a_formula(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    csv = tmp_path / "CSVExtraction.csv"
    data = (
        CURRENT_ISO.read_bytes().decode("cp1252")
        + '=HYPERLINK("http://x");;=1+2;01/01/2020;F;999;;;;;;;;;;CP;CP;1;\r\n'
    )
    csv.write_bytes(data.encode("cp1252"))
    output = fill_from_onde(workbook, csv, today=TODAY).output
    sheet = load_workbook(output)["Utilisateurs"]
    cells = [
        c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")
    ]
    assert {c.value for c in cells} == {'=HYPERLINK("http://x")', "=1+2"}
    assert all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c in cells)  # still text when the secretary edits the cell


def test_a_header_written_twice_is_filled_in_the_column_plan_reads(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    book = load_workbook(workbook)
    sheet = book["Utilisateurs"]
    copy = sheet.max_column + 1
    sheet.cell(3, copy, "Classe cible")  # a second « Classe cible », right of the table
    book.save(workbook)
    output = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    wanted = {u.login: u for u in load_wanted(output).users}
    assert (wanted["bnguyen"].target, wanted["bnguyen"].target_class) == (Target.CLASS, "CE1")
    sheet = load_workbook(output)["Utilisateurs"]
    assert sheet.cell(3, copy).value == "Classe cible"  # the new columns come after it
    assert [sheet.cell(3, copy + n).value for n in (1, 2, 3)] == ["Origine", "INE", "Détail ONDE"]


@pytest.mark.libreoffice
def test_a_rerun_on_its_output_resaved_by_calc_changes_nothing(tmp_path: Path) -> None:
    workbook = write_test_workbook(tilleuls(), tmp_path / "rentree.xlsx")
    first = fill_from_onde(workbook, CURRENT_ISO, today=TODAY).output
    resaved = resave_with_libreoffice(first, tmp_path / "calc")
    second = fill_from_onde(resaved, CURRENT_ISO, tmp_path / "encore.xlsx", today=TODAY).output
    for title in ("Utilisateurs", "Classes", "ONDE"):
        assert sheet_rows(second, title) == sheet_rows(first, title), title
    # The review colours survive Calc: conditional formats on the Origine column.
    formulas = {
        f
        for cf in load_workbook(second)["Utilisateurs"].conditional_formatting
        for r in cf.rules
        for f in r.formula
    }
    assert any("ambigu" in f for f in formulas)
    assert any("absent d'ONDE" in f for f in formulas)


def test_homonym_newcomers_keep_their_own_rows_on_a_rerun() -> None:
    text = "Nom élève;Prénom élève;INE;Libellé classe\nROUX;Lina;111;CP\nROUX;Lina;222;CE1\n"
    # The row of the first Lina was deleted; the second Lina's row (INE 222) must stay hers.
    rows = [NewPupilRow(30, "Roux", "Lina", "222")]
    matching = match_extraction(read_extraction(text.encode()), [], rows)
    assert [(a.onde.ine, a.row) for a in matching.arrivals] == [("111", None), ("222", 30)]
    # Without references (an old BE1D file), rows are taken in order, the same way every run.
    rows = [NewPupilRow(30, "Roux", "Lina"), NewPupilRow(31, "Roux", "Lina")]
    matching = match_extraction(read_extraction(text.encode()), [], rows)
    assert [(a.onde.ine, a.row) for a in matching.arrivals] == [("111", 30), ("222", 31)]


def test_a_newcomer_with_a_usage_name_takes_the_first_of_its_rows_every_run() -> None:
    text = "Nom élève;Nom d'usage élève;Prénom élève;INE;Libellé classe\nDUPONT;MOREAU;Inès;111;CP\n"
    extraction = read_extraction(text.encode())
    # A row typed under each of her names, without INE: the upper one is hers, whatever the run.
    for rows in (
        [NewPupilRow(40, "Moreau", "Inès"), NewPupilRow(41, "Dupont", "Inès")],
        [NewPupilRow(40, "Dupont", "Inès"), NewPupilRow(41, "Moreau", "Inès")],
    ):
        matching = match_extraction(extraction, [], rows)
        assert [a.row for a in matching.arrivals] == [40]
