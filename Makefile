# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint format typecheck bench bench-full clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps re-install only when pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.runtime

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.test $(VENV)/.runtime

## Serve on http://127.0.0.1:8000 with the embedded SQLite database in ./data (migrates first).
run: $(VENV)/.runtime
	$(BIN)/liveblog serve

## Run the test suite against real servers on free loopback ports (and Debian's Chromium, axe-core).
test: $(VENV)/.test
	tests/web/install-chromium
	tests/web/install-axe
	$(BIN)/pytest $(PYTEST_ARGS)

## Benchmarks (see BENCHMARKS.md): a quick profile, or the whole matrix with medians of 3.
bench: $(VENV)/.bench
	$(BIN)/python -m bench.run --quick

bench-full: $(VENV)/.bench
	$(BIN)/python -m bench.run

lint: $(VENV)/.test
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench

format: $(VENV)/.test
	$(BIN)/ruff check --fix app tests migrations bench
	$(BIN)/ruff format app tests migrations bench

typecheck: $(VENV)/.test
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .mypy_cache .ruff_cache
