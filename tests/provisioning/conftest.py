"""Fixtures of the SaaS-delivery tests: a real sample ISV server on 127.0.0.1, a seller whose
interface points at it, SaaS and License products, and short timeouts so fault tests stay fast."""

import pytest

from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderType
from marketplace.provisioning import services
from tests.factories import PlanFactory
from tests.isv_fixtures import ACCESS_KEY  # noqa: F401 - the tests import it from here


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
