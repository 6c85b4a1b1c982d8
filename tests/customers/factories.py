"""Client-file factories. Rows get their derived search columns like the services give them."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import ColourFormula, Customer, FormulaShade, PatchTest, Tag
from customers.search import derive_search_fields
from tests.accounts.factories import StaffMemberFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")
    colour = "#0d6efd"


class CustomerFactory(factory.django.DjangoModelFactory):
    """CustomerFactory(name="张三", phone="+8613800138000", tags=[...])."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Client {n}")
    # Valid Chinese mobile numbers in E.164: +86 139 0000 0000 + n
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        customer = model_class(*args, **kwargs)
        derive_search_fields(customer)
        customer.save()
        return customer

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class FormulaFactory(factory.django.DjangoModelFactory):
    """FormulaFactory(customer=..., shades=[("7.1", 30), ("8.0", 30)]); one shade by default."""

    class Meta:
        model = ColourFormula
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    stylist = factory.SubFactory(StaffMemberFactory)
    brand = "Wella"
    line = "Koleston Perfect"
    developer = "6% / 20 vol"
    mix_ratio = "1:1"
    zones = "roots"
    processing_minutes = 35
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def shades(self, create, extracted, **kwargs):
        if not create:
            return
        for shade, grams in extracted if extracted is not None else [("7/1", 60)]:
            FormulaShade.objects.create(formula=self, shade=shade, grams=Decimal(str(grams)))


class PatchTestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatchTest

    customer = factory.SubFactory(CustomerFactory)
    product = "Wella Koleston"
    tested_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=7))
    result = PatchTest.Result.PASSED
    valid_until = factory.LazyAttribute(lambda o: o.tested_on + timedelta(days=180))
