"""HTTP requests and time of a full rentrée applied to the sandbox (`make bench`).

Counts every request the client makes during `apply` (first read, POSTs, re-reads,
verification) against the lower bound the IntraScol contract allows: log in, read
the state once (the class list and one page per 50 users), one POST per created
user, per assignment, per new class, per change of responsible teacher, per
destination class, one per user deletion step (those leaving, then the teachers of the
classes removed, who can only go once their class is gone), one for all class
deletions, and one read of the class list to learn the ids of new classes (the
creation's answer does not give it) when pupils are then put in them.
Then times the same rentrée on the demo school and on a generated 2,000-pupil
school, and the no-op second run.
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.app.apply import apply_workbook
from reconcile.app.demo import rentree
from reconcile.core.operations import (
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Plan,
    TransferPupils,
)
from reconcile.core.outcome import ApplyRun
from reconcile.sandbox import RunningSandbox, SandboxOptions, start_sandbox
from reconcile.sandbox.store import Store

LEVELS = ("GS", "CP", "CE1", "CE2", "CM1", "CM2")


def lower_bound(plan: Plan, users: int, archived_files: list[int]) -> int:
    """The fewest requests the contract allows for this plan (see the module docstring).

    `archived_files`: the number of files of each class folder saved by the workaround,
    whose minimum is 8 requests plus one per file (see `bench_folders.py`), plus the
    second deletion of the class.
    """
    ops = plan.operations
    read = 1 + math.ceil(users / 50)
    count = 1 + read  # log in, read the state once
    count += sum(isinstance(op, CreateUser | AssignPupil | CreateClass | ChangeResponsible) for op in ops)
    count += len({op.class_name for op in ops if isinstance(op, TransferPupils)})
    count += sum(isinstance(op, DeleteUsers) for op in ops)
    created = {op.name for op in ops if isinstance(op, CreateClass)}
    filled = {op.class_name for op in ops if isinstance(op, AssignPupil | TransferPupils)}
    count += 1 if created & filled else 0  # the new classes' ids
    count += 1 if any(isinstance(op, DeleteClasses) for op in ops) else 0
    count += sum(8 + files + 1 for files in archived_files)
    return count


def client_of(sandbox: RunningSandbox) -> IntraScolClient:
    return IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password)


def apply_once(sandbox: RunningSandbox, output: Path, wanted: object) -> tuple[ApplyRun, int, float]:
    with client_of(sandbox) as client:
        started = time.perf_counter()
        run = apply_workbook(
            client,
            wanted,  # type: ignore[arg-type]
            workbook=output / "rentree.xlsx",
            output_dir=output,
            confirm=lambda _preparation: True,
            allow_mass_delete=True,
        )
        return run, client.request_count, time.perf_counter() - started


def populate(store: Store, pupils: int, seed: int = 5) -> None:
    """A big school: one class per level (and a double-level class), `pupils` pupils spread over them."""
    rng = random.Random(seed)
    first_names = ("Léa", "Hugo", "Zoé", "Noé", "Inès", "Adam", "Jade", "Lucas", "Chloé", "Nathan", "Awa")
    last_names = ("Martin", "Bernard", "Roux", "N'Diaye", "Nguyễn", "Lebœuf", "Da Silva", "Lefèvre", "Moreau")
    classes = (*LEVELS, "CE2-CM1")
    for name in classes:
        teacher = store.add_user(rng.choice(first_names), f"Enseignant {name}", "adulte")
        store.add_class(name, teacher.login)
    for number in range(pupils):
        store.add_user(
            rng.choice(first_names), f"{rng.choice(last_names)} {number}", "eleve", classes[number % 7]
        )


def bench(
    label: str, options: SandboxOptions, pupils: int | None = None, files: int = 0, arrivals: int = 0
) -> None:
    with start_sandbox(options) as sandbox, tempfile.TemporaryDirectory() as folder:
        if pupils is not None:
            populate(sandbox.store, pupils)
        for number in range(files):
            sandbox.store.add_file("CE2-CM1", f"Travaux/fichier-{number}.bin", bytes([number % 256]) * 20_000)
        with client_of(sandbox) as reader:
            before = reader.read_state()
        wanted = rentree(before, extra_new_pupils=arrivals)
        run, requests, seconds = apply_once(sandbox, Path(folder), wanted)
        if run.verification is None or not run.verification.ok:
            raise SystemExit(f"{label} : l'application n'a pas abouti ({run.outcome.reason}).")
        bound = lower_bound(run.preparation.plan, len(before.users), [a.files for a in run.outcome.archives])
        again, again_requests, again_seconds = apply_once(sandbox, Path(folder), wanted)
        if not again.preparation.plan.is_empty:
            raise SystemExit(f"{label} : la seconde exécution n'est pas vide.")
        print(
            f"{label} : {len(before.users)} comptes, {len(run.preparation.plan.operations)} opérations, "
            f"{len(run.outcome.archives)} dossier(s) archivé(s) ; "
            f"{requests} requêtes HTTP pour une borne inférieure de {bound} "
            f"(rapport {requests / bound:.2f}) ; {seconds:.2f} s. "
            f"Seconde exécution (rien à faire) : {again_requests} requêtes, {again_seconds:.2f} s."
        )


def main() -> None:
    bench("École de démonstration", SandboxOptions(demo=True, seed=1))
    bench("École de démonstration, dossier de 5 fichiers", SandboxOptions(demo=True, seed=1), files=5)
    bench("École de démonstration, latence 20 ms", SandboxOptions(demo=True, seed=1, latency=0.02), files=5)
    bench("École de 2 000 élèves, 305 arrivées", SandboxOptions(demo=False, seed=1), pupils=2000, files=5,
          arrivals=300)  # fmt: skip


if __name__ == "__main__":
    main()
