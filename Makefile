# The two commands of the README: `make run` and `make test`. Both set up everything they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format migrate bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

.env:
	$(PYTHON) portal/envfile.py .env

migrate: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(PY) portal/pools.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.dev .env lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Throughput and latency of every hot path under gunicorn, driven by wrk on 127.0.0.1.
# SCALE=1000000 (PostgreSQL only) then repeats the lookups at a million tokens and during a purge.
bench: $(VENV)/.dev .env
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	SCALE=$(SCALE) $(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles var test-artifacts .pytest_cache .ruff_cache
