"""`docs/architecture.md` lists every module of the tree, and only those."""

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def documented_tree() -> set[str]:
    """The paths of the tree block under « The tree », rebuilt from its indentation."""
    block = DOC.split("## The tree", 1)[1].split("```", 2)[1]
    paths: set[str] = set()
    parents: list[tuple[int, str]] = []
    for line in block.splitlines():
        match = re.match(r"( *)(\S+)", line)
        if not match:
            continue
        indent, name = len(match.group(1)), match.group(2)
        while parents and parents[-1][0] >= indent:
            parents.pop()
        path = "".join(p for _, p in parents) + name
        paths.add(path.rstrip("/"))
        if name.endswith("/"):
            parents.append((indent, name))
    return paths


def test_the_architecture_doc_lists_every_module_and_no_other() -> None:
    modules = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "reconcile").rglob("*.py")
        if p.name != "__init__.py" or p.parent.name in {"reconcile", "cli", "sandbox"}
    }
    documented = {p for p in documented_tree() if p.endswith(".py")}
    assert sorted(modules - documented) == [], "modules missing from docs/architecture.md"
    assert sorted(documented - modules) == [], "docs/architecture.md lists modules that do not exist"


MAX_MODULE_LINES = 500


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "reconcile").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these modules by idea (at most {MAX_MODULE_LINES} lines each)"
