"""The client's own cost: each command against the floor of its own requests replayed (issue 12).

For a 2,000-pupil school (7 classes, 300 arrivals, 5 files in the removed class's
folder), `reconcile export`, `plan` and `apply` run as the user runs them (a process of
their own) against a sandbox in another process that records every request. The same
requests are then replayed, byte for byte, with a bare `requests.Session` (no parsing,
no journal, no report) against a fresh copy of the same school: the replay is the time
the server needs, the rest is ours. The sandbox hands out seeded session ids and
`jeton`s (`recording_sandbox.py`), so the replay's POSTs are accepted as the run's were;
each replayed answer's status and length are checked against the recorded one's.

Printed for each figure, beside the target of issue 12: command time / replay time, the
client's CPU (user + system, whole process, start-up included) per request, the peak
memory (max RSS) of each command, the requests against the contract's lower bound plus
one full read for the verification; then the class-list PDF of 2,000 pupils, the plan
report of 50,000 accounts (HTML + xlsx) and the peak memory of `plan` on a school of
49,000 accounts (the client reads at most 1,000 pages of 50).

Each figure is the best of BENCH_REPEAT runs (default 2): the machine may be shared.
BENCH_QUICK=1 leaves out the 49,000-account school (a few minutes).
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench_apply import lower_bound, populate  # noqa: E402  (a script beside this one)
from bench_plan import synthetic_rentree, write_report  # noqa: E402

from reconcile.adapters.intrascol.client import IntraScolClient  # noqa: E402
from reconcile.adapters.reports.class_lists import build_class_lists, render_pdf  # noqa: E402
from reconcile.app.demo import fill_workbook, rentree  # noqa: E402
from reconcile.core.model import ServerState  # noqa: E402
from reconcile.core.operations import CreateUser, DeleteUsers  # noqa: E402
from reconcile.core.plan import make_plan  # noqa: E402
from reconcile.sandbox import SandboxOptions, start_sandbox  # noqa: E402

REPEAT = max(1, int(os.environ.get("BENCH_REPEAT", "2")))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
PUPILS, ARRIVALS, FILES = 2_000, 300, 5
BIG_PUPILS = 49_000
REMOVED_CLASS = "CE2-CM1"  # the double-level class the demo's rentrée removes


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float
    peak_mb: float


class RecordingSandbox:
    """`recording_sandbox.py` in its own process, on a copy of `state`, on `port`."""

    def __init__(self, state: Path, folder: Path, port: int) -> None:
        self.copy = folder / "etat.sqlite"
        shutil.copyfile(state, self.copy)
        self.record = folder / "requetes.json"
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "recording_sandbox.py"), str(self.copy), str(self.record), str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first:
            raise SystemExit("Le bac à sable enregistreur n'a pas démarré.")
        access = json.loads(first)
        self.url, self.login, self.password = access["url"], access["login"], access["password"]

    def stop(self) -> list[dict[str, Any]]:
        """Stops the server; the requests it received."""
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.close()
        self.process.wait(timeout=120)
        recorded: list[dict[str, Any]] = json.loads(self.record.read_text(encoding="utf-8"))
        self.copy.unlink()
        return recorded


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_command(arguments: Sequence[str], sandbox: RecordingSandbox, log: Path) -> Run:
    """`reconcile ARGUMENTS` in a process of its own: its time, CPU and peak memory (Linux's rusage)."""
    environment = {
        **os.environ,
        "INTRASCOL_URL": sandbox.url,
        "INTRASCOL_LOGIN": sandbox.login,
        "INTRASCOL_PASSWORD": sandbox.password,
        "COLUMNS": "200",
    }
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "reconcile", *arguments],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"reconcile {arguments[0]} a échoué ({process.returncode}) :\n{log.read_text()[-3000:]}"
        )
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def replay(url: str, recorded: Sequence[dict[str, Any]]) -> tuple[float, int]:
    """Sends `recorded` again as they were (cookies too): (seconds, answers of another status or length)."""
    origin = url.split("/intrascol/")[0]
    differing = 0
    with requests.Session() as session:
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # the recorded cookies only
        started = time.perf_counter()
        for request in recorded:
            headers = {"Cookie": request["cookie"]} if request["cookie"] else {}
            if request["content_type"]:
                headers["Content-Type"] = request["content_type"]
            query = f"?{request['query']}" if request["query"] else ""
            answer = session.request(
                request["method"],
                f"{origin}{request['path']}{query}",
                data=base64.b64decode(request["body"]) or None,
                headers=headers,
                allow_redirects=False,
            )
            differing += (answer.status_code, len(answer.content)) != (request["status"], request["length"])
        seconds = time.perf_counter() - started
    return seconds, differing


@dataclass
class Measured:
    runs: list[Run]
    replays: list[float]
    requests: int
    differing: int

    @property
    def seconds(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def replay(self) -> float:
        return min(self.replays)

    @property
    def cpu_ms_per_request(self) -> float:
        return min(r.cpu for r in self.runs) * 1000 / self.requests

    @property
    def peak_mb(self) -> float:
        return min(r.peak_mb for r in self.runs)


def measure(
    state: Path, port: int, folder: Path, arguments: Callable[[Path], list[str]], repeat: int
) -> Measured:
    """The command run `repeat` times on fresh copies of `state`, each run followed by its replay."""
    measured = Measured([], [], 0, 0)
    for _ in range(repeat):
        place = folder / f"essai-{len(list(folder.glob('essai-*')))}"
        place.mkdir()
        sandbox = RecordingSandbox(state, place, port)
        try:
            measured.runs.append(run_command(arguments(place), sandbox, place / "sortie.txt"))
        finally:
            recorded = sandbox.stop()
        fresh = RecordingSandbox(state, place, port)
        try:
            seconds, differing = replay(fresh.url, recorded)
        finally:
            fresh.stop()
        measured.replays.append(seconds)
        measured.requests, measured.differing = len(recorded), max(measured.differing, differing)
    return measured


def make_school(folder: Path, pupils: int, files: int) -> tuple[Path, ServerState]:
    """A school's SQLite state (copied for each run) and the state the client reads of it."""
    path = folder / f"ecole-{pupils}.sqlite"
    with start_sandbox(SandboxOptions(demo=False, seed=1, state=path)) as sandbox:
        populate(sandbox.store, pupils)
        for number in range(files):
            sandbox.store.add_file(REMOVED_CLASS, f"Travaux/fichier-{number}.bin", bytes([number]) * 20_000)
        with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
            return path, client.read_state()


HOME_PAGE = 1
"""`admin/index.php`, read once by every command: the server's version and the school's name."""


def full_read(users: int) -> int:
    """The requests of one full read of the server: the classes, then one page per 50 users."""
    return 1 + math.ceil(users / 50)


def line(label: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("atteint" if ok else "NON atteint")
    print(f"  {label:<58} {value:>22}   cible : {target:<26} {verdict}", flush=True)


def best_of(action: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(REPEAT):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def commands(
    state: Path, before: ServerState, folder: Path, port: int, repeat: int, *, with_apply: bool = True
) -> dict[str, Measured]:
    """export, then the workbook filled with the demo's rentrée, then plan and (unless told not to) apply."""
    results = {"export": measure(state, port, folder, lambda p: ["export", "-o", str(p / "r.xlsx")], repeat)}
    workbook = folder / "rentree.xlsx"
    shutil.copyfile(folder / "essai-0" / "r.xlsx", workbook)
    fill_workbook(workbook, rentree(before, extra_new_pupils=ARRIVALS), before)

    def with_workbook(command: str, *options: str) -> Callable[[Path], list[str]]:
        def arguments(place: Path) -> list[str]:
            if not (place / "rentree.xlsx").exists():
                shutil.copyfile(workbook, place / "rentree.xlsx")
            return [command, str(place / "rentree.xlsx"), "--dossier-sortie", str(place), *options]

        return arguments

    results["plan"] = measure(state, port, folder, with_workbook("plan", "--suppression-massive"), repeat)
    if with_apply:
        results["apply"] = measure(
            state, port, folder, with_workbook("apply", "--oui", "--suppression-massive"), repeat
        )
    return results


def print_commands(results: dict[str, Measured], before: ServerState) -> None:
    allowance = {"export": 1.0, "plan": 0.5, "apply": 0.0}
    for command, measured in results.items():
        limit = 1.3 * measured.replay + allowance[command]
        extra = f" + {allowance[command]:.1f} s" if allowance[command] else ""
        line(
            f"{command} : durée / rejeu de ses {measured.requests} requêtes",
            f"{measured.seconds:.2f} s / {measured.replay:.2f} s = {measured.seconds / measured.replay:.2f}",
            f"≤ 1,3 × rejeu{extra} = {limit:.2f} s",
            measured.seconds <= limit,
        )
        cpu = measured.cpu_ms_per_request
        # The issue sets the 3 ms per request for apply only: export and plan make 44 requests,
        # so their start-up and workbook dominate (their target is the time above).
        if command == "apply":
            line(f"{command} : CPU du client par requête", f"{cpu:.2f} ms", "≤ 3 ms", cpu <= 3)
        else:
            line(f"{command} : CPU du client par requête", f"{cpu:.2f} ms", "(mesure)", None)
        line(f"{command} : mémoire maximale (2 000 élèves)", f"{measured.peak_mb:.0f} Mo", "(mesure)", None)
        if measured.differing:
            print(f"  ! {measured.differing} réponse(s) du rejeu de {command} autre(s) (statut ou longueur)")
    apply = results["apply"]
    wanted = rentree(before, extra_new_pupils=ARRIVALS)
    plan = make_plan(before, wanted, allow_mass_delete=True)
    # The command line also reads the home page once (version and school, for the same-server check).
    bound = lower_bound(plan, len(before.users), [FILES]) + HOME_PAGE
    ops = plan.operations
    after = (
        len(before.users)
        + sum(isinstance(op, CreateUser) for op in ops)
        - sum(len(op.logins) for op in ops if isinstance(op, DeleteUsers))
    )
    verification = full_read(after)
    line(
        "apply : requêtes",
        f"{apply.requests}",
        f"borne {bound} + vérification {verification} = {bound + verification}",
        apply.requests <= bound + verification,
    )
    reading = 1 + HOME_PAGE + full_read(len(before.users))  # log in, the home page, read once
    for command in ("export", "plan"):
        requests = results[command].requests
        target = f"connexion + accueil + lecture = {reading}"
        line(f"{command} : requêtes", f"{requests}", target, requests <= reading)


def reports(before: ServerState) -> None:
    lists = build_class_lists(before, None)
    pdf_time = best_of(lambda: render_pdf(lists))
    line(
        f"listes de classes en PDF ({lists.pupil_count} élèves)", f"{pdf_time:.2f} s", "≤ 1 s", pdf_time <= 1
    )
    current, wanted = synthetic_rentree(50_000)
    result = make_plan(current, wanted, allow_mass_delete=True)
    with tempfile.TemporaryDirectory() as folder:
        report_time = best_of(lambda: write_report(result, current, wanted, Path(folder)))
    line(f"rapport du plan HTML + xlsx ({len(current.users):,} comptes)", f"{report_time:.2f} s", "≤ 3 s",
         report_time <= 3)  # fmt: skip


def big_school(folder: Path, port: int) -> None:
    started = time.perf_counter()
    state, before = make_school(folder, BIG_PUPILS, 0)
    print(f"  (école de {len(before.users):,} comptes préparée en {time.perf_counter() - started:.0f} s)")
    # export and plan only: the issue's target is the plan's memory (an apply of 49,000 accounts takes long).
    results = commands(state, before, folder, port, repeat=1, with_apply=False)
    for command, measured in results.items():
        line(
            f"{command} : mémoire maximale ({len(before.users):,} comptes)",
            f"{measured.peak_mb:.0f} Mo",
            "≤ 500 Mo" if command == "plan" else "(mesure)",
            measured.peak_mb <= 500 if command == "plan" else None,
        )
        line(f"{command} : durée ({len(before.users):,} comptes)",
             f"{measured.seconds:.1f} s (rejeu {measured.replay:.1f} s)", "(mesure)", None)  # fmt: skip


def main() -> None:
    load = os.getloadavg()
    print(
        f"Charge de la machine au départ : {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} ({os.cpu_count()} cœurs)"
    )
    print(f"Meilleur de {REPEAT} essai(s) pour chaque mesure.")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-rejeu-") as name:
        folder = Path(name)
        state, before = make_school(folder, PUPILS, FILES)
        print(f"École de {len(before.users):,} comptes, {ARRIVALS} arrivées, {FILES} fichiers à archiver :")
        print_commands(commands(state, before, folder, port, REPEAT), before)
        reports(before)
        if not QUICK:
            big = folder / "grande"
            big.mkdir()
            big_school(big, port)
    load = os.getloadavg()
    print(f"Charge de la machine à la fin : {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
