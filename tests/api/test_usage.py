from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import LedgerEntry, UsageRecord
from marketplace.orders import services as orders
from tests.factories import PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_demand(seller, buyer_user):
    plan = PlanFactory(
        product=ProductFactory(
            seller=seller, status="published", delivery_kind="api", trade_mode="platform", ops_fee_rate=Decimal("0.3")
        ),
        charging_mode="ON_DEMAND",
        period_type="",
        price=Decimal("0.02"),
    )
    order = orders.order_create(actor=buyer_user, plan_id=plan.pk)
    return order.lines.get().subscription


def report(user, **body):
    client = APIClient()
    client.force_authenticate(user)
    return client.post("/api/v1/seller/usage/", body, format="json")


def test_the_seller_reports_usage_once_and_it_is_settled_at_consumption(seller_user, on_demand):
    consumed = timezone.now() - timedelta(hours=2)
    body = {
        "subscription": on_demand.pk,
        "quantity": "1500",
        "reference": "batch-1",
        "consumed_at": consumed.isoformat(),
    }
    first = report(seller_user, **body)
    again = report(seller_user, **body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["amount"] == "30.00"
    entry = LedgerEntry.objects.get(kind="usage")
    assert (entry.gross, entry.fee, entry.net, entry.trade_mode) == (
        Decimal("30.00"),
        Decimal("9.00"),
        Decimal("21.00"),
        "platform",
    )
    assert entry.occurred_at == consumed


def test_usage_is_refused_for_others_and_for_nonsense(seller_user, other_seller_user, on_demand, plan, buyer_user):
    ok = {"subscription": on_demand.pk, "quantity": "1", "reference": "r", "consumed_at": timezone.now().isoformat()}
    assert report(other_seller_user, **ok).status_code == 404
    assert report(seller_user, **{**ok, "quantity": "-1"}).status_code == 400
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert report(seller_user, **{**ok, "consumed_at": future}).status_code == 400
    periodic = orders.order_create(actor=buyer_user, plan_id=plan.pk)
    orders.order_pay(actor=buyer_user, order_id=periodic.pk, method="online")
    sub = periodic.lines.get().subscription
    assert report(seller_user, **{**ok, "subscription": sub.pk}).status_code == 400
    assert not UsageRecord.objects.exists()
    assert not LedgerEntry.objects.filter(kind="usage").exists()
