# Issue 13, item 2: the roll-ups at a million clients (bench/results/analytics.md).
# Written by hand: the roll-ups' location foreign keys lose their database constraint (derived
# rows; no deferred check per row at the rebuild's COMMIT), CustomerMetrics keeps the median gap
# between visit days (the lifecycle's `m`), and indexes for the summary's reads.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_second_day")]

    operations = [
        migrations.AlterField(
            model_name="visitday",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.customer",
            ),
        ),
        migrations.AlterField(
            model_name="visitday",
            name="location",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.location",
            ),
        ),
        migrations.AlterField(
            model_name="dailystats",
            name="location",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.location",
            ),
        ),
        migrations.AlterField(
            model_name="customermetrics",
            name="first_location",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.location",
            ),
        ),
        migrations.AddField(
            model_name="customermetrics",
            name="median_gap",
            field=models.FloatField(null=True),
        ),
        migrations.RemoveIndex(model_name="visitday", name="analytics_v_locatio_fad8c8_idx"),
        migrations.RemoveIndex(model_name="visitday", name="analytics_v_day_e22686_idx"),
        migrations.AddIndex(
            model_name="visitday",
            index=models.Index(fields=["location", "day", "customer"], name="visitday_location_day_client"),
        ),
        migrations.AddIndex(
            model_name="visitday",
            index=models.Index(fields=["day", "customer"], name="visitday_day_client"),
        ),
        migrations.RemoveIndex(model_name="customermetrics", name="analytics_c_first_d_98cf41_idx"),
        migrations.AddIndex(
            model_name="customermetrics",
            index=models.Index(
                fields=["first_day", "first_location"], include=["second_day"], name="custmetrics_first_day"
            ),
        ),
    ]
