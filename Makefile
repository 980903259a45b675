# Cloud Marketplace: `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast bench load lint format messages screenshots serve worker worker-default worker-produce worker-exports worker-statements worker-email beat clean venv

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

## load: the main pages through gunicorn under wrk over `seed_demo --scale 100000` (bench entry pages_under_load)
load: venv
	@bash tools/bench.sh --only pages_under_load $(ARGS)

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

## serve: production-like: collect static files, then gunicorn with gunicorn.conf.py (settings from the environment)
serve: venv
	$(PY) manage.py collectstatic --noinput -v0
	$(VENV)/bin/gunicorn marketplace.wsgi

# Celery queues (marketplace/celery.py). Logs follow LOG_LEVEL and LOG_FORMAT, not --loglevel.
QUEUES := default,produce,exports,statements,email

## worker: one Celery worker consuming every queue (needs REDIS_URL)
worker: venv
	$(VENV)/bin/celery -A marketplace worker -Q $(QUEUES) $(CELERY_ARGS)

## worker-<queue>: a worker for one queue, as production runs them (CELERY_ARGS="--concurrency 4" ...)
worker-default worker-produce worker-exports worker-statements worker-email: venv
	$(VENV)/bin/celery -A marketplace worker -Q $(@:worker-%=%) -n $(@:worker-%=%)@%h $(CELERY_ARGS)

beat: venv
	$(VENV)/bin/celery -A marketplace beat --loglevel INFO

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles .pytest_cache .ruff_cache
