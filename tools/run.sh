#!/usr/bin/env bash
# Serve the platform with the demo seller's server (the sample ISV on 127.0.0.1:8765). With
# DATABASE_URL and REDIS_URL set, also a Celery worker and beat; otherwise tasks run in-process and
# scheduled jobs in `manage.py run_schedule`. Everything started here stops with the server.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python
mkdir -p var/log
pids=()
cleanup() { for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if ! (exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null; then
  echo "Starting the sample ISV (the demo seller's server) on http://127.0.0.1:8765 (log: var/log/sample-isv.log)"
  $py manage.py run_sample_isv --port 8765 --private-key-file var/sample-isv-key.pem \
    --oauth-client demo-crm:demo-crm-secret-2026 --platform-url "http://$host:$port" >var/log/sample-isv.log 2>&1 &
  pids+=($!)
fi
$py manage.py migrate --noinput
$py manage.py seed_demo
if [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  echo "Starting a Celery worker and beat (logs in var/log/)"
  .venv/bin/celery -A marketplace worker -Q default,produce,exports,statements,email >var/log/worker.log 2>&1 & pids+=($!)
  .venv/bin/celery -A marketplace beat --loglevel INFO >var/log/beat.log 2>&1 & pids+=($!)
else
  echo "Tasks run in-process; scheduled jobs by 'manage.py run_schedule' (set DATABASE_URL and REDIS_URL for a real worker and beat)."
  $py manage.py run_schedule >var/log/schedule.log 2>&1 & pids+=($!)
fi
$py manage.py runserver "$host:$port"
