from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from salon_crm import backup


class Command(BaseCommand):
    help = (
        "Restore a backup_db dump into the database (DATABASE_URL), replacing everything in it, "
        "in one transaction. Stop the web and worker processes first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="Do not ask to confirm."
        )

    def handle(self, *args, file: str, interactive: bool, **options):
        name = backup.target().name
        if interactive:
            answer = input(
                f"This replaces every row of the database {name!r} with {file}. Type its name to go on: "
            )
            if answer.strip() != name:
                raise CommandError("Restore cancelled.")
        backup.restore(Path(file))
        self.stdout.write(self.style.SUCCESS(f"Restored {file} into {name!r}."))
        readable = backup.keys_read_restored_data()
        if readable is False:
            raise CommandError(
                "Restored, but FIELD_ENCRYPTION_KEYS cannot decrypt the health fields: set the keys "
                "that were in use when the backup was taken (add them to the list; rotate later)."
            )
        if readable is None:
            self.stdout.write("No encrypted health field to check the keys with.")
        else:
            self.stdout.write(self.style.SUCCESS("The encryption keys read the restored health fields."))
