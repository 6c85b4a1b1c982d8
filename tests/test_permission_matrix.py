"""Issue 8, item 12: the permission matrix. Every URL pattern of the project (pages, API, admin:
the resolver is walked, so a new URL without a row here fails the test) is requested as each
persona, with its URL arguments filled from objects seeded at the home location, and the answer
is compared with the expected table below.

Personas, in the order of every expectation string:

    anon     not logged in
    stylist  a stylist of the home location (the seeded client's stylist)
    desk     a receptionist of the home location
    far      a manager of another location
    manager  a manager of the home location
    owner    an owner (every location; working at the home location)

GET is sent for every pattern. An answer is "allowed" (Y) when it is 2xx, 400/409 (past every
permission check, the input refused), or a redirect that is not to a login page (nor, for an
admin object page, the admin's "does not exist" redirect to its index); "denied" (-) when it is
401, 403, 404 or a redirect to a login page; "." when the method is not allowed (405). A 5xx
always fails.

POST (or PATCH for the API's partial updates) is sent to every write endpoint with a body that
would really write something for the home location's seeded objects. There "Y" means the
database changed and "-" that it did not: every denied write is checked against a checksum of
every table (sessions and django-axes' login bookkeeping left out), before and after. Each
request runs in a savepoint that is rolled back, so the personas all start from the same data.

Two-factor login is switched off here (OTP_REQUIRED_ROLES): it answers before any permission
does and is tested on its own (tests/accounts); rate limits are off too (RATELIMIT_ENABLE).
"""

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Location, StaffMember
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentStatus,
    Product,
    Resource,
    ResourceType,
    Service,
    ServiceCategory,
    TimeOff,
    Visit,
    WaitlistEntry,
    WorkingHours,
)
from appointments.services import BookingItem, CheckoutLine, PaymentIn, appointment_book, visit_checkout
from appointments.views.online import manage_token
from customers.models import AccessLog, ConsentRecord, Customer, MergeRecord, PatchTest, SafetyOverride, Tag
from messaging.appointment_messages import appointment_token
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.appointments.factories import ServiceFactory, open_all_week, work_all_week
from tests.customers.factories import CustomerFactory, FormulaFactory

pytestmark = pytest.mark.django_db

PERSONAS = ("anon", "stylist", "desk", "far", "manager", "owner")
ALL, NONE = "YYYYYY", "------"


# ---- the seeded world --------------------------------------------------------------------------


@dataclass
class Seed:
    home: Location
    far_location: Location
    staff: dict[str, StaffMember]
    cut: Service
    category: ServiceCategory
    product: Product
    resource: Resource
    hours: WorkingHours
    time_off: TimeOff
    customer: Customer
    other_customer: Customer
    tag: Tag
    formula: object
    patch_test: PatchTest
    booked: Appointment  # tomorrow+: can be moved, cancelled, confirmed, checked in, checked out
    arrived: Appointment  # today, arrived: can be started, recorded
    today: Appointment  # today, later, booked: can be checked in and checked out (on its own day)
    past: Appointment  # yesterday, still booked: can be marked a no-show
    visit: Visit
    waitlist: WaitlistEntry
    day: date
    objects: dict[str, object] = field(default_factory=dict)  # admin object of every model

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.home.tz)

    @property
    def item(self) -> AppointmentItem:
        return self.arrived.items.get()


def _appointment(customer, location, service, staff, start, status) -> Appointment:
    """An appointment written directly (the past one cannot be booked through the service)."""
    end = start + timedelta(minutes=service.duration_minutes)
    appointment = Appointment.objects.create(
        customer=customer, location=location, status=status, source="front_desk", start=start, end=end
    )
    AppointmentItem.objects.create(
        appointment=appointment,
        service=service,
        staff=staff,
        start=start,
        end=end,
        busy_until=end,
        price=service.price,
    )
    return appointment


def seed_world() -> Seed:
    # Named so that the home location comes first: it is the owner's current location too.
    home = LocationFactory(code="jingan", name="Jing'an 静安店")
    far_location = LocationFactory(code="xuhui", name="Xuhui 徐汇店")
    staff = {
        "stylist": StaffMemberFactory(
            user__username="stylist", role="stylist", locations=[home], is_bookable=True
        ),
        "desk": StaffMemberFactory(user__username="desk", role="receptionist", locations=[home]),
        "far": StaffMemberFactory(user__username="far.manager", role="manager", locations=[far_location]),
        "manager": StaffMemberFactory(user__username="manager", role="manager", locations=[home]),
        "owner": StaffMemberFactory(user__username="owner", role="owner", locations=[home, far_location]),
    }
    stylist = staff["stylist"]
    open_all_week(home)
    open_all_week(far_location)
    work_all_week(stylist, home, start=time(0), end=time(23, 45))
    category = ServiceCategory.objects.create(name="Hair")
    cut = ServiceFactory(name="Cut", category=category, price=Decimal("200.00"), locations=[home])
    product = Product.objects.create(name="Hair oil", sku="OIL-1", price=Decimal("88.00"))
    resource = Resource.objects.create(name="Room 1", type=ResourceType.ROOM, location=home)
    hours = WorkingHours.objects.get(staff=stylist, location=home, weekday=0)
    now = timezone.now()
    today = now.astimezone(home.tz).date()
    day = today + timedelta(days=7)
    time_off = TimeOff.objects.create(
        staff=stylist,
        start=datetime.combine(day + timedelta(days=3), time(9), tzinfo=home.tz),
        end=datetime.combine(day + timedelta(days=3), time(12), tzinfo=home.tz),
        reason="dentist",
    )
    tag = Tag.objects.create(name="VIP")
    customer = CustomerFactory(name="张三", home_location=home, preferred_staff=stylist, tags=[tag])
    other_customer = CustomerFactory(name="李四", home_location=home)
    formula = FormulaFactory(customer=customer, stylist=stylist)
    patch_test = PatchTest.objects.create(
        customer=customer,
        product="Wella",
        tested_on=today - timedelta(days=1),
        result=PatchTest.Result.PENDING,
        valid_until=today + timedelta(days=179),
    )
    booked = appointment_book(
        customer=customer,
        location=home,
        items=[
            BookingItem(service=cut, staff=stylist, start=datetime.combine(day, time(10), tzinfo=home.tz))
        ],
        source="front_desk",
        booked_by=staff["desk"].user,
    )
    soon = now.astimezone(home.tz).replace(second=0, microsecond=0) + timedelta(hours=2)
    arrived = _appointment(other_customer, home, cut, stylist, soon, AppointmentStatus.ARRIVED)
    past = _appointment(
        other_customer, home, cut, stylist, soon - timedelta(days=1), AppointmentStatus.BOOKED
    )
    later = soon + timedelta(hours=3)
    today_booked = _appointment(customer, home, cut, stylist, later, AppointmentStatus.BOOKED)
    visit = visit_checkout(
        location=home,
        customer=other_customer,
        by=staff["desk"].user,
        lines=[CheckoutLine(kind="service", service=cut, staff=stylist)],
        payments=[PaymentIn("cash", Decimal("200.00"))],
    )
    waitlist = WaitlistEntry.objects.create(customer=customer, location=home, service=cut, date=day)
    seed = Seed(
        home=home, far_location=far_location, staff=staff, cut=cut, category=category, product=product,
        resource=resource, hours=hours, time_off=time_off, customer=customer, other_customer=other_customer,
        tag=tag, formula=formula, patch_test=patch_test, booked=booked, arrived=arrived, today=today_booked, past=past, visit=visit,
        waitlist=waitlist, day=day,
    )  # fmt: skip
    seed.objects = _admin_objects(seed)
    _picked(seed)  # with the world: a request's savepoint would roll it back
    return seed


def _admin_objects(s: Seed) -> dict[str, object]:
    """One object of every model the admin shows, at the home location where it has one."""
    from auditlog.models import LogEntry
    from axes.models import AccessAttempt, AccessFailureLog
    from axes.models import AccessLog as AxesAccessLog
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.authtoken.models import Token, TokenProxy

    stylist_user = s.staff["stylist"].user
    Token.objects.create(user=stylist_user)
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    return {
        "newcomer": get_user_model().objects.create(username="newcomer"),  # a login without a staff record
        "auth.group": Group.objects.get(name="stylist"),
        "auth.user": stylist_user,
        "authtoken.tokenproxy": TokenProxy.objects.get(user=stylist_user),
        "axes.accessattempt": AccessAttempt.objects.create(
            username="x", ip_address="10.0.0.1", user_agent="t", failures_since_start=1
        ),
        "axes.accesslog": AxesAccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t"),
        "axes.accessfailurelog": AccessFailureLog.objects.create(
            username="x", ip_address="10.0.0.1", user_agent="t"
        ),
        "auditlog.logentry": LogEntry.objects.order_by("pk").first(),
        "django_celery_beat.periodictask": PeriodicTask.objects.create(name="t", task="t", interval=interval),
        "django_celery_beat.clockedschedule": ClockedSchedule.objects.create(clocked_time=timezone.now()),
        "django_celery_beat.crontabschedule": CrontabSchedule.objects.create(),
        "django_celery_beat.solarschedule": SolarSchedule.objects.create(
            event="sunrise", latitude=31, longitude=121
        ),
        "django_celery_beat.intervalschedule": interval,
        "otp_totp.totpdevice": TOTPDevice.objects.create(user=stylist_user, name="phone"),
        "otp_static.staticdevice": StaticDevice.objects.create(user=stylist_user, name="backup"),
        "accounts.location": s.home,
        "accounts.staffmember": s.staff["stylist"],
        "customers.tag": s.tag,
        "customers.customer": s.customer,
        "customers.colourformula": s.formula,
        "customers.patchtest": s.patch_test,
        "customers.consentrecord": ConsentRecord.objects.create(
            customer=s.customer, channel="sms", granted=True, method="desk", recorded_at=timezone.now()
        ),
        "customers.safetyoverride": SafetyOverride.objects.create(customer=s.customer, context="booking"),
        "customers.accesslog": AccessLog.objects.create(
            user=s.staff["desk"].user, customer=s.customer, action=AccessLog.Action.VIEW_FILE
        ),
        "customers.mergerecord": MergeRecord.objects.create(
            kept=s.customer, merged_name="Old", merged_pk=999999
        ),
        "appointments.servicecategory": s.category,
        "appointments.service": s.cut,
        "appointments.product": s.product,
        "appointments.resource": s.resource,
        "appointments.workinghours": s.hours,
        "appointments.timeoff": s.time_off,
        "appointments.appointment": s.booked,
        "appointments.visit": s.visit,
        "appointments.waitlistentry": s.waitlist,
        "messaging.messagetemplate": _template(s),
        "messaging.outboundmessage": _message(s),
        **_loyalty_objects(s),
        **_feedback_objects(s),
        "analytics.churnmodel": _churn_model(s),
        "campaign": _campaign(s),  # a draft campaign, made with the world too
        "unsubscribe": _unsubscribe_token(s),  # made with the world, not inside a request's savepoint
    }


# ---- the expected table --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    get: str  # per persona: Y allowed, - denied, . 405
    post: str | None = None  # a real write: Y the database changed, - it did not
    kwargs: Callable[[Seed], dict] = lambda s: {}
    query: Callable[[Seed], dict] = lambda s: {}
    data: Callable[[Seed], dict] | None = None
    method: str = "post"


def iso(dt: datetime) -> str:
    return dt.isoformat()


APPT = lambda s: {"pk": s.booked.pk}  # noqa: E731
CLIENT = lambda s: {"pk": s.customer.pk}  # noqa: E731
HERE = lambda s: {"location": s.home.pk, "date": s.day.isoformat()}  # noqa: E731
COMPLAINT = lambda s: {"pk": s.objects["feedback.complaint"].pk}  # noqa: E731


def _book_form(s: Seed) -> dict:
    return {
        "customer": s.other_customer.pk,
        "date": s.day.isoformat(),
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-service": s.cut.pk,
        "items-0-staff": s.staff["stylist"].pk,
        "items-0-start": "15:00",
    }


def _checkout_form(s: Seed) -> dict:
    return {
        "discount": "0",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-service": s.cut.pk,
        "lines-0-staff": s.staff["stylist"].pk,
        "lines-0-quantity": "1",
        "lines-0-discount": "0",
        "pay-TOTAL_FORMS": "1",
        "pay-INITIAL_FORMS": "0",
        "pay-0-method": "cash",
        "pay-0-amount": "200.00",
    }


def _formula_form(s: Seed) -> dict:
    return {
        "stylist": s.staff["stylist"].pk,
        "brand": "Wella",
        "shades-TOTAL_FORMS": "1",
        "shades-INITIAL_FORMS": "0",
        "shades-0-shade": "8/0",
        "shades-0-grams": "40",
    }


def _customer_form(s: Seed) -> dict:
    return {"name": "张三丰", "phone": str(s.customer.phone), "source": "walk_in", "tags": [s.tag.pk]}


def _staff_admin_form(s: Seed, **overrides) -> dict:
    stylist = s.staff["stylist"]
    data = {
        "display_name": stylist.display_name,
        "role": "manager",
        "locations": [s.home.pk, s.far_location.pk],
        "calendar_colour": "#123456",
        "is_active": "on",
        "is_bookable": "on",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def _held(s: Seed):
    """An online booking held for the desk: a stranger's name with the seeded client's phone
    (made once, the first time a row asks for it)."""
    from appointments.models import OnlineClientCheck
    from appointments.services import online_book

    if "held" not in s.objects:
        online_book(
            location=s.home, service=s.cut, staff=s.staff["stylist"], start=s.at(s.day, 12),
            name="陌生人", phone=str(s.customer.phone),
        )  # fmt: skip
        s.objects["held"] = OnlineClientCheck.objects.get()
    return s.objects["held"]


def _message(s: Seed, status: str = "unknown"):
    """A message to the seeded client at the home location, left `unknown` (a worker stopped while
    sending it): what a manager resolves on the delivery log."""
    from messaging.models import OutboundMessage
    from messaging.services import message_enqueue

    if "message" not in s.objects:
        message = message_enqueue(
            customer=s.customer, kind="visit_thank_you", key="matrix:thank-you", location=s.home,
            when=timezone.now() + timedelta(days=1),
        )  # fmt: skip
        OutboundMessage.objects.filter(pk=message.pk).update(status=status)
        s.objects["message"] = message
    return s.objects["message"]


def _unsubscribe_token(s: Seed) -> str:
    """The unsubscribe link of a marketing message on email, to a client who said yes to email."""
    from messaging.services import unsubscribe_url

    if "unsubscribe" not in s.objects:
        Customer.objects.filter(pk=s.customer.pk).update(consent_email=True)
        s.objects["unsubscribe"] = unsubscribe_url(s.customer, "email").rstrip("/").rsplit("/", 1)[1]
    return s.objects["unsubscribe"]


def _campaign(s: Seed):
    """A draft win-back campaign for the home location's dormant clients, the home manager's
    (made once, the first time a row asks for it)."""
    from analytics.campaigns import WINBACK, campaign_save
    from analytics.models import Campaign

    if "campaign" not in s.objects:
        s.objects["campaign"] = campaign_save(
            campaign=Campaign(name="Win-back", stages=["dormant"], message_kind=WINBACK, coupon_value=Decimal("50")),
            by=s.staff["manager"].user, locations=[s.home], tags=[], tiers=[],
        )  # fmt: skip
    return s.objects["campaign"]


def _picked(s: Seed):
    """A client picked by hand into the seeded draft (made once, with the world: every persona's
    request is rolled back, so each finds them there to take out)."""
    if "campaign_picked" not in s.objects:
        picked = CustomerFactory(name="Picked", home_location=s.home)
        _campaign(s).members.create(customer=picked, group="picked", added_at=timezone.now())
        s.objects["campaign_picked"] = picked
    return s.objects["campaign_picked"]


def _campaign_form(s: Seed, name: str) -> dict:
    return {
        "name": name, "kind": "winback", "locations": [s.home.pk], "stages": ["dormant"], "coupon_value": "50",
        "coupon_min_spend": "0", "coupon_valid_days": "30", "message_kind": "winback_offer", "holdout_share": "0.1",
    }  # fmt: skip


CAMPAIGN = lambda s: {"pk": _campaign(s).pk}  # noqa: E731


def _survey_token(s: Seed) -> str:
    from feedback.services import survey_token

    return survey_token(s.objects["feedback.survey"])


def _loyalty_objects(s: Seed) -> dict:
    """The client holds ¥500 of stored value (a refund has something to pay back); the seed's
    visit earned points, so the settings row exists."""
    from django.db import transaction

    from loyalty import services
    from loyalty.models import (
        Coupon,
        CustomerPackage,
        DepositEntry,
        DepositPolicy,
        GiftCard,
        GiftCardEntry,
        LoyaltySettings,
        PackageEntry,
        PackagePlan,
        PointsEntry,
        StoredValueEntry,
        TopUpRule,
    )

    with transaction.atomic():
        account = services.account_locked(s.customer)
        services._value_entry(account, kind="adjust", principal=Decimal("500.00"), bonus=Decimal("50.00"))
    plan = PackagePlan.objects.create(name="Cut ×5", sessions=5, price=Decimal("800.00"))
    plan.services.set([s.cut])
    package = CustomerPackage.objects.create(
        account=account, plan=plan, name=plan.name, sessions_total=5, sessions_left=5, price=plan.price,
        expires_on=s.day + timedelta(days=365),
    )  # fmt: skip
    deposit, fee = _deposit_and_fee(s)
    card = GiftCard.objects.create(code="GC-TEST-CARD", initial=Decimal("100"), balance=Decimal("100"))
    s.objects["gift_card"] = card
    return {
        "loyalty.packageplan": plan,
        "loyalty.depositpolicy": DepositPolicy.objects.create(
            name="Colour", kind="fixed", amount=Decimal("100")
        ),
        "loyalty.deposit": deposit,
        "loyalty.depositentry": DepositEntry.objects.create(
            deposit=deposit, kind="forfeited", amount=Decimal("-100")
        ),
        "loyalty.feecharge": fee,
        **_tier_objects(account),
        "loyalty.customerpackage": package,
        "loyalty.packageentry": PackageEntry.objects.create(
            package=package, kind="sold", sessions=5, value=0
        ),
        "loyalty.giftcard": card,
        "loyalty.giftcardentry": GiftCardEntry.objects.create(card=card, kind="sold", amount=Decimal("100")),
        "loyalty.coupon": Coupon.objects.create(
            code="CP-TEST-0001",
            kind="manual",
            customer=s.customer,
            value=Decimal("20"),
            valid_from=s.day,
            valid_until=s.day + timedelta(days=30),
        ),  # fmt: skip
        "loyalty.loyaltyaccount": account,
        "loyalty.loyaltysettings": LoyaltySettings.current(),
        "loyalty.pointsentry": PointsEntry.objects.order_by("pk").first(),
        "loyalty.storedvalueentry": StoredValueEntry.objects.order_by("pk").first(),
        "loyalty.topuprule": TopUpRule.objects.create(pay_at_least=Decimal("1000"), bonus=Decimal("100")),
    }


def _churn_model(s: Seed):
    """A fitted churn model (the model API answers 404 before the first fit)."""
    from analytics.models import ChurnModel

    return ChurnModel.objects.create(
        as_of=s.day,
        fitted_at=timezone.now(),
        r=0.24,
        alpha=30.9,
        a=0.79,
        b=2.43,
        converged=True,
        n_customers=1,
    )


def _feedback_objects(s: Seed) -> dict:
    """The seed's visit has its survey (not answered); a complaint at the home location that
    involves the stylist; a follow-up call for the stylist."""
    from feedback import services
    from feedback.models import FollowUp

    survey = services.survey_plan(visit=s.visit)
    complaint = services.complaint_open(
        customer=s.customer,
        location=s.home,
        category="skill",
        description="matrix",
        by=s.staff["manager"].user,
        staff_involved=[s.staff["stylist"]],
    )
    follow_up = FollowUp.objects.create(
        customer=s.customer,
        location=s.home,
        assignee=s.staff["stylist"],
        reason="manual",
        purpose="matrix",
        due_on=s.day,
        created_at=timezone.now(),
    )
    return {"feedback.survey": survey, "feedback.complaint": complaint, "feedback.followup": follow_up}


def _deposit_and_fee(s: Seed):
    """A kept deposit (a manager may waive it) and an open no-show fee, at the home location."""
    from loyalty.models import Deposit, FeeCharge

    deposit, _new = Deposit.objects.get_or_create(
        appointment=s.today,
        defaults={"customer": s.customer, "amount": Decimal("100"), "held": Decimal("0"), "status": "forfeited",
                  "method": "cash", "location": s.home},
    )  # fmt: skip
    fee, _new = FeeCharge.objects.get_or_create(
        appointment=s.past, defaults={"customer": s.customer, "kind": "no_show", "amount": Decimal("50")}
    )
    return deposit, fee


def _tier_objects(account) -> dict:
    from loyalty.models import MembershipTier, TierChange

    gold = MembershipTier.objects.create(name="Gold", rank=2, min_spend=Decimal("2000"))
    change = TierChange.objects.create(
        account=account, to_tier=gold, reason="upgrade", spend=Decimal("2500"), visits=3
    )
    return {"loyalty.membershiptier": gold, "loyalty.tierchange": change}


def _template(s: Seed):
    from messaging.models import MessageTemplate

    return MessageTemplate.objects.get(kind="appointment_reminder", channel="sms", language="en")


def _week_form() -> dict:
    """The weekly grid (accounts.forms.WeekForm): 10:00–19:00 on Monday, every other day off."""
    data = {}
    for day in range(7):
        data.update(
            {
                f"d{day}-TOTAL_FORMS": "1",
                f"d{day}-INITIAL_FORMS": "0",
                f"d{day}-0-start": "",
                f"d{day}-0-end": "",
            }
        )
    data.update({"d0-0-start": "10:00", "d0-0-end": "19:00"})
    return data


# Persona order: anon stylist desk far manager owner.
PAGES: dict[str, Row] = {
    # the site
    "healthz": Row(ALL),
    "healthz_ready": Row(ALL),
    "healthz_live": Row(ALL),
    "metrics": Row(ALL),  # the test client's 127.0.0.1, no METRICS_TOKEN: tests/salon_crm/test_observability.py
    "favicon": Row(ALL),  # a redirect to the static icon
    # the offline day view: the service worker's script (no data), the day's list of URLs and the
    # offline page (signed-in staff)
    "offline_sw": Row(ALL),
    "offline_manifest": Row("-YYYYY"),
    "offline_page": Row("-YYYYY"),
    "set_language": Row(ALL),  # a cookie, nothing stored
    "accounts:home": Row("-YYYYY"),  # managers and owners: a redirect to the dashboard
    "accounts:today": Row("-YYYYY"),
    "accounts:login": Row(
        ALL, "Y-----", data=lambda s: {"username": "desk", "password": "correct-horse-battery"}
    ),
    "accounts:logout": Row("......", "-YYYYY", data=lambda s: {}),
    "accounts:switch_location": Row("-.....", "-YY-YY", data=lambda s: {"location": s.home.pk}),
    "accounts:settings": Row("---YYY"),
    # the whole-salon export: owners only (a download, logged in the access log)
    "portability:export": Row("-----Y", "-----Y", data=lambda s: {"confirm": "on"}),
    "accounts:otp": Row("-YYYYY"),
    "accounts:otp_enrol": Row("-YYYYY"),
    # client files
    "customers:create": Row("--YYYY", "--YYYY", data=lambda s: {"name": "新客", "phone": "13800138999", "source": "walk_in"}),
    "customers:quick_add": Row("--YYYY", "--YYYY", data=lambda s: {"name": "新客", "phone": "13800138999"}),
    "customers:detail": Row("-YYYYY", kwargs=CLIENT),
    "customers:edit": Row("--YYYY", "--YYYY", kwargs=CLIENT, data=_customer_form),
    "customers:edit_health": Row("-Y-YYY", "-Y-YYY", kwargs=CLIENT, data=lambda s: {"allergies": "latex", "hair_type": "", "skin_type": ""}),
    "customers:formula_create": Row("-Y-YYY", "-Y--YY", kwargs=CLIENT, data=_formula_form),
    "customers:formula_correct": Row(
        "-Y-YYY", "-Y-YYY", kwargs=lambda s: {"pk": s.customer.pk, "formula_pk": s.formula.pk}, data=_formula_form
    ),
    "customers:patch_test_create": Row(
        "-Y-YYY", "-Y-YYY", kwargs=CLIENT,
        data=lambda s: {"product": "Goldwell", "tested_on": date.today().isoformat(), "result": "pending"},
    ),
    "customers:patch_test_result": Row(
        "-.-...", "-Y-YYY", kwargs=lambda s: {"pk": s.customer.pk, "test_pk": s.patch_test.pk},
        data=lambda s: {"result": "passed"},
    ),
    "customers:consent": Row(
        "--YYYY", "--YYYY", kwargs=CLIENT, data=lambda s: {"channel": "sms", "granted": "false", "method": "phone call"}
    ),
    "customers:export_json": Row("---...", "---YYY", kwargs=CLIENT, data=lambda s: {}),
    "customers:erase": Row("---YYY", "---YYY", kwargs=CLIENT, data=lambda s: {"confirm": "on"}),
    # privacy (issue 16): the export's confirmation (who may export); what the CRM stores, for
    # everyone; retention and the access log (its CSV logs the download), the owners'
    "customers:export_confirm": Row("---YYY", kwargs=CLIENT),
    "customers:privacy": Row("-YYYYY"),
    "customers:privacy_settings": Row(
        "-----Y", "-----Y", data=lambda s: {"retention_years": "5", "access_alert_threshold": "60"}
    ),
    "customers:retention_list": Row("-----Y"),
    "customers:access_log": Row("-----Y"),
    "customers:access_log_csv": Row("-----Y"),
    "customers:list": Row("-YYYYY"),
    "customers:search": Row("-YYYYY", query=lambda s: {"q": "张"}),
    "customers:merge": Row(
        "---YYY", "---YYY", data=lambda s: {"keep": s.customer.pk, "merge": s.other_customer.pk, "confirm": "1"}
    ),
    "customers:import": Row("---YYY"),
    "customers:export": Row("---YYY", query=lambda s: {"format": "csv"}),
    # the front desk
    "appointments:day": Row("-YYYYY"),
    "appointments:week": Row("-YYYYY"),
    "appointments:book": Row("-YYYYY", "-YY-YY", data=_book_form),
    "appointments:walk_in": Row("-YYYYY"),  # its write is appointment_book, as "book" (the clock decides if open)
    "appointments:client_lookup": Row("-YYYYY", query=lambda s: {"q": "张"}),
    "appointments:safety_check": Row("-YYYYY", query=lambda s: {"customer": s.customer.pk}),
    "appointments:waitlist_panel": Row("-YYYYY"),
    "appointments:waitlist_add": Row(
        "-YYYYY", "-YY-YY",
        data=lambda s: {"customer": s.other_customer.pk, "service": s.cut.pk, "date": s.day.isoformat()},
    ),
    "appointments:waitlist_book": Row(
        "-.....", "-YY-YY", kwargs=lambda s: {"pk": s.waitlist.pk},
        data=lambda s: {"staff": s.staff["stylist"].pk, "start": iso(s.at(s.day, 16))},
    ),
    "appointments:detail": Row("-YY-YY", kwargs=APPT),
    "appointments:move": Row(
        "-YY-YY", "-YY-YY", kwargs=APPT,
        data=lambda s: {"date": s.day.isoformat(), "start": "17:00", "staff": s.staff["stylist"].pk},
    ),
    "appointments:cancel": Row("-YY-YY", "-YY-YY", kwargs=APPT, data=lambda s: {"reason": "ill"}),
    "appointments:action": Row(
        "-.....", "-YY-YY", kwargs=lambda s: {"pk": s.today.pk, "action": "check_in"}, data=lambda s: {}
    ),
    "appointments:checkout_sale": Row(
        "--YYYY", "--Y-YY", data=lambda s: {**_checkout_form(s), "customer": s.other_customer.pk}
    ),
    "appointments:checkout": Row("--Y-YY", "--Y-YY", kwargs=lambda s: {"pk": s.today.pk}, data=_checkout_form),
    "appointments:receipt": Row("-YY-YY", kwargs=lambda s: {"pk": s.visit.pk}),
    "appointments:void": Row("---...", "----YY", kwargs=lambda s: {"pk": s.visit.pk}, data=lambda s: {"reason": "x"}),
    "appointments:my_day": Row("-YYYYY"),
    "appointments:my_day_start": Row("-.....", "-YY-YY", kwargs=lambda s: {"pk": s.item.pk}, data=lambda s: {}),
    "appointments:service_record": Row(
        "-Y--YY", "-Y--YY", kwargs=lambda s: {"pk": s.item.pk}, data=lambda s: {"notes": "fine", "result": "good"}
    ),
    # online booking (no login)
    "appointments:online_book": Row(ALL, kwargs=lambda s: {"code": s.home.code}),
    "appointments:online_submit": Row(
        "......", ALL, kwargs=lambda s: {"code": s.home.code},
        data=lambda s: {
            "service": s.cut.pk, "staff": s.staff["stylist"].pk, "start": iso(s.at(s.day, 18)),
            "name": "网上客", "phone": "13800138777",
        },
    ),
    "appointments:online_waitlist": Row(
        "......", ALL, kwargs=lambda s: {"code": s.home.code},
        data=lambda s: {"service": s.cut.pk, "date": s.day.isoformat(), "name": "网上客", "phone": "13800138777"},
    ),
    "appointments:online_manage": Row(ALL, kwargs=lambda s: {"token": manage_token(s.booked)}),
    "appointments:online_cancel": Row("......", ALL, kwargs=lambda s: {"token": manage_token(s.booked)}, data=lambda s: {}),
    "appointments:online_move": Row(
        ALL, ALL, kwargs=lambda s: {"token": manage_token(s.booked)},
        data=lambda s: {"start": iso(s.at(s.day, 19)), "staff": s.staff["stylist"].pk},
    ),
    # the one-time code for the phone: off unless ONLINE_BOOKING_PHONE_CODE (a 404 for everyone here;
    # tests/appointments/test_online_phone_code.py covers it switched on)
    "appointments:online_phone_code": Row(
        "......", NONE, kwargs=lambda s: {"code": s.home.code}, data=lambda s: {"phone": "13800138777"}
    ),
    # online bookings held for the desk (a phone on file under another name): the Today panel
    "appointments:online_check_attach": Row("-.....", "--Y-YY", kwargs=lambda s: {"pk": _held(s).pk}, data=lambda s: {}),
    "appointments:online_check_separate": Row(
        "-.....", "--Y-YY", kwargs=lambda s: {"pk": _held(s).pk}, data=lambda s: {"phone": "13800138666"}
    ),
    # manager set-up pages
    "appointments:catalogue_services": Row("---YYY"),
    "appointments:catalogue_services_new": Row(
        "---YYY", "----YY",  # offered at the home location: not the far manager's
        data=lambda s: {
            "name": "Perm", "category": s.category.pk, "duration_minutes": "90", "buffer_after_minutes": "0",
            "price": "500", "is_active": "on", "locations": [s.home.pk], "colour": "#336699",
        },
    ),
    # The catalogue is chain-wide: any manager opens any service (and may change its price while
    # ticking one of their own locations). See the issue 8 note.
    "appointments:catalogue_services_edit": Row("---YYY", kwargs=lambda s: {"pk": s.cut.pk}),
    "appointments:catalogue_categories": Row("---YYY"),
    "appointments:catalogue_categories_new": Row("---YYY", "---YYY", data=lambda s: {"name": "Nails", "position": "3"}),
    "appointments:catalogue_categories_edit": Row(
        "---YYY", "---YYY", kwargs=lambda s: {"pk": s.category.pk}, data=lambda s: {"name": "Hair!", "position": "1"}
    ),
    "appointments:catalogue_products": Row("---YYY"),
    "appointments:catalogue_products_new": Row(
        "---YYY", "---YYY", data=lambda s: {"name": "Wax", "sku": "WAX-1", "kind": "retail", "price": "60", "is_active": "on"}
    ),
    "appointments:catalogue_products_edit": Row("---YYY", kwargs=lambda s: {"pk": s.product.pk}),
    "appointments:catalogue_resources": Row("---YYY"),
    "appointments:catalogue_resources_new": Row("---YYY"),
    "appointments:catalogue_resources_edit": Row(
        "----YY", "----YY", kwargs=lambda s: {"pk": s.resource.pk},
        data=lambda s: {"name": "Room 9", "type": "room", "location": s.home.pk, "is_active": "on"},
    ),
    "appointments:catalogue_hours": Row("---YYY"),
    "appointments:catalogue_hours_new": Row("---YYY"),
    "appointments:catalogue_hours_edit": Row(
        "----YY", "----YY", kwargs=lambda s: {"pk": s.hours.pk},
        data=lambda s: {"staff": s.staff["stylist"].pk, "location": s.home.pk, "weekday": "0", "start": "10:00", "end": "18:00"},
    ),
    "appointments:catalogue_time-off": Row("---YYY"),
    "appointments:catalogue_time-off_new": Row("---YYY"),
    "appointments:catalogue_time-off_edit": Row(
        "----YY", "----YY", kwargs=lambda s: {"pk": s.time_off.pk},
        data=lambda s: {
            "staff": s.staff["stylist"].pk, "start": f"{s.day + timedelta(days=3)}T13:00",
            "end": f"{s.day + timedelta(days=3)}T15:00", "reason": "moved",
        },
    ),
    # Issue 9, item 9: weekly editors (opening hours; a stylist's week and time off), managers
    # of the location only; another location's look missing.
    "accounts:opening_hours": Row("----YY", "----YY", kwargs=lambda s: {"pk": s.home.pk}, data=lambda s: _week_form()),
    "appointments:staff_hours": Row(
        "----YY", "----YY", kwargs=lambda s: {"pk": s.staff["stylist"].pk}, data=lambda s: _week_form()
    ),
    "appointments:staff_time_off_add": Row(
        "---...", "----YY", kwargs=lambda s: {"pk": s.staff["stylist"].pk},
        data=lambda s: {"start_date": (s.day + timedelta(days=5)).isoformat(), "end_date": (s.day + timedelta(days=5)).isoformat()},
    ),
    "appointments:staff_time_off_delete": Row("---...", "----YY", kwargs=lambda s: {"pk": s.time_off.pk}, data=lambda s: {}),
    # messaging (issue 10): the delivery log and templates are the managers' (the log shows a
    # manager the messages of their own locations: the far manager finds the home one missing)
    "messaging:log": Row("---YYY"),
    "messaging:resolve": Row(
        "---...", "----YY", kwargs=lambda s: {"pk": _message(s).pk}, data=lambda s: {"outcome": "sent", "note": "checked"}
    ),
    "messaging:templates": Row("---YYY"),
    "messaging:template_edit": Row(
        "---YYY", "---YYY", kwargs=lambda s: {"pk": _template(s).pk},
        data=lambda s: {"body": "{{ salon }}: see you {{ when }}", "is_active": "on"},
    ),
    # the client's links in messages (no login; signed) and the providers' receipts (signed by them)
    "messaging:appointment": Row(
        ALL, ALL, kwargs=lambda s: {"token": appointment_token(s.booked)}, data=lambda s: {"action": "confirm"}
    ),
    "messaging:unsubscribe": Row(ALL, ALL, kwargs=lambda s: {"token": _unsubscribe_token(s)}, data=lambda s: {}),
    "messaging:receipts": Row("......", NONE, kwargs=lambda s: {"provider": "locmem"}, data=lambda s: {}),
    # loyalty (issue 11): adjusting points and refunding stored value are a manager's (clients
    # are chain-wide: the far manager too); the rules are the owner's
    "loyalty:points_adjust": Row("---YYY", "---YYY", kwargs=CLIENT, data=lambda s: {"points": "10", "reason": "matrix"}),
    "loyalty:stored_value_refund": Row(
        "---YYY", "---YYY", kwargs=CLIENT, data=lambda s: {"amount": "10.00", "method": "cash", "reason": "matrix"}
    ),
    "loyalty:deposit_take": Row(
        "--....", "--Y-YY", kwargs=APPT, data=lambda s: {"amount": "50.00", "method": "cash"}
    ),
    "loyalty:deposit_waive": Row(
        "----YY", "----YY", kwargs=lambda s: {"pk": _deposit_and_fee(s)[0].pk}, data=lambda s: {"reason": "matrix"}
    ),
    "loyalty:fee_waive": Row(
        "----YY", "----YY", kwargs=lambda s: {"pk": _deposit_and_fee(s)[1].pk}, data=lambda s: {"reason": "matrix"}
    ),
    "loyalty:coupon_issue": Row(
        "---YYY", "---YYY", kwargs=CLIENT, data=lambda s: {"value": "20", "valid_until": "2030-01-01"}
    ),
    # the client's online prepayment (no login; the signed manage link): no payment provider is
    # configured here (pay at the desk), so a 404; the provider's webhook refuses an unsigned post
    # (tests/loyalty/test_online_deposit.py covers both with a provider)
    "loyalty:deposit_pay_online": Row("......", NONE, kwargs=lambda s: {"token": manage_token(s.booked)}, data=lambda s: {}),
    "loyalty:payment_webhook": Row("......", NONE, kwargs=lambda s: {"name": "stripe"}, data=lambda s: {}),
    # the managers' reports (points and tiers chain-wide; money rows of their own locations)
    "loyalty:reports": Row("---YYY"),
    "loyalty:report_csv": Row("---YYY", kwargs=lambda s: {"name": "stored-value"}),
    # feedback (issue 12): the client's survey link (no login; signed); complaints for the desk
    # and managers, a stylist's own only; calls for everyone at the location, a stylist's own only
    "feedback:survey": Row(
        ALL, ALL, kwargs=lambda s: {"token": _survey_token(s)}, data=lambda s: {"csat": "4", "nps": "9"}
    ),
    "feedback:home": Row("-YYYYY"),
    "feedback:inbox": Row("---YYY"),
    "feedback:results": Row("---YYY"),
    # the manager dashboard (issue 13): managers their locations, owners every one
    "analytics:dashboard": Row("---YYY"),
    "analytics:clients": Row("---YYY"),
    # the visits, sale lines or bookings behind a breakdown bar or a tile (managers their locations)
    "analytics:visits": Row("---YYY"),
    # the desk's daily summary (whoever takes payment, their current location) and a stylist's
    # own figures (stylists; managers and owners only if bookable: not here)
    "analytics:daily_summary": Row("--YYYY"),
    "analytics:my_stats": Row("-Y----"),
    # the at-risk list (issue 14): managers their locations' clients, owners every client; a call
    # is planned for a client of theirs only (the far manager's is refused)
    "analytics:at_risk": Row("---YYY"),
    "analytics:at_risk_call": Row("---...", "----YY", data=lambda s: {"customer": s.customer.pk}),
    # win-back and birthday campaigns (issue 14): a draft at the home location, the home
    # manager's; the far manager's naming the home location is refused, their own page of it 404
    "analytics:campaigns": Row("---YYY"),
    "analytics:campaign_new": Row("---YYY", "----YY", data=lambda s: _campaign_form(s, name="new")),
    "analytics:campaign": Row("----YY", kwargs=CAMPAIGN),
    "analytics:campaign_edit": Row("----YY", "----YY", kwargs=CAMPAIGN, data=lambda s: _campaign_form(s, name="edited")),
    "analytics:campaign_launch": Row("---...", "----YY", kwargs=CAMPAIGN, data=lambda s: {}),
    "analytics:campaign_add_client": Row(
        "---...", "----YY", data=lambda s: {"campaign": _campaign(s).pk, "customer": s.customer.pk}
    ),
    "analytics:campaign_remove_client": Row(
        "---...", "----YY", kwargs=CAMPAIGN, data=lambda s: {"customer": _picked(s).pk}
    ),
    "feedback:board": Row("-YYYYY"),
    "feedback:complaint": Row(
        "-YY-YY", "-YY-YY", kwargs=lambda s: {"pk": s.objects["feedback.complaint"].pk},
        data=lambda s: {"action": "note", "note-note": "called back"},
    ),
    "feedback:complaint_new_for": Row(
        "--YYYY", "--YYYY", kwargs=CLIENT,
        data=lambda s: {"source": "phone", "category": "skill", "severity": "low", "description": "matrix"},
    ),
    "feedback:follow_ups": Row("-YYYYY"),
    "feedback:follow_up_record": Row(
        "-YYYYY", "-YY-YY", kwargs=lambda s: {"pk": s.objects["feedback.followup"].pk},
        data=lambda s: {f"f{s.objects['feedback.followup'].pk}-outcome": "happy"},
    ),
    "feedback:follow_up_new": Row(
        "-YYYYY", "-YY-YY", kwargs=CLIENT,
        data=lambda s: {"due_on": (s.day + timedelta(days=2)).isoformat(), "assignee": s.staff["stylist"].pk, "purpose": "matrix"},
    ),
    "loyalty:settings": Row(
        "-----Y", "-----Y",
        data=lambda s: {
            "s-points_per_unit": "2", "s-points_per_currency_unit": "100", "s-points_expiry_months": "12",
            "s-birthday_coupon_value": "50", "s-birthday_lead_days": "7", "s-no_show_fee": "0", "s-late_cancel_fee": "0",
            "rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0",
            "tiers-TOTAL_FORMS": "0", "tiers-INITIAL_FORMS": "0",
        },
    ),
}  # fmt: skip


def _new_booking(s: Seed) -> dict:
    return {
        "customer": s.other_customer.pk,
        "location": s.home.pk,
        "items": [{"service": s.cut.pk, "staff": s.staff["stylist"].pk, "start": iso(s.at(s.day, 15))}],
    }


API: dict[str, Row] = {
    # The API's description holds no data; it is public like the login page.
    "schema": Row(ALL),
    "swagger-ui": Row(ALL),
    "api-token": Row(
        "......", ALL, data=lambda s: {"username": "desk", "password": "correct-horse-battery"}
    ),
    "api-me": Row("-YYYYY"),
    "api-locations": Row("-YYYYY"),
    "api-staff": Row("-YYYYY"),
    "api-customers": Row("-YYYYY", "--YYYY", data=lambda s: {"name": "新客", "phone": "13800138999"}),
    "api-customer": Row("-YYYYY", "--YYYY", kwargs=CLIENT, data=lambda s: {"notes": "likes tea"}, method="patch"),
    "api-customer-formulas": Row(
        "-YYYYY", "-Y--YY", kwargs=CLIENT,
        data=lambda s: {"stylist": s.staff["stylist"].pk, "brand": "Wella", "shades": [{"shade": "8/0", "grams": "40"}]},
    ),
    "api-customer-patch-tests": Row(
        "-YYYYY", "-Y-YYY", kwargs=CLIENT, data=lambda s: {"product": "Goldwell", "tested_on": date.today().isoformat()}
    ),
    "api-customer-consent": Row(
        "-.....", "--YYYY", kwargs=CLIENT, data=lambda s: {"channel": "sms", "granted": False, "method": "phone"}
    ),
    "api-formulas": Row("-YYYYY", query=lambda s: {"brand": "Wella"}),
    "api-formula": Row(
        "-.....", "-Y-YYY", kwargs=lambda s: {"pk": s.formula.pk}, data=lambda s: {"brand": "Goldwell"}, method="patch"
    ),
    "api-patch-test": Row(
        "-.....", "-Y-YYY", kwargs=lambda s: {"pk": s.patch_test.pk}, data=lambda s: {"result": "passed"}, method="patch"
    ),
    "api-services": Row("-YY-YY", query=lambda s: {"location": s.home.pk}),
    "api-availability": Row(
        "-YY-YY", query=lambda s: {"location": s.home.pk, "service": s.cut.pk, "date": s.day.isoformat()}
    ),
    "api-availability-times": Row(
        "-YY-YY", query=lambda s: {"location": s.home.pk, "service": s.cut.pk, "date": s.day.isoformat()}
    ),
    "api-appointments": Row("-YY-YY", "-YY-YY", query=HERE, data=_new_booking),
    "api-appointment": Row("-YY-YY", kwargs=APPT),
    "api-appointment-confirm": Row("-.....", "-YY-YY", kwargs=APPT, data=lambda s: {}),
    "api-appointment-check-in": Row("-.....", "-YY-YY", kwargs=lambda s: {"pk": s.today.pk}, data=lambda s: {}),
    "api-appointment-start": Row("-.....", "-YY-YY", kwargs=lambda s: {"pk": s.arrived.pk}, data=lambda s: {}),
    "api-appointment-cancel": Row("-.....", "-YY-YY", kwargs=APPT, data=lambda s: {"reason": "ill"}),
    "api-appointment-no-show": Row("-.....", "-YY-YY", kwargs=lambda s: {"pk": s.past.pk}, data=lambda s: {}),
    "api-appointment-move": Row(
        "-.....", "-YY-YY", kwargs=APPT, data=lambda s: {"start": iso(s.at(s.day, 17))}
    ),
    "api-visits": Row(
        "-.....", "--Y-YY",
        data=lambda s: {
            "location": s.home.pk, "customer": s.customer.pk, "appointment": s.today.pk,
            "payments": [{"method": "cash", "amount": "200.00"}],
        },
    ),
    "api-visit": Row("-YY-YY", kwargs=lambda s: {"pk": s.visit.pk}),
    "api-visit-void": Row("-.....", "----YY", kwargs=lambda s: {"pk": s.visit.pk}, data=lambda s: {"reason": "x"}),
    "api-waitlist": Row(
        "-YY-YY", "-YY-YY", query=HERE,
        data=lambda s: {"customer": s.other_customer.pk, "location": s.home.pk, "service": s.cut.pk, "date": s.day.isoformat()},
    ),
    "api-waitlist-matches": Row("-YY-YY", query=HERE),
    "api-waitlist-status": Row(
        "-.....", "-YY-YY", kwargs=lambda s: {"pk": s.waitlist.pk}, data=lambda s: {"status": "cancelled"}
    ),
    "api-customer-loyalty": Row("--YYYY", kwargs=CLIENT),
    "api-customer-coupons": Row(
        "-.....", "---YYY", kwargs=CLIENT, data=lambda s: {"value": "20.00", "valid_until": "2030-01-01"}
    ),
    "api-gift-card": Row("--YYYY", kwargs=lambda s: {"code": "GC-TEST-CARD"}),
    "api-customer-points-adjust": Row(
        "-.....", "---YYY", kwargs=CLIENT, data=lambda s: {"points": 10, "reason": "matrix"}
    ),
    "api-customer-stored-value-refund": Row(
        "-.....", "---YYY", kwargs=CLIENT, data=lambda s: {"amount": "10.00", "method": "cash", "reason": "matrix"}
    ),
    # feedback (issue 12): surveys and results are the managers' (a stylist reads their own
    # surveys); the desk opens cases and plans calls; a stylist sees the case they are involved
    # in and their own calls, and notes on them; working a case (status, owner, compensation)
    # is the home managers'. Another location's case, survey or call looks missing; the far
    # manager asking for the home location's results is a 400 ("not one of your locations").
    "api-surveys": Row("-Y-YYY"),
    "api-survey-results": Row("---YYY", query=lambda s: {"location": s.home.pk}),
    "api-survey": Row("-Y--YY", kwargs=lambda s: {"pk": s.objects["feedback.survey"].pk}),
    "api-complaints": Row(
        "-YYYYY", "--Y-YY",
        data=lambda s: {"customer": s.customer.pk, "location": s.home.pk, "category": "hygiene", "description": "matrix"},
    ),
    "api-complaint": Row("-YY-YY", kwargs=COMPLAINT),
    "api-complaint-note": Row("-.....", "-YY-YY", kwargs=COMPLAINT, data=lambda s: {"note": "matrix"}),
    "api-complaint-status": Row("-.....", "----YY", kwargs=COMPLAINT, data=lambda s: {"status": "in_progress"}),
    "api-complaint-owner": Row(
        "-.....", "----YY", kwargs=COMPLAINT, data=lambda s: {"owner": s.staff["owner"].user.pk}
    ),
    "api-complaint-compensation": Row(
        "-.....", "----YY", kwargs=COMPLAINT, data=lambda s: {"kind": "points", "value": 10}
    ),
    "api-follow-ups": Row(
        "-YYYYY", "-YY-YY",
        data=lambda s: {
            "customer": s.customer.pk, "location": s.home.pk, "due_on": s.day.isoformat(), "purpose": "matrix",
            "assignee": s.staff["stylist"].pk,
        },
    ),
    "api-follow-up-outcome": Row(
        "-.....", "-YY-YY", kwargs=lambda s: {"pk": s.objects["feedback.followup"].pk}, data=lambda s: {"outcome": "reached"}
    ),
    # analytics (issue 13): the metrics are the managers' (their locations) and the owners'
    "api-metrics-summary": Row(
        "---YYY", query=lambda s: {"start": (s.day - timedelta(days=30)).isoformat(), "end": s.day.isoformat()}
    ),
    "api-metrics-lifecycle": Row("---YYY"),
    # the churn model (issue 14): the managers' and owners'; one client's figures: whoever opens files
    "api-analytics-model": Row("---YYY"),
    "api-customer-metrics": Row("-YYYYY", kwargs=CLIENT),
    # a campaign's results (issue 14): the home manager's campaign; the far manager's is a 404
    "api-campaign-results": Row("----YY", kwargs=CAMPAIGN),
}  # fmt: skip

# The Django admin. Only owners and managers have admin access (is_staff); every model's pages
# follow its model permissions, and the location-bound ones (staff, locations, resources,
# schedules, appointments, visits, waitlist) show a manager only their own locations' rows: the
# seeded object is at the home location, so the far manager finds it "missing".
#                                      changelist  add       object    delete
ADMIN_MODELS: dict[str, tuple[str, str, str, str]] = {
    "auth.group":                       (NONE,     NONE,     NONE,     NONE),
    "auth.user":                        (NONE,     NONE,     NONE,     NONE),
    "authtoken.tokenproxy":             (NONE,     NONE,     NONE,     NONE),
    "axes.accessattempt":               (NONE,     NONE,     NONE,     NONE),
    "axes.accesslog":                   (NONE,     NONE,     NONE,     NONE),
    "axes.accessfailurelog":            (NONE,     NONE,     NONE,     NONE),
    "auditlog.logentry":                (NONE,     NONE,     NONE,     NONE),
    "django_celery_beat.periodictask":  (NONE,     NONE,     NONE,     NONE),
    "django_celery_beat.clockedschedule": (NONE,   NONE,     NONE,     NONE),
    "django_celery_beat.crontabschedule": (NONE,   NONE,     NONE,     NONE),
    "django_celery_beat.solarschedule": (NONE,     NONE,     NONE,     NONE),
    "django_celery_beat.intervalschedule": (NONE,  NONE,     NONE,     NONE),
    "otp_totp.totpdevice":              ("-----Y", NONE,     "-----Y", "-----Y"),
    "otp_static.staticdevice":          ("-----Y", NONE,     "-----Y", "-----Y"),
    "accounts.location":                ("---YYY", "-----Y", "----YY", NONE),
    "accounts.staffmember":             ("---YYY", "---YYY", "----YY", NONE),
    "customers.tag":                    ("---YYY", "---YYY", "---YYY", NONE),
    "customers.customer":               ("---YYY", NONE,     "---YYY", "-----Y"),
    "customers.colourformula":          ("---YYY", "---YYY", "---YYY", NONE),
    "customers.patchtest":              ("---YYY", "---YYY", "---YYY", NONE),
    "customers.consentrecord":          ("---YYY", "---YYY", "---YYY", NONE),
    "customers.safetyoverride":         (NONE,     NONE,     NONE,     NONE),
    "customers.accesslog":              ("---YYY", NONE,     "---YYY", NONE),
    "customers.mergerecord":            (NONE,     NONE,     NONE,     NONE),
    "appointments.servicecategory":     ("---YYY", "---YYY", "---YYY", "---YYY"),
    "appointments.service":             ("---YYY", "---YYY", "---YYY", "---YYY"),
    "appointments.product":             ("---YYY", "---YYY", "---YYY", "---YYY"),
    "appointments.resource":            ("---YYY", "---YYY", "----YY", "----YY"),
    "appointments.workinghours":        ("---YYY", "---YYY", "----YY", "----YY"),
    "appointments.timeoff":             ("---YYY", "---YYY", "----YY", "----YY"),
    "appointments.appointment":         ("---YYY", NONE,     "----YY", NONE),
    "appointments.visit":               ("---YYY", NONE,     "----YY", NONE),
    "appointments.waitlistentry":       ("---YYY", NONE,     "----YY", NONE),
    "messaging.messagetemplate":        ("---YYY", NONE,     "---YYY", NONE),
    "messaging.outboundmessage":        ("---YYY", NONE,     "----YY", NONE),
    "loyalty.loyaltysettings":          ("-----Y", NONE,     "-----Y", NONE),
    "loyalty.topuprule":                ("-----Y", "-----Y", "-----Y", "-----Y"),
    "loyalty.loyaltyaccount":           ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.pointsentry":              ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.storedvalueentry":         ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.packageplan":              ("---YYY", "---YYY", "---YYY", "---YYY"),
    "loyalty.customerpackage":          ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.packageentry":             ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.giftcard":                 ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.giftcardentry":            ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.coupon":                   ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.membershiptier":           ("---YYY", "-----Y", "---YYY", "-----Y"),
    "loyalty.tierchange":               ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.depositpolicy":            ("---YYY", "---YYY", "---YYY", "---YYY"),
    "loyalty.deposit":                  ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.depositentry":             ("---YYY", NONE,     "---YYY", NONE),
    "loyalty.feecharge":                ("---YYY", NONE,     "---YYY", NONE),
    "feedback.survey":                  ("---YYY", NONE,     "----YY", NONE),
    "feedback.complaint":               ("---YYY", NONE,     "----YY", NONE),
    "feedback.followup":                ("---YYY", NONE,     "----YY", NONE),
}  # fmt: skip

ADMIN_SITE: dict[str, Row] = {
    "admin:index": Row("---YYY"),
    "admin:login": Row(ALL),  # shadowed by the rate-limited one below, same view
    ":admin/login/": Row(ALL),
    "admin:logout": Row("YYY..."),  # a GET: others are sent to the index (then to its login)
    "admin:password_change": Row("---YYY"),
    "admin:password_change_done": Row("---YYY"),
    "admin:autocomplete": Row(
        "---YYY",
        query=lambda s: {"app_label": "customers", "model_name": "customer", "field_name": "preferred_staff"},
    ),
    "admin:jsi18n": Row("---YYY"),
    # No model has a page on the site (get_absolute_url): "view on site" finds nothing.
    "admin:view_on_site": Row(
        NONE,
        kwargs=lambda s: {
            "content_type_id": ContentType.objects.get_for_model(Customer).pk,
            "object_id": s.customer.pk,
        },
    ),
    "admin:app_list": Row("---YYY", kwargs=lambda s: {"app_label": "accounts"}),
    "admin:(?P<url>.*)$": Row(NONE),
    # pages of one model besides the usual five
    "admin:auth_user_password_change": Row(NONE, kwargs=lambda s: {"id": s.staff["stylist"].user.pk}),
    # an authenticator's secret is shown to nobody (settings.OTP_ADMIN_HIDE_SENSITIVE_DATA)
    "admin:otp_totp_totpdevice_config": Row(
        NONE, kwargs=lambda s: {"pk": s.objects["otp_totp.totpdevice"].pk}
    ),
    "admin:otp_totp_totpdevice_qrcode": Row(
        NONE, kwargs=lambda s: {"pk": s.objects["otp_totp.totpdevice"].pk}
    ),
}

# Writes through the admin (issue 8, item 1): a manager may give neither a location they do not
# hold nor a role above their own; another location's records look missing.
ADMIN_WRITES: dict[str, Row] = {
    "admin:accounts_staffmember_add": Row(
        "---YYY", "----YY",
        data=lambda s: {
            "user": s.objects["newcomer"].pk, "display_name": "New", "role": "stylist", "locations": [s.home.pk],
            "calendar_colour": "#123456", "is_active": "on", "_save": "Save",
        },
    ),
    "admin:accounts_staffmember_change": Row(
        "----YY", "-----Y", kwargs=lambda s: {"object_id": s.staff["stylist"].pk}, data=_staff_admin_form
    ),
    "admin:accounts_location_change": Row(
        "----YY", "----YY", kwargs=lambda s: {"object_id": s.home.pk},
        data=lambda s: {
            "code": s.home.code, "name": "静安旗舰店", "time_zone": "Asia/Shanghai", "is_active": "on",
            "opening_hours-TOTAL_FORMS": "0", "opening_hours-INITIAL_FORMS": "0", "_save": "Save",
        },
    ),
}  # fmt: skip


def admin_rows() -> dict[str, Row]:
    """The admin's rows: ADMIN_SITE, and per registered model its changelist, add, change,
    delete and history pages and the bare object URL, from ADMIN_MODELS."""
    rows = dict(ADMIN_SITE)
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label not in ADMIN_MODELS:
            continue  # test_every_url_has_a_row names it
        changelist, add, obj, delete = ADMIN_MODELS[label]
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        kw = lambda s, label=label: {"object_id": s.objects[label].pk}  # noqa: E731
        rows[f"{prefix}_changelist"] = Row(changelist)
        rows[f"{prefix}_add"] = Row(add)
        rows[f"{prefix}_change"] = Row(obj, kwargs=kw)
        rows[f"{prefix}_history"] = Row(obj, kwargs=kw)
        rows[f"{prefix}_delete"] = Row(delete, kwargs=kw)
        # The bare object URL only redirects to the change page, which decides.
        rows[f"admin:{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"] = Row(
            "---YYY", kwargs=kw
        )
    rows.update(ADMIN_WRITES)
    return rows


def expected_rows() -> dict[str, Row]:
    return {**PAGES, **API, **admin_rows()}


# ---- walking the resolver --------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or "namespace:<route relative to the namespace>" when unnamed
    route: str  # the whole route, for messages
    name: str | None  # what reverse() takes


def url_patterns() -> list[Pattern]:
    found: list[Pattern] = []

    def walk(patterns, prefix: str, namespace: str | None, ns_prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                local = ns_prefix + str(p.pattern)
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                    local = ""
                walk(p.url_patterns, prefix + str(p.pattern), ns, local)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                local = ns_prefix + str(p.pattern)
                if not namespace and local.startswith(settings.ADMIN_URL):  # the admin's URL is a setting
                    local = "admin/" + local.removeprefix(settings.ADMIN_URL)
                key = name or f"{namespace or ''}:{local}"
                found.append(Pattern(key=key, route=route, name=name))

    walk(get_resolver().url_patterns, "", None, "")
    return found


def test_every_url_has_a_row():
    """A new URL pattern (page, API or admin model) fails here until it gets a row above."""
    keys = [p.key for p in url_patterns()]
    assert len(keys) == len(set(keys)), "two patterns share a key"
    unknown_models = sorted(
        m._meta.label_lower for m in admin.site._registry if m._meta.label_lower not in ADMIN_MODELS
    )
    assert unknown_models == [], f"admin models without a row in ADMIN_MODELS: {unknown_models}"
    rows = expected_rows()
    assert sorted(set(keys) - set(rows)) == [], "URL patterns without a row in the permission matrix"
    assert sorted(set(rows) - set(keys)) == [], "rows for URL patterns that no longer exist"


# ---- asking ---------------------------------------------------------------------------------------


# django-axes' bookkeeping of logins (attempts, successes) is not a write anyone asked for.
LEFT_OUT = {"axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}


def _tables() -> list[str]:
    return sorted(
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.label_lower not in LEFT_OUT and m._meta.managed and not m._meta.proxy
    )


def checksum() -> dict[str, str]:
    """A digest of every row of every table (one query on PostgreSQL)."""
    tables = _tables()
    if connection.vendor == "postgresql":
        sql = " UNION ALL ".join(
            f"SELECT '{t}', md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) FROM \"{t}\" r"
            for t in tables
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return dict(cursor.fetchall())
    digests = {}
    with connection.cursor() as cursor:
        for t in tables:
            cursor.execute(f'SELECT * FROM "{t}"')
            rows = sorted(repr(r) for r in cursor.fetchall())
            digests[t] = hashlib.md5("".join(rows).encode()).hexdigest()
    return digests


def _login_urls() -> tuple[str, ...]:
    return (reverse("accounts:login"), reverse("admin:login"))


def classify_get(response, *, object_page: bool) -> str:
    code = response.status_code
    if code >= 500:
        return "5"
    if code == 405:
        return "."
    if code in (401, 403, 404):
        return "-"
    if code in (301, 302, 303, 307, 308):
        target = response.headers.get("Location", "")
        path = target.split("?")[0]
        if path.startswith(_login_urls()):
            return "-"
        if object_page and path == reverse("admin:index"):
            return "-"  # the admin's "does not exist (perhaps deleted?)"
        return "Y"
    if code == 429:
        return "R"
    return "Y"


class Personas:
    """A Django test client per persona; each request starts from that persona's cookies (so a
    logout or a location switch does not carry over to the next request)."""

    def __init__(self, seed: Seed):
        self.clients: dict[str, Client] = {"anon": Client()}
        for persona in PERSONAS[1:]:
            client = Client()
            client.force_login(seed.staff[persona].user)
            self.clients[persona] = client
        self.cookies = {p: copy.deepcopy(c.cookies) for p, c in self.clients.items()}

    def request(self, persona: str, method: str, url: str, **kwargs):
        client = self.clients[persona]
        client.cookies = copy.deepcopy(self.cookies[persona])
        return getattr(client, method)(url, **kwargs)


@pytest.fixture
def world(settings, monkeypatch):
    # 10:00 today at the salon, whatever the hour CI runs at: today's appointments (at 12:00 and
    # 15:00) are still today, so the time rules (check in and out on the day) let them through.
    tz = Location(time_zone="Asia/Shanghai").tz
    moment = datetime.combine(timezone.now().astimezone(tz).date(), time(10), tzinfo=tz)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    settings.OTP_REQUIRED_ROLES = []
    settings.RATELIMIT_ENABLE = False
    return seed_world()


def _url(pattern: Pattern, row: Row, seed: Seed) -> str:
    kwargs = row.kwargs(seed)
    if pattern.name:
        return reverse(pattern.name, kwargs=kwargs)
    if pattern.key.endswith("<path:object_id>/"):
        change = reverse(
            pattern.key.replace("/<path:object_id>/", "_change").replace("/", "_"), kwargs=kwargs
        )
        return change.removesuffix("change/")
    if pattern.key == "admin:(?P<url>.*)$":
        return reverse("admin:index") + "no-such-page/"
    if "<" not in pattern.route and "(" not in pattern.route:
        return "/" + pattern.route
    raise AssertionError(f"no way to build a URL for {pattern.key}")


def _run(seed: Seed, rows: dict[str, Row], patterns: list[Pattern]) -> tuple[list[str], int]:
    """Every request of these rows; the mismatches as readable lines, and the number of cases."""
    personas = Personas(seed)
    problems: list[str] = []
    cases = 0
    for pattern in patterns:
        row = rows[pattern.key]
        url = _url(pattern, row, seed)
        object_page = pattern.key.startswith("admin:") and ("object_id" in pattern.route)
        got = ""
        for persona in PERSONAS:
            with transaction.atomic():
                response = personas.request(persona, "get", url, data=row.query(seed))
                transaction.set_rollback(True)
            got += classify_get(response, object_page=object_page)
            cases += 1
        if got != row.get:
            problems.append(f"GET  {pattern.key:45} expected {row.get} got {got}  ({url})")
        if row.post is None:
            continue
        got = ""
        for persona in PERSONAS:
            with transaction.atomic():
                before = checksum()
                body = row.data(seed) if row.data else {}
                if pattern.key.startswith("api") or pattern.route.startswith("api/"):
                    response = personas.request(
                        persona, row.method, url, data=body, content_type="application/json"
                    )
                else:
                    response = personas.request(persona, row.method, url, data=body)
                changed = checksum() != before
                transaction.set_rollback(True)
            cases += 1
            if response.status_code >= 500:
                got += "5"
            else:
                got += "Y" if changed else "-"
        if got != row.post:
            problems.append(f"{row.method.upper():4} {pattern.key:45} expected {row.post} got {got}  ({url})")
    return problems, cases


def _patterns(prefix: str | None = None, admin_only: bool = False) -> list[Pattern]:
    result = []
    for p in url_patterns():
        is_admin = p.key.startswith("admin:")
        if admin_only != is_admin:
            continue
        result.append(p)
    return result


def test_permission_matrix_pages_and_api(world):
    rows = expected_rows()
    patterns = [p for p in _patterns() if p.key in rows]
    problems, cases = _run(world, rows, patterns)
    assert problems == [], (
        f"{len(problems)} of {len(patterns)} patterns differ ({cases} requests):\n" + "\n".join(problems)
    )


def test_permission_matrix_admin(world):
    rows = expected_rows()
    patterns = [p for p in _patterns(admin_only=True) if p.key in rows]
    problems, cases = _run(world, rows, patterns)
    assert problems == [], (
        f"{len(problems)} of {len(patterns)} patterns differ ({cases} requests):\n" + "\n".join(problems)
    )
