# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed

.PHONY: install demo dist test check lint typecheck imports system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The tool alone, what `make demo` needs; the developer tools come with `make test` / `make check`.
$(RUNTIME): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(RUNTIME)
	$(BIN)/reconcile demo

# The wheel to install elsewhere (Windows, macOS: see the README): dist/reconcile-<version>-py3-none-any.whl
dist: | $(BIN)/python
	rm -rf dist build
	$(PIP) wheel . --no-deps --wheel-dir dist
	@ls dist/*.whl

# LibreOffice (workbook round trips) and Chromium (report rendering) for the tests,
# installed from Debian's packages when missing and when we may.
system-deps:
	@missing=""; \
	command -v soffice >/dev/null 2>&1 || missing="$$missing libreoffice-calc-nogui"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installation de :$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Absents (tests correspondants ignorés) :$$missing"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check reconcile tests benchmarks
	$(BIN)/ruff format --check reconcile tests benchmarks

# The tool runs on Windows and macOS too: the code is checked as each system sees it.
typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --platform win32
	$(BIN)/mypy --platform darwin

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports

test: system-deps check
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis dist build
