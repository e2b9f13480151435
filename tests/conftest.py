"""Shared fixtures: the two IntraScol servers of the tests.

A real IntraScol-compatible server (the sandbox) on a free loopback port:

- `sandbox`: a fresh demo school (seed 1, no faults) for one test;
- `empty_sandbox`: only the administrator, no user, no class.

The in-memory server of `tests/memory_server.py`, for faults at an exact POST:

- `server`: a fresh `small_school()` (three classes, their teachers, four pupils); a test
  places its faults with `server.faults`, `server.lose_answer_of`, `server.after_listing`.
  A test that needs several fresh schools, or a subclass, calls `small_school()` itself.

The sandboxes are stopped after the test; a test may call `sb.configure(latency=...,
fail_before_post=..., lose_answer_after_post=..., session_idle_seconds=..., seed=...)`,
`sb.let_time_pass(seconds)` (sessions age without a sleep) and `sb.wait_for_request(path)` (a
signal that the server received a request, instead of a sleep).
`sb.url` is the base URL (`http://127.0.0.1:PORT/intrascol/`), `sb.store` the state
(see `reconcile.sandbox.store.Store` for its setup and inspection helpers).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.sandbox import RunningSandbox, SandboxOptions, start_sandbox
from tests.memory_server import MemoryServer, small_school


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """reconcile's state directory (the servers' locks) for this test only, never the real home."""
    folder = tmp_path_factory.mktemp("etat")
    monkeypatch.setenv("RECONCILE_STATE_DIR", str(folder))  # the processes a test starts inherit it
    return folder


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxOptions(demo=True, seed=1)) as running:
        yield running


@pytest.fixture
def empty_sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxOptions(demo=False, seed=1)) as running:
        yield running


@pytest.fixture
def server() -> MemoryServer:
    return small_school()


# --- What only POSIX systems have ----------------------------------------------------------

POSIX = os.name == "posix"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `posix_only` tests (file modes, signals, terminals) are skipped on Windows."""
    if POSIX:
        return
    skip = pytest.mark.skip(reason="POSIX seulement : modes de fichiers, signaux ou terminal")
    for item in items:
        if item.get_closest_marker("posix_only"):
            item.add_marker(skip)


def is_private(path: Path | str) -> bool:
    """Readable by its owner only: mode 0600 on POSIX (Windows has no such mode bits to check)."""
    return not POSIX or stat.S_IMODE(os.stat(path).st_mode) == 0o600
