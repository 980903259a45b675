from datetime import date
from decimal import Decimal

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION billing_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'billing_ledgerentry is append-only: post a correcting entry instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER billing_ledger_append_only
    BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS billing_ledger_append_only ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_append_only();
"""


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def default_tier(apps, schema_editor):
    # DOMAIN.md: since 2024-03-01, CNY 1.5M paid in a month -> 95% + 2%.
    FeeTier = apps.get_model("billing", "FeeTier")
    FeeTier.objects.get_or_create(
        effective_from=date(2024, 3, 1), threshold=Decimal("1500000.00"), defaults={"extra_share": Decimal("0.0200")}
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(append_only, drop_append_only),
        migrations.RunPython(default_tier, migrations.RunPython.noop),
    ]
