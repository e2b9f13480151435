"""HTTP requests and time of the class folder workaround, by number of files.

The lower bound the contract allows, with the checks the workaround makes:
create the provisional pupil, assign it, log in on the users' side, list the
folders, list the files, one download per file, one deletion of all the files,
list again (empty?), delete the pupil: 8 + files. Then the class deletion (1).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.app.folders import archive_class_folder
from reconcile.sandbox import SandboxOptions, start_sandbox

LATENCY = 0.02


def main() -> None:
    print(f"Contournement du dossier de classe, latence {LATENCY * 1000:.0f} ms par requête")
    for extra_files in (0, 20, 100):
        with (
            start_sandbox(SandboxOptions(demo=True, seed=1, latency=LATENCY)) as sandbox,
            IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client,
            tempfile.TemporaryDirectory() as archive_dir,
        ):
            for number in range(extra_files):
                sandbox.store.add_file("CM2", f"Travaux/élève-{number:03d}.bin", os.urandom(20_000))
            school_class = client.read_state().class_by_name("CM2")
            assert school_class is not None
            files = len(sandbox.store.files_of("CM2"))
            before, started = client.request_count, time.perf_counter()
            result = archive_class_folder(client, school_class, Path(archive_dir))
            elapsed = time.perf_counter() - started
            requests = client.request_count - before
            print(
                f"{files:>4} fichiers ({result.size / 1024:>6.0f} Ko) : {requests:>4} requêtes "
                f"(borne {8 + files}), rapport {requests / (8 + files):.2f}, {elapsed:6.2f} s"
            )


if __name__ == "__main__":
    main()
