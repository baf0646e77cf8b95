# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# What writes the lock files (`make lock`); installed into the venv when first needed.
UV_VERSION := 0.13.9

.PHONY: run test lint format typecheck bench bench-full lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every install comes from a lock file: exact versions, each download checked against its hashes
# (pip's hash-checking mode), pip and setuptools included. Then the project itself, editable and
# offline: that step fails if pyproject.toml asks for a package or a version the lock lacks.
# Stamps re-install when pyproject.toml or the lock changes.
define install
	$(PIP) install --quiet --require-hashes -r $(1)
	$(PIP) install --quiet --no-index --no-build-isolation -e '.$(2)' \
	  || { echo >&2 "If pyproject.toml asks for what $(1) lacks: run 'make lock'."; exit 1; }
endef
# $(call) splits its arguments at commas, so a list of extras spells its comma $(comma).
comma := ,

$(VENV)/.runtime: pyproject.toml requirements.lock | $(BIN)/python
	$(call install,requirements.lock,)
	touch $@

$(VENV)/.test: pyproject.toml requirements-test.lock | $(BIN)/python
	$(call install,requirements-test.lock,[test])
	touch $@ $(VENV)/.runtime

$(VENV)/.bench: pyproject.toml requirements-bench.lock | $(BIN)/python
	$(call install,requirements-bench.lock,[test$(comma)bench])
	touch $@ $(VENV)/.test $(VENV)/.runtime

$(VENV)/.uv-$(UV_VERSION): | $(BIN)/python
	$(PIP) install --quiet uv==$(UV_VERSION)
	touch $@

# One universal resolution (any OS, CPU and Python that pyproject.toml allows) of everything, with
# the build backend and pip; the runtime and test locks are its subsets, at the same versions.
UV_COMPILE = $(BIN)/python -c 'import tomllib; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], "pip", sep="\n")' \
	| $(BIN)/uv pip compile pyproject.toml - --universal --generate-hashes --quiet \
	  --custom-compile-command 'make lock' $(LOCK_ARGS)

## Rewrite the lock files from pyproject.toml, keeping every pinned version that still fits:
## LOCK_ARGS=--upgrade takes the newest releases it allows, LOCK_ARGS='-P uvicorn' one package's.
lock: $(VENV)/.uv-$(UV_VERSION)
	$(UV_COMPILE) --extra test --extra bench -o requirements-bench.lock
	$(UV_COMPILE) --extra test -c requirements-bench.lock -o requirements-test.lock
	$(UV_COMPILE) -c requirements-bench.lock -o requirements.lock

## Serve on http://127.0.0.1:8000 with the embedded SQLite database in ./data (migrates first).
run: $(VENV)/.runtime
	$(BIN)/liveblog serve

## Run the test suite against real servers on free loopback ports (and Debian's Chromium, axe-core,
## Debian's promtool). COVERAGE=1 (as .ci/run sets it) runs it under coverage.py and then reports
## the files not wholly covered and the app's line coverage; tracing costs about half again as long.
# pytest-xdist workers: one more than the cores by default, since about a third of a test's time
# is spent waiting (on its servers, browsers and subprocesses): 423 s instead of 494 s with 3
# workers rather than 2 on a 2-core machine. TEST_WORKERS=0 runs the suite in one process.
# --dist worksteal: a worker that runs out of tests takes some of another's, so the long ones
# (the contract fuzzer, a minute each) do not leave the others idle at the end.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
COVERAGE ?=
test: $(VENV)/.test
	tests/web/install-chromium
	tests/web/install-axe
	tests/ops/install-promtool
ifeq ($(COVERAGE),)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)
else
	rm -rf test-artifacts/coverage && mkdir -p test-artifacts/coverage
	$(BIN)/coverage run -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS); status=$$?; \
	  $(BIN)/coverage combine --quiet && $(BIN)/coverage report \
	  && echo "Line coverage of app/: $$($(BIN)/coverage report --format=total)%"; exit $$status
endif

## Benchmarks (see BENCHMARKS.md): a quick profile against Node.js `ws` (~2 min), or everything,
## the peers included (under 45 min). Both install the Node.js peers with `npm ci` in bench/.
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
