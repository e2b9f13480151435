"""HTTP requests and time of the client's operations on the demo school.

The sandbox adds a latency to every request, like a school's slow line: the
number of requests is what makes the tool fast or slow there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.core.model import UserType
from reconcile.sandbox import SandboxOptions, start_sandbox

LATENCY = 0.02


def measure(client: IntraScolClient, label: str, action: Callable[[], object]) -> None:
    before, started = client.request_count, time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<48} {client.request_count - before:>4} requête(s) {elapsed:>7.2f} s")


def main() -> None:
    with start_sandbox(SandboxOptions(demo=True, seed=1, latency=LATENCY)) as sandbox:
        store = sandbox.store
        client = IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password)
        print(f"École de démonstration : {len(store.users())} comptes, latence {LATENCY * 1000:.0f} ms")
        measure(client, "connexion", client.log_in)
        measure(client, "info()", client.info)
        measure(client, "read_state() (1 + 1 par page de 50)", client.read_state)
        teacher = store.adults()[0].login
        school_class = store.classes()[0]
        created: list[str] = []
        measure(
            client,
            "create_user()",
            lambda: created.append(client.create_user("Léa", "Nguyễn", UserType.PUPIL).login),
        )
        measure(client, "assign()", lambda: client.assign(created[0], school_class.id))
        pupils = [u.login for u in store.users() if u.is_pupil][:20]
        measure(client, "transfer() de 20 élèves", lambda: client.transfer(pupils, school_class.id))
        measure(client, "create_class()", lambda: client.create_class("Classe de banc d'essai", teacher))
        measure(client, "modify_class()", lambda: client.modify_class(school_class.id, teacher))
        measure(client, "delete_users() de 20 élèves", lambda: client.delete_users(pupils))
        new_class = store.class_named("Classe de banc d'essai")
        assert new_class is not None
        measure(client, "delete_classes()", lambda: client.delete_classes([new_class.id]))
        with_files = next(c for c in store.classes() if store.files_of(c.name))
        owner = store.pupils_of(with_files.name)[0]

        def empty_folder() -> None:
            session = client.user_session(owner.login, owner.password)
            folder = next(f for f in session.folders() if f.name == with_files.name)
            files = session.files(folder.id)
            for shared in files:
                b"".join(session.download(shared.id))
            session.delete_files(folder.id, [f.id for f in files])
            session.close()

        count = len(store.files_of(with_files.name))
        measure(client, f"vider un dossier de {count} fichiers (côté élève)", empty_folder)
        sandbox.configure(session_idle_seconds=60)
        sandbox.let_time_pass(61)  # the admin session expires, without waiting for it
        measure(client, "read_state() après expiration de la session", client.read_state)


if __name__ == "__main__":
    main()
