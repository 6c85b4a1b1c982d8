from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from customers.services import customer_erase


class Command(BaseCommand):
    help = (
        "Remove one client's personal data (right to erasure): the row stays as "
        "'Erased client #ID' so visit aggregates held by other apps remain. Logged."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, customer_id: int, yes: bool, **options):
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise CommandError(f"No client with id {customer_id}.")
        if not yes and input(f"Erase the personal data of client #{customer.pk}? [y/N] ").lower() != "y":
            raise CommandError("Cancelled.")
        customer_erase(customer=customer, user=None, via="manage.py erase_customer")
        self.stdout.write(self.style.SUCCESS(f"Erased the personal data of client #{customer.pk}."))
