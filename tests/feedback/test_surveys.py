"""The post-visit survey: planned once per completed visit with a service (after commit, through
the visit events), withdrawn with a voided visit; its signed link can't be edited, guessed,
reused or used after expiry; one answer, validated field by field; a low score opens exactly one
complaint case, even when two answers race (PostgreSQL)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, connections

from appointments import events
from appointments.line_kinds import CheckoutLine
from appointments.services import visit_void
from feedback import listeners, services
from feedback.models import Complaint, ComplaintAction, Survey
from messaging.models import OutboundMessage
from salon_crm.errors import Conflict
from tests.appointments.factories import ProductFactory


def answer(survey, **kwargs):
    kwargs.setdefault("csat", 5)
    return services.survey_answer(survey=survey, **kwargs)


def field_errors(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def visit_event(kind, visit):
    return events.VisitEvent(
        kind=kind,
        at=visit.completed_at,
        actor_id=None,
        visit_id=visit.pk,
        customer_id=visit.customer_id,
        location_id=visit.location_id,
        appointment_id=visit.appointment_id,
    )


# ---- planned after a completed visit ------------------------------------------------------------


@pytest.mark.django_db
def test_a_completed_visit_plans_one_survey_and_one_message_after_the_delay(sell, salon, clock, settings):
    settings.FEEDBACK_SURVEY_DELAY_MINUTES = 95
    settings.FEEDBACK_SURVEY_VALID_DAYS = 10

    visit = sell()

    survey = Survey.objects.get()
    message = OutboundMessage.objects.get(kind="survey")
    assert survey.visit == visit
    assert survey.customer == salon.customer
    assert survey.location == salon.location
    assert survey.staff == salon.stylist
    assert survey.message == message
    assert message.idempotency_key == f"visit:{visit.pk}:survey"
    assert message.customer == salon.customer
    assert message.status == OutboundMessage.Status.QUEUED
    assert survey.send_at == visit.completed_at + timedelta(minutes=95)
    assert message.scheduled_for == survey.send_at
    assert survey.expires_at == survey.send_at + timedelta(days=10)
    assert message.link == services.survey_link(survey)
    assert services.survey_token(survey) in message.body
    assert services.survey_state(survey) == "open"


@pytest.mark.django_db
def test_the_listener_running_twice_plans_the_survey_once(sell, clock):
    visit = sell()
    event = visit_event(events.VISIT_COMPLETED, visit)

    listeners.on_visit_event(event)
    listeners.on_visit_event(event)

    assert Survey.objects.count() == 1
    assert OutboundMessage.objects.filter(kind="survey").count() == 1


@pytest.mark.django_db
def test_an_undelivered_checkout_plans_nothing_until_the_event_arrives(sell, clock):
    visit = sell(deliver=False)  # the test's transaction never commits: no event yet
    assert not Survey.objects.exists()

    listeners.on_visit_event(visit_event(events.VISIT_COMPLETED, visit))

    assert Survey.objects.filter(visit=visit).count() == 1


@pytest.mark.django_db
def test_a_retail_only_sale_gets_no_survey(sell, salon, clock):
    shampoo = ProductFactory(name="Shampoo", price=Decimal("88.00"))

    sell(lines=[CheckoutLine(kind="product", product=shampoo, quantity=1)])

    assert not Survey.objects.exists()
    assert not OutboundMessage.objects.filter(kind="survey").exists()


@pytest.mark.django_db
def test_surveys_switched_off_plan_nothing(sell, clock, settings):
    settings.FEEDBACK_SURVEYS = False
    sell()
    assert not Survey.objects.exists()
    assert not OutboundMessage.objects.filter(kind="survey").exists()


@pytest.mark.django_db
def test_voiding_the_visit_withdraws_its_survey(sell, manager, clock, django_capture_on_commit_callbacks):
    visit = sell()
    survey = Survey.objects.get(visit=visit)

    with django_capture_on_commit_callbacks(execute=True):
        visit_void(visit=visit, by=manager.user, reason="wrong client")

    survey.refresh_from_db()
    assert survey.withdrawn_at == clock.now
    assert services.survey_state(survey) == "withdrawn"
    message = OutboundMessage.objects.get(kind="survey")
    assert message.status == OutboundMessage.Status.SUPPRESSED
    with pytest.raises(Conflict) as exc:
        answer(survey, csat=1, comment="too late")
    assert exc.value.code == "survey_withdrawn"
    assert not Complaint.objects.exists()
    # a second void event changes nothing
    assert services.survey_withdraw(visit_id=visit.pk) is False


@pytest.mark.django_db
def test_an_answer_given_before_the_void_stays(sell, manager, clock, django_capture_on_commit_callbacks):
    visit = sell()
    survey = answer(Survey.objects.get(visit=visit), csat=4)

    with django_capture_on_commit_callbacks(execute=True):
        visit_void(visit=visit, by=manager.user, reason="wrong client")

    survey.refresh_from_db()
    assert survey.csat == 4
    assert services.survey_state(survey) == "answered"


# ---- the signed link ---------------------------------------------------------------------------


@pytest.fixture
def two_surveys(sell, salon):
    first = Survey.objects.get(visit=sell())
    second = Survey.objects.get(visit=sell(service=salon.colour))
    return first, second


def _forge(payload: dict, signature: str) -> str:
    body = signing.b64_encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    return f"{body}:{signature}"


@pytest.mark.django_db
def test_a_token_names_its_survey(two_surveys):
    first, second = two_surveys
    assert services.survey_from_token(services.survey_token(first)) == first
    assert services.survey_from_token(services.survey_token(second)) == second
    assert services.survey_token(first) != services.survey_token(second)


@pytest.mark.django_db
def test_a_token_with_an_edited_id_is_worth_nothing(two_surveys):
    first, second = two_surveys
    body, signature = services.survey_token(first).rsplit(":", 1)

    edited = _forge({"s": second.pk, "n": first.nonce}, signature)

    assert edited != services.survey_token(first)
    assert services.survey_from_token(edited) is None


@pytest.mark.django_db
def test_a_token_with_a_bad_signature_is_worth_nothing(two_surveys):
    first, _second = two_surveys
    token = services.survey_token(first)
    body, signature = token.rsplit(":", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert services.survey_from_token(f"{body}:{flipped}") is None
    assert services.survey_from_token(body) is None
    assert services.survey_from_token(token + "x") is None
    # signed with the secret key but for another purpose (salt)
    other_salt = signing.Signer(salt="messaging.unsubscribe").sign_object({"s": first.pk, "n": first.nonce})
    assert services.survey_from_token(other_salt) is None


@pytest.mark.django_db
def test_a_validly_signed_token_of_another_surveys_nonce_is_refused(two_surveys):
    first, second = two_surveys
    signer = signing.Signer(salt=services.SURVEY_SALT)

    assert services.survey_from_token(signer.sign_object({"s": second.pk, "n": first.nonce})) is None
    assert services.survey_from_token(signer.sign_object({"s": second.pk})) is None
    assert services.survey_from_token(signer.sign_object({"s": str(second.pk), "n": second.nonce})) is None
    assert services.survey_from_token(signer.sign_object([second.pk, second.nonce])) is None
    assert services.survey_from_token(signer.sign_object({"s": 10**9, "n": second.nonce})) is None


@pytest.mark.django_db
def test_a_new_nonce_kills_the_old_link(two_surveys):
    first, _second = two_surveys
    old = services.survey_token(first)

    Survey.objects.filter(pk=first.pk).update(nonce="a-brand-new-nonce")
    first.refresh_from_db()

    assert services.survey_from_token(old) is None
    assert services.survey_from_token(services.survey_token(first)) == first


@pytest.mark.django_db
def test_a_deleted_surveys_token_is_worth_nothing(two_surveys):
    first, _second = two_surveys
    token = services.survey_token(first)
    Survey.objects.filter(pk=first.pk).delete()
    assert services.survey_from_token(token) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        ":",
        "abc",
        "a:b:c",
        "\x00",
        "eyJzIjoxfQ:\x00",
        "eyJzIjoxfQ:" + "A" * 27,
        ".eJyrVipWslIqVqoFAAvYA0w:" + "A" * 27,  # "compressed" payload, forged
        "🙂:🙂",
        "%00%2F..%2F",
        "x" * 5000,
        None,
        123,
        b"bytes:token",
    ],
)
def test_garbage_tokens_are_none_never_an_error(garbage, two_surveys):
    assert services.survey_from_token(garbage) is None


@pytest.mark.django_db
def test_a_nul_inside_a_real_token_is_refused(two_surveys):
    first, _second = two_surveys
    token = services.survey_token(first)
    assert services.survey_from_token(token[:5] + "\x00" + token[5:]) is None
    assert services.survey_from_token(token + "\x00") is None


# ---- one answer, until it expires ---------------------------------------------------------------


@pytest.fixture
def survey(sell):
    return Survey.objects.get(visit=sell())


@pytest.mark.django_db
def test_an_answer_is_stored_once(survey, clock):
    clock.advance(hours=3)

    answered = answer(
        survey,
        csat="4",
        nps=" 9 ",
        stylist_rating=5,
        comment="  Lovely cut.\nThank you!  ",
        tags=["skill", "attitude"],
    )

    survey.refresh_from_db()
    assert answered.pk == survey.pk
    assert (survey.csat, survey.nps, survey.stylist_rating) == (4, 9, 5)
    assert survey.comment == "Lovely cut.\nThank you!"
    assert survey.tags == ["attitude", "skill"]  # the list's own order, once each
    assert survey.answered_at == clock.now
    assert services.survey_state(survey) == "answered"
    assert services.survey_from_token(services.survey_token(survey)) == survey  # the link still opens


@pytest.mark.django_db
def test_a_second_answer_is_a_conflict_and_changes_nothing(survey, clock):
    answer(survey, csat=5, nps=10, comment="great")
    first_at = clock.now
    clock.advance(minutes=5)

    with pytest.raises(Conflict) as exc:
        answer(survey, csat=1, nps=0, comment="changed my mind")

    assert exc.value.code == "survey_answered"
    survey.refresh_from_db()
    assert (survey.csat, survey.nps, survey.comment, survey.answered_at) == (5, 10, "great", first_at)
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_an_answer_after_the_link_expired_is_a_conflict(survey, clock):
    clock.set(survey.expires_at - timedelta(seconds=1))
    assert services.survey_state(survey) == "open"

    clock.set(survey.expires_at)
    assert services.survey_state(survey) == "expired"
    with pytest.raises(Conflict) as exc:
        answer(survey, csat=1, comment="bad")

    assert exc.value.code == "survey_expired"
    survey.refresh_from_db()
    assert survey.answered_at is None and survey.csat is None
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_an_answer_just_before_expiry_counts(survey, clock):
    clock.set(survey.expires_at - timedelta(seconds=1))
    answer(survey, csat=3)
    survey.refresh_from_db()
    assert survey.csat == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"csat": 0}, "csat"),
        ({"csat": 6}, "csat"),
        ({"csat": -1}, "csat"),
        ({"csat": "5x"}, "csat"),
        ({"csat": "4.0"}, "csat"),
        ({"csat": 4.0}, "csat"),
        ({"csat": True}, "csat"),
        ({"csat": None}, "csat"),
        ({"csat": ""}, "csat"),
        ({"csat": "５"}, "csat"),  # a full-width digit
        ({"csat": "٣"}, "csat"),  # an Arabic-Indic digit
        ({"csat": "9" * 400}, "csat"),
        ({"csat": [4]}, "csat"),
        ({"nps": 11}, "nps"),
        ({"nps": -1}, "nps"),
        ({"nps": "1e1"}, "nps"),
        ({"nps": False}, "nps"),
        ({"nps": "1" * 10_000}, "nps"),
        ({"stylist_rating": 0}, "stylist_rating"),
        ({"stylist_rating": 6}, "stylist_rating"),
        ({"comment": "fine\x00"}, "comment"),
        ({"comment": "\x1b[31mred"}, "comment"),
        ({"comment": "bell\x07"}, "comment"),
        ({"comment": "x" * 2001}, "comment"),
        ({"comment": 5}, "comment"),
        ({"tags": ["rude"]}, "tags"),
        ({"tags": ["skill", "unknown"]}, "tags"),
        ({"tags": "skill"}, "tags"),
        ({"tags": [1]}, "tags"),
        ({"tags": [["skill"]]}, "tags"),
        ({"tags": 5}, "tags"),
        ({"tags": {"skill": True}}, "tags"),
    ],
)
def test_bad_answers_are_refused_field_by_field(survey, fields, bad):
    kwargs = {"csat": 4, **fields}

    with pytest.raises(ValidationError) as exc:
        services.survey_answer(survey=survey, **kwargs)

    assert field_errors(exc) == {bad}
    survey.refresh_from_db()
    assert survey.answered_at is None
    assert not Complaint.objects.exists()


@pytest.mark.django_db
def test_every_bad_field_is_named_at_once(survey):
    with pytest.raises(ValidationError) as exc:
        services.survey_answer(survey=survey, csat=0, nps=11, stylist_rating="x", comment="\x00", tags=["?"])
    assert field_errors(exc) == {"csat", "nps", "stylist_rating", "comment", "tags"}


@pytest.mark.django_db
def test_the_edges_of_the_scales_are_accepted(sell, salon):
    low = Survey.objects.get(visit=sell())
    high = Survey.objects.get(visit=sell())
    answer(low, csat=1, nps=0, stylist_rating=1, comment="x" * 2000, tags=[])
    answer(high, csat=5, nps=10, stylist_rating=5, comment="", tags=None)
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.csat, low.nps, low.stylist_rating, len(low.comment)) == (1, 0, 1, 2000)
    assert (high.csat, high.nps, high.stylist_rating, high.tags) == (5, 10, 5, [])


# ---- a low score opens one case ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_csat_of_2_opens_one_case_for_the_manager_due_in_48_hours(
    survey, salon, manager, emails, clock, django_capture_on_commit_callbacks
):
    clock.advance(hours=5)

    with django_capture_on_commit_callbacks(execute=True):
        answer(survey, csat=2, nps=8, comment="The colour is patchy.", tags=["skill", "waiting"])

    complaint = Complaint.objects.get()
    survey.refresh_from_db()
    assert complaint.survey == survey
    assert complaint.source == Complaint.Source.SURVEY
    assert complaint.customer == salon.customer
    assert complaint.location == salon.location
    assert complaint.visit == survey.visit
    assert complaint.owner == manager.user
    assert complaint.opened_at == survey.answered_at == clock.now
    assert complaint.due_at == survey.answered_at + timedelta(hours=48)
    assert list(complaint.staff_involved.all()) == [salon.stylist]
    assert complaint.status == Complaint.Status.OPEN
    assert complaint.category == Complaint.Category.SKILL  # the first tag
    assert complaint.severity == Complaint.Severity.MEDIUM
    assert "The colour is patchy." in complaint.description
    assert complaint.created_by is None  # the system opened it
    assert list(complaint.actions.values_list("kind", flat=True)) == [ComplaintAction.Kind.OPENED]
    notice = OutboundMessage.objects.get(kind="complaint_new")
    assert notice.to == manager.user.email and notice.channel == "email"


@pytest.mark.django_db
def test_a_csat_of_1_is_a_high_severity_case(survey):
    answer(survey, csat=1)
    complaint = Complaint.objects.get()
    assert complaint.severity == Complaint.Severity.HIGH
    assert complaint.category == Complaint.Category.OTHER  # no tag ticked


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("scores", "opens"),
    [
        ({"csat": 1}, True),
        ({"csat": 2}, True),
        ({"csat": 3}, False),
        ({"csat": 3, "nps": 0}, False),
        ({"csat": 4, "nps": 6}, False),  # a passive client without a word is not a complaint
        ({"csat": 4, "nps": 6, "comment": "   \n  "}, False),
        ({"csat": 4, "nps": 6, "comment": "Waited 40 minutes."}, True),
        ({"csat": 5, "nps": 0, "comment": "Never again."}, True),
        ({"csat": 4, "nps": 7, "comment": "Okay I guess."}, False),
        ({"csat": 3, "comment": "meh"}, False),
    ],
)
def test_which_scores_open_a_case(survey, scores, opens):
    answer(survey, **scores)
    assert Complaint.objects.count() == (1 if opens else 0)


@pytest.mark.django_db
def test_the_thresholds_are_settings(sell, settings):
    settings.FEEDBACK_LOW_CSAT = 3
    settings.FEEDBACK_LOW_NPS = 4
    answer(Survey.objects.get(visit=sell()), csat=3)
    answer(Survey.objects.get(visit=sell()), csat=4, nps=5, comment="hmm")
    assert Complaint.objects.count() == 1
    answer(Survey.objects.get(visit=sell()), csat=4, nps=4, comment="hmm")
    assert Complaint.objects.count() == 2


@pytest.mark.django_db
def test_opening_from_the_same_survey_twice_gives_the_first_case(survey):
    answer(survey, csat=1)
    survey.refresh_from_db()
    first = Complaint.objects.get()
    assert services.complaint_open_from_survey(survey=survey) == first
    assert Complaint.objects.count() == 1


# ---- the race: two answers at once (PostgreSQL row locks) ---------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 8])
def test_answers_posted_at_once_are_taken_once_and_open_one_case(threads, sell, salon, manager):
    visit = sell()  # committed for real: the event planned the survey after the commit
    survey_pk = Survey.objects.get(visit=visit).pk
    gate = threading.Barrier(threads)

    def post(n: int) -> str:
        try:
            survey = services.survey_from_token(services.survey_token(Survey.objects.get(pk=survey_pk)))
            gate.wait(timeout=30)
            services.survey_answer(survey=survey, csat=1, nps=n % 11, comment=f"answer {n}")
            return "ok"
        except Conflict as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(post, range(threads)))
    connections.close_all()

    assert results.count("ok") == 1
    assert results.count("survey_answered") == threads - 1
    survey = Survey.objects.get(pk=survey_pk)
    assert survey.answered_at is not None
    assert Complaint.objects.count() == 1
    complaint = Complaint.objects.get()
    assert complaint.survey_id == survey_pk
    assert complaint.description.endswith(survey.comment)  # the case is of the answer that won
    assert ComplaintAction.objects.filter(kind=ComplaintAction.Kind.OPENED).count() == 1
