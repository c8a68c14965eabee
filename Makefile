# The two set-up commands of the README: `make run` and `make test`.
SHELL := /bin/bash
# Django 6 needs Python 3.12+: take the newest python3.1x on PATH, else pyenv's.
PYTHON ?= $(shell for p in python3.13 python3.12; do $$p -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && { echo $$p; exit; }; done; \
	command -v pyenv >/dev/null && for v in 3.13 3.12; do d="$$(pyenv root)/versions/$$(pyenv latest $$v 2>/dev/null)/bin/python"; [ -x "$$d" ] && { echo $$d; exit; }; done; echo python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev migrate lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	./scripts/install-browser

# DEBUG=1: the embedded default's documented secrets are refused otherwise.
migrate: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

# Installs, prepares the embedded default, seeds the demo (idempotent: quick after the first
# time) and starts web, localcloud, worker, beat and the demo cameras; Ctrl-C stops them all.
# The Procfile says `python` and `celery`: the venv comes first on PATH so they are its own.
run: migrate
	DEBUG=1 LOG_LEVEL=WARNING $(BIN)/python manage.py seed_demo
	DEBUG=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

# Installs everything and runs the whole test suite (lint-imports guards the cloud seam).
test: install-dev
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var staticfiles
