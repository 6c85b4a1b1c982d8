# Salon CRM. `make run` and `make test` do all set-up on a bare machine with Python 3.11.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# The quick start: debug mode, SQLite under var/, tasks run eagerly (no broker needed), and no
# two-factor login so the demo owner and managers need no phone (production asks them).
DEV_ENV := DJANGO_DEBUG=1 OTP_REQUIRED_ROLES=

.PHONY: help install run test lint format check migrations messages worker beat clean bench backup restore export import

help:
	@echo "make run      set up .venv, migrate SQLite under var/, load the demo salon, serve http://$(HOST):$(PORT)"
	@echo "make test     run the whole test suite (SQLite unless DATABASE_URL / CELERY_BROKER_URL are set)"
	@echo "make lint     ruff check + format check"
	@echo "make messages rebuild the zh_Hans catalogue from the code and locale/zh_Hans/glossary/*.json"
	@echo "make backup FILE=path   pg_dump the DATABASE_URL database (custom format); make restore FILE=path brings it back"
	@echo "make export FILE=path.zip   the whole salon as JSON + CSV (docs/export-format.md); make import FILE=path.zip into an empty installation"
	@echo "make bench    the benchmark suite on PostgreSQL: SCALE=salon (default) | chain | bigchain (docs/performance.md)"

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	mkdir -p var
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py compilemessages --ignore=.venv* -v 0 2>/dev/null || true
	$(DEV_ENV) $(PY) manage.py seed_demo
	@echo "Open http://$(HOST):$(PORT)/ and log in with a demo user above."
	@echo "Messages (confirmations, reminders) are printed here by the dispatcher, every 30 s."
	$(DEV_ENV) $(PY) manage.py dispatch_messages --loop 30 & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations: install
	$(DEV_ENV) $(PY) manage.py makemigrations

messages: install
	$(DEV_ENV) $(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv* --ignore=var --ignore=static/vendor --ignore=tests --ignore=bench
	$(PY) scripts/po_fill.py
	$(DEV_ENV) $(PY) manage.py compilemessages --ignore=.venv*

# The benchmark suite (bench/suite.py): its own database per scale on BENCH_PG (default
# postgres://postgres@127.0.0.1:5432), generated on the first run; results in bench/results/.
SCALE ?= salon
bench: install
	$(PY) bench/suite.py --scale $(SCALE) $(BENCH_ARGS)

# Backup and restore of the DATABASE_URL database (PostgreSQL): docs/operations.md. The dump does
# not hold FIELD_ENCRYPTION_KEYS: keep them apart. `restore` asks for the database's name first.
backup: install
	@test -n "$(FILE)" || { echo "usage: make backup FILE=path/to/salon.dump"; exit 2; }
	$(PY) manage.py backup_db "$(FILE)"

restore: install
	@test -n "$(FILE)" || { echo "usage: make restore FILE=path/to/salon.dump"; exit 2; }
	$(PY) manage.py restore_db "$(FILE)"

# The whole salon as one documented ZIP of JSON and CSV files, and back into an empty
# installation (docs/export-format.md). The archive holds personal and health data in plain text.
export: install
	@test -n "$(FILE)" || { echo "usage: make export FILE=path/to/salon.zip"; exit 2; }
	$(PY) manage.py export_salon "$(FILE)"

import: install
	@test -n "$(FILE)" || { echo "usage: make import FILE=path/to/salon.zip"; exit 2; }
	$(PY) manage.py import_salon "$(FILE)"

worker: install
	$(VENV)/bin/celery -A salon_crm worker -l info

beat: install
	$(VENV)/bin/celery -A salon_crm beat -l info

clean:
	rm -rf var/db.sqlite3 var/static
