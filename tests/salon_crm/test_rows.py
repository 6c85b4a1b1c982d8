"""salon_crm.rows: short lists read as JSON inside another statement, and back to instances
typed as the ORM loads them (on SQLite and PostgreSQL alike)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Count, OuterRef, Sum

from customers.models import ColourFormula, Customer, FormulaShade, PatchTest
from salon_crm.rows import build, build_all, obj, row, rows
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory

pytestmark = pytest.mark.django_db


def _formulas(limit=10):
    return rows(
        ColourFormula.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-pk")[:limit],
        id="pk",
        brand="brand",
        version="version",
        created_at="created_at",
        stylist=obj(id="stylist_id", display_name="stylist__display_name"),
        superseded_by=obj(id="superseded_by__id", version="superseded_by__version"),
        shade_list=rows(
            FormulaShade.objects.filter(formula=OuterRef("pk")).order_by("pk"), shade="shade", grams="grams"
        ),
    )


def test_rows_in_order_typed_with_related_and_nested_lists(stylist, django_assert_num_queries):
    # given three formulas, the newest first
    customer = CustomerFactory()
    made = [
        FormulaFactory(
            customer=customer,
            stylist=stylist,
            brand=f"Brand {n}",
            created_at=datetime(2026, 3, n + 1, 9, 30, tzinfo=UTC),
            shades=[("7/1", "30.5"), ("8/0", 20)],
        )
        for n in range(3)
    ]
    # when they are read as one annotation, with at most 2
    with django_assert_num_queries(1):
        found = Customer.objects.annotate(f=_formulas(limit=2)).get(pk=customer.pk)
        formulas = build_all(ColourFormula, found.f)
        # then: in the queryset's order, typed, related instances without a query
        assert [f.pk for f in formulas] == [made[2].pk, made[1].pk]
        first = formulas[0]
        assert first.brand == "Brand 2" and first.version == 1
        assert first.created_at == datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
        assert first.stylist.display_name == stylist.display_name and first.stylist_id == stylist.pk
        assert [(s["shade"], Decimal(s["grams"])) for s in first.shade_list] == [
            ("7/1", Decimal("30.5")),
            ("8/0", Decimal("20.0")),
        ]
        with pytest.raises(ColourFormula.superseded_by.RelatedObjectDoesNotExist):
            first.superseded_by  # noqa: B018 (no newer version: the LEFT JOIN's NULLs)
        assert first.is_locked(now=datetime(2026, 3, 5, tzinfo=UTC))


def test_no_rows_is_an_empty_list_and_row_none():
    customer = CustomerFactory()
    found = Customer.objects.annotate(
        f=_formulas(), p=row(PatchTest.objects.filter(customer=OuterRef("pk")), product="product")
    ).get(pk=customer.pk)
    assert (found.f, found.p) == ([], None)
    assert build(PatchTest, found.p) is None


def test_row_of_aggregates_and_dates_and_exact_decimals():
    customer = CustomerFactory()
    PatchTestFactory(customer=customer, product="A", tested_on=date(2026, 1, 5), result="passed")
    PatchTestFactory(customer=customer, product="B", tested_on=date(2026, 2, 7), result="failed")
    found = Customer.objects.annotate(
        latest=row(
            PatchTest.objects.filter(customer=OuterRef("pk")).order_by("-tested_on"),
            id="pk",
            product="product",
            tested_on="tested_on",
            result="result",
            valid_until="valid_until",
        ),
        n=row(
            PatchTest.objects.filter(customer=OuterRef("pk")).values("customer").annotate(n=Count("pk")),
            n="n",
        ),
    ).get(pk=customer.pk)
    latest = build(PatchTest, found.latest)
    assert (latest.product, latest.tested_on, latest.get_result_display()) == (
        "B",
        date(2026, 2, 7),
        "Failed (reaction)",
    )
    assert isinstance(latest.valid_until, date)
    assert found.n == {"n": 2}


def test_decimals_keep_their_places(stylist):
    customer = CustomerFactory()
    formula = FormulaFactory(customer=customer, stylist=stylist, shades=[("7/1", 30)])
    found = Customer.objects.annotate(
        s=row(
            FormulaShade.objects.filter(formula__customer=OuterRef("pk"))
            .values("formula__customer")
            .annotate(total=Sum("grams")),
            total="total",
        ),
        shades=rows(FormulaShade.objects.filter(formula=formula).order_by("pk"), id="pk", grams="grams"),
    ).get(pk=customer.pk)
    (shade,) = build_all(FormulaShade, found.shades)
    assert shade.grams == Decimal("30.0") and str(shade.grams) == "30.0"
    assert Decimal(found.s["total"]) == Decimal(30)


def test_a_nested_list_under_a_related_set_name_is_refused(stylist):
    with pytest.raises(ValueError, match="related set"):
        build(ColourFormula, {"id": 1, "shades": []})


def test_read_row_compiles_once_per_key_and_binds_the_row_and_the_time():
    # given two clients with patch tests on different days
    from salon_crm.rows import NOW, local_date, read_row

    a, b = CustomerFactory(), CustomerFactory()
    PatchTestFactory(customer=a, product="A1", tested_on=date(2026, 1, 5))
    PatchTestFactory(customer=b, product="B1", tested_on=date(2026, 3, 5))
    built = []

    def groups():
        built.append(1)
        return {
            "tests": {
                "done": rows(
                    PatchTest.objects.filter(customer=OuterRef("pk"), tested_on__lte=local_date(NOW)),
                    product="product",
                )
            }
        }

    key = ("test_rows", object())
    # when each is read at two moments with the same key
    found = {
        (c.pk, day): read_row(
            Customer, key=key, pk=c.pk, now=datetime(2026, 2, day, 12, tzinfo=UTC), groups=groups
        )
        for c in (a, b)
        for day in (1, 28)
    }
    # then the statement was built once, and each answer is its own row's at its own moment
    assert len(built) == 1
    assert {k: (row.pk, data["tests"]["done"]) for k, (row, data) in found.items()} == {
        (a.pk, 1): (a.pk, [{"product": "A1"}]),
        (a.pk, 28): (a.pk, [{"product": "A1"}]),
        (b.pk, 1): (b.pk, []),
        (b.pk, 28): (b.pk, []),
    }
    later = read_row(Customer, key=key, pk=b.pk, now=datetime(2026, 3, 6, tzinfo=UTC), groups=groups)
    assert later[1]["tests"]["done"] == [{"product": "B1"}]
    assert read_row(Customer, key=key, pk=0, now=datetime(2026, 3, 6, tzinfo=UTC), groups=groups) == (
        None,
        {},
    )
    assert len(built) == 1
