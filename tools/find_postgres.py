"""Print a DATABASE_URL for the local PostgreSQL server if one answers (user postgres or root)."""

import sys

import psycopg

for user in ("postgres", "root"):
    try:
        with psycopg.connect(host="127.0.0.1", port=5432, user=user, dbname="postgres", connect_timeout=2):
            print(f"postgres://{user}@127.0.0.1:5432/marketplace")
            sys.exit(0)
    except psycopg.Error:
        continue
sys.exit(1)
