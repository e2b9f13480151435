"""The tests run on Windows too, but for the ones marked `posix_only` (file modes, signals, terminals)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
UNIX_ONLY_MODULES = {"fcntl", "termios", "pty", "tty", "pwd", "grp", "resource"}
# What a test may only do on POSIX: its name in the source, and why.
POSIX_ONLY_USES = {
    "signal.SIGKILL": "SIGKILL n'existe pas sous Windows",
    "signal.SIGINT": "Popen.send_signal(SIGINT) est refusé sous Windows",
    "signal.SIGTERM": "SIGTERM n'est pas un signal sous Windows",
    "pty.": "pas de pseudo-terminal sous Windows",
    "os.umask": "pas de masque de création sous Windows",
    ".chmod(": "les modes de fichiers n'existent pas sous Windows",
    "os.fchmod": "os.fchmod n'existe pas sous Windows",
    "/proc/": "pas de /proc sous Windows",
}


def _test_modules() -> list[Path]:
    return sorted(TESTS.glob("*.py"))


def test_no_test_module_imports_a_unix_only_module_at_its_top() -> None:
    # Other test files import these modules' helpers: a top-level `import pty` breaks them all on Windows.
    for module in _test_modules():
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & UNIX_ONLY_MODULES, module.name


def _marked_posix_only(function: ast.FunctionDef) -> bool:
    return any("posix_only" in ast.unparse(decorator) for decorator in function.decorator_list)


def test_every_test_doing_what_only_posix_allows_is_marked_posix_only() -> None:
    unmarked = []
    for module in _test_modules():
        if module.name == Path(__file__).name:
            continue
        source = module.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            body = ast.get_source_segment(source, node) or ""
            uses = [why for use, why in POSIX_ONLY_USES.items() if use in body]
            if uses and not _marked_posix_only(node):
                unmarked.append(f"{module.name}::{node.name} ({uses[0]})")
    assert unmarked == []


def test_the_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(line.startswith("posix_only:") for line in pytestconfig.getini("markers"))
