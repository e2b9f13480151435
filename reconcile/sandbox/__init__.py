"""The sandbox: an IntraScol-compatible web server for tests, demos and rehearsals.

It imports nothing from the rest of `reconcile`: it stands for somebody else's
server, and the client must work against it only through `INTERFACE.md`.

    from reconcile.sandbox import SandboxOptions, start_sandbox

    with start_sandbox(SandboxOptions(demo=True, seed=1)) as sb:
        sb.url, sb.admin_login, sb.admin_password, sb.store
"""

from reconcile.sandbox.records import (
    ADULT,
    COMMON_FOLDER,
    PUPIL,
    VERSION,
    Message,
    StoredClass,
    StoredFile,
    StoredFolder,
    StoredUser,
)
from reconcile.sandbox.server import RunningSandbox, SandboxOptions, start_sandbox
from reconcile.sandbox.store import Store

__all__ = [
    "ADULT",
    "COMMON_FOLDER",
    "PUPIL",
    "VERSION",
    "Message",
    "RunningSandbox",
    "SandboxOptions",
    "Store",
    "StoredClass",
    "StoredFile",
    "StoredFolder",
    "StoredUser",
    "start_sandbox",
]
