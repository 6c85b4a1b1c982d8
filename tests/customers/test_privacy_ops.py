"""Issue 16, item 3: privacy operations. Data retention (the owners' setting, the one-statement
selection and its edge cases, the nightly task erasing through the erase service, the dry run),
the access log's review page (filters, CSV, query count, who may), the unusual-volume alert (once,
above the threshold only, the banner, the owners' e-mail), the privacy page for every role, and
one client's export and erasure from the card (confirmed, logged, said so after)."""

import csv
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessAlert, PrivacySettings
from accounts.services import privacy_settings_update
from appointments.models import Appointment, Visit
from customers import tasks
from customers.access_review import access_alerts_recent, alert_zone, files_opened_above
from customers.models import AccessLog, Customer
from customers.retention import retention_cutoff, retention_plan, retention_plan_for
from customers.services import register_erase_hook, unregister_erase_hook
from customers.services.privacy_ops import RETENTION_VIA, access_alerts_raise, retention_apply
from feedback.models import Survey
from loyalty.models import CustomerPackage, LoyaltyAccount, PackagePlan, StoredValueEntry
from messaging.models import OutboundMessage
from messaging.services import message_enqueue
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# A fixed moment: every selection takes `now`, so nothing depends on the day or hour the suite runs.
NOW = datetime(2026, 6, 15, 4, 15, tzinfo=UTC)
YEARS = 3
CUTOFF = datetime(2023, 6, 15, 4, 15, tzinfo=UTC)
LONG_AGO = datetime(2019, 1, 10, 10, 0, tzinfo=UTC)


def _set_retention(years: int | None, threshold: int = 60) -> None:
    privacy_settings_update(by=None, retention_years=years, access_alert_threshold=threshold)


def _old_client(name: str, **fields) -> Customer:
    return CustomerFactory(name=name, created_at=fields.pop("created_at", LONG_AGO), **fields)


def _appointment(customer, location, start) -> Appointment:
    return Appointment.objects.create(
        customer=customer, location=location, start=start, end=start + timedelta(hours=1), created_at=LONG_AGO
    )


def _visit(customer, location, started_at) -> Visit:
    return Visit.objects.create(
        customer=customer,
        location=location,
        started_at=started_at,
        completed_at=started_at,
        total=Decimal("200"),
    )


def _survey(customer, location, created_at) -> Survey:
    visit = _visit(customer, location, LONG_AGO)
    return Survey.objects.create(
        visit=visit,
        customer=customer,
        location=location,
        nonce="n",
        created_at=created_at,
        send_at=created_at,
        expires_at=created_at + timedelta(days=14),
    )


def _stored_value(customer, amount: str, at=LONG_AGO) -> LoyaltyAccount:
    account = LoyaltyAccount.objects.create(customer=customer, principal=Decimal(amount), created_at=at)
    StoredValueEntry.objects.create(
        account=account, kind="topup", principal=Decimal(amount), bonus=0, created_at=at
    )
    return account


@pytest.fixture
def clients(location):
    """One client per edge case, every file created long before the cutoff unless said."""
    c = {
        "idle": _old_client("Idle"),
        "idle2": _old_client("Idle Two"),
        "recent_visit": _old_client("Recent visit"),
        "future_appointment": _old_client("Future appointment"),
        "balance": _old_client("Balance"),
        "spent_balance": _old_client("Spent balance"),
        "package": _old_client("Package"),
        "recent_survey": _old_client("Recent survey"),
        "new_file": _old_client("New file", created_at=NOW - timedelta(days=400)),
        "erased": _old_client("Erased", erased_at=LONG_AGO),
        "visit_at_cutoff": _old_client("Visit at cutoff"),
        "visit_before_cutoff": _old_client("Visit just before cutoff"),
        "created_at_cutoff": _old_client("Created at cutoff", created_at=CUTOFF),
        "created_before_cutoff": _old_client(
            "Created just before cutoff", created_at=CUTOFF - timedelta(seconds=1)
        ),
    }
    _visit(c["recent_visit"], location, NOW - timedelta(days=365))
    _appointment(c["future_appointment"], location, NOW + timedelta(days=20))
    _stored_value(c["balance"], "300.00")
    spent = _stored_value(c["spent_balance"], "50.00")  # topped up, then spent to nothing, long ago
    StoredValueEntry.objects.create(
        account=spent, kind="spend", principal=Decimal("-50.00"), bonus=0, created_at=LONG_AGO
    )
    LoyaltyAccount.objects.filter(pk=spent.pk).update(principal=0)
    account = LoyaltyAccount.objects.create(customer=c["package"], created_at=LONG_AGO)
    plan = PackagePlan.objects.create(name="Cut ×5", sessions=5, price=Decimal("800.00"))
    CustomerPackage.objects.create(
        account=account, plan=plan, name=plan.name, sessions_total=5, sessions_left=2, price=plan.price,
        expires_on=(NOW + timedelta(days=30)).date(), created_at=LONG_AGO,
    )  # fmt: skip
    _survey(c["recent_survey"], location, NOW - timedelta(days=30))
    _visit(c["visit_at_cutoff"], location, CUTOFF)
    _visit(c["visit_before_cutoff"], location, CUTOFF - timedelta(seconds=1))
    return c


# ---- retention: the selection ---------------------------------------------------------------------


def test_the_cutoff_is_n_calendar_years_back_and_29_february_becomes_28():
    assert retention_cutoff(years=YEARS, now=NOW) == CUTOFF
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert retention_cutoff(years=1, now=leap) == datetime(2027, 2, 28, 12, tzinfo=UTC)


def test_the_selection_finds_the_inactive_and_keeps_prepaid_money(clients):
    plan = retention_plan_for(years=YEARS, now=NOW)
    erase = set(plan.erase.values_list("name", flat=True))
    assert erase == {
        "Idle",
        "Idle Two",
        "Spent balance",
        "Visit just before cutoff",
        "Created just before cutoff",
    }
    kept = {c.name: plan.reasons(c) for c in plan.kept}
    assert kept == {"Balance": ["stored-value balance"], "Package": ["package sessions left"]}
    # never selected: a visit within the years, a future appointment, a recent survey, a file
    # younger than the years, an erased file, activity exactly at the cutoff, a file created then
    everyone = set(plan.inactive.values_list("name", flat=True))
    for name in (
        "Recent visit", "Future appointment", "Recent survey", "New file", "Erased", "Visit at cutoff",
        "Created at cutoff",
    ):  # fmt: skip
        assert name not in everyone


def test_the_selection_is_one_statement_whatever_the_number_of_clients(
    clients, location, django_assert_num_queries
):
    plan = retention_plan_for(years=YEARS, now=NOW)
    with django_assert_num_queries(1):
        assert plan.counts() == (5, 2)
    for n in range(30):
        _old_client(f"More {n}")
    with django_assert_num_queries(1):
        assert len(list(plan.erase)) == 35
    with django_assert_num_queries(1):
        assert plan.counts() == (35, 2)


def test_retention_off_reads_the_setting_only_and_erases_nothing(clients, django_assert_num_queries):
    assert PrivacySettings.current().retention_years is None  # off by default
    assert retention_plan(now=NOW) is None
    with django_assert_num_queries(1):  # the settings row
        report = retention_apply(now=NOW)
    assert (report.years, report.erased, report.kept) == (None, [], [])
    assert not AccessLog.objects.exists()
    assert Customer.objects.filter(name="Idle").exists()


def test_the_setting_is_between_1_and_30_years():
    from django.core.exceptions import ValidationError

    for wrong in (0, 31):
        with pytest.raises(ValidationError):
            _set_retention(wrong)
    _set_retention(30)
    assert PrivacySettings.current().retention_years == 30


# ---- retention: the run ------------------------------------------------------------------------------


def test_the_run_erases_through_the_erase_service_every_hook_and_a_log_row_each(clients, location):
    _set_retention(YEARS)
    message = message_enqueue(
        customer=clients["idle"],
        kind="visit_thank_you",
        key="t:idle",
        location=location,
        when=NOW + timedelta(days=400),
    )
    seen = []
    register_erase_hook("tests.retention", lambda customer: seen.append(customer.pk))
    try:
        report = retention_apply(now=NOW)
    finally:
        unregister_erase_hook("tests.retention")
    erased = {
        clients[k].pk
        for k in ("idle", "idle2", "spent_balance", "visit_before_cutoff", "created_before_cutoff")
    }
    assert {row.pk for row in report.erased} == erased and sorted(seen) == sorted(erased)
    assert {row.pk: row.reasons for row in report.kept} == {
        clients["balance"].pk: ["stored-value balance"],
        clients["package"].pk: ["package sessions left"],
    }
    for pk in erased:
        customer = Customer.objects.get(pk=pk)
        assert customer.name == f"Erased client #{pk}" and customer.phone is None and customer.erased_at
    logged = AccessLog.objects.filter(action=AccessLog.Action.ERASE)
    assert sorted(logged.values_list("customer_id", flat=True)) == sorted(erased)
    assert set(logged.values_list("user_id", "detail")) == {(None, RETENTION_VIA)}
    message.refresh_from_db()  # messaging's own erase hook ran too
    assert (message.status, message.body) == (OutboundMessage.Status.SUPPRESSED, "")
    for key in ("balance", "package", "recent_visit", "future_appointment", "recent_survey"):
        assert Customer.objects.get(pk=clients[key].pk).name == clients[key].name
    # a second run finds nobody new (erased files are not selected again)
    again = retention_apply(now=NOW)
    assert again.erased == [] and AccessLog.objects.filter(action="erase").count() == len(erased)


def test_the_nightly_task_runs_the_erasure(location):
    now = timezone.now()
    idle = CustomerFactory(name="Idle", created_at=now - timedelta(days=3 * 366))
    active = CustomerFactory(name="Active", created_at=now - timedelta(days=3 * 366))
    _visit(active, location, now - timedelta(days=30))
    assert tasks.retention() == {"retention_years": None, "erased": 0, "kept": 0, "skipped": 0, "alerts": 0}
    _set_retention(2)
    assert tasks.retention()["erased"] == 1
    assert Customer.objects.get(pk=idle.pk).erased_at is not None
    assert Customer.objects.get(pk=active.pk).erased_at is None
    assert AccessLog.objects.get(action="erase").customer_id == idle.pk


def test_a_client_active_again_since_the_selection_is_skipped(clients, location, monkeypatch):
    _set_retention(YEARS)
    from customers.services import privacy_ops

    real_rows = privacy_ops.retention_rows

    def rows_then_a_booking(plan):
        erase, kept = real_rows(plan)
        _appointment(clients["idle"], location, NOW + timedelta(days=3))  # booked meanwhile
        return erase, kept

    monkeypatch.setattr(privacy_ops, "retention_rows", rows_then_a_booking)
    report = retention_apply(now=NOW)
    assert report.skipped == [clients["idle"].pk]
    assert Customer.objects.get(pk=clients["idle"].pk).erased_at is None


def test_the_dry_run_lists_who_and_why_and_writes_nothing(clients, monkeypatch):
    _set_retention(YEARS)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    before = list(Customer.objects.order_by("pk").values_list("pk", "name", "erased_at"))
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "would erase 5, kept 2" in text
    assert f"would erase: #{clients['idle'].pk} Idle" in text
    assert f"kept: #{clients['balance'].pk} Balance (stored-value balance)" in text
    assert f"kept: #{clients['package'].pk} Package (package sessions left)" in text
    assert "Recent visit" not in text
    assert list(Customer.objects.order_by("pk").values_list("pk", "name", "erased_at")) == before
    assert not AccessLog.objects.exists()


def test_the_command_says_when_retention_is_off(clients):
    out = io.StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "Retention is off" in out.getvalue()
    call_command("apply_retention", stdout=out)
    assert not Customer.objects.filter(erased_at__isnull=False).exclude(name="Erased").exists()


# ---- retention: the owners' pages -----------------------------------------------------------------


def test_the_owner_sets_retention_and_sees_tonights_count(client_as, owner, clients, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    client = client_as(owner)
    page = client.get(reverse("customers:privacy_settings"))
    assert page.status_code == 200 and 'id="retention-off"' in page.content.decode()
    response = client.post(
        reverse("customers:privacy_settings"), {"retention_years": "3", "access_alert_threshold": "60"}
    )
    assert response.status_code == 302
    row = PrivacySettings.current()
    assert (row.retention_years, row.access_alert_threshold, row.updated_by) == (3, 60, owner.user)
    html = client.get(reverse("customers:privacy_settings")).content.decode()
    assert "5 clients would be erased tonight." in html and 'data-kept="2"' in html
    assert reverse("customers:retention_list") in html
    listed = client.get(reverse("customers:retention_list"))
    names = [r["name"] for r in listed.context["rows"]]
    assert sorted(names) == sorted(
        ["Idle", "Idle Two", "Spent balance", "Visit just before cutoff", "Created just before cutoff"]
    )
    kept = client.get(reverse("customers:retention_list"), {"list": "kept"}).context["rows"]
    assert {r["name"]: r["reasons"] for r in kept} == {
        "Balance": ["stored-value balance"],
        "Package": ["package sessions left"],
    }
    assert not AccessLog.objects.exists()  # looking at the list erased nothing


@pytest.mark.parametrize("value", ["0", "31", "abc", "-1"])
def test_a_wrong_setting_is_a_form_error_and_changes_nothing(client_as, owner, value):
    _set_retention(5)
    response = client_as(owner).post(
        reverse("customers:privacy_settings"), {"retention_years": value, "access_alert_threshold": "60"}
    )
    assert response.status_code == 400 and response.context["form"].errors["retention_years"]
    assert PrivacySettings.current().retention_years == 5


def test_only_owners_set_retention(client_as, manager, reception, stylist):
    _set_retention(None)
    for staff in (manager, reception, stylist):
        client = client_as(staff)
        assert client.get(reverse("customers:privacy_settings")).status_code == 403
        assert client.get(reverse("customers:retention_list")).status_code == 403
        posted = client.post(
            reverse("customers:privacy_settings"), {"retention_years": "1", "access_alert_threshold": "60"}
        )
        assert posted.status_code == 403
    assert PrivacySettings.current().retention_years is None


def test_the_list_shows_phones_as_the_role_masks_them(client_as, manager, clients, monkeypatch):
    """Someone given the privacy settings without full phones (an owner may grant it) sees masks."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    _set_retention(YEARS)
    manager.user.user_permissions.add(Permission.objects.get(codename="manage_privacy"))
    for group in manager.user.groups.all():
        group.permissions.remove(Permission.objects.get(codename="view_full_phone"))
    Customer.objects.filter(pk=clients["idle"].pk).update(phone="+8613812345678")
    rows = client_as(manager).get(reverse("customers:retention_list")).context["rows"]
    assert next(r for r in rows if r["name"] == "Idle")["phone"] == "138****5678"


# ---- the access log's review ----------------------------------------------------------------------


def _log(user, customer, at, action=AccessLog.Action.VIEW_FILE, detail="card") -> AccessLog:
    return AccessLog.objects.create(user=user, customer=customer, action=action, detail=detail, at=at)


def _local(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=alert_zone())


@pytest.fixture
def log_rows(reception, stylist, manager):
    """A week of rows: the desk and the stylist open files, the manager exports one."""
    day = NOW.astimezone(alert_zone()).date()
    zhang = CustomerFactory(name="张三")
    emily = CustomerFactory(name="Emily Clark")
    rows = {
        "desk_zhang": _log(reception.user, zhang, _local(day, 10)),
        "desk_emily_late": _log(reception.user, emily, _local(day, 23, 30)),
        "stylist_zhang_yesterday": _log(stylist.user, zhang, _local(day - timedelta(days=1), 9)),
        "manager_export": _log(manager.user, emily, _local(day, 11), AccessLog.Action.EXPORT_ONE, "page"),
        "system_erase": _log(
            None, emily, _local(day - timedelta(days=3), 4), AccessLog.Action.ERASE, "retention"
        ),
    }
    return {"day": day, "zhang": zhang, "emily": emily, **rows}


def _listed(response) -> set[int]:
    return {row.pk for row in response.context["rows"]}


def test_the_owner_filters_the_log(client_as, owner, reception, log_rows):
    client = client_as(owner)
    url = reverse("customers:access_log")
    every = client.get(url)
    assert every.status_code == 200
    assert [r.pk for r in every.context["rows"]][:2] == [
        log_rows["desk_emily_late"].pk,
        log_rows["manager_export"].pk,
    ]
    assert _listed(client.get(url, {"user": reception.user.pk})) == {
        log_rows["desk_zhang"].pk,
        log_rows["desk_emily_late"].pk,
    }
    by_id = client.get(url, {"client": f"#{log_rows['zhang'].pk}"})
    assert _listed(by_id) == {log_rows["desk_zhang"].pk, log_rows["stylist_zhang_yesterday"].pk}
    by_name = client.get(url, {"client": "Emily"})
    assert _listed(by_name) == {
        log_rows["desk_emily_late"].pk,
        log_rows["manager_export"].pk,
        log_rows["system_erase"].pk,
    }
    assert _listed(client.get(url, {"action": "export_one"})) == {log_rows["manager_export"].pk}
    day = log_rows["day"].isoformat()
    one_day = client.get(url, {"date_from": day, "date_to": day})  # local days: 23:30 is that day
    assert _listed(one_day) == {
        log_rows["desk_zhang"].pk,
        log_rows["desk_emily_late"].pk,
        log_rows["manager_export"].pk,
    }
    html = one_day.content.decode()
    assert "Reception" in html and f"#{log_rows['zhang'].pk} 张三" in html


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-13-01"},
        {"user": "999999"},
        {"action": "peek"},
        {"date_from": "2026-06-02", "date_to": "2026-06-01"},
    ],
)
def test_bad_filters_answer_400_with_the_field_error(client_as, owner, log_rows, query):
    response = client_as(owner).get(reverse("customers:access_log"), query)
    assert response.status_code == 400 and response.context["form"].errors
    assert response.context["rows"] == []
    csv_answer = client_as(owner).get(reverse("customers:access_log_csv"), query)
    assert csv_answer.status_code == 400
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


def test_only_owners_review_the_log(client_as, manager, reception, stylist, log_rows):
    for staff in (manager, reception, stylist):
        client = client_as(staff)
        assert client.get(reverse("customers:access_log")).status_code == 403
        assert client.get(reverse("customers:access_log_csv")).status_code == 403
    assert not AccessLog.objects.filter(action=AccessLog.Action.EXPORT).exists()


def test_the_log_page_reads_a_fixed_number_of_queries(
    client_as, owner, reception, django_assert_max_num_queries
):
    customers = [CustomerFactory(name=f"Client {n}") for n in range(60)]
    day = timezone.now() - timedelta(hours=1)
    AccessLog.objects.bulk_create(
        AccessLog(user=reception.user, customer=c, action="view_file", detail="card", at=day)
        for c in customers
    )
    client = client_as(owner)
    client.get(reverse("customers:access_log"))  # the login's own first queries
    # 11: session, user, 2 permissions, the current location, the page of rows with who and
    # which client (51: a next page?), the banner (the stored alerts, the live count with the
    # threshold inside), the header (the user's locations, their staff record), the staff choices
    with django_assert_max_num_queries(11):
        response = client.get(reverse("customers:access_log"))
    assert len(response.context["rows"]) == 50 and response.context["has_next"]
    with django_assert_max_num_queries(12):  # + the chosen staff member, read by the filter's form
        second = client.get(reverse("customers:access_log"), {"page": "2", "user": reception.user.pk})
    assert len(second.context["rows"]) == 10 and not second.context["has_next"]


def test_the_csv_is_spreadsheet_safe_and_its_download_is_logged(client_as, owner, reception, log_rows):
    trap = CustomerFactory(name='=HYPERLINK("http://x")')
    _log(reception.user, trap, _local(log_rows["day"], 12), detail="+cmd|' /C calc'!A0")
    response = client_as(owner).get(reverse("customers:access_log_csv"), {"user": reception.user.pk})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == [
        "Time",
        "Staff member",
        "Login",
        "Action",
        "Client id",
        "Client",
        "Detail",
        "IP address",
    ]
    assert len(rows) == 4  # the header and the desk's three rows
    trapped = next(row for row in rows[1:] if row[4] == str(trap.pk))
    assert trapped[5] == '\'=HYPERLINK("http://x")' and trapped[6] == "'+cmd|' /C calc'!A0"
    assert trapped[1:4] == ["Reception", "reception", "Viewed client file"]
    logged = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert logged.user == owner.user and logged.customer is None
    assert (
        logged.detail.startswith("access log CSV, 3 rows;") and f"user={reception.user.pk}" in logged.detail
    )


# ---- unusual volume --------------------------------------------------------------------------------


def _views(user, n: int, at: datetime, *, repeat: int = 1) -> None:
    customers = [CustomerFactory() for _ in range(n)]
    AccessLog.objects.bulk_create(
        AccessLog(user=user, customer=c, action="view_file", detail="card", at=at + timedelta(seconds=i))
        for i, c in enumerate(customers * repeat)
    )


def test_the_alert_fires_above_the_threshold_once_and_emails_the_owners(
    reception, stylist, owner, location, django_capture_on_commit_callbacks
):
    owner.user.email = "boss@example.com"
    owner.user.save()
    _set_retention(None, threshold=10)
    day = NOW.astimezone(alert_zone()).date()
    _views(reception.user, 11, _local(day, 1))  # 11 files: above 10
    _views(stylist.user, 10, _local(day, 1), repeat=3)  # 30 views of 10 files: not above
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail is planned after commit
        assert access_alerts_raise(now=NOW) == 1
    alert = AccessAlert.objects.get()
    assert (alert.user, alert.day, alert.files, alert.threshold) == (reception.user, day, 11, 10)
    mail = OutboundMessage.objects.get(kind="access_alert")
    assert (mail.channel, mail.to, mail.customer) == ("email", "boss@example.com", None)
    assert (
        "Reception opened 11 different client files on" in mail.body
        and f"user={reception.user.pk}" in mail.body
    )
    # again, and with more views the same day: no second alert, no second e-mail
    _views(reception.user, 5, _local(day, 2))
    with django_capture_on_commit_callbacks(execute=True):
        assert access_alerts_raise(now=NOW) == 0
    alert.refresh_from_db()
    assert alert.files == 16
    assert (
        AccessAlert.objects.count() == 1 and OutboundMessage.objects.filter(kind="access_alert").count() == 1
    )


def test_the_day_is_the_local_day(reception):
    tz = alert_zone()
    day = NOW.astimezone(tz).date() - timedelta(days=1)
    _views(reception.user, 6, _local(day, 23, 50))
    _views(reception.user, 6, _local(day + timedelta(days=1), 0, 10))
    rows = files_opened_above(start=_local(day, 0), end=_local(day + timedelta(days=2), 0), threshold=5)
    assert [(r.day, r.files) for r in rows] == [(day, 6), (day + timedelta(days=1), 6)]
    assert files_opened_above(start=_local(day, 0), end=_local(day + timedelta(days=2), 0), threshold=6) == []


def test_owners_see_the_banner_on_today_the_dashboard_and_the_log(client_as, owner, reception, manager):
    _set_retention(None, threshold=5)
    now = timezone.now()
    _views(reception.user, 6, now - timedelta(minutes=5))  # today, live (not raised yet)
    alerts = access_alerts_recent()
    assert [(a.user_id, a.files) for a in alerts] == [(reception.user.pk, 6)]
    link = alerts[0].url
    assert f"user={reception.user.pk}" in link and "date_from=" in link
    owner_client = client_as(owner)
    for url in (reverse("accounts:today"), reverse("analytics:dashboard"), reverse("customers:access_log")):
        html = owner_client.get(url).content.decode()
        assert 'id="access-alerts"' in html and "Reception: 6 client files on" in html, url
        assert link.replace("&", "&amp;") in html
    for staff in (manager, reception):
        html = client_as(staff).get(reverse("accounts:today")).content.decode()
        assert 'id="access-alerts"' not in html
    assert 'id="access-alerts"' not in client_as(manager).get(reverse("analytics:dashboard")).content.decode()


def test_a_raised_alert_stays_on_the_banner_for_a_week(reception):
    tz = alert_zone()
    today = NOW.astimezone(tz).date()
    AccessAlert.objects.create(user=reception.user, day=today - timedelta(days=6), files=70, threshold=60)
    AccessAlert.objects.create(user=reception.user, day=today - timedelta(days=7), files=90, threshold=60)
    assert [(a.day, a.files) for a in access_alerts_recent(now=NOW)] == [(today - timedelta(days=6), 70)]


# ---- the privacy page, for every role ----------------------------------------------------------------


def test_the_privacy_page_for_every_role_with_the_retention_value(
    client_as, owner, manager, reception, stylist
):
    for staff in (owner, manager, reception, stylist):
        response = client_as(staff).get(reverse("customers:privacy"))
        html = response.content.decode()
        assert response.status_code == 200
        assert "Client files are kept until erased on request" in html
        for category in (
            "identity",
            "health",
            "formulas",
            "visits",
            "loyalty",
            "messages",
            "feedback",
            "access-log",
        ):
            assert f'data-category="{category}"' in html
        assert "Encrypted at rest" in html and "138****5678" in html
        # the header for the desk and stylists; Settings for managers and owners (a full header)
        nav = [i["key"] for i in response.context["nav_items"]]
        assert ("privacy" in nav) is (staff in (reception, stylist))
    assert "phone numbers masked" in client_as(stylist).get(reverse("customers:privacy")).content.decode()
    assert "phone numbers in full" in client_as(reception).get(reverse("customers:privacy")).content.decode()
    _set_retention(4)
    html = client_as(reception).get(reverse("customers:privacy")).content.decode()
    assert 'data-years="4"' in html and "for 4 years is erased at night" in html
    assert "Exports and erasures are done by a manager or owner" in html
    assert (
        "You can export and erase from the card"
        in client_as(manager).get(reverse("customers:privacy")).content.decode()
    )


def test_the_settings_page_links_the_privacy_pages(client_as, owner, manager):
    html = client_as(owner).get(reverse("accounts:settings")).content.decode()
    assert 'data-settings-link="privacy_settings"' in html and 'data-settings-link="access_log"' in html
    assert 'data-settings-link="privacy_page"' in html
    html = client_as(manager).get(reverse("accounts:settings")).content.decode()
    assert 'data-settings-link="privacy_settings"' not in html
    assert 'data-settings-link="access_log"' not in html
    assert f'href="{reverse("customers:privacy")}" data-settings-link="privacy_page"' in html


# ---- one client's export and erasure from the card -------------------------------------------------------


def test_export_and_erasure_from_the_card_are_confirmed_logged_and_said(client_as, manager):
    customer = CustomerFactory(name="张三")
    client = client_as(manager)
    card = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert reverse("customers:export_confirm", args=[customer.pk]) in card
    assert reverse("customers:erase", args=[customer.pk]) in card
    confirm = client.get(reverse("customers:export_confirm", args=[customer.pk]))
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "张三" in html and "recorded in the access log" in html
    assert f'action="{reverse("customers:export_json", args=[customer.pk])}"' in html
    assert not AccessLog.objects.filter(action="export_one").exists()  # looking is not exporting
    download = client.post(reverse("customers:export_json", args=[customer.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].endswith(
        f'client-{customer.pk}.json"'
    )
    assert AccessLog.objects.filter(action="export_one", customer=customer, user=manager.user).count() == 1
    after = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f"Data of client #{customer.pk} exported; the export is in the access log." in after

    erase_page = client.get(reverse("customers:erase", args=[customer.pk])).content.decode()
    assert "张三" in erase_page and 'id="erase-scope"' in erase_page
    assert "Loyalty ledgers" in erase_page and "Appointments, visits, sale lines and payments" in erase_page
    erased = client.post(reverse("customers:erase", args=[customer.pk]), {"confirm": "on"}, follow=True)
    assert f"Personal data of client #{customer.pk} erased; the erasure is in the access log." in (
        erased.content.decode()
    )
    assert (
        AccessLog.objects.filter(action="erase", customer=customer, user=manager.user, detail="page").count()
        == 1
    )


def test_the_desk_and_stylists_have_neither_on_the_card(client_as, reception, stylist):
    customer = CustomerFactory(name="张三")
    for staff in (reception, stylist):
        client = client_as(staff)
        card = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
        assert reverse("customers:export_confirm", args=[customer.pk]) not in card
        assert client.get(reverse("customers:export_confirm", args=[customer.pk])).status_code == 403


def test_an_owner_without_an_email_still_gets_the_banner_and_no_mail(
    reception, owner, django_capture_on_commit_callbacks
):
    _set_retention(None, threshold=5)
    _views(reception.user, 6, NOW - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert access_alerts_raise(now=NOW) == 1
    assert len(callbacks) == 1  # the listener ran, and found no address
    assert not OutboundMessage.objects.filter(kind="access_alert").exists()


def test_staff_without_a_staff_record_are_named_by_login(db):
    from tests.accounts.factories import UserFactory

    user = UserFactory(username="ghost")
    _views(user, 3, NOW - timedelta(minutes=5))
    rows = files_opened_above(start=NOW - timedelta(hours=1), end=NOW, threshold=2)
    assert [(r.name, r.files) for r in rows] == [("ghost", 3)]
