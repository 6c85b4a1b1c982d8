# Placeholder in the chain (issue 13's revenue breakdowns and utilisation fill it in).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_rollup_speed")]
    operations = []
