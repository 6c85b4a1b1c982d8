# Revenue by service, category and stylist, and stylist utilisation (issue 13, item 3):
# analytics.models.SalesDay and StaffDay, filled by analytics.breakdowns.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0003_rollup_speed"),
        ("accounts", "0003_location_reminder_hours"),
        ("appointments", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="SalesDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("kind", models.CharField(max_length=24)),
                ("lines", models.PositiveIntegerField()),
                ("revenue", models.DecimalField(decimal_places=2, max_digits=14)),
                (
                    "location",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.location",
                    ),
                ),
                (
                    "service",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="appointments.service",
                    ),
                ),
                (
                    "staff",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "daily sales by line",
                "verbose_name_plural": "daily sales by line",
                "indexes": [models.Index(fields=["day", "location"], name="salesday_day_location")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("location", "day", "kind", "service", "staff"),
                        name="salesday_unique",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="StaffDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("booked_minutes", models.PositiveIntegerField(default=0)),
                ("available_minutes", models.PositiveIntegerField(default=0)),
                (
                    "location",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.location",
                    ),
                ),
                (
                    "staff",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.staffmember",
                    ),
                ),
            ],
            options={
                "verbose_name": "daily stylist minutes",
                "verbose_name_plural": "daily stylist minutes",
                "indexes": [models.Index(fields=["day", "location"], name="staffday_day_location")],
                "constraints": [
                    models.UniqueConstraint(fields=("location", "day", "staff"), name="staffday_unique")
                ],
            },
        ),
    ]
