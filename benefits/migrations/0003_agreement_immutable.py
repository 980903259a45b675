"""A signed agreement is never changed: the database refuses UPDATE and DELETE of its rows, whatever
code (or person at a SQL prompt) tries."""

from django.db import migrations

TABLE = "benefits_agreementsignature"

POSTGRES = f"""
CREATE OR REPLACE FUNCTION benefits_agreement_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'signed agreements cannot be changed or deleted' USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER benefits_agreement_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION benefits_agreement_immutable();
"""
POSTGRES_DROP = f"""
DROP TRIGGER IF EXISTS benefits_agreement_immutable ON {TABLE};
DROP FUNCTION IF EXISTS benefits_agreement_immutable();
"""
# SQLite (the no-Postgres fallback of `make run`/`make test`): updates are refused; deletes are left to
# the model, because Django empties tables between browser tests with DELETE on SQLite.
SQLITE = [
    f"CREATE TRIGGER benefits_agreement_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'signed agreements cannot be changed or deleted'); END;",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS benefits_agreement_no_update;"]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("benefits", "0002_acceleration_and_marketing")]
    operations = [migrations.RunPython(forwards, backwards)]
