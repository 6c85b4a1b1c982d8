"""analytics' part of merging two clients (from AnalyticsConfig.ready()).

The roll-ups are derived from the visits, so a merge moves nothing by hand: the merged-away
client's figures row goes, every day either client had a visit is marked dirty, and once the
merge has committed (the visits then belong to the kept client) those days are rolled up again,
so the kept client's figures count both histories. The dirty marks stay for the next
`compute_analytics --dirty` (every few minutes), which also catches up if that refresh fails."""

import logging

from django.db import transaction

from analytics.models import CustomerMetrics, DirtyDay, VisitDay
from customers.services import MergeHandler, customer_rows_count, register_merge_handler, relation_label

log = logging.getLogger(__name__)

FIGURES = (CustomerMetrics, "customer")


def _merge_preview(*, keep, merge) -> dict[str, int]:
    return {relation_label(*FIGURES): customer_rows_count(*FIGURES, customer=merge)}


def _refresh(pairs: set) -> None:
    from analytics.rollups import rebuild_days

    try:
        # the dirty marks stay (a checkout racing this refresh is not lost) and the next dirty run
        # redoes these days with the whole-chain figures, too slow for the merge's request
        rebuild_days(pairs, whole_chain=False)
    except Exception:  # the merge has committed; the nightly or the dirty run catches up
        log.exception("analytics: refreshing the roll-ups after a merge failed; left for --dirty")


def _merge(*, keep, merge, by) -> dict[str, int]:
    pairs = set(
        VisitDay.objects.filter(customer_id__in=[keep.pk, merge.pk]).values_list("location_id", "day")
    )
    for location_id, day in pairs:
        DirtyDay.objects.get_or_create(location_id=location_id, day=day)
    removed, _detail = CustomerMetrics.objects.filter(customer=merge).delete()
    transaction.on_commit(lambda: _refresh(pairs))
    return {relation_label(*FIGURES): removed} if removed else {}


MERGE_HANDLER = MergeHandler("analytics", preview=_merge_preview, merge=_merge)


def register() -> None:
    register_merge_handler(MERGE_HANDLER)
