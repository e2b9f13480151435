"""`apply` end to end: the real client against the sandbox over HTTP on loopback."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.app.apply import apply_workbook
from reconcile.app.demo import rentree
from reconcile.core.errors import NotConfirmed
from reconcile.core.model import ServerState, Target, UserType, WantedState, class_key, person_key
from reconcile.core.operations import Step
from reconcile.core.outcome import ApplyRun
from reconcile.core.ports import ClassLister
from reconcile.sandbox import RunningSandbox


def client_of(sandbox: RunningSandbox) -> IntraScolClient:
    return IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password, timeout=5, backoff=0.01)


def run_apply(sandbox: RunningSandbox, wanted: WantedState, output_dir: Path, **options: object) -> ApplyRun:
    with client_of(sandbox) as client:
        return apply_workbook(
            client,
            wanted,
            workbook=output_dir / "rentree.xlsx",
            output_dir=output_dir,
            confirm=lambda _preparation: True,
            retry_delay=0.01,
            **options,  # type: ignore[arg-type]
        )


class IdleBetweenSteps:
    """A progress display at whose every step the sandbox's sessions age past their expiry."""

    def __init__(self, sandbox: RunningSandbox, idle: float) -> None:
        self.sandbox = sandbox
        self.idle = idle

    def start_step(self, step: Step, total: int) -> None:
        self.sandbox.let_time_pass(self.idle)

    def advance(self, amount: int = 1) -> None:
        pass

    def end_step(self) -> None:
        pass


def verified(run: ApplyRun) -> bool:
    return run.outcome.complete and run.verification is not None and run.verification.ok


def people(state: ServerState) -> Counter[tuple[tuple[str, str], UserType]]:
    return Counter((person_key(u.last_name, u.first_name), u.type) for u in state.users)


def assert_in_wanted_state(state: ServerState, wanted: WantedState, before: ServerState) -> None:
    """Every row where the workbook says, each new person once more, removed classes gone."""
    now, then = people(state), people(before)
    exported = {u.login for u in before.users}
    for row in wanted.users:
        if row.is_new:
            person = (person_key(row.last_name, row.first_name), row.type)
            assert now[person] == then[person] + 1, row
            [user] = [
                u
                for u in state.users
                if u.login not in exported and (person_key(u.last_name, u.first_name), u.type) == person
            ]
        else:
            user = state.user(row.login or "")  # type: ignore[assignment]
            if row.target is Target.LEAVES:
                assert user is None, row
                continue
            assert user is not None, row
        if row.target is Target.CLASS:
            assert class_key(state.class_name_of(user) or "") == class_key(row.target_class or ""), row
    for wanted_class in wanted.classes:
        present = state.class_by_name(wanted_class.name) is not None
        assert present == (wanted_class.status.value != "Supprimer"), wanted_class


def read(sandbox: RunningSandbox) -> ServerState:
    with client_of(sandbox) as client:
        return client.read_state()


def test_a_full_rentree_on_the_sandbox_is_verified_and_a_second_run_sends_no_post(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    before = read(sandbox)
    wanted = rentree(before)
    first = run_apply(sandbox, wanted, tmp_path)
    assert verified(first), (first.outcome.reason, first.verification)
    after = read(sandbox)
    assert_in_wanted_state(after, wanted, before)
    assert len(first.accounts) == 6
    pupils = {a.login: a.password for a in first.accounts if a.type is UserType.PUPIL}
    assert pupils == {u.login: u.password for u in after.users if u.login in pupils}

    snapshot = sandbox.store.snapshot()
    with client_of(sandbox) as reader:
        reader.read_state()
        read_cost = reader.request_count  # logging in and reading every page, nothing else
    with client_of(sandbox) as client:
        second = apply_workbook(client, wanted, workbook=tmp_path / "rentree.xlsx", output_dir=tmp_path,
                                confirm=lambda _p: True)  # fmt: skip
        assert client.request_count == read_cost  # not one POST
    assert second.preparation.plan.is_empty
    assert verified(second)
    assert sandbox.store.snapshot() == snapshot


def test_declining_changes_nothing_on_the_sandbox(sandbox: RunningSandbox, tmp_path: Path) -> None:
    wanted = rentree(read(sandbox))
    snapshot = sandbox.store.snapshot()
    with client_of(sandbox) as client, pytest.raises(NotConfirmed):
        apply_workbook(client, wanted, workbook=tmp_path / "r.xlsx", output_dir=tmp_path,
                       confirm=lambda _p: False)  # fmt: skip
    assert sandbox.store.snapshot() == snapshot


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_faults_and_session_expiry_converge_within_three_runs_without_duplicates(
    sandbox: RunningSandbox, tmp_path: Path, seed: int
) -> None:
    before = read(sandbox)
    wanted = rentree(before)
    sandbox.configure(fail_before_post=0.10, lose_answer_after_post=0.05, session_idle_seconds=0.3, seed=seed)
    runs: list[ApplyRun | Exception] = []
    for _ in range(3):
        try:
            run = run_apply(sandbox, wanted, tmp_path, progress=IdleBetweenSteps(sandbox, 0.4))
        except Exception as error:  # a failed first read: the next run starts again
            runs.append(error)
            continue
        runs.append(run)
        if verified(run):
            break
    sandbox.configure(fail_before_post=0, lose_answer_after_post=0, session_idle_seconds=1800)
    assert isinstance(runs[-1], ApplyRun)
    assert verified(runs[-1]), runs
    assert_in_wanted_state(read(sandbox), wanted, before)


def test_a_provisional_pupil_left_by_a_killed_run_is_removed(sandbox: RunningSandbox, tmp_path: Path) -> None:
    before = read(sandbox)
    wanted = rentree(before)
    sandbox.store.add_user("Provisoire", "Reconcile CE2-CM1", "eleve", "CE2-CM1")
    run = run_apply(sandbox, wanted, tmp_path)
    assert verified(run), (run.outcome.reason, run.verification)
    assert [u for u in sandbox.store.users() if u.first_name == "Provisoire"] == []
    assert not any("Provisoire" in change for change in run.preparation.resolution.changes)


def test_the_client_lists_classes_alone_in_one_request(sandbox: RunningSandbox) -> None:
    with client_of(sandbox) as client:
        client.read_state()
        before = client.request_count
        classes = client.read_classes()
        assert client.request_count == before + 1
    assert {c.name for c in classes} == {c.name for c in sandbox.store.classes()}
    assert isinstance(client, ClassLister)
