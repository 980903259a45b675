"""The audit log, append-only: the database refuses UPDATE and DELETE of its rows (see
marketplace.core.append_only; on SQLite a DELETE is ignored, an UPDATE refused)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from marketplace.core.append_only import append_only


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
        append_only("core_auditentry", "audit entries cannot be changed or deleted", sqlite_delete="ignore"),
    ]
