"""Time to write and read back the rentrée workbook, for a school and for a whole district."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from reconcile.adapters.workbook import read_workbook, write_workbook
from reconcile.core.model import SchoolClass, ServerState, User, UserType


def school(pupils: int, per_class: int = 25) -> ServerState:
    count = max(1, pupils // per_class)
    teachers = tuple(User(f"prof{i}", f"Prof{i}", "Anne", UserType.ADULT) for i in range(count))
    classes = tuple(SchoolClass(i + 1, f"Classe {i + 1}", f"prof{i}") for i in range(count))
    children = tuple(
        User(f"eleve{i}", f"Nom{i}", f"Prénom{i}", UserType.PUPIL, 1 + i % count) for i in range(pupils)
    )
    return ServerState(classes, teachers + children, school="École de mesure")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        for pupils in (200, 2_000, 10_000):
            state = school(pupils)
            path = Path(directory) / f"rentree-{pupils}.xlsx"
            started = time.perf_counter()
            write_workbook(state, path, server_url="http://serveur/intrascol/", exported_at=datetime.now(UTC))
            written = time.perf_counter() - started
            started = time.perf_counter()
            reading = read_workbook(path)
            read = time.perf_counter() - started
            assert not reading.problems, reading.problems[:3]
            size = path.stat().st_size / 1024
            print(
                f"{len(state.users):>6} comptes : écriture {written:6.2f} s, "
                f"lecture {read:6.2f} s, {size:7.0f} Kio"
            )


if __name__ == "__main__":
    main()
