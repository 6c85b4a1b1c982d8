from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Location, StaffMember
from appointments.models import Service, Visit, VisitLine
from customers.models import Customer
from tests.accounts.factories import LocationFactory
from tests.appointments.factories import CustomerFactory, ServiceFactory

pytestmark = pytest.mark.django_db
HEADER = "visit_external_id,customer_external_id,location,staff,service,date,start_time,amount\n"


@pytest.fixture
def world(location, stylist):
    london = LocationFactory(code="london", time_zone="Europe/London")
    return {
        "cut": ServiceFactory(name="Cut", locations=[location]),
        "colour": ServiceFactory(name="Colour", locations=[location]),
        "c1": CustomerFactory(external_id="C1"),
        "c2": CustomerFactory(external_id="C2"),
        "london": london,
    }


def write(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "visits.csv"
    path.write_text(header + body, encoding="utf-8")
    return str(path)


GOOD = (
    "V1,C1,jingan,stylist,Colour,2026-03-01,10:00,680.00\n"
    "V1,C1,jingan,,Cut,2026-03-01,12:15,200\n"
    "V2,C2,london,,,2026-03-29,,55.50\n"
)


def test_import_groups_rows_into_visits_and_is_idempotent(world, stylist, tmp_path, capsys):
    path = write(tmp_path, GOOD)
    call_command("import_visits", path)
    v1 = Visit.objects.get(external_id="V1")
    assert (v1.customer, v1.status, v1.total, v1.subtotal) == (
        world["c1"],
        "completed",
        Decimal("680.00") + 200,
        Decimal("880.00"),
    )
    assert v1.started_at == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert [
        (line.service.name if line.service else None, line.staff_id, line.amount)
        for line in v1.lines.order_by("pk")
    ] == [
        ("Colour", stylist.pk, Decimal("680.00")),
        ("Cut", None, Decimal("200.00")),
    ]
    v2 = Visit.objects.get(external_id="V2")
    # empty start_time = 12:00 local; 29 March 2026 is BST in London
    assert v2.started_at == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    assert v2.lines.get().description == "Imported service"
    # when: the same file again
    call_command("import_visits", path)
    assert Visit.objects.count() == 2 and VisitLine.objects.count() == 3
    assert "Imported 0 visits (0 lines); 2 already present" in capsys.readouterr().out


def test_unknown_names_are_listed_by_row_and_nothing_written(world, tmp_path, capsys):
    path = write(
        tmp_path,
        "V1,C1,jingan,nobody,Cut,2026-03-01,10:00,10\n"
        "V2,C9,mars,,Massage,2026-03-01,10:00,10\n"
        "V3,C2,jingan,,Cut,2026-13-01,25:00,-1\n",
    )
    with pytest.raises(CommandError) as exc:
        call_command("import_visits", path)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "row 2: unknown staff 'nobody'",
        "row 3: unknown location 'mars'; unknown service 'Massage'; unknown client 'C9'",
        "row 4: date '2026-13-01' is not YYYY-MM-DD; start_time '25:00' is not HH:MM; amount '-1' is not a non-negative amount with at most 2 decimals",
    ]
    assert str(exc.value) == "3 errors; nothing imported."
    assert Visit.objects.count() == 0


def test_create_missing_and_dry_run(world, tmp_path, capsys):
    path = write(tmp_path, "V1,C9,mars,newbie,Massage,2026-03-01,09:30,99.90\n")
    call_command("import_visits", path, "--dry-run", "--create-missing")
    assert (
        "Dry run: 1 rows, 1 visits; to create: 1 locations, 1 staff, 1 services, 1 clients"
        in capsys.readouterr().out
    )
    assert Visit.objects.count() == 0 and not Location.objects.filter(code="mars").exists()
    call_command("import_visits", path, "--create-missing")
    visit = Visit.objects.get()
    assert visit.location.code == "mars"
    assert visit.customer.external_id == "C9"
    assert Customer.objects.get(external_id="C9").source == "import"
    line = visit.lines.get()
    assert (line.service, line.staff) == (
        Service.objects.get(name="Massage", is_active=False),
        StaffMember.objects.get(user__username="newbie"),
    )
    assert line.staff.is_bookable is False and line.staff.user.has_usable_password() is False


def test_bad_header_and_scattered_visit(world, tmp_path, capsys):
    with pytest.raises(CommandError, match="header must be exactly"):
        call_command("import_visits", write(tmp_path, GOOD, header="visit,customer\n"))
    path = write(
        tmp_path,
        "V1,C1,jingan,,Cut,2026-03-01,10:00,10\nV2,C2,jingan,,Cut,2026-03-01,10:00,10\nV1,C1,jingan,,Cut,2026-03-01,11:00,10\n",
    )
    with pytest.raises(CommandError):
        call_command("import_visits", path)
    assert capsys.readouterr().err.splitlines() == ["row 4: rows of visit V1 are not together"]
    assert Visit.objects.count() == 0


def test_batches_split_on_visit_boundaries(world, tmp_path):
    body = "".join(
        f"V{n},C1,jingan,,Cut,2026-03-01,10:00,1.{n % 10}0\nV{n},C1,jingan,,Cut,2026-03-01,11:00,1\n"
        for n in range(7)
    )
    call_command("import_visits", write(tmp_path, body), "--batch-size", "2")
    assert Visit.objects.count() == 7 and VisitLine.objects.count() == 14
    assert all(v.lines.count() == 2 for v in Visit.objects.all())


def test_create_missing_refuses_a_name_the_owning_service_refuses(world, tmp_path):
    path = write(tmp_path, "V1,C9,Mars Base,newbie,Massage,2026-03-01,09:30,99.90\n")
    with pytest.raises(CommandError, match="Cannot create what is missing: .*slug"):
        call_command("import_visits", path, "--create-missing")
    assert not Location.objects.filter(name="Mars Base").exists()
    assert not StaffMember.objects.filter(user__username="newbie").exists()
    assert not Service.objects.filter(name="Massage").exists()
    assert not Customer.objects.filter(external_id="C9").exists()
    assert Visit.objects.count() == 0
