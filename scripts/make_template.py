"""Regenerate `reconcile/adapters/templates/rentree_template.xlsx` from `reconcile.adapters.workbook.layout`.

Run after changing the layout: `.venv/bin/python scripts/make_template.py`.
A test checks the committed file matches what this script makes.
"""

from reconcile.adapters.workbook.layout import TEMPLATE_PATH, build_template


def main() -> None:
    TEMPLATE_PATH.parent.mkdir(parents=True, exist_ok=True)
    build_template().save(TEMPLATE_PATH)
    print(f"Modèle écrit : {TEMPLATE_PATH}")


if __name__ == "__main__":
    main()
