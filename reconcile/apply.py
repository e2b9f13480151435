"""Executing a plan through an IntraScolServer: journal, resumption, verification."""
