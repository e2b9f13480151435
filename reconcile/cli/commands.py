"""The command line: a few lines per command over the library.

The only module that imports Typer, and the only place where a `ReconcileError`
becomes a message and an exit code.
"""

from __future__ import annotations

import errno
import getpass
import os
import re
import socket
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer import rich_utils
from typer.core import TyperGroup

from reconcile import __version__
from reconcile.adapters.intrascol.client import IntraScolClient, base_url
from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.adapters.reports.apply_report import REPORT_NAME, run_report, write_apply_report, write_private
from reconcile.adapters.reports.plan_report import ReportFiles, write_plan_report
from reconcile.app.apply import apply_workbook
from reconcile.core.errors import ApplyIncomplete, Interrupted, NotConfirmed, ReconcileError
from reconcile.core.findings import NOWHERE
from reconcile.core.model import UserType, WantedState
from reconcile.core.outcome import ApplyRun, OpStatus, Preparation
from reconcile.core.plan import Plan, Step, make_plan
from reconcile.core.wording import headline, step_sections

# Typer's help chrome, in the users' language (module-level settings of typer.rich_utils).
rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
rich_utils.ERRORS_PANEL_TITLE = "Erreur"
rich_utils.ABORTED_TEXT = "Abandon."
rich_utils.DEFAULT_STRING = "[par défaut : {}]"
rich_utils.ENVVAR_STRING = "[variable d'environnement : {}]"
rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
rich_utils.RICH_HELP = "Aide : [blue]{command_path} {help_option}[/]"

# Typer's usage errors (a mistyped command line), in French. Their exit code becomes 1
# (refused, nothing changed): Typer's 2 means « inachevé, relancez » for reconcile.
_USAGE_IN_FRENCH = (
    (r"Missing argument '(.+?)'\.", r"Argument manquant : \1."),
    (r"Missing option '(.+?)'\.", r"Option manquante : \1."),
    (r"Got unexpected extra argument(?:\(s\)|s)? \((.+)\)", r"Argument(s) en trop : \1"),
    (r"No such option: (\S+)", r"Option inconnue : \1"),
    (r"No such command '(.+?)'\.", r"Commande inconnue : « \1 »."),
    (r"\(Possible options: (.+)\)", r"(options possibles : \1)"),
    (r"Did you mean (\S+)\?", r"Vouliez-vous dire \1 ?"),
    (r"Option '(.+?)' requires an argument\.", r"L'option \1 attend une valeur."),
    (r"Option '(.+?)' does not take a value\.", r"L'option \1 ne prend pas de valeur."),
    (r"Invalid value for (.+?): ", r"Valeur invalide pour \1 : "),
    (r"'(.*?)' / '(.*?)'", r"\1 / \2"),
    (r"'(-.*?)' :", r"\1 :"),
    (r"Input should be a valid integer.*", "« {value} » n'est pas un nombre entier."),
    (r"Input should be a valid number.*", "« {value} » n'est pas un nombre."),
    (r"[Ff]ile '(.*?)' is a directory\.", r"« \1 » est un dossier, pas un fichier."),
    (r"[Ff]ile '(.*?)' does not exist\.", r"le fichier « \1 » n'existe pas."),
)
_typer_format_error = rich_utils.rich_format_error


def _format_usage_error(error: Any) -> None:  # click.ClickException, vendored by Typer
    if type(error).__name__ != "NoArgsIsHelpError":  # `reconcile` alone: the help, as Typer shows it
        english = error.format_message
        value = _bad_value(error)

        def in_french() -> str:
            text: str = english()
            for pattern, replacement in _USAGE_IN_FRENCH:
                text = re.sub(pattern, replacement.replace("{value}", value or "?"), text)
            return text

        error.format_message = in_french
        error.exit_code = 1
    _typer_format_error(error)


def _bad_value(error: Any) -> str | None:
    """The value typed for the parameter a `BadParameter` is about, to quote it back."""
    param = getattr(error, "param", None)
    ctx = getattr(error, "ctx", None)
    if param is None or ctx is None:
        return None
    arguments = sys.argv[1:]
    for name in getattr(param, "opts", ()):
        for position, argument in enumerate(arguments):
            if argument.startswith(f"{name}="):
                return argument.split("=", 1)[1]
            if argument == name and position + 1 < len(arguments):
                return arguments[position + 1]
    return None


rich_utils.rich_format_error = _format_usage_error  # type: ignore[assignment]

COMMAND_ORDER = ("info", "export", "onde", "plan", "apply", "listes", "demo", "sandbox", "version")


class _WorkflowOrder(TyperGroup):
    """Lists the commands in the order of the rentrée, not in the order they are defined."""

    def list_commands(self, ctx: Any) -> list[str]:  # click.Context, vendored by Typer
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: COMMAND_ORDER.index(n) if n in COMMAND_ORDER else len(names))


app = typer.Typer(
    cls=_WorkflowOrder,
    name="reconcile",
    help="La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
errors = Console(stderr=True)

UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="INTRASCOL_URL", help="Adresse du serveur, ex. http://serveur/intrascol/"),
]
LoginOption = Annotated[
    str | None,
    typer.Option("--login", envvar="INTRASCOL_LOGIN", help="Identifiant de l'administrateur."),
]


READ_ONLY_INTERRUPTED = "Interrompu (Ctrl-C) : rien n'a été modifié sur le serveur."


@contextmanager
def on_ctrl_c(message: str, exit_code: int = 1) -> Iterator[None]:
    """Ctrl-C becomes a French message and a documented exit code (Typer's own is a silent 130)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(message, exit_code) from None


@app.command()
def version() -> None:
    """Affiche la version de reconcile."""
    console.print(f"reconcile {__version__}")


# --- Connection to the server (part "client", shared by the commands that talk to IntraScol) ---


def _ask_password(login: str, url: str) -> str:
    """The password typed at the terminal, never echoed; refused when there is no terminal."""
    with warnings.catch_warnings():
        # Without a terminal, getpass warns (in English) and would read an echoed password.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return getpass.getpass(f"Mot de passe de « {login} » sur {url} : ")
        except getpass.GetPassWarning:
            raise ReconcileError(
                f"Pas de terminal pour demander le mot de passe de « {login} » sans l'afficher : "
                "mettez-le dans la variable d'environnement INTRASCOL_PASSWORD."
            ) from None


def _load_workbook(workbook: Path) -> WantedState:
    """The wanted state of a filled-in workbook, read before any connection to the server."""
    from reconcile.adapters.workbook import load_wanted

    if not workbook.is_file():
        raise ReconcileError(f"Le classeur {workbook} n'existe pas.")
    return load_wanted(workbook)


def connect_from_cli(url: str | None, login: str | None) -> IntraScolClient:
    """A logged-in client from `--url` / `--login` (or their environment variables).

    The password comes from `INTRASCOL_PASSWORD` or a hidden prompt, never from the
    command line (it would show in the shell history and the process list).
    """
    if not url:
        raise ReconcileError(
            "Adresse du serveur manquante : donnez --url ou la variable d'environnement INTRASCOL_URL "
            "(ex. http://serveur/intrascol/)."
        )
    url = base_url(url)
    if not login:
        if not sys.stdin.isatty():
            raise ReconcileError(
                "Identifiant de l'administrateur manquant, et pas de terminal pour le demander : "
                "donnez --login ou la variable d'environnement INTRASCOL_LOGIN."
            )
        login = typer.prompt("Identifiant de l'administrateur")
    password = os.environ.get("INTRASCOL_PASSWORD") or _ask_password(login, url)
    client = IntraScolClient(url, login, password)
    with console.status(f"Connexion à {escape(url)}…"):
        client.log_in()
    return client


@app.command()
def info(url: UrlOption = None, login: LoginOption = None) -> None:
    """Se connecte au serveur et affiche sa version, l'école et le nombre de comptes."""
    with (
        on_ctrl_c(READ_ONLY_INTERRUPTED),
        connect_from_cli(url, login) as client,
        console.status("Lecture des comptes…"),
    ):
        server = client.info()
        state = client.read_state()
    adults = sum(1 for u in state.users if u.type is UserType.ADULT)
    pupils = len(state.users) - adults
    without_class = sum(1 for u in state.users if u.type is UserType.PUPIL and u.class_id is None)
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("Serveur", escape(client.url))
    table.add_row("Version d'IntraScol", escape(server.version))
    table.add_row("École", escape(server.school))
    table.add_row("Classes", str(len(state.classes)))
    table.add_row("Adultes", str(adults))
    table.add_row("Élèves", f"{pupils} (dont {without_class} sans classe)")
    console.print(table)


# --- reconcile export (part "workbook") ------------------------------------------------


@app.command()
def export(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Le classeur à écrire.", dir_okay=False)
    ] = Path("rentree.xlsx"),
    force: Annotated[bool, typer.Option("--force", help="Remplace le classeur s'il existe déjà.")] = False,
    url: UrlOption = None,
    login: LoginOption = None,
) -> None:
    """Lit le serveur et écrit le classeur de la rentrée, à remplir dans Excel ou LibreOffice Calc."""
    from reconcile.adapters.workbook import write_workbook

    if output.suffix.lower() != ".xlsx":
        raise ReconcileError(
            f"« {output.name} » : le classeur doit finir par .xlsx, sinon ni Excel ni LibreOffice Calc ni "
            f"reconcile plan ne l'ouvrent comme un classeur. Par exemple : -o {output.stem or 'rentree'}.xlsx"
        )
    if output.exists() and not force:
        raise ReconcileError(
            f"Le fichier {output} existe déjà : il contient peut-être vos saisies. "
            "Choisissez un autre nom avec -o, ou ajoutez --force pour le remplacer."
        )
    if not output.resolve().parent.is_dir():
        raise ReconcileError(f"Le dossier {output.resolve().parent} n'existe pas : créez-le ou changez -o.")
    interrupted = "Export interrompu (Ctrl-C) : aucun classeur n'a été écrit, rien n'a été modifié."
    with on_ctrl_c(interrupted), connect_from_cli(url, login) as client:
        client.info()
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("Lecture des comptes…", total=None)

            def on_page(pages: int, users: int) -> None:
                bar.update(task, completed=pages, description=f"Lecture des comptes : {users} (page {pages})")

            state = client.read_state(progress=on_page)
            done = bar.tasks[0].completed
            bar.update(task, total=done, completed=done, description=f"Comptes lus : {len(state.users)}")
        write_workbook(state, output, server_url=client.url, exported_at=datetime.now().astimezone())
    name = escape(str(output))
    console.print(
        f"[green]Classeur écrit :[/] {escape(str(output.resolve()))} "
        f"({len(state.users)} comptes, {len(state.classes)} classes ; aucun mot de passe).\n"
        "Ensuite :\n"
        f"  1. ouvrez-le dans Excel ou LibreOffice Calc et remplissez la colonne « Classe cible » "
        "(mode d'emploi : onglet « Lisez-moi ») ;\n"
        f"  2. vérifiez le résultat sans rien modifier : [bold]reconcile plan {name}[/] ;\n"
        f"  3. appliquez-le : [bold]reconcile apply {name}[/].",
        highlight=False,
    )


# --- end of export -------------------------------------------------------------------------------


# --- sandbox (part "sandbox") -------------------------------------------------------------------


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port d'écoute (0 : un port libre).")] = 8080,
    host: Annotated[str, typer.Option(help="Adresse d'écoute.")] = "127.0.0.1",
    state: Annotated[
        Path | None,
        typer.Option(help="Fichier SQLite où garder l'état du serveur (par défaut : un fichier temporaire)."),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo/--empty", help="Un nouvel état : l'école de démonstration, ou vide.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Graine de l'école de démonstration et des pannes simulées.")] = 1,
    session_minutes: Annotated[
        float | None, typer.Option(help="Durée d'inactivité avant expiration d'une session (minutes).")
    ] = None,
    session_seconds: Annotated[
        float | None, typer.Option(help="Durée d'inactivité avant expiration d'une session (secondes).")
    ] = None,
    latency: Annotated[float, typer.Option(help="Délai ajouté à chaque réponse (secondes).")] = 0.0,
    fail_before_post: Annotated[
        float, typer.Option(help="Probabilité d'une erreur 500 avant d'appliquer un formulaire (0 à 1).")
    ] = 0.0,
    lose_answer_after_post: Annotated[
        float, typer.Option(help="Probabilité d'appliquer un formulaire puis de perdre la réponse (0 à 1).")
    ] = 0.0,
) -> None:
    """Lance un serveur IntraScol de démonstration (bac à sable) jusqu'à Ctrl-C."""
    from reconcile.sandbox import SandboxOptions, start_sandbox

    problems = [
        f"{name} attend une probabilité entre 0 et 1, pas {value}."
        for name, value in (
            ("--fail-before-post", fail_before_post),
            ("--lose-answer-after-post", lose_answer_after_post),
        )
        if not 0.0 <= value <= 1.0
    ]
    if not 0 <= port <= 65535:
        problems.append(f"--port attend un numéro entre 0 et 65535, pas {port}.")
    problems += [
        f"{name} attend une durée positive, pas {value}."
        for name, value in (
            ("--latency", latency),
            ("--session-minutes", session_minutes),
            ("--session-seconds", session_seconds),
        )
        if value is not None and value < 0
    ]
    if problems:
        for problem in problems:
            errors.print(f"[bold red]Erreur :[/] {problem}", highlight=False)
        raise typer.Exit(1)
    idle = 30 * 60.0
    if session_seconds is not None:
        idle = session_seconds
    elif session_minutes is not None:
        idle = session_minutes * 60
    options = SandboxOptions(
        demo=demo,
        seed=seed,
        state=state,
        session_idle_seconds=idle,
        latency=latency,
        fail_before_post=fail_before_post,
        lose_answer_after_post=lose_answer_after_post,
        log_requests=True,
    )
    try:
        running = start_sandbox(options, host=host, port=port)
    except OSError as error:
        reason = {
            errno.EADDRINUSE: "ce port est déjà utilisé (par un autre bac à sable ?) : choisissez-en un "
            "autre avec --port, ou --port 0 pour un port libre",
            errno.EADDRNOTAVAIL: "cette adresse n'est pas celle de cet ordinateur (--host)",
            errno.EACCES: "ce port est réservé à l'administrateur : choisissez-en un au-dessus de 1024",
        }.get(error.errno or 0, error.strerror or str(error))
        if isinstance(error, socket.gaierror):
            reason = "adresse inconnue (--host)"
        message = f"impossible d'écouter sur {host}:{port} : {reason}."
        errors.print(f"[bold red]Erreur :[/] {escape(message)}", highlight=False)
        raise typer.Exit(1) from error
    except ValueError as error:
        errors.print(f"[bold red]Erreur :[/] {error}")
        raise typer.Exit(1) from error
    store = running.store
    lines = [
        f"Bac à sable IntraScol : {running.url}",
        f"  {store.school_name} : {len(store.classes())} classes, {len(store.users())} utilisateurs",
        f"  État : {store.path}" + ("" if state else " (temporaire, effacé à l'arrêt)"),
        f"  Administration : {running.url}admin/login.php",
        f"  Identifiant administrateur : {running.admin_login}",
        f"  Mot de passe administrateur : {running.admin_password}",
        "Pour y connecter reconcile dans un autre terminal :",
        f"  export INTRASCOL_URL={running.url} INTRASCOL_LOGIN={running.admin_login}",
        "  (le mot de passe ci-dessus vous sera demandé, sans s'afficher)",
        "Arrêt : Ctrl-C.",
    ]
    try:
        for line in lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        running.serve_until_interrupted()
    except KeyboardInterrupt:  # Ctrl-C before serving began
        running.stop()
    console.print("Bac à sable arrêté.")


# --- end of sandbox ------------------------------------------------------------------------------


# --- reconcile apply (part "apply") ------------------------------------------------------


class _StepBars:
    """A rich progress bar per step of the plan, for `execute`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start_step(self, step: Step, total: int) -> None:
        self.task = self.progress.add_task(f"Étape {int(step)} : {step.title}", total=max(total, 1))

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)

    def end_step(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)


def _show_preparation(preparation: Preparation) -> None:
    """What the run is about to do: drift since the export, then the plan as `reconcile plan` shows it."""
    resolution = preparation.resolution
    if resolution.changes or resolution.skipped:
        console.print("[bold yellow]Le serveur a changé depuis l'export :[/]")
        for line in (*resolution.changes, *resolution.skipped):
            console.print(f"  - {escape(line)}", highlight=False)
    print_plan_summary(preparation.plan)


def _confirm(preparation: Preparation, yes: bool) -> bool:
    _show_preparation(preparation)
    if yes:
        return True
    if not sys.stdin.isatty():
        raise NotConfirmed(
            "Pas de terminal pour demander confirmation : relancez avec --yes pour appliquer sans "
            "confirmation. Rien n'a été modifié."
        )
    return typer.confirm("Appliquer ces modifications au serveur ?", default=False)


@app.command("apply")
def apply_command(
    workbook: Annotated[
        Path,
        typer.Argument(help="Le classeur rempli (ex. rentree.xlsx).", dir_okay=False, metavar="CLASSEUR"),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", help="Dossier du journal et du compte rendu (défaut : celui du classeur)."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Applique sans demander de confirmation.")] = False,
    keep_folders: Annotated[
        bool,
        typer.Option("--keep-folders", help="Ne vide pas les dossiers de travail : ces classes restent."),
    ] = False,
    allow_mass_delete: Annotated[
        bool, typer.Option("--allow-mass-delete", help="Autorise la suppression de beaucoup d'élèves.")
    ] = False,
    url: UrlOption = None,
    login: LoginOption = None,
) -> None:
    """Applique le classeur au serveur dans l'ordre de la procédure ; relancée, reprend où elle en était."""
    from reconcile.adapters.reports.class_lists import write_class_lists

    wanted = _load_workbook(workbook)
    output = output_dir or workbook.resolve().parent
    interrupted = (
        f"Application interrompue (Ctrl-C) : ce qui a déjà été fait est noté dans le journal "
        f"{output / JOURNAL_NAME}.\nRelancez la même commande pour reprendre là où elle s'est arrêtée : "
        "rien ne sera fait deux fois."
    )
    with on_ctrl_c(interrupted, exit_code=2), connect_from_cli(url, login) as client:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with console.status("Lecture des comptes du serveur…"):
            client.info()
        with Progress(*columns, console=console, transient=False) as bars:
            run = apply_workbook(
                client,
                wanted,
                workbook=workbook,
                output_dir=output,
                confirm=lambda preparation: _pause(bars, lambda: _confirm(preparation, yes)),
                keep_folders=keep_folders,
                allow_mass_delete=allow_mass_delete,
                progress=_StepBars(bars),
            )
        now = datetime.now().astimezone()
        school = run.verification.state.school if run.verification else run.preparation.current.school
        report = lists = None
        try:
            text = run_report(run, workbook=workbook, server_url=client.url, when=now)
            write_private(output / REPORT_NAME, text)
            report = write_apply_report(run, output, server_url=client.url, school=school, generated_at=now)
            if run.verification is not None:
                # The lists are made from the state the verification read: no request more.
                lists = write_class_lists(run.verification.state, output)
        except OSError as error:
            errors.print(f"[bold red]Le compte rendu n'a pas pu être écrit dans {escape(str(output))} :[/] "
                         f"{escape(str(error))}", highlight=False)  # fmt: skip
    _show_run(run, report)
    if lists is not None:
        shown = escape(str(lists.pdf or lists.html))
        console.print(f"Listes de classes à afficher (lisibles par vous seul) : {shown}", highlight=False)
    if not run.outcome.complete:
        step = run.outcome.incomplete_step
        raise ApplyIncomplete(step.title if step else "?", run.outcome.reason)
    if run.verification is None or not run.verification.ok:
        raise ApplyIncomplete("Vérification", "le serveur relu diffère du classeur (voir le compte rendu).")


def _pause(bars: Progress, ask: Callable[[], bool]) -> bool:
    """Stop redrawing the progress bars while the terminal shows the plan and asks."""
    bars.stop()
    try:
        return ask()
    finally:
        bars.start()


def _show_run(run: ApplyRun, report: ReportFiles | None) -> None:
    outcome = run.outcome
    failed = [r for r in outcome.results if r.status not in (OpStatus.DONE, OpStatus.KEPT)]
    done = len(outcome.results) - len(failed)
    if run.preparation.plan.is_empty:
        console.print("[green]Rien à faire :[/] le serveur est déjà dans l'état que demande le classeur.")
    else:
        console.print(f"{done} opération(s) faite(s) sur {len(outcome.results)}.")
    for result in failed:
        console.print(f"[red]{escape(result.status.value)} :[/] {escape(result.message)}", highlight=False)
    for archive in outcome.archives:
        console.print(f"Dossier de {escape(archive.class_name)} archivé : {escape(str(archive.path))}")
    for name in outcome.kept_classes:
        console.print(f"[yellow]Classe {escape(name)} conservée :[/] son dossier de travail n'est pas vide.")
    verification = run.verification
    if verification is not None:
        if verification.ok:
            console.print("[green]Vérification :[/] le serveur relu est dans l'état demandé.")
        else:
            console.print(f"[red]Vérification : {len(verification.differences)} différence(s).[/]")
        if verification.unassigned:
            console.print(f"{len(verification.unassigned)} élève(s) sans classe (classe : aucune).")
    if run.accounts:
        console.print(
            f"{len(run.accounts)} nouveau(x) compte(s) : identifiants et mots de passe dans le compte rendu."
        )
    if report is not None:
        console.print(f"Compte rendu (lisible par vous seul) : {escape(str(report.html))}", highlight=False)
        console.print(f"  même contenu en tableur : {escape(str(report.xlsx))}", highlight=False)
    console.print(f"Journal : {escape(str(run.journal))}", highlight=False)


# --- end of apply ------------------------------------------------------------------------


# --- reconcile demo (part "apply") -------------------------------------------------------


@app.command()
def demo(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Dossier où écrire le classeur, les rapports et les listes.")
    ] = Path("demo-rentree"),
) -> None:
    """Une rentrée complète sur un serveur d'essai intégré : export, saisie, plan, application, listes."""
    from reconcile.app.demo import DEMO_FILES, fill_workbook, prepare_demo_folder, removed_class, rentree
    from reconcile.sandbox import SandboxOptions, start_sandbox

    output = prepare_demo_folder(output_dir)
    workbook = output / "rentree.xlsx"
    with start_sandbox(SandboxOptions(demo=True, seed=1)) as sandbox:
        url, login = sandbox.url, sandbox.admin_login
        # The commands below read the password where a user's would: never shown, never an argument.
        os.environ["INTRASCOL_PASSWORD"] = sandbox.admin_password
        with IntraScolClient(url, login, sandbox.admin_password) as client:
            state = client.read_state()
        removed = removed_class(state)
        for path, data in DEMO_FILES.items() if removed else ():
            sandbox.store.add_file(str(removed), path, data)
        console.rule("1. Le serveur d'essai")
        console.print(f"Serveur IntraScol d'essai, avec l'école de démonstration : {escape(url)}")
        console.rule("2. reconcile export -o rentree.xlsx")
        export(output=workbook, force=True, url=url, login=login)
        console.rule("3. La secrétaire remplit le classeur (ici, automatiquement)")
        fill_workbook(workbook, rentree(state), state)
        console.print(
            "Les CM2 partent, les autres montent d'un niveau, la classe "
            f"{escape(str(removed))} est supprimée (son dossier contient des travaux d'élèves), une "
            "nouvelle enseignante ouvre une classe PS-MS, cinq élèves arrivent."
        )
        console.rule("4. reconcile plan rentree.xlsx")
        plan_command(workbook, output_dir=output, url=url, login=login)
        console.rule("5. reconcile apply rentree.xlsx --yes")
        apply_command(workbook, output_dir=output, yes=True, url=url, login=login)
    console.print("\nLe serveur d'essai est arrêté ; ouvrez les fichiers ci-dessus pour voir le résultat.")


# --- end of demo -------------------------------------------------------------------------


# --- listes (part "lists") -----------------------------------------------------------------------


@app.command()
def listes(
    url: UrlOption = None,
    login: LoginOption = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Dossier où écrire les listes (créé au besoin).")
    ] = Path("."),
    classe: Annotated[
        list[str] | None,
        typer.Option("--classe", help="Seulement cette classe (option répétable) ; par défaut toutes."),
    ] = None,
) -> None:
    """Écrit les listes de classes à afficher près des ordinateurs (identifiants et mots de passe).

    Une page par classe, en HTML à imprimer et en PDF ; les fichiers ne sont lisibles
    que par vous (ils contiennent les mots de passe des élèves).
    """
    from reconcile.adapters.reports.class_lists import write_class_lists

    with (
        on_ctrl_c(READ_ONLY_INTERRUPTED),
        connect_from_cli(url, login) as client,
        console.status("Lecture des comptes…"),
    ):
        client.info()
        state = client.read_state()
    written = write_class_lists(state, output_dir, class_names=classe or None)
    pages = f"{written.classes} classe{'s' if written.classes > 1 else ''}"
    console.print(f"Listes de classes écrites ({pages}, {written.pupils} élèves) :", highlight=False)
    console.print(f"  {escape(str(written.html))}", highlight=False)
    if written.pdf is not None:
        console.print(f"  {escape(str(written.pdf))}", highlight=False)
    else:
        console.print(
            "  (pas de PDF : police DejaVu absente, paquet fonts-dejavu-core ; imprimez le HTML)",
            highlight=False,
        )
    console.print("Ces fichiers contiennent les mots de passe des élèves : ne les partagez pas.")


# --- end of listes -------------------------------------------------------------------------------


# --- plan (part "plan") ----------------------------------------------------------------------


def print_plan_summary(result: Plan) -> None:
    """The plan in the terminal: counts per step, then problems and warnings, then the verdict."""
    table = Table(title="Plan de la rentrée", title_justify="left", show_lines=False)
    table.add_column("Étape")
    table.add_column("Ce qui sera fait")
    table.add_column("Opérations", justify="right")
    for section in step_sections(result):
        table.add_row(escape(section.heading), escape(section.summary), str(len(section.operations)))
    console.print(table)
    for title, items, colour in (
        ("Problèmes à corriger", result.problems, "red"),
        ("À vérifier", result.warnings, "yellow"),
    ):
        if items:
            console.print(f"\n[bold {colour}]{title} ({len(items)}) :[/]")
            for item in items:
                where = f"[bold]{escape(item.where)}[/] : " if item.where != NOWHERE else ""
                console.print(f"  [{colour}]•[/] {where}{escape(item.message)}", highlight=False)
    colour = "red" if result.problems else "green"
    console.print(f"\n[bold {colour}]{escape(headline(result))}[/]", highlight=False)


@app.command("plan")
def plan_command(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="Le classeur de la rentrée, rempli (ex. rentree.xlsx).", dir_okay=False, metavar="CLASSEUR"
        ),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Dossier où écrire le rapport (par défaut : celui du classeur)."),
    ] = None,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            "--allow-mass-delete",
            help="Accepte un plan qui supprime plus de 40 % des élèves (sinon c'est un problème).",
        ),
    ] = False,
    url: UrlOption = None,
    login: LoginOption = None,
) -> None:
    """Montre ce que le classeur changerait sur le serveur, sans rien modifier, et écrit le rapport."""
    wanted = _load_workbook(workbook)
    with on_ctrl_c(READ_ONLY_INTERRUPTED), connect_from_cli(url, login) as client:
        server = client.info()
        with console.status("Lecture des comptes…") as status:

            def on_page(pages: int, users: int) -> None:
                status.update(f"Lecture des comptes : {users} (page {pages})")

            current = client.read_state(progress=on_page)
    result = make_plan(current, wanted, allow_mass_delete=allow_mass_delete)
    print_plan_summary(result)
    files = write_plan_report(
        result,
        current,
        wanted,
        output_dir or workbook.resolve().parent,
        server_url=client.url,
        school=server.school,
        generated_at=datetime.now().astimezone(),
    )
    console.print(
        f"\nRapport : {escape(str(files.html))}\n          {escape(str(files.xlsx))}\n"
        "Rien n'a été modifié sur le serveur.",
        highlight=False,
    )
    if not result.can_apply:
        raise typer.Exit(1)


# --- end of plan ---------------------------------------------------------------------------------


@app.callback()
def _root() -> None:
    """La rentrée des comptes d'un serveur IntraScol : export, plan, application, listes."""


# --- reconcile onde (part "onde") -----------------------------------------------------


@app.command()
def onde(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="Le classeur de la rentrée (écrit par reconcile export).", dir_okay=False, metavar="CLASSEUR"
        ),
    ],
    extraction: Annotated[
        Path,
        typer.Argument(
            help="L'extraction ONDE « Élèves de l'école » (CSV).", dir_okay=False, metavar="EXTRACTION"
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Classeur à écrire (par défaut : <classeur>-onde.xlsx)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Remplacer le classeur de sortie s'il existe.")
    ] = False,
    leaving_classes: Annotated[
        list[str] | None,
        typer.Option(
            "--classe-partante",
            help="Classe dont tous les élèves quittent vraiment l'école (répétable).",
        ),
    ] = None,
    memory: Annotated[
        Path | None,
        typer.Option("--memoire", help="Fichier mémoire des homonymes (par défaut : à côté du classeur)."),
    ] = None,
) -> None:
    """Remplit les classes cibles du classeur à partir de l'extraction ONDE."""
    from datetime import date

    from rich.table import Table

    from reconcile.adapters.workbook.onde import fill_from_onde

    report = fill_from_onde(
        workbook,
        extraction,
        output,
        force=force,
        memory_path=memory,
        leaving_classes=leaving_classes or (),
        today=date.today().isoformat(),
    )
    read = report.extraction
    console.print(
        f"Extraction lue : {len(read.pupils)} élèves, format {read.layout.value}, "
        f"encodage {read.encoding}, séparateur : {read.separator_name}."
    )
    table = Table(title="Décisions", show_header=True)
    table.add_column("Origine")
    table.add_column("Lignes", justify="right")
    for origin, count in report.counts.items():
        table.add_row(origin.value, str(count))
    console.print(table)
    if report.new_classes:
        console.print("Classes à créer (onglet Classes, statut Créer) :")
        for mapping in report.new_classes:
            console.print(
                f"  « {escape(mapping.label)} » → [bold]{escape(mapping.target)}[/]", highlight=False
            )
    if report.matching.undecided:
        console.print(
            f"[yellow]{len(report.matching.undecided)} élève(s) d'ONDE homonymes restent à départager "
            "(lignes « ambigu » du classeur).[/]"
        )
    for name in report.unused_new_classes:
        console.print(
            f"[yellow]La classe « {escape(name)} » (statut Créer) n'a aucun élève : supprimez sa ligne de "
            "l'onglet Classes si elle n'est plus voulue.[/]",
            highlight=False,
        )
    if report.remembered:
        console.print(f"{report.remembered} homonyme(s) mémorisé(s) dans {escape(str(report.memory_path))}.")
    written = escape(str(report.output))
    console.print(
        f"[green]Classeur écrit :[/] {written} ({escape(str(workbook))} n'a pas changé).\n"
        "Ensuite :\n"
        "  1. relisez les lignes colorées de l'onglet Utilisateurs (orange : homonymes à départager ; "
        "jaune : élèves absents d'ONDE, proposés « Quitte l'école ») et l'onglet ONDE ;\n"
        f"  2. vérifiez le résultat sans rien modifier : [bold]reconcile plan {written}[/].",
        highlight=False,
    )


def main() -> None:
    """Entry point: turn our errors into a French message and an exit code."""
    try:
        app()
    except ReconcileError as error:
        errors.print(f"[bold red]Erreur :[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
