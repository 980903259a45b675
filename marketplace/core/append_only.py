"""Append-only tables: a migration operation that makes the database refuse changes to a table's
rows, whatever code (or person at a SQL prompt) tries.

On PostgreSQL every UPDATE and DELETE raises (``integrity_constraint_violation``); TRUNCATE, which
only the database owner runs, is not a row change and stays possible (Django's flush between
transactional tests uses it). SQLite (the development and test fallback) has no TRUNCATE: Django
empties its tables with DELETE, so there only UPDATE is refused, and a DELETE is either ignored (the
row stays, no error: ``sqlite_delete="ignore"``) or left to the model (``"allow"``).
"""

from django.db import migrations


def append_only(table: str, message: str, *, sqlite_delete: str = "allow") -> migrations.RunPython:
    """The operation making ``table`` append-only; ``message`` is the database's error text."""
    assert sqlite_delete in ("allow", "ignore")
    function = f"{table}_append_only"
    postgres = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    postgres_drop = f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
    sqlite = [f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;"]
    if sqlite_delete == "ignore":
        sqlite.append(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(IGNORE); END;")
    sqlite_drop = [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]

    def run(statements: dict):
        def apply(apps, schema_editor):
            for statement in statements.get(schema_editor.connection.vendor, []):
                schema_editor.execute(statement)

        return apply

    return migrations.RunPython(
        run({"postgresql": [postgres], "sqlite": sqlite}),
        run({"postgresql": [postgres_drop], "sqlite": sqlite_drop}),
    )
