"""Western surname prefix search: the derived column, filled for existing clients, and its
text_pattern_ops btree (PostgreSQL only; see 0002)."""

from django.db import migrations, models

from salon_crm.migration_ops import RunSQLPostgresOnly

_INDEXES = {"customers_customer_surname_pat": "btree (name_surname_key text_pattern_ops)"}


def fill_surname_keys(apps, schema_editor):
    # The same function the services use; only names with a Latin letter can get a key.
    from customers.search import name_surname_key

    Customer = apps.get_model("customers", "Customer")
    batch = []
    for customer in (
        Customer.objects.filter(name__regex=r"[A-Za-z]").only("pk", "name").iterator(chunk_size=2000)
    ):
        key = name_surname_key(customer.name)
        if key:
            customer.name_surname_key = key
            batch.append(customer)
        if len(batch) >= 2000:
            Customer.objects.bulk_update(batch, ["name_surname_key"])
            batch = []
    if batch:
        Customer.objects.bulk_update(batch, ["name_surname_key"])


class Migration(migrations.Migration):
    # salon_crm.migration_check: the index is built under a write lock on the clients table.
    big_table_note = (
        "One index with IF NOT EXISTS (about 1 s per million clients here): build it first with "
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_customer_surname_pat … on a large install."
    )
    dependencies = [
        ("customers", "0002_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="name_surname_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=300),
        ),
        migrations.RunPython(fill_surname_keys, migrations.RunPython.noop),
        *(
            RunSQLPostgresOnly(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer USING {spec}",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, spec in _INDEXES.items()
        ),
    ]
