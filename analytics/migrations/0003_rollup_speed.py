# Placeholder in the chain (issue 13's roll-up speed work fills it in).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_second_day")]
    operations = []
