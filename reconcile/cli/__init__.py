"""The command line: the only user of Typer; a module per command."""

from reconcile.cli.commands import app, main

__all__ = ["app", "main"]
