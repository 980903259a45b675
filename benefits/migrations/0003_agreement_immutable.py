"""A signed agreement is never changed: the database refuses UPDATE and DELETE of its rows (see
marketplace.core.append_only; on the SQLite fallback, UPDATE)."""

from django.db import migrations

from marketplace.core.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("benefits", "0002_acceleration_and_marketing")]
    operations = [
        append_only("benefits_agreementsignature", "signed agreements cannot be changed or deleted"),
    ]
