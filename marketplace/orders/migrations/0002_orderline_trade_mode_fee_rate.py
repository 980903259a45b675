from django.db import migrations, models


def copy_from_products(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    for line in OrderLine.objects.select_related("product").iterator():
        line.trade_mode = line.product.trade_mode
        line.fee_rate = line.product.ops_fee_rate if line.product.trade_mode != "general" else None
        line.save(update_fields=["trade_mode", "fee_rate"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("catalog", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="trade_mode",
            field=models.CharField(
                choices=[
                    ("general", "General"),
                    ("joint", "Joint operation"),
                    ("strict", "Strict selection"),
                    ("strict_self", "Strict selection, self-operated"),
                    ("platform", "Platform self-service"),
                ],
                default="general",
                max_length=16,
                verbose_name="trade mode",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="orderline",
            name="fee_rate",
            field=models.DecimalField(
                blank=True,
                decimal_places=4,
                help_text="Joint-flow products: the product's rate when the order was placed.",
                max_digits=5,
                null=True,
                verbose_name="operations-management fee rate",
            ),
        ),
        migrations.RunPython(copy_from_products, migrations.RunPython.noop),
    ]
