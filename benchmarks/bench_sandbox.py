"""The sandbox's costs: starting a fresh demo school (tests start one per test) and serving pages."""

from __future__ import annotations

import statistics
import time

import requests

from reconcile.sandbox import SandboxOptions, start_sandbox


def timed(action: object, repeat: int) -> list[float]:
    assert callable(action)
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return durations


def report(label: str, durations: list[float]) -> None:
    median, worst = statistics.median(durations) * 1000, max(durations) * 1000
    print(f"{label:<55} médiane {median:7.1f} ms  max {worst:7.1f} ms")


def main() -> None:
    started = time.perf_counter()
    first = start_sandbox(SandboxOptions(seed=123))
    report("premier démarrage (construction de l'école de démo)", [time.perf_counter() - started])
    first.stop()
    for label, options in (
        ("école de démo neuve (copie)", SandboxOptions(seed=123)),
        ("école vide", SandboxOptions(demo=False)),
    ):
        starts, stops = [], []
        for _ in range(20):
            started = time.perf_counter()
            running = start_sandbox(options)
            starts.append(time.perf_counter() - started)
            started = time.perf_counter()
            running.stop()
            stops.append(time.perf_counter() - started)
        report(f"démarrage : {label}", starts)
        report(f"arrêt : {label}", stops)

    with start_sandbox(SandboxOptions()) as sb:
        session = requests.Session()
        session.post(
            sb.url + "admin/login.php", data={"login": sb.admin_login, "motdepasse": sb.admin_password}
        )
        report(
            "GET admin/utilisateurs.php (50 lignes)",
            timed(lambda: session.get(sb.url + "admin/utilisateurs.php"), 50),
        )
        report("GET admin/classes.php", timed(lambda: session.get(sb.url + "admin/classes.php"), 50))
        report(
            "POST admin/utilisateurs.php (jeton refusé)",
            timed(lambda: session.post(sb.url + "admin/utilisateurs.php", data={"jeton": "x"}), 50),
        )


if __name__ == "__main__":
    main()
