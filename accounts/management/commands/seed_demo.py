from django.core.management.base import BaseCommand

from accounts.demo import DEFAULT_PASSWORD, STAFF, seed_all


class Command(BaseCommand):
    help = "Load the demo salon (two locations, staff, and whatever each app adds). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for every demo login.")

    def handle(self, *args, password: str, **options):
        seed_all(password=password, log=lambda m: self.stdout.write(m))
        self.stdout.write(self.style.SUCCESS(f"Demo salon ready. Logins (password: {password}):"))
        for username, name, role, codes, _colour in STAFF:
            self.stdout.write(f"  {username:<16} {role:<13} {', '.join(codes):<14} {name}")
