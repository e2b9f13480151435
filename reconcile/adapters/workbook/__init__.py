"""The rentrée workbook: written from the server state, read back into a wanted state.

The only place that knows openpyxl. `write_workbook` fills a copy of
`adapters/templates/rentree_template.xlsx`; `read_workbook` / `load_wanted` read an edited copy,
once and streaming, within the limits of `bounded`.
"""

from reconcile.adapters.workbook.reader import WorkbookReading, load_wanted, read_workbook
from reconcile.adapters.workbook.writer import write_workbook

__all__ = ["WorkbookReading", "load_wanted", "read_workbook", "write_workbook"]
