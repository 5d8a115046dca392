# The two commands of the README: `make run` and `make test`. Both set up everything they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format migrate messages bench clean

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

# The catalogues (locale/*/LC_MESSAGES/django.po) compiled to .mo, which are not committed; msgfmt is
# GNU gettext's. Without a catalogue there is nothing to compile, and the pages stay in English.
messages: $(VENV)/.runtime
	@if [ -z "$$(find locale -name '*.po' 2>/dev/null)" ]; then echo "No catalogue under locale/: nothing to compile."; else \
	  command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext); \
	  $(PY) manage.py compilemessages --ignore=.venv --ignore=var --ignore=staticfiles --verbosity 0; fi

run: migrate messages
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(PY) portal/pools.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.dev .env lint messages
	$(PY) -m pytest $(PYTEST_ARGS)

# Throughput and latency of every hot path under gunicorn, driven by wrk on 127.0.0.1.
# SCALE=1000000 (PostgreSQL only) then repeats the lookups at a million tokens and during a purge.
bench: $(VENV)/.dev .env
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	SCALE=$(SCALE) $(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles var test-artifacts .pytest_cache .ruff_cache
