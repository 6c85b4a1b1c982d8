"""messaging's part of the access log's unusual-volume alert (customers.access_review): the
staff notice kind, and the listener that e-mails every active owner once per alert (the
outbox's idempotency key is the alert and the owner). The banner on the owners' pages shows
the alert whether or not anyone has an e-mail address."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from customers.access_review import ACCESS_ALERT, AccessAlertEvent, alerts_bus
from messaging.kinds import COMMON, EN, ZH, Kind, register_kind
from messaging.services import message_enqueue

ACCESS_ALERT_KIND = "access_alert"


def alert_notify_owners(event: AccessAlertEvent) -> int:
    """One e-mail per active owner with an address; at most once per (alert, owner)."""
    User = get_user_model()
    person = User.objects.filter(pk=event.user_id).select_related("staff").first()
    staff = getattr(person, "staff", None) if person else None
    name = staff.display_name if staff else (person.get_username() if person else "?")
    query = urlencode(
        {"user": event.user_id, "date_from": event.day.isoformat(), "date_to": event.day.isoformat()}
    )
    link = settings.MESSAGING_PUBLIC_URL.rstrip("/") + reverse("customers:access_log") + "?" + query
    owners = User.objects.filter(is_active=True, staff__role=Role.OWNER, staff__is_active=True).exclude(
        email=""
    )
    sent = 0
    for owner in owners:
        message_enqueue(
            customer=None,
            kind=ACCESS_ALERT_KIND,
            key=f"access_alert:{event.alert_id}:{owner.pk}",
            context={"staff": name, "files": event.files, "day": event.day.isoformat(), "link": link},
            channel="email",
            to=owner.email,
        )
        sent += 1
    return sent


def register() -> None:
    register_kind(
        Kind(
            ACCESS_ALERT_KIND,
            _("Unusual access to client files (owners)"),
            context=(*COMMON, "staff", "files", "day", "link"),
            defaults={
                ("email", EN): (
                    "Unusual access: {{ staff }} opened {{ files }} client files on {{ day }}",
                    "{{ staff }} opened {{ files }} different client files on {{ day }}, more than the "
                    "alert threshold on the privacy settings. Review the access log: {{ link }}",
                ),
                ("email", ZH): (
                    "异常访问：{{ staff }} 于 {{ day }} 查看了 {{ files }} 份顾客档案",
                    "{{ staff }} 于 {{ day }} 查看了 {{ files }} 份不同的顾客档案，超过了隐私设置中的提醒阈值。"
                    "请查看访问日志：{{ link }}",
                ),
            },
        )
    )
    alerts_bus.subscribe("messaging.access_alert", alert_notify_owners, kinds=[ACCESS_ALERT])
