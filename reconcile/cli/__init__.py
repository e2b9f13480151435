"""The command line: the only user of Typer and Rich; a module per command."""

from reconcile.cli.root import app, main

__all__ = ["app", "main"]
