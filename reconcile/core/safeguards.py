"""The workbook belongs to one server (pure): its recorded address and accounts against the server's.

A workbook acts on the people its logins name; first-name.last-name logins recur from one
school to the next, so a workbook applied to another server would delete and move other
children. The export records the server's address, the school's name and every account
as exported (`ExportInfo`); before anything is planned they are compared with the server
connected to. `Safeguards` carries what that comparison needs from the command line,
and what the user lifted there (`--nouvelle-adresse`, `--mouvements-verifies`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlparse

from reconcile.core.findings import Finding, Severity, problem, warning
from reconcile.core.model import ServerState, Target, UserType, WantedState, fold, person_key
from reconcile.core.plausibility import UnusualMove, review_moves

NEW_ADDRESS_OPTION = "--nouvelle-adresse"
MASS_DELETE_OPTION = "--suppression-massive"
_OTHER_SERVER_ADVICE = (
    "Vérifiez --adresse ou INTRASCOL_URL, ou refaites un export de ce serveur et reportez-y vos choix."
)

MIN_ACCOUNTS_FOUND = 0.80
"""Below this share of the workbook's exported accounts found on the server, it is another server's."""


@dataclass(frozen=True)
class Safeguards:
    """What the plan's safeguards compare with, and what the user lifted on the command line.

    `server_url`: the address of the server connected to (None: the address is not compared,
    as in the verification after a run). `new_address`: `--nouvelle-adresse`, the server's new
    address when it moved since the export. `moves_checked`: `--mouvements-verifies`.
    """

    server_url: str | None = None
    new_address: str | None = None
    moves_checked: bool = False


@dataclass(frozen=True)
class Guarded:
    """What the safeguards found: problems that block, warnings, and the unusual moves listed."""

    problems: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    unusual_moves: tuple[UnusualMove, ...]


DEFAULT_SAFEGUARDS = Safeguards()


def check_safeguards(current: ServerState, workbook: WantedState, safeguards: Safeguards) -> Guarded:
    """The workbook as read (before the journal resolves it) against the server: same server, usual moves."""
    server = same_server_problems(current, workbook, safeguards)
    review = review_moves(current, workbook, checked=safeguards.moves_checked)
    return Guarded(
        problems=(*(f for f in server if f.severity is Severity.PROBLEM), *review.problems),
        warnings=(*(f for f in server if f.severity is Severity.WARNING), *review.warnings),
        unusual_moves=review.moves,
    )


def server_path(url: str) -> str:
    """The path of a server's base address (`/intrascol/`) from the path of an address a person gives.

    Tolerates the address of a page pasted from the browser (`…/admin/login.php`,
    `…/admin/`) and a missing final slash.
    """
    segments = url.split("/")
    if segments[-1].endswith(".php"):
        segments[-1] = ""
    while len(segments) > 1 and segments[-1] == "":
        segments.pop()
    if segments[-1] == "admin":
        segments.pop()
    return "/".join(segments).rstrip("/") + "/"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_address(url: str) -> str:
    """`url` as a server's base address, the one form of an address that says which server it is
    (`http://serveur/intrascol/`): the host's case, a default port and a pasted page ignored.

    Compares the workbook's address with the server's and keys the lock of one application per
    server. Never raises: a text that is no web address is only trimmed (it then equals only itself).
    """
    given = url.strip()
    try:
        parts = urlparse(given)
        port = parts.port
    except ValueError:
        return given
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return given
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    return parts._replace(
        scheme=scheme,
        netloc=host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}",
        path=server_path(parts.path),
        params="",
        query="",
        fragment="",
    ).geturl()


def same_address(first: str, second: str) -> bool:
    return server_address(first) == server_address(second)


def same_server_problems(current: ServerState, wanted: WantedState, safeguards: Safeguards) -> list[Finding]:
    """Problems (and the one warning of a server that moved) when `wanted` was exported from
    another server than `current`. `wanted` is the workbook as read (its rows marked « Quitte
    l'école » may be gone from the server: they do not count)."""
    export = wanted.export
    if export is None:
        return []
    findings: list[Finding] = []
    connected = safeguards.server_url
    here = f"« {current.school} » ({connected})" if connected else f"« {current.school} »"
    there = f"« {export.school} » ({export.server_url})"
    if connected is not None:
        findings.extend(_address_findings(export.server_url, safeguards, there, here))
    if export.school and current.school and fold(export.school) != fold(current.school):
        findings.append(
            problem(
                f"Ce classeur a été exporté de {there}, mais le serveur connecté est celui de {here}. "
                + _OTHER_SERVER_ADVICE
            )
        )
        return findings
    leaving = {row.login for row in wanted.users if row.target is Target.LEAVES}
    kept = [u for u in export.users if u.login not in leaving]
    found = 0
    for exported in kept:
        user = current.user(exported.login)
        if user is not None and person_key(user.last_name, user.first_name) == person_key(
            exported.last_name, exported.first_name
        ):
            found += 1
    if not kept or found >= MIN_ACCOUNTS_FOUND * len(kept):
        return findings
    if found == 0:
        what = f"Aucun des {len(kept)} comptes de ce classeur n'existe sur ce serveur"
    else:
        what = (
            f"Seuls {found} des {len(kept)} comptes de ce classeur ({round(100 * found / len(kept))} %) "
            f"existent sur ce serveur avec le même identifiant et les mêmes nom et prénom (il en faut "
            f"au moins {round(100 * MIN_ACCOUNTS_FOUND)} %)"
        )
    findings.append(
        problem(
            f"{what} : il a été exporté de {export.server_url} (« {export.school} »), et le serveur "
            f"connecté est {here}. {_OTHER_SERVER_ADVICE}"
        )
    )
    return findings


def _address_findings(recorded: str, safeguards: Safeguards, there: str, here: str) -> list[Finding]:
    """The workbook's recorded address against the server's, and `--nouvelle-adresse`."""
    connected, new = safeguards.server_url or "", safeguards.new_address
    if new is not None and not same_address(new, connected):
        return [
            problem(
                f"{NEW_ADDRESS_OPTION} {new} ne correspond pas au serveur connecté ({connected}) : cette "
                "option nomme la nouvelle adresse du serveur, la même que --adresse."
            )
        ]
    if not recorded or same_address(recorded, connected):
        return []
    if new is not None:
        return [
            warning(
                f"Ce classeur a été exporté à l'adresse {recorded} ; le serveur a changé d'adresse "
                f"({NEW_ADDRESS_OPTION} {connected}) : ses comptes sont comparés à ceux de l'export."
            )
        ]
    return [
        problem(
            f"Ce classeur a été exporté du serveur {there}, mais le serveur connecté est {here}. "
            f"{_OTHER_SERVER_ADVICE} Si c'est bien le même serveur, qui a changé d'adresse, relancez "
            f"avec {NEW_ADDRESS_OPTION} {connected}."
        )
    ]


def mass_delete_problems(
    current: ServerState, leaving: Collection[str], threshold: float, allowed: bool
) -> list[Finding]:
    """A problem when the plan deletes more than `threshold` of the pupils, unless `allowed`."""
    pupils = sum(1 for u in current.users if u.type is UserType.PUPIL)
    deleted = sum(
        1 for login in leaving if (u := current.user(login)) is not None and u.type is UserType.PUPIL
    )
    if allowed or not pupils or deleted / pupils <= threshold:
        return []
    return [
        problem(
            f"Le plan supprime {deleted} élèves sur {pupils} ({round(100 * deleted / pupils)} %), plus "
            f"que le seuil de sécurité de {round(100 * threshold)} % : vérifiez la colonne « Classe "
            f"cible ». Si c'est bien voulu, relancez avec l'option {MASS_DELETE_OPTION}."
        )
    ]
