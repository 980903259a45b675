# Cloud Marketplace: `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast bench lint format messages screenshots worker beat clean venv

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## run: install, migrate, seed the demo data and serve on 127.0.0.1:8000 (with the sample ISV on :8765)
run: venv
	@bash tools/run.sh $(HOST) $(PORT)

## test: the whole suite (Postgres when it answers, else SQLite), browser tests included
test: venv
	@bash tools/test.sh $(ARGS)

## test-fast: the suite without browser tests
test-fast: venv
	@bash tools/test.sh -m "not e2e" $(ARGS)

## bench: benchmarks; results in bench/results.json
bench: venv
	@bash tools/bench.sh $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## messages: extract and compile translations (needs gettext)
messages: venv
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

## screenshots: pages of a running `make run` server, in Chinese and English
screenshots: venv
	$(PY) tools/screenshots.py --out docs/screenshots

worker: venv
	$(VENV)/bin/celery -A marketplace worker --loglevel INFO

beat: venv
	$(VENV)/bin/celery -A marketplace beat --loglevel INFO

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles .pytest_cache .ruff_cache
