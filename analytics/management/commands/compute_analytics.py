"""manage.py compute_analytics [--as-of YYYY-MM-DD] [--dirty]: rebuild the dashboards' roll-ups
and fit and score the churn model (docs/metrics.md). Nightly by beat; `--dirty` only recomputes the days a checkout or a void
touched since (every few minutes)."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics import rollups


class Command(BaseCommand):
    help = "Rebuild the analytics roll-ups (daily figures, visit days, client figures and RFM)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", help="The day the client figures are as of (YYYY-MM-DD; default today)."
        )
        parser.add_argument("--dirty", action="store_true", help="Only the days changed since the last run.")

    def handle(self, *args, as_of=None, dirty=False, **options):
        day = None
        if as_of:
            try:
                day = date.fromisoformat(as_of)
            except ValueError:
                raise CommandError("--as-of is a day written YYYY-MM-DD.") from None
        started = time.monotonic()
        result = rollups.rebuild_dirty(as_of=day) if dirty else rollups.rebuild(as_of=day)
        churn = ""
        if "churn_scores" in result:  # the nightly run fits and scores the churn model
            state = (
                "converged" if result["churn_converged"] else "did not converge: the last good model scored"
            )
            churn = f", churn model {state}, {result['churn_scores']} clients scored"
        self.stdout.write(
            f"{result['daily']} location-days, {result['visit_days']} visit days, {result['clients']} clients"
            f"{churn} in {time.monotonic() - started:.1f} s"
        )
