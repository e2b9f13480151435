"""`reconcile onde` on a large school: reading the extraction, matching, filling the workbook.

Prints figures only (no timed assertion). A school of 40 classes and 1,000 pupils, every
pupil one class up in the extraction, the last classes leaving, 50 new pupils.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

from reconcile.adapters.workbook import write_workbook
from reconcile.adapters.workbook.onde import fill_from_onde
from reconcile.core.model import SchoolClass, ServerState, User, UserType
from reconcile.core.onde import ServerPupil, match_extraction
from reconcile.core.onde_extraction import read_extraction

LEVELS = ("CP", "CE1", "CE2", "CM1", "CM2")
CLASSES = 40
PER_CLASS = 25


def school() -> tuple[ServerState, bytes]:
    classes = tuple(
        SchoolClass(i + 1, f"{LEVELS[i * len(LEVELS) // CLASSES]} {i + 1}", f"prof{i + 1}")
        for i in range(CLASSES)
    )
    adults = [User(f"prof{i + 1}", f"Professeur{i + 1}", "Anne", UserType.ADULT) for i in range(CLASSES)]
    pupils = [
        User(f"e{c}x{n}", f"Nom{c}x{n}", f"Prénom{n}", UserType.PUPIL, c + 1)
        for c in range(CLASSES)
        for n in range(PER_CLASS)
    ]
    lines = ["Nom élève;Nom d'usage élève;Prénom élève;Date naissance;INE;Niveau;Libellé classe"]
    for pupil in pupils:
        assert pupil.class_id is not None
        if pupil.class_id + 8 > CLASSES:
            continue  # the last classes leave
        target = classes[pupil.class_id - 1 + 8]
        level = target.name.split()[0]
        lines.append(
            f"{pupil.last_name.upper()};;{pupil.first_name};01/02/2018;{pupil.login}X;{level};{target.name}"
        )
    for n in range(50):
        lines.append(f"NOUVEAU{n};;Zoé;03/04/2020;N{n:08d};CP;CP 1")
    state = ServerState(classes=classes, users=(*adults, *pupils), school="Grande école")
    return state, ("\r\n".join(lines) + "\r\n").encode("cp1252")


def main() -> None:
    state, data = school()
    start = time.perf_counter()
    extraction = read_extraction(data)
    read = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        workbook = Path(folder) / "rentree.xlsx"
        write_workbook(state, workbook, server_url="http://127.0.0.1/", exported_at=datetime(2027, 7, 1))
        csv = Path(folder) / "CSVExtraction.csv"
        csv.write_bytes(data)
        pupils = [
            ServerPupil(u.login, u.last_name, u.first_name, state.class_name_of(u) or "")
            for u in state.users
            if u.type is UserType.PUPIL
        ]
        start = time.perf_counter()
        matching = match_extraction(extraction, pupils)
        matched = time.perf_counter() - start
        start = time.perf_counter()
        report = fill_from_onde(workbook, csv, today="2027-07-01", leaving_classes=())
        filled = time.perf_counter() - start
    print(f"extraction de {len(extraction.pupils)} élèves lue en {read * 1000:.1f} ms")
    print(f"{len(pupils)} comptes appariés en {matched * 1000:.1f} ms ({len(matching.arrivals)} nouveaux)")
    print(f"classeur rempli et écrit en {filled:.2f} s : {report.output.name}")


if __name__ == "__main__":
    main()
