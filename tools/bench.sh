#!/usr/bin/env bash
# Benchmarks in a scratch PostgreSQL database of their own; results in bench/results.json.
set -euo pipefail
py=.venv/bin/python
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
  base=$($py tools/find_postgres.py) || { echo "the benchmarks need PostgreSQL on 127.0.0.1:5432" >&2; exit 1; }
  BENCH_DATABASE_URL="${base%/*}/marketplace_bench"
fi
export DATABASE_URL="$BENCH_DATABASE_URL"
$py - <<'PY'
import os, psycopg
url = os.environ["DATABASE_URL"]
admin, name = url.rsplit("/", 1)
with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{name}"')
PY
$py manage.py migrate -v0
exec $py bench/run.py "$@"
