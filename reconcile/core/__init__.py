"""The functional core: the model, the vocabulary, planning, resumption and wording.

Standard library only: no HTTP, no files, no clock, no terminal.
"""
