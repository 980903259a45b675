"""factory_boy factories shaped like the demo data."""

from datetime import date, datetime
from decimal import Decimal

import factory
from django.utils import timezone

from marketplace.accounts.models import Buyer, BuyerMembership, OrgUnit, Seller, SellerMembership, User
from marketplace.catalog.models import Category, DeliveryKind, Plan, Product, TradeMode
from marketplace.core.calendar import BEIJING
from marketplace.core.validators import uscc_check_char

PASSWORD = "test-pass-2026!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class BuyerFactory(factory.django.DjangoModelFactory):
    """An individual buyer with one user (its administrator)."""

    class Meta:
        model = Buyer
        skip_postgeneration_save = True

    kind = Buyer.Kind.INDIVIDUAL
    name = factory.Sequence(lambda n: f"Buyer {n}")

    @factory.post_generation
    def member(self, create, extracted, **kwargs):
        if create:
            user = extracted or UserFactory()
            BuyerMembership.objects.create(buyer=self, user=user, role=BuyerMembership.Role.ADMIN)


class EnterpriseFactory(BuyerFactory):
    kind = Buyer.Kind.ENTERPRISE
    name = factory.Sequence(lambda n: f"Enterprise {n}")

    @factory.post_generation
    def member(self, create, extracted, **kwargs):
        if create:
            root = OrgUnit.objects.create(buyer=self, name=self.name, code="root")
            BuyerMembership.objects.create(
                buyer=self, user=extracted or UserFactory(), role=BuyerMembership.Role.ADMIN, org_unit=root
            )


def credit_code(n: int) -> str:
    first17 = f"91440300MB{n:07d}"
    return first17 + uscc_check_char(first17)


class SellerFactory(factory.django.DjangoModelFactory):
    """A seller with an administrator user."""

    class Meta:
        model = Seller
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Seller {n} Ltd")
    credit_code = factory.Sequence(credit_code)
    established_on = date(2015, 1, 1)
    registered_capital = Decimal("1000000")
    staff_count = 20
    support_days_per_week = 5
    support_hours_per_day = 8
    bound_email = factory.Sequence(lambda n: f"bound{n}@seller.test")

    @factory.post_generation
    def admin(self, create, extracted, **kwargs):
        if create:
            SellerMembership.objects.create(
                seller=self, user=extracted or UserFactory(), role=SellerMembership.Role.ADMIN
            )


def seller_member(seller: Seller, role: str) -> User:
    user = UserFactory()
    SellerMembership.objects.create(seller=seller, user=user, role=role)
    return user


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = "software"
    name_zh = "软件"
    name_en = "Software"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(SellerFactory)
    category = factory.SubFactory(CategoryFactory)
    trade_mode = TradeMode.GENERAL
    delivery_kind = DeliveryKind.SAAS
    name_zh = factory.Sequence(lambda n: f"产品 {n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")
    summary_zh = "简介"
    summary_en = "Summary"
    description_zh = "详细描述"
    description_en = "Description"
    status = Product.Status.DRAFT
    published_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Product.Status.PUBLISHED else None)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    product = factory.SubFactory(ProductFactory)
    sku_code = factory.Sequence(lambda n: f"sku-{n}")
    name_zh = "月度版"
    name_en = "Monthly"
    charging_mode = Plan.ChargingMode.PERIOD
    period_type = Plan.PeriodType.MONTH
    price = Decimal("100.00")
    trial_days = 0


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def pdf_upload(name: str = "licence.pdf", content: bytes = PDF_BYTES):
    """An uploaded file whose content really is a PDF (magic bytes included)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def application_data(n: int = 9000001, **overrides) -> dict:
    """A seller application that clears the onboarding bar comfortably."""
    data = {
        "company_name": f"Applicant {n} Ltd",
        "credit_code": credit_code(n),
        "established_on": date(2018, 6, 1),
        "registered_capital": Decimal("2000000.00"),
        "staff_count": 40,
        "support_days_per_week": 7,
        "support_hours_per_day": 12,
        "contact_name": "Li Lei",
        "contact_phone": "+86 755 1234 5678",
        "bound_email": f"bound-{n}@applicant.test",
        "address": "1 Keji Road, Shenzhen",
    }
    data.update(overrides)
    return data


# --- shared by many test modules ------------------------------------------------------------------


def bj(*args) -> datetime:
    """A Beijing-time instant: bj(2026, 3, 9, 10)."""
    return datetime(*args, tzinfo=BEIJING)


def fresh(user: User) -> User:
    """The user read again, as a new request would see it (memberships not cached)."""
    return User.objects.get(pk=user.pk)


def api(user: User | None = None):
    """An API client speaking English, authenticated by token."""
    from rest_framework.test import APIClient

    from marketplace.accounts.services import api_token_issue

    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user)}")
    return client
