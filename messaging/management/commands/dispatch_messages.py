"""manage.py dispatch_messages [--loop SECONDS] [--batch-size N]: send the due messages (one
pass until nothing is due), or keep doing it every SECONDS (the quick start's stand-in for beat)."""

import time

from django.core.management.base import BaseCommand

from messaging.dispatch import dispatch_until_done


class Command(BaseCommand):
    help = "Send the messages that are due (the outbox's dispatcher)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=0, help="repeat every SECONDS (0: once)")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, loop: float, batch_size: int | None, **options):
        while True:
            result = dispatch_until_done(batch_size=batch_size)
            if result.claimed or not loop:
                self.stdout.write(
                    f"dispatched: {result.sent} sent, {result.suppressed} suppressed, {result.deferred} deferred, "
                    f"{result.retried} to retry, {result.failed} failed, {result.unknown} unknown"
                )
            if not loop:
                return
            time.sleep(loop)
