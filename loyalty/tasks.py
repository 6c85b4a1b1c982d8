"""Nightly loyalty work (Celery beat): points past their last day expire, oldest first."""

from celery import shared_task

from loyalty import services


@shared_task(name="loyalty.expire_points")
def expire_points() -> int:
    return services.points_expire()


@shared_task(name="loyalty.expire_packages")
def expire_packages() -> int:
    from loyalty import cards

    return cards.packages_expire()


@shared_task(name="loyalty.birthday_coupons")
def birthday_coupons() -> int:
    from loyalty import cards

    return cards.birthday_coupons()


@shared_task(name="loyalty.review_tiers")
def review_tiers() -> dict:
    from loyalty import tiers

    return tiers.tiers_review()
