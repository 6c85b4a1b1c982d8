"""analytics' part of merging two clients (from AnalyticsConfig.ready()).

The roll-ups are derived from the visits, so a merge moves nothing by hand: the merged-away
client's figures row and both clients' churn scores go (the next nightly run scores the kept
client), campaign memberships follow the client, every day either client had a visit is marked dirty, and once the
merge has committed (the visits then belong to the kept client) those days are rolled up again,
so the kept client's figures count both histories. The dirty marks stay for the next
`compute_analytics --dirty` (every few minutes), which also catches up if that refresh fails."""

import logging

from django.db import transaction

from analytics.models import CampaignMember, ChurnScore, CustomerMetrics, DirtyDay, VisitDay
from customers.services import (
    MergeHandler,
    customer_rows_count,
    reassign_customer_rows,
    register_merge_handler,
    relation_label,
)

log = logging.getLogger(__name__)

FIGURES = (CustomerMetrics, "customer")
SCORES = (ChurnScore, "customer")
MEMBERS = (CampaignMember, "customer")


def _merge_preview(*, keep, merge) -> dict[str, int]:
    counts = {
        relation_label(*FIGURES): customer_rows_count(*FIGURES, customer=merge),
        relation_label(*SCORES): customer_rows_count(*SCORES, customer=merge),
        relation_label(*MEMBERS): customer_rows_count(*MEMBERS, customer=merge),
    }
    return {k: v for k, v in counts.items() if v}


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
    # the churn scores of both are stale now (the next nightly run scores the kept client on
    # both histories; the API works it out on the fly meanwhile)
    scores, _detail = ChurnScore.objects.filter(customer__in=[keep, merge]).delete()
    # a campaign both were in keeps the kept client's row; the others follow the client
    CampaignMember.objects.filter(
        customer=merge, campaign__in=CampaignMember.objects.filter(customer=keep).values("campaign")
    ).delete()
    members = reassign_customer_rows(*MEMBERS, keep=keep, merge=merge)
    transaction.on_commit(lambda: _refresh(pairs))
    counts = {
        relation_label(*FIGURES): removed,
        relation_label(*SCORES): scores,
        relation_label(*MEMBERS): members,
    }
    return {k: v for k, v in counts.items() if v}


MERGE_HANDLER = MergeHandler("analytics", preview=_merge_preview, merge=_merge)


def register() -> None:
    register_merge_handler(MERGE_HANDLER)
