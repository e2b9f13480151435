"""Issue 10: a report never contradicts the last run (`plan` and `apply` stopped before their report)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from reconcile.sandbox import RunningSandbox
from tests.test_cli_apply import environment, filled_workbook
from tests.test_cli_apply import run_reconcile as reconcile

CAN_APPLY = "Le plan peut être appliqué"


def report_texts(folder: Path, stem: str) -> str:
    """The HTML report and every cell of its xlsx twin, as one text."""
    html = (folder / f"{stem}.html").read_text(encoding="utf-8")
    book = load_workbook(folder / f"{stem}.xlsx")
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row]
    return html + "\n".join(cells)


def test_a_plan_that_cannot_read_the_workbook_replaces_the_earlier_report(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    done = reconcile(sandbox, "plan", str(workbook))
    assert done.returncode == 0, done.stdout + done.stderr
    assert CAN_APPLY in report_texts(tmp_path, "rapport-plan")

    workbook.write_bytes(b"PK\x03\x04 ceci n'est plus un classeur")
    broken = reconcile(sandbox, "plan", str(workbook))
    assert broken.returncode != 0
    texts = report_texts(tmp_path, "rapport-plan")
    assert CAN_APPLY not in texts
    assert "Le plan n'a pas pu être fait" in texts
    message = " ".join(broken.stderr.split())
    assert "Le rapport d'un plan précédent a été remplacé" in message
    assert "Traceback" not in broken.stderr


def test_a_plan_refused_by_the_server_replaces_the_earlier_report(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    assert reconcile(sandbox, "plan", str(workbook)).returncode == 0
    wrong = {**environment(sandbox), "INTRASCOL_PASSWORD": "pas-le-bon"}
    arguments = ["plan", str(workbook), "--adresse", sandbox.url, "--identifiant", sandbox.admin_login]
    refused = subprocess.run(
        [sys.executable, "-m", "reconcile", *arguments],
        env=wrong,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert CAN_APPLY not in report_texts(tmp_path, "rapport-plan")


def test_a_failed_plan_without_an_earlier_report_writes_none(sandbox: RunningSandbox, tmp_path: Path) -> None:
    workbook = tmp_path / "rentree.xlsx"
    workbook.write_bytes(b"pas un classeur")
    broken = reconcile(sandbox, "plan", str(workbook))
    assert broken.returncode != 0
    assert not (tmp_path / "rapport-plan.html").exists()
    assert os.listdir(tmp_path) == ["rentree.xlsx"]
