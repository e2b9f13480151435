"""Time to write and read back the rentrée workbook, for a school and for a whole district.

The read runs in a process of its own, so that its peak memory (resident set) is its own.
"""

from __future__ import annotations

import resource
import subprocess
import sys
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


def read_in_this_process(path: Path) -> None:
    """Child side: read the workbook, print the time and the peak memory."""
    started, cpu = time.perf_counter(), time.process_time()
    reading = read_workbook(path)
    read, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert not reading.problems, reading.problems[:3]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"{read:.3f} {cpu:.3f} {peak:.0f}")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        for pupils in (200, 2_000, 10_000):
            state = school(pupils)
            path = Path(directory) / f"rentree-{pupils}.xlsx"
            started = time.perf_counter()
            write_workbook(state, path, server_url="http://serveur/intrascol/", exported_at=datetime.now(UTC))
            written = time.perf_counter() - started
            child = subprocess.run(
                [sys.executable, __file__, "--lire", str(path)], capture_output=True, text=True, check=True
            )
            read, cpu, peak = child.stdout.split()
            size = path.stat().st_size / 1024
            print(
                f"{len(state.users):>6} comptes : écriture {written:6.2f} s, "
                f"lecture {float(read):6.2f} s ({float(cpu):5.2f} s de processeur, "
                f"pic mémoire du processus {float(peak):4.0f} Mio), "
                f"{size:7.0f} Kio"
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--lire":
        read_in_this_process(Path(sys.argv[2]))
    else:
        main()
