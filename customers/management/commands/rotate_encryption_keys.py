from django.core.management.base import BaseCommand, CommandError

from customers.services import encryption_keys_rotate
from salon_crm.crypto import DecryptionError


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (client health fields) with the newest key in FIELD_ENCRYPTION_KEYS "
        "(put the new key first, keep the old ones after it until this has run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        try:
            count = encryption_keys_rotate(batch_size=batch_size, log=lambda m: self.stdout.write(m))
        except DecryptionError as exc:
            raise CommandError(
                f"{exc} Keep every old key in FIELD_ENCRYPTION_KEYS until rotation is done."
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} rows with the newest key."))
