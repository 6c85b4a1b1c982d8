import json

from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from customers.services import JSON_ENCODER, customer_export


class Command(BaseCommand):
    help = "All of one client's data as JSON (right of access), to stdout or --output. Logged."

    def add_arguments(self, parser):
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, customer_id: int, output: str | None, **options):
        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise CommandError(f"No client with id {customer_id}.")
        data = customer_export(customer=customer, user=None, via="manage.py export_customer")
        body = json.dumps(data, cls=JSON_ENCODER, ensure_ascii=False, indent=2)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(body + "\n")
            self.stderr.write(f"Wrote {output}")
        else:
            self.stdout.write(body)
