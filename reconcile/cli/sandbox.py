"""`reconcile sandbox`: the IntraScol-compatible test server, until Ctrl-C."""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from reconcile.cli.render import console, error_console, shown


def sandbox(
    port: Annotated[int, typer.Option(metavar="PORT", help="Port d'écoute (0 : un port libre).")] = 8080,
    host: Annotated[
        str,
        typer.Option(
            "--hote",
            metavar="ADRESSE",
            help="Adresse d'écoute (une autre que 127.0.0.1 : avec --exposer-au-reseau).",
        ),
    ] = "127.0.0.1",
    expose: Annotated[
        bool,
        typer.Option(
            "--exposer-au-reseau",
            help="Accepter une adresse --hote joignable depuis d'autres ordinateurs (pages en clair).",
        ),
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            "--etat",
            metavar="FICHIER",
            help="Fichier SQLite où garder l'état du serveur (par défaut : un fichier temporaire).",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo/--vide", help="Un nouvel état : l'école de démonstration, ou vide.")
    ] = True,
    seed: Annotated[
        int,
        typer.Option(
            "--graine", metavar="NOMBRE", help="Graine de l'école de démonstration et des pannes simulées."
        ),
    ] = 1,
    session_minutes: Annotated[
        float | None,
        typer.Option(metavar="MINUTES", help="Durée d'inactivité avant expiration d'une session (minutes)."),
    ] = None,
    session_seconds: Annotated[
        float | None,
        typer.Option(
            "--session-secondes",
            metavar="SECONDES",
            help="Durée d'inactivité avant expiration d'une session (secondes).",
        ),
    ] = None,
    latency: Annotated[
        float, typer.Option("--latence", metavar="SECONDES", help="Délai ajouté à chaque réponse (secondes).")
    ] = 0.0,
    fail_before_post: Annotated[
        float,
        typer.Option(
            "--erreur-avant-envoi",
            metavar="PROBABILITÉ",
            help="Probabilité d'une erreur 500 avant d'appliquer un formulaire (0 à 1).",
        ),
    ] = 0.0,
    lose_answer_after_post: Annotated[
        float,
        typer.Option(
            "--reponse-perdue",
            metavar="PROBABILITÉ",
            help="Probabilité d'appliquer un formulaire puis de perdre la réponse (0 à 1).",
        ),
    ] = 0.0,
) -> None:
    """Lance un serveur IntraScol de démonstration (bac à sable) jusqu'à Ctrl-C."""
    from reconcile.sandbox import SandboxOptions, start_sandbox

    problems = [
        f"{name} attend une probabilité entre 0 et 1, pas {value}."
        for name, value in (
            ("--erreur-avant-envoi", fail_before_post),
            ("--reponse-perdue", lose_answer_after_post),
        )
        if not 0.0 <= value <= 1.0
    ]
    if not 0 <= port <= 65535:
        problems.append(f"--port attend un numéro entre 0 et 65535, pas {port}.")
    problems += [
        f"{name} attend une durée positive, pas {value}."
        for name, value in (
            ("--latence", latency),
            ("--session-minutes", session_minutes),
            ("--session-secondes", session_seconds),
        )
        if value is not None and value < 0
    ]
    if problems:
        for problem in problems:
            error_console.print(f"[bold red]Erreur :[/] {shown(problem)}", highlight=False)
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
        expose_to_network=expose,
    )
    try:
        running = start_sandbox(options, host=host, port=port)
    except OSError as error:
        message = f"impossible d'écouter sur {host}:{port} : {_why_not_listening(error)}."
        error_console.print(f"[bold red]Erreur :[/] {shown(message)}", highlight=False)
        raise typer.Exit(1) from error
    except ValueError as error:
        error_console.print(f"[bold red]Erreur :[/] {shown(str(error))}")
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
        *_environment_lines(running.url, running.admin_login),
        "  (le mot de passe ci-dessus vous sera demandé, sans s'afficher)",
        "Arrêt : Ctrl-C.",
    ]
    if expose:
        lines.insert(
            1, f"  Attention : joignable depuis le réseau ({running.host}), pages et mots de passe en clair."
        )
    try:
        for line in lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        running.serve_until_interrupted()
    except KeyboardInterrupt:  # Ctrl-C before serving began
        running.stop()
    console.print("Bac à sable arrêté.")


def _why_not_listening(error: OSError) -> str:
    """Why the sandbox cannot listen, in French (the system's words for the rarer cases)."""
    if isinstance(error, socket.gaierror):
        return "adresse inconnue (--hote)"
    return {
        errno.EADDRINUSE: "ce port est déjà utilisé (par un autre bac à sable ?) : choisissez-en un "
        "autre avec --port, ou --port 0 pour un port libre",
        errno.EADDRNOTAVAIL: "cette adresse n'est pas celle de cet ordinateur (--hote)",
        errno.EACCES: "ce port est réservé à l'administrateur : choisissez-en un au-dessus de 1024",
    }.get(error.errno or 0, error.strerror or str(error))


def _environment_lines(url: str, login: str) -> list[str]:
    """How to set the connection's variables in the shell this system opens by default."""
    if sys.platform == "win32":
        return [
            f"  set INTRASCOL_URL={url}",
            f"  set INTRASCOL_LOGIN={login}",
            f'  (PowerShell : $env:INTRASCOL_URL = "{url}" ; $env:INTRASCOL_LOGIN = "{login}")',
        ]
    return [f"  export INTRASCOL_URL={url} INTRASCOL_LOGIN={login}"]
