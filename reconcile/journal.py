"""The append-only journal of an apply run (JSON lines)."""
