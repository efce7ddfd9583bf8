# The README's commands. `make run` and `make test` work on a fresh clone: they create
# .venv and install the pinned requirements first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup browser run test lint format sandbox clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# Browser tests drive the system Chromium (Debian's package) through Playwright; Playwright's
# own browser download cannot work here. Installed only when browser tests exist.
browser:
	@if [ -d tests/browser ] && ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

run: setup
	mkdir -p var/staticfiles
	$(PY) manage.py migrate --noinput
	$(PY) manage.py prepare_demo
	@echo "Dashboard on http://$(HOST):$(PORT)/"
	$(VENV)/bin/uvicorn approvals_site.asgi:application --host $(HOST) --port $(PORT) --lifespan on

# The suite runs on PostgreSQL (select_for_update and advisory locks mean nothing on SQLite);
# the system cluster on 127.0.0.1:5432 is the default. Override DATABASE_URL to use another.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres

test: setup browser
	mkdir -p var
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy approvals

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

sandbox: setup
	$(PY) manage.py trigger_sandbox --port 8787

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
