"""The rentrée workbook: writing it from the server state, reading it back into a wanted state."""
