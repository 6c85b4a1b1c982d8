"""Search indexes (shared SEARCH.md): btree text_pattern_ops on every prefix-searched column
(read in index order with `USING ~<~`), a GIN jsonb_path_ops over the 1–2 character Han pieces,
and pg_trgm GIN for Western substrings and email. PostgreSQL only: SQLite keeps migrating with
the same state and searches with plain queries."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from salon_crm.migration_ops import RunSQLPostgresOnly

_INDEXES = {
    "customers_customer_name_pat": "btree (name text_pattern_ops)",
    "customers_customer_pinyin_pat": "btree (name_pinyin text_pattern_ops)",
    "customers_customer_initials_pat": "btree (name_initials text_pattern_ops)",
    "customers_customer_phone_rev_pat": "btree (phone_rev text_pattern_ops)",
    "customers_customer_phone_pat": "btree (phone text_pattern_ops)",
    "customers_customer_pieces_gin": "gin (name_pieces jsonb_path_ops)",
    "customers_customer_name_trgm": "gin (name gin_trgm_ops)",
    "customers_customer_email_trgm": "gin (email gin_trgm_ops)",
}


class Migration(migrations.Migration):
    # salon_crm.migration_check: the indexes are built under a write lock on the clients table.
    big_table_note = (
        "Search indexes built with IF NOT EXISTS when search arrived (installs of thousands of clients: "
        "seconds). An install already holding many clients can build them first without a lock, "
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS with the same names, and this migration then skips them."
    )
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        *(
            RunSQLPostgresOnly(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer USING {spec}",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, spec in _INDEXES.items()
        ),
    ]
