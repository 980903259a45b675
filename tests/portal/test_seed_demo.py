import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from marketplace.accounts.models import Buyer, Seller, User
from marketplace.catalog.models import DeliveryKind, Product, TradeMode
from marketplace.orders.models import Order, Subscription
from marketplace.provisioning.models import AccessKey, SellerIntegration

pytestmark = pytest.mark.django_db

DEMO_USERS = ["ops@example.com", "seller@example.com", "buyer@example.com", "tenant-admin@example.com"]


def snapshot():
    return (User.objects.count(), Seller.objects.count(), Product.objects.count(), Order.objects.count())


def test_seed_demo_makes_every_role_and_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet")
    first = snapshot()
    call_command("seed_demo", "--quiet")
    assert snapshot() == first

    for email in DEMO_USERS:
        sign_in = RequestFactory().post("/accounts/login/")  # the sign-in lockout (axes) needs the request
        assert authenticate(sign_in, username=email, password="demo-pass-2026") is not None, email
    assert User.objects.get(email="ops@example.com").is_superuser
    seller_admin = User.objects.get(email="seller@example.com").seller_membership
    assert seller_admin.role == "admin" and seller_admin.seller.application.status == "approved"
    assert User.objects.get(email="buyer@example.com").buyer_membership.buyer.kind == Buyer.Kind.INDIVIDUAL
    tenant = User.objects.get(email="tenant-admin@example.com").buyer_membership
    assert tenant.role == "admin" and tenant.buyer.kind == Buyer.Kind.ENTERPRISE
    assert tenant.buyer.memberships.count() >= 3
    assert tenant.buyer.org_units.filter(parent__isnull=False).count() >= 2

    published = Product.objects.filter(status="published")
    assert {p.trade_mode for p in published} == set(TradeMode.values)
    assert {p.delivery_kind for p in published} == set(DeliveryKind.values)
    crm = Product.objects.get(name_en="Demo CRM")
    assert (crm.trade_mode, crm.delivery_kind) == ("joint", "saas")
    integration = SellerIntegration.objects.get(seller=crm.seller)
    assert integration.produce_url == "http://127.0.0.1:8765/produce"
    assert integration.sync_base_url == "http://127.0.0.1:8765"
    key = AccessKey.objects.get(seller=crm.seller, purpose="produce", revoked_at__isnull=True)
    assert key.secret == "demo-produce-access-key-2026"

    months = {o.created_at.strftime("%Y-%m") for o in Order.objects.all()}
    assert len(months) >= 12
    assert Subscription.objects.filter(buyer=tenant.buyer, product=crm, status="active", is_trial=False).exists()


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", "--quiet")
    assert User.objects.count() == 0


def test_seed_demo_scale_adds_exactly_n_orders_once(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet", "--scale", "300")
    scale_orders = Order.objects.filter(number__startswith="SC")
    assert scale_orders.count() == 300
    assert all(o.lines.count() == 1 for o in scale_orders[:20])
    paid = scale_orders.filter(status="paid")
    assert paid.count() == Subscription.objects.filter(buyer__code__startswith="TSC").count()
    call_command("seed_demo", "--quiet", "--scale", "300")
    assert Order.objects.filter(number__startswith="SC").count() == 300
