#!/usr/bin/env bash
# Run the test suite. Database: DATABASE_URL, else the local PostgreSQL on 127.0.0.1:5432 when
# it answers, else SQLite. The header says which one.
set -euo pipefail
py=.venv/bin/python
if [ -z "${DATABASE_URL:-}" ]; then
  if url=$($py tools/find_postgres.py 2>/dev/null); then
    export DATABASE_URL="$url"
  fi
fi
engine=$($py - <<'PY'
import os
import environ
url = os.environ.get("DATABASE_URL") or "sqlite:///db.sqlite3"
cfg = environ.Env.db_url_config(url)
print(f"{cfg['ENGINE'].rsplit('.', 1)[-1]} ({cfg.get('HOST') or cfg.get('NAME')})")
PY
)
echo "=================================================================="
echo " make test: database engine = $engine"
echo " redis = ${REDIS_URL:-none (local-memory cache)}"
echo "=================================================================="
if [ "${engine%% *}" = "sqlite3" ]; then
  if [ -n "${REQUIRE_POSTGRES:-}" ]; then
    echo "ERROR: REQUIRE_POSTGRES is set but no PostgreSQL answered on 127.0.0.1:5432." >&2
    exit 1
  fi
  echo "WARNING: no PostgreSQL found; running on SQLite. CI always uses PostgreSQL."
fi
exec .venv/bin/pytest "$@"
