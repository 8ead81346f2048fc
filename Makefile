# Floniks: `make run` starts everything on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
DEV_ENV := DEBUG=1

.PHONY: client run test lint typecheck schemathesis system-deps run-system-deps migrate demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.deps: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(VENV)/.deps

system-deps:
	bash scripts/system-deps.sh

run-system-deps:
	bash scripts/system-deps.sh run

migrate: $(VENV)/.deps run-system-deps
	$(DEV_ENV) $(PY) manage.py migrate --noinput

demo: migrate
	$(DEV_ENV) $(PY) manage.py load_demo

## Web server + Celery worker (every queue; it sweeps on its own thread) on SQLite, local files and a file-system broker.
run: demo
	$(DEV_ENV) PORT=$(PORT) $(PY) scripts/dev.py

## Style, formatting, and the layer order (floniks → composition → runs_app → templates_app → core).
lint: $(VENV)/.dev-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.dev-deps
	$(DEV_ENV) $(PY) -m mypy

## The Python client, generated from the API's OpenAPI schema (tests fail when it is stale).
client: $(VENV)/.dev-deps
	$(DEV_ENV) $(PY) scripts/make_client.py

## The whole suite against private PostgreSQL and Redis servers, browser tests included, on
## TEST_WORKERS processes (pytest-xdist; each gets servers of its own: testing/pytest_servers.py).
TEST_WORKERS ?= 2
test: $(VENV)/.dev-deps system-deps lint typecheck
	$(PY) -m testing.run -- $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

## The API fuzzed through its own schema on a live server (gunicorn, own PostgreSQL and Redis),
## as operator, manager and admin; SCHEMATHESIS_EXAMPLES per operation (default 50). 0 failures or it fails.
schemathesis: $(VENV)/.dev-deps system-deps
	$(PY) -m testing.run -- $(PY) scripts/schemathesis_live.py

clean:
	rm -rf var test-output .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
