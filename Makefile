# The README's commands. `make run` and `make test` work on a fresh clone: they create
# .venv and install the pinned requirements first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup browser run test test-fast lint format sandbox clean

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
	@# Links in the demo's notifications point at this server unless APPROVALS_BASE_URL says otherwise.
	APPROVALS_BASE_URL="$${APPROVALS_BASE_URL:-http://$(HOST):$(PORT)}" \
		$(VENV)/bin/uvicorn approvals_site.asgi:application --host $(HOST) --port $(PORT) --lifespan on

# Two legs, side by side. The whole suite runs on PostgreSQL (the system cluster on
# 127.0.0.1:5432 unless DATABASE_URL says otherwise). Everything a user can do (pages, API,
# forms, deciding, sync, admin, the browser) runs again on SQLite, the database of `make run`;
# only the tests marked `postgres` (row locks under real concurrency, advisory locks) are left
# out there. Most tests wait on sockets rather than the CPU, so each leg spreads its tests over
# several processes (pytest-xdist). Browser tests run last, in a process of their own:
# Playwright's event loop spoils later asyncio tests in the same process.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
SQLITE_TEST_URL := sqlite:///$(CURDIR)/var/test-sqlite.sqlite3
SQLITE_LEG := tests/pages tests/api tests/decisions tests/sync tests/admin tests/hardening tests/live \
	tests/sso tests/auth tests/notify tests/test_default_database.py
PYTEST := $(PY) -m pytest -p no:cacheprovider

test: setup browser
	mkdir -p var
	@set -u; \
	{ DATABASE_URL="$(SQLITE_TEST_URL)" $(PYTEST) -n 2 --dist loadfile -m "not postgres and not browser" \
		$(wildcard $(SQLITE_LEG)) && \
	  DATABASE_URL="$(SQLITE_TEST_URL)" $(PYTEST) -m browser tests/browser; } >var/test-sqlite.log 2>&1 & \
	sqlite=$$!; \
	pg_url="$${DATABASE_URL:-$(TEST_DATABASE_URL)}"; \
	DATABASE_URL="$$pg_url" $(PYTEST) -n 3 --dist loadfile -m "not browser" && \
	DATABASE_URL="$$pg_url" $(PYTEST) -m browser tests/browser; pg=$$?; \
	wait $$sqlite; lite=$$?; \
	echo; echo "== SQLite leg (the database of make run)"; cat var/test-sqlite.log; \
	if [ $$pg -ne 0 ] || [ $$lite -ne 0 ]; then \
		echo "FAILED: PostgreSQL leg exit $$pg, SQLite leg exit $$lite" >&2; exit 1; fi

# The inner loop: PostgreSQL only, without the tests marked slow (make test runs everything).
test-fast: setup
	mkdir -p var
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(PYTEST) -n 3 --dist loadfile \
		-m "not slow and not browser"

# mypy --strict on the app, and on the tests written since the suite went strict; the older
# tests (about 240 findings, mostly unannotated fixtures) join this list as they are touched.
TYPED_TESTS := tests/hardening tests/live tests/test_http_handler.py tests/test_served_helper.py tests/test_serve.py tests/admin/test_many_to_many_hints.py tests/pages/test_queue_page_cache.py tests/pages/test_queue_page_cache_served.py tests/browser/live_app.py tests/browser/test_live_updates.py tests/served.py tests/waiting.py tests/test_docs_references.py \
	tests/test_status_tables_agree.py tests/test_text_limits_agree.py tests/test_redis_channel_layer.py \
	tests/api/test_list_and_queue_agree.py tests/sandbox/test_standalone_command.py \
	tests/sync/test_poison_records.py tests/sync/test_tokens_belong_to_one_run.py \
	tests/sync/test_realtime_survives_poison_records.py tests/decisions/test_bulk_delivers_concurrently.py \
	tests/decisions/test_a_failed_look_after_delivery_is_retried.py \
	tests/browser/test_accessibility.py tests/browser/test_phone_layout.py tests/pages/test_field_errors_are_described.py \
	tests/pages/test_working_through_a_queue.py tests/browser/test_working_through_a_queue.py \
	tests/pages/test_readable_requests.py tests/sync/test_reconcile_reads_the_summary.py \
	tests/test_demo_seed.py tests/test_demo_restart.py tests/sandbox/test_token_clock.py \
	tests/sandbox/test_worlds_do_not_reuse_ids.py tests/sandbox/test_summaries.py \
	tests/pages/test_error_pages.py tests/pages/test_no_dead_ends.py tests/browser/test_navigation.py \
	tests/auth/test_authorization_matrix.py tests/auth/test_api_tokens_follow_their_user.py \
	tests/sso tests/npm.py tests/browser/test_single_sign_on.py tests/browser/conftest.py tests/sync/test_upstream_budget.py tests/pages/test_needs_my_decision_in_sql.py tests/pages/test_next_pending_in_sql.py \
	tests/auth/test_trusted_proxy.py tests/notify \
	tests/browser/test_notification_pages.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy approvals approvals_site bench
	$(VENV)/bin/mypy $(TYPED_TESTS)

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

sandbox: setup
	$(PY) manage.py trigger_sandbox --port 8787

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
