"""The audit log, append-only: the database refuses UPDATE and DELETE of its rows, whatever code (or
person at a SQL prompt) tries (as benefits/migrations/0003_agreement_immutable.py does for signed
agreements). On PostgreSQL both raise; TRUNCATE, which only the database owner runs, is not a row
change and stays possible (Django's flush between transactional tests uses it).

SQLite (development, and the tests' fallback) has no TRUNCATE: Django empties its tables with
DELETE, so there a DELETE is ignored (the row stays, no error) rather than refused, and an UPDATE
is refused."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TABLE = "core_auditentry"
POSTGRES = f"""
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries cannot be changed or deleted' USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
"""
POSTGRES_DROP = f"""
DROP TRIGGER IF EXISTS core_auditentry_append_only ON {TABLE};
DROP FUNCTION IF EXISTS core_auditentry_append_only();
"""
SQLITE = [
    f"CREATE TRIGGER core_auditentry_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed or deleted'); END;",
    f"CREATE TRIGGER core_auditentry_no_delete BEFORE DELETE ON {TABLE} BEGIN SELECT RAISE(IGNORE); END;",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS core_auditentry_no_update;", "DROP TRIGGER IF EXISTS core_auditentry_no_delete;"]


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
    dependencies = [
        ("core", "0003_outboundemail_attachment_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "created_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="time"),
                ),
                (
                    "category",
                    models.CharField(
                        choices=[("money", "Money"), ("permission", "Permissions")],
                        max_length=16,
                        verbose_name="category",
                    ),
                ),
                ("action", models.CharField(db_index=True, max_length=64, verbose_name="action")),
                ("actor_repr", models.CharField(blank=True, max_length=254, verbose_name="actor")),
                ("object_type", models.CharField(db_index=True, max_length=100, verbose_name="object type")),
                ("object_id", models.CharField(db_index=True, max_length=64, verbose_name="object id")),
                ("object_repr", models.CharField(blank=True, max_length=200, verbose_name="object")),
                ("changes", models.JSONField(blank=True, default=dict, verbose_name="changes")),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address")),
                ("request_id", models.CharField(blank=True, max_length=128, verbose_name="request id")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit log",
                "ordering": ["-created_at", "-id"],
                "default_permissions": ("view",),
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
