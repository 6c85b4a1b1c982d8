"""The manager's pages: the delivery log (filters, counts, reasons, resolving `unknown`), the
template editor with its preview; the client's unsubscribe page; the card's timeline."""

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging import dispatch, kinds
from messaging.models import MessageTemplate, OutboundMessage
from messaging.services import message_enqueue, templates_install, unsubscribe_url
from tests.appointments.factories import CustomerFactory

pytestmark = pytest.mark.django_db
S = OutboundMessage.Status


@pytest.fixture
def log(db, clock, location):
    emily = CustomerFactory(name="Emily", phone="+8613800138000")
    quiet = CustomerFactory(name="Quiet One", phone="+8613800138001", do_not_contact=True)
    for n, customer in enumerate([emily, quiet]):
        message_enqueue(
            customer=customer,
            kind=kinds.THANK_YOU,
            key=f"t{n}",
            context={"services": "Cut"},
            location=location,
        )
    dispatch.dispatch_pass()
    doubtful = message_enqueue(
        customer=emily, kind=kinds.THANK_YOU, key="t9", context={"services": "Colour"}, location=location
    )
    OutboundMessage.objects.filter(pk=doubtful.pk).update(status=S.UNKNOWN, reason="worker stopped")
    return {"emily": emily, "quiet": quiet, "doubtful": doubtful}


def test_the_log_counts_by_status_and_gives_every_reason(client_as, manager, log):
    html = client_as(manager).get(reverse("messaging:log")).content.decode()
    assert 'data-status="sent">Sent: 1<' in html
    assert 'data-status="suppressed">Suppressed: 1<' in html
    assert 'data-status="unknown">Unknown (check with the provider): 1<' in html
    assert "The client asked not to be contacted." in html


def test_a_manager_sees_and_resolves_only_their_locations_messages(
    client_as, manager, owner, log, other_location
):
    elsewhere = message_enqueue(
        customer=log["emily"],
        kind=kinds.THANK_YOU,
        key="x1",
        context={"services": "Perm"},
        location=other_location,
    )
    OutboundMessage.objects.filter(pk=elsewhere.pk).update(status=S.UNKNOWN)
    html = client_as(manager).get(reverse("messaging:log")).content.decode()
    assert 'data-status="unknown">Unknown (check with the provider): 1<' in html
    refused = client_as(manager).post(reverse("messaging:resolve", args=[elsewhere.pk]), {"outcome": "sent"})
    assert refused.status_code == 404
    assert OutboundMessage.objects.get(pk=elsewhere.pk).status == S.UNKNOWN
    html = client_as(owner).get(reverse("messaging:log")).content.decode()
    assert 'data-status="unknown">Unknown (check with the provider): 2<' in html


def test_the_log_filters_by_status(client_as, manager, log):
    html = client_as(manager).get(reverse("messaging:log"), {"status": "suppressed"}).content.decode()
    assert "Quiet One" in html and "Emily" not in html


def test_a_bad_filter_is_a_form_error_not_a_500(client_as, manager, log):
    response = client_as(manager).get(reverse("messaging:log"), {"start": "9999-99-99", "status": "nope"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_a_manager_resolves_an_unknown_message(client_as, manager, log):
    response = client_as(manager).post(
        reverse("messaging:resolve", args=[log["doubtful"].pk]),
        {"outcome": "sent", "note": "in the provider's log"},
    )
    assert response.status_code == 302
    log["doubtful"].refresh_from_db()
    assert (log["doubtful"].status, log["doubtful"].reason, log["doubtful"].resolved_by) == (
        S.SENT,
        "in the provider's log",
        manager.user,
    )


def test_reception_and_stylists_cannot_open_the_log_or_resolve(client_as, reception, stylist, log):
    for person in (reception, stylist):
        client = client_as(person)
        assert client.get(reverse("messaging:log")).status_code == 403
        assert (
            client.post(
                reverse("messaging:resolve", args=[log["doubtful"].pk]), {"outcome": "sent"}
            ).status_code
            == 403
        )
    log["doubtful"].refresh_from_db()
    assert log["doubtful"].status == S.UNKNOWN


def test_template_edit_previews_and_refuses_broken_syntax(client_as, manager):
    templates_install()
    template = MessageTemplate.objects.get(kind=kinds.REMINDER, channel="sms", language="zh-hans")
    client = client_as(manager)
    page = client.get(reverse("messaging:template_edit", args=[template.pk])).content.decode()
    assert "【静安店 Jing&#x27;an】提醒：张三" in page  # the preview, with a sample client
    broken = client.post(
        reverse("messaging:template_edit", args=[template.pk]), {"body": "{% if %}", "is_active": "on"}
    )
    assert broken.status_code == 200 and "The template has an error" in broken.content.decode()
    template.refresh_from_db()
    assert template.body.startswith("【{{ salon }}】")
    ok = client.post(
        reverse("messaging:template_edit", args=[template.pk]), {"body": "提醒 {{ when }}", "is_active": "on"}
    )
    assert ok.status_code == 302
    template.refresh_from_db()
    assert (template.body, template.updated_by) == ("提醒 {{ when }}", manager.user)


def test_every_kind_has_english_and_chinese_templates_out_of_the_box(db):
    templates_install()
    for kind in kinds.kinds():
        languages = set(MessageTemplate.objects.filter(kind=kind.key).values_list("language", flat=True))
        assert languages == {"en", "zh-hans"}, kind.key


def test_the_unsubscribe_page_asks_then_revokes(client, db):
    emily = CustomerFactory(name="Emily", phone="+8613800138000", consent_sms=True)
    url = unsubscribe_url(emily, "sms")
    page = client.get(url)
    assert page.status_code == 200 and 'id="unsubscribe-confirm"' in page.content.decode()
    emily.refresh_from_db()
    assert emily.consent_sms  # a GET (a link preview) changes nothing
    client.post(url)
    emily.refresh_from_db()
    assert not emily.consent_sms
    assert client.get(url[:-3] + "xx/").status_code == 404


def test_the_clients_messages_are_on_the_card_timeline(client_as, reception, log):
    html = client_as(reception).get(reverse("customers:detail", args=[log["emily"].pk])).content.decode()
    assert "SMS sent: Thank you after a visit" in html


def test_a_link_opens_in_the_clients_language_unless_they_chose_another(client, db, clock):
    from appointments.services import BookingItem, appointment_book
    from messaging.appointment_messages import appointment_token
    from tests.accounts.factories import LocationFactory, StaffMemberFactory
    from tests.appointments.factories import ServiceFactory, open_all_week, work_all_week

    location = LocationFactory(code="jingan")
    open_all_week(location)
    stylist = StaffMemberFactory(role="stylist", locations=[location], is_bookable=True)
    work_all_week(stylist, location)
    cut = ServiceFactory(name="Cut", locations=[location])
    zhang = CustomerFactory(name="张三", phone="+8613800138000", language="zh-hans")
    start = clock.now.astimezone(location.tz).replace(hour=10, minute=0) + timezone.timedelta(days=2)
    booked = appointment_book(
        customer=zhang, location=location, items=[BookingItem(service=cut, staff=stylist, start=start)],
        source="front_desk", booked_by=None,
    )  # fmt: skip
    url = reverse("messaging:appointment", args=[appointment_token(booked)])
    assert 'lang="zh-hans"' in client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    assert 'lang="en"' in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{% include 'messaging/log.html' %}", "IncludeNode"),
        ("Hi {% debug %}", "DebugNode"),
        ("{% if client_name %}{% include 'x' %}{% endif %}", "IncludeNode"),
        ("{% extends 'base.html' %}", "ExtendsNode"),
        ("{% load static %}", "The template has an error"),
        ("{% if client_name %}no end", "The template has an error"),
    ],
)
def test_template_edit_refuses_tags_that_read_files_or_the_server(client_as, manager, body, error):
    """A manager's template is text with values; an {% include %} used to reach the renderer
    (a 500 on the preview, an `unknown` at send time), {% debug %} would print the server's state."""
    template = MessageTemplate.objects.get(kind=kinds.REMINDER, channel="sms", language="en")
    before = template.body
    response = client_as(manager).post(reverse("messaging:template_edit", args=[template.pk]), {"body": body})
    assert response.status_code == 200
    assert error in response.content.decode()
    template.refresh_from_db()
    assert template.body == before


def test_a_template_that_fails_at_render_time_never_stops_a_send(clock):
    from messaging.services import render

    assert render("{% include 'nowhere.txt' %}", {}).startswith("[template error:")
