"""Check every loyalty account against its ledgers: the balance columns equal the sums of the
rows, the open points lots add up to the points balance, nothing is below zero. Exits 1 and
lists the accounts that disagree (none should, ever)."""

from django.core.management.base import BaseCommand, CommandError

from loyalty.models import LoyaltyAccount
from loyalty.services import ledger_check


class Command(BaseCommand):
    help = "Audit every loyalty account against its points and stored-value ledgers."

    def handle(self, *args, **options):
        bad = []
        n = 0
        for account in LoyaltyAccount.objects.order_by("pk").iterator(chunk_size=500):
            n += 1
            check = ledger_check(account)
            if not check.ok:
                bad.append(check)
        for check in bad:
            self.stderr.write(f"account {check.account_id}: {check}")
        if bad:
            raise CommandError(f"{len(bad)} of {n} accounts disagree with their ledgers")
        self.stdout.write(f"{n} accounts checked: every balance is the sum of its ledger")
