#!/usr/bin/env bash
# Serve the platform. With DATABASE_URL and REDIS_URL set, also start a Celery worker and beat
# (stopped again when the server stops); otherwise tasks run in-process.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python
pids=()
cleanup() { for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  mkdir -p var/log
  echo "Starting a Celery worker and beat (logs in var/log/)"
  .venv/bin/celery -A marketplace worker --loglevel INFO >var/log/worker.log 2>&1 & pids+=($!)
  .venv/bin/celery -A marketplace beat --loglevel INFO >var/log/beat.log 2>&1 & pids+=($!)
else
  echo "Tasks run in-process; scheduled jobs by 'manage.py run_schedule' (set DATABASE_URL and REDIS_URL for a real worker and beat)."
  mkdir -p var/log
  $py manage.py run_schedule >var/log/schedule.log 2>&1 & pids+=($!)
fi
$py manage.py runserver "$host:$port"
