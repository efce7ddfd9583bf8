# The README's commands. `make run` and `make test` work on a fresh clone: they create
# .venv and install the pinned requirements first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint format sandbox clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

run: setup
	mkdir -p var/staticfiles
	$(PY) manage.py migrate --noinput
	$(PY) manage.py prepare_demo
	@echo "Dashboard on http://$(HOST):$(PORT)/"
	$(VENV)/bin/uvicorn approvals_site.asgi:application --host $(HOST) --port $(PORT) --lifespan off

test: setup
	mkdir -p var
	$(PY) -m pytest

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
