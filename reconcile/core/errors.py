"""The exceptions of `reconcile`: one root, specific subclasses carrying context.

Standard library only. Messages are in French: they are what the user reads.
Only `reconcile.cli` turns them into a printed message and an exit code.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconcile.core.findings import Finding, grouped


class ReconcileError(Exception):
    """Root of every error `reconcile` raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- Talking to the server -----------------------------------------------------------


class ServerError(ReconcileError):
    """Something went wrong while talking to IntraScol."""

    exit_code = 3


class ServerUnreachable(ServerError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"Le serveur IntraScol ne répond pas ({url}) : {reason}. "
            "Vérifiez l'adresse et que le serveur est allumé."
        )
        self.url = url
        self.reason = reason


class ServerTooSlow(ServerUnreachable):
    """A request (its GET retries included) did not end within its total deadline.

    A kind of `ServerUnreachable`: after a POST, the caller re-reads the server as for a lost answer.
    """

    def __init__(self, url: str, seconds: float) -> None:
        ServerError.__init__(
            self,
            f"Le serveur n'a pas fini de répondre sur {url} en {seconds:g} s (délai total d'une requête) : "
            "lecture abandonnée. Le serveur ou le réseau est peut-être surchargé : réessayez plus tard.",
        )
        self.url = url
        self.reason = f"délai total de {seconds:g} s dépassé"
        self.seconds = seconds


class PageTooLarge(ServerError):
    """A page of the server is larger than any IntraScol page: reading stopped at the limit."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(
            f"La page {url} envoyée par le serveur dépasse {megabytes(limit)} (une page d'IntraScol "
            "en fait bien moins) : lecture arrêtée. Ce serveur est-il bien un serveur IntraScol ?"
        )
        self.url = url
        self.limit = limit


def megabytes(size: int) -> str:
    """A size limit in French words: `16 Mo`."""
    return f"{size / 1024 / 1024:g} Mo"


class CertificateRejected(ServerError):
    """The server's HTTPS certificate is not trusted: the server answers, its certificate is the problem."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            f"Le certificat HTTPS du serveur {url} n'est pas reconnu ({detail}) : la connexion est refusée "
            "pour ne pas envoyer le mot de passe à un serveur qui n'est peut-être pas le bon. Si l'école "
            "utilise son propre certificat (auto-signé ou de sa propre autorité), donnez le fichier de ce "
            "certificat avec --certificat-ac FICHIER (ou la variable d'environnement INTRASCOL_CA_BUNDLE)."
        )
        self.url = url
        self.detail = detail


class CertificateFileUnusable(ServerError):
    """The file given with `--certificat-ac` cannot be used to check the server's certificate."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"Le fichier de certificat {path} (--certificat-ac) ne peut pas être utilisé : {reason}. "
            "Donnez le certificat du serveur ou de l'autorité de l'école, au format PEM (un fichier .pem "
            "ou .crt qui commence par « -----BEGIN CERTIFICATE----- »)."
        )
        self.path = path
        self.reason = reason


class CredentialsInUrl(ServerError):
    """The server address holds a login or a password (`http://admin:pw@host/`); never echoed."""

    def __init__(self, address_alone: str) -> None:
        super().__init__(
            "L'adresse du serveur contient un identifiant ou un mot de passe (la partie avant « @ ») : "
            "elle serait écrite dans le classeur exporté et les rapports. Donnez l'adresse seule, ici "
            f"{address_alone}, l'identifiant avec --identifiant (ou INTRASCOL_LOGIN) et le mot de passe "
            "quand il est demandé (ou dans la variable d'environnement INTRASCOL_PASSWORD)."
        )
        self.address_alone = address_alone


class InvalidServerUrl(ServerError):
    """The server address given is not a web address."""

    def __init__(self, url: str) -> None:
        if url and "://" not in url:
            fix = f"il manque http:// (ou https://) au début, par exemple http://{url}"
        else:
            fix = "écrivez-la comme http://serveur/intrascol/ (http:// ou https://, puis le nom du serveur)"
        super().__init__(f"L'adresse du serveur « {url} » n'est pas une adresse web : {fix}.")
        self.url = url


class AuthenticationFailed(ServerError):
    def __init__(self, url: str, login: str) -> None:
        super().__init__(
            f"Connexion refusée par {url} pour l'identifiant « {login} » : "
            "identifiant ou mot de passe incorrect."
        )
        self.url = url
        self.login = login


class PageNotRecognised(ServerError):
    """A page lacks what the IntraScol contract says it holds."""

    def __init__(self, url: str, missing: str) -> None:
        super().__init__(
            f"Page non reconnue : {url} ne contient pas {missing}. "
            "Ce serveur est-il bien un serveur IntraScol ?"
        )
        self.url = url
        self.missing = missing


class ServerFailure(ServerError):
    """The server answered with an error status (after retries for a GET)."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"Le serveur a répondu par une erreur {status} sur {url}.")
        self.url = url
        self.status = status


class AnswerLost(ServerError):
    """A POST was sent but its answer is unknown: it may or may not have been applied.

    Never retried blindly: the caller re-reads the server and decides.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"La réponse du serveur à une modification ({url}) a été perdue : {reason}. "
            "Elle a peut-être été appliquée."
        )
        self.url = url
        self.reason = reason


class ServerRefused(ServerError):
    """The server answered a form with an `erreur` message."""

    exit_code = 2

    def __init__(self, message: str, subject: str = "") -> None:
        super().__init__(f"Le serveur a refusé : {message}")
        self.server_message = message
        self.subject = subject


# --- The workbook and the plan -------------------------------------------------------


class WorkbookError(ReconcileError):
    """The workbook cannot be read into a wanted state."""

    def __init__(self, path: str, problems: Sequence[Finding]) -> None:
        lines = "\n".join(f"  - {p}" for p in grouped(problems))  # the same problem on many rows: once
        super().__init__(f"Le classeur {path} ne peut pas être utilisé :\n{lines}")
        self.path = path
        self.problems = tuple(problems)


class PlanBlocked(ReconcileError):
    """The plan has problems: nothing will be changed."""

    def __init__(self, problems: Sequence[Finding]) -> None:
        lines = "\n".join(f"  - {p}" for p in grouped(problems))
        super().__init__(f"Le plan ne peut pas être appliqué :\n{lines}")
        self.problems = tuple(problems)


class DriftAmbiguous(ReconcileError):
    """The server changed since the export so that the workbook's intent is unclear."""

    def __init__(self, reasons: Sequence[str]) -> None:
        lines = "\n".join(f"  - {r}" for r in reasons)
        super().__init__(
            "Le serveur a changé depuis l'export et le classeur n'est plus clair :\n"
            f"{lines}\nRefaites un export (reconcile export) et reportez-y vos choix."
        )
        self.reasons = tuple(reasons)


class NotConfirmed(ReconcileError):
    def __init__(self, reason: str = "Opération annulée : rien n'a été modifié.") -> None:
        super().__init__(reason)


class ApplyIncomplete(ReconcileError):
    """A step could not complete; running `apply` again resumes."""

    exit_code = 2

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(
            f"L'étape « {step} » n'a pas pu être terminée : {reason}\n"
            "Relancez la même commande pour reprendre là où elle s'est arrêtée."
        )
        self.step = step
        self.reason = reason


class Interrupted(ReconcileError):
    """The person pressed Ctrl-C. Exit code 2 when the server may have been changed already."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OutputNotWritable(ReconcileError):
    """A file (workbook, report, lists) cannot be written into the folder asked for."""

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(
            f"Impossible d'écrire dans le dossier {folder} : {reason}. "
            "Choisissez un autre dossier (--dossier-sortie, ou -o pour reconcile export)."
        )
        self.folder = folder
        self.reason = reason


class OutputMissing(ReconcileError):
    """The work on the server is done, but a file of its account (report, class lists) is missing.

    Exit code 4: nothing to redo on the server, a file to write again.
    """

    exit_code = 4

    def __init__(self, missing: Sequence[str]) -> None:
        lines = "\n".join(f"  - {m}" for m in missing)
        super().__init__(
            "Le serveur est dans l'état demandé par le classeur (vérifié), mais ces fichiers n'ont pas pu "
            f"être écrits :\n{lines}\nCorrigez la cause (place sur le disque, droits sur le dossier, un "
            "dossier qui porte le nom du fichier), puis : reconcile listes refait les listes de classes ; "
            "relancer la même commande réécrit le compte rendu sans rien refaire sur le serveur."
        )
        self.missing = tuple(missing)


class JournalError(ReconcileError):
    """The journal in the output folder cannot be used for this plan."""


class ApplicationInProgress(JournalError):
    """Another `reconcile apply` holds the lock of this server, or of this output folder."""

    def __init__(self, *, server_url: str | None = None, output_dir: str | None = None) -> None:
        if server_url is not None:
            where = f"sur le serveur {server_url}"
            why = "Deux applications à la fois sur le même serveur créeraient des comptes en double."
        else:
            where = f"avec le dossier de sortie {output_dir}"
            why = "Deux applications à la fois écriraient le même journal."
        super().__init__(
            f"Une autre application est en cours {where} : attendez qu'elle se termine, puis relancez "
            f"cette commande. {why} Rien n'a été modifié."
        )
        self.server_url = server_url
        self.output_dir = output_dir


class JournalDamaged(JournalError):
    """A line of a journal is not a record reconcile wrote: the run stops, nothing is guessed."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(
            f"Le journal {path} est abîmé à la ligne {line} : {reason}. Un journal est la trace de ce qui "
            "a déjà été fait sur le serveur : reconcile ne devine pas ce que disait cette ligne et "
            "s'arrête sans rien modifier. Restaurez le journal (une copie de sauvegarde, ou la ligne "
            "réparée), puis relancez la même commande. Si c'est impossible : refaites un export "
            "(reconcile export), reportez-y vos choix et appliquez ce nouveau classeur avec un autre "
            "dossier de sortie (--dossier-sortie)."
        )
        self.path = path
        self.line = line
        self.reason = reason


# --- Class work folders ----------------------------------------------------------------


class FolderArchiveError(ReconcileError):
    """The workaround for a class whose work folder holds files could not complete.

    `files_deleted` says whether any file was deleted on the server already (then
    only after the archive holding it was written and checked).
    """

    exit_code = 2

    def __init__(self, class_name: str, reason: str, *, files_deleted: bool = False) -> None:
        outcome = (
            "Les fichiers supprimés du serveur sont dans l'archive déjà écrite."
            if files_deleted
            else "Aucun fichier n'a été supprimé du serveur."
        )
        super().__init__(
            f"Le dossier de travail de la classe « {class_name} » n'a pas pu être archivé et vidé : "
            f"{reason} {outcome} La classe n'est pas supprimée."
        )
        self.class_name = class_name
        self.reason = reason
        self.files_deleted = files_deleted


class ArchiveNotWritten(FolderArchiveError):
    """The archive of a class folder could not be written on this computer (disk full, read-only…)."""

    def __init__(self, class_name: str, folder: str, reason: str) -> None:
        super().__init__(
            class_name, f"l'archive ne peut pas être écrite dans le dossier {folder} : {reason}."
        )
        self.folder = folder


class UnknownClass(ReconcileError):
    """A class named on the command line is not on the server."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        listed = ", ".join(f"« {k} »" for k in known) or "aucune"
        super().__init__(f"La classe « {name} » n'existe pas sur le serveur. Classes existantes : {listed}.")
        self.name = name
        self.known = tuple(known)


# --- ONDE -----------------------------------------------------------------------------


class OndeError(ReconcileError):
    """The ONDE extraction cannot be used (malformed, or probably filtered)."""
