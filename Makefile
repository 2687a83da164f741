# Curation: `make run` serves the app with the demo dataset; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run$(if $(DATABASE_URL)$(REDIS_URL),-team,)

# The first Python >= 3.12 on PATH, else one that pyenv has installed.
PYTHON ?= $(shell for c in python3.14 python3.13 python3.12 python3 \
	$$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	if command -v "$$c" >/dev/null 2>&1 && "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; \
	then command -v "$$c"; break; fi; done)

.PHONY: run test lint format bench venv clean

# Two installs: `make run` needs only embedded mode (SQLite, in-memory channel layer, in-process
# worker), plus the `team` extra when DATABASE_URL or REDIS_URL is set; tests, lint and CI get the
# dev tools, the `team` extra (PostgreSQL and Redis drivers) and the `client` extra (httpx, for
# the Python client's tests against a live server) as well.
TEST_EXTRAS := [dev,team,client]
RUN_EXTRAS := $(if $(DATABASE_URL)$(REDIS_URL),[team],)

define install
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Curation needs Python 3.12 or newer and none was found on PATH or in pyenv."; \
	  echo "Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12 run"; \
	  exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.$(1)'
	@touch $@
endef

$(STAMP): pyproject.toml
	$(call install,$(TEST_EXTRAS))

$(RUN_STAMP): pyproject.toml
	$(call install,$(RUN_EXTRAS))

venv: $(STAMP)

run: $(RUN_STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py ensure_admin
	$(PY) manage.py demo
	$(PY) manage.py serve --host 127.0.0.1 --port 8000

# Browser tests run in their own pytest process: Playwright's sync API keeps an asyncio loop in
# the main thread, which the websocket and channel-layer tests must not inherit.
test: $(STAMP)
	$(PY) scripts/check_structure.py
	$(PY) -m pytest -m "not browser"
	$(PY) -m pytest -m browser

lint: $(STAMP)
	$(PY) scripts/check_structure.py
	$(VENV)/bin/ruff check curation tests scripts
	$(VENV)/bin/ruff format --check curation tests scripts
	$(VENV)/bin/mypy curation

format: $(STAMP)
	$(VENV)/bin/ruff check --fix curation tests scripts
	$(VENV)/bin/ruff format curation tests scripts

# The reference solver is installed for benchmarks only. This workplace pins OpenBLAS to an old
# kernel (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE); both are unset for this command alone.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) manage.py migrate --no-input
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) manage.py benchmark

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
