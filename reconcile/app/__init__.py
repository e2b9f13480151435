"""The use cases: applying a rentrée, the folder workaround, ONDE, the demo."""
