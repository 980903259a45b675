"""Fixtures of the SaaS-delivery tests: a real sample ISV server on 127.0.0.1, a seller whose
interface points at it, SaaS and License products, and short timeouts so fault tests stay fast."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from marketplace.catalog.models import DeliveryKind
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderType
from marketplace.provisioning import services
from marketplace.provisioning.models import SellerIntegration
from marketplace.provisioning.sample_isv import start_sample_isv
from tests.factories import PlanFactory, ProductFactory

ACCESS_KEY = "isv-test-produce-access-key"


@pytest.fixture(scope="session")
def isv_private_key():
    """One RSA-3072 key for the whole run: the sample ISV would otherwise make one per server."""
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted by their English msgids: pages, the API and services called directly all
    speak English here, whatever the Chinese catalogue (the platform's default) says."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch):
    """Calls to the local sample ISV answer in milliseconds; waiting seconds would only slow faults."""
    monkeypatch.setitem(services.RULES, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setitem(services.RULES, "TOTAL_TIMEOUT", 2.0)


@pytest.fixture
def isv(isv_private_key):
    """The sample ISV over real HTTP on a free port; "hang" sleeps a little longer than TOTAL_TIMEOUT
    would allow once a test shortens it."""
    server = start_sample_isv(ACCESS_KEY, private_key=isv_private_key, hang_seconds=1.0)
    yield server
    server.stop()


@pytest.fixture
def integration(seller, isv):
    """The seller's produce, sync and deployment URLs point at the sample ISV, signed with its key."""
    services.access_key_issue(seller=seller, purpose="produce", secret=ACCESS_KEY)
    return SellerIntegration.objects.create(
        seller=seller, produce_url=isv.produce_url, sync_base_url=isv.sync_base_url, deploy_url=isv.deploy_url
    )


@pytest.fixture
def saas_product(seller):
    return ProductFactory(seller=seller, status="published", delivery_kind=DeliveryKind.SAAS)


@pytest.fixture
def saas_plan(saas_product):
    """CNY 100.00 a month, with a 14-day free trial."""
    return PlanFactory(product=saas_product, sku_code="SAAS-STD", trial_days=14)


@pytest.fixture
def paid(buyer_user, django_capture_on_commit_callbacks):
    """Place and pay an order; the produce calls it causes are delivered after commit, as in production."""

    def pay(plan, *, order_type=OrderType.NEW, subscription=None, periods=1, now=None, user=None) -> Order:
        user = user or buyer_user
        with django_capture_on_commit_callbacks(execute=True):
            order = orders.order_create(
                actor=user,
                plan_id=plan.pk,
                order_type=order_type,
                period_count=periods,
                subscription_id=subscription.pk if subscription else None,
                now=now,
            )
            if order.status == Order.Status.PENDING_PAYMENT:
                orders.order_pay(actor=user, order_id=order.pk, method="online", now=now)
        order.refresh_from_db()
        return order

    return pay


@pytest.fixture
def seller_client(client, seller_user):
    """The seller's administrator, signed in."""
    client.force_login(seller_user)
    return client


@pytest.fixture
def buyer_client(client, buyer_user):
    client.force_login(buyer_user)
    return client
