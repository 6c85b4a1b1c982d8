from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0006_online_client_check"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="rule_discount",
            field=models.DecimalField(
                db_default=Decimal("0"),
                decimal_places=2,
                default=Decimal("0"),
                max_digits=12,
                verbose_name="member discount",
            ),
        ),
        migrations.AddField(
            model_name="visit",
            name="rule_label",
            field=models.CharField(blank=True, db_default="", default="", max_length=120),
        ),
    ]
