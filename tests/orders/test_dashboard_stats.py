"""The seller dashboard's figures: one query, refunds subtracted once, and no subquery run per order
(with a large data set that cost 30 ms a page: the pages_under_load benchmark)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.orders import services
from marketplace.orders.models import Order
from marketplace.orders.selectors import seller_order_stats
from refunds.services import refund_record
from tests.factories import PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


def paid_order(user, plan, *, now=None):
    order = services.order_create(actor=user, plan_id=plan.pk, now=now)
    services.order_pay(actor=user, order_id=order.pk, method="online", now=now)
    return Order.objects.get(pk=order.pk)


def test_revenue_is_paid_minus_refunded_in_one_query(seller, other_seller, buyer_user):
    plan = PlanFactory(product=ProductFactory(seller=seller, status="published"), price=Decimal("100.00"))
    other_plan = PlanFactory(product=ProductFactory(seller=other_seller, status="published"), price=Decimal("50.00"))
    last_year = timezone.now() - timedelta(days=400)
    old = paid_order(buyer_user, plan, now=last_year)
    partly, fully, untouched = (paid_order(buyer_user, plan) for _ in range(3))
    services.order_create(actor=buyer_user, plan_id=plan.pk)  # unpaid
    refund_record(line_id=old.lines.get().pk, amount="10.00", reason="goodwill")
    refund_record(line_id=partly.lines.get().pk, amount="30.00", reason="partly")
    refund_record(line_id=fully.lines.get().pk, amount="100.00", reason="all of it")
    refund_record(line_id=paid_order(buyer_user, other_plan).lines.get().pk, amount="20.00", reason="another seller")

    with CaptureQueriesContext(connection) as ctx:
        stats = seller_order_stats(seller_id=seller.pk)

    assert len(ctx.captured_queries) == 1
    assert stats == {
        "orders_total": 5,
        "orders_pending": 1,
        "orders_month": 2,  # paid this month and not fully refunded: partly, untouched
        "revenue_month": Decimal("170.00"),  # 300 - 30 - 100
        "revenue_total": Decimal("260.00"),  # 400 - 10 - 30 - 100
    }
    assert untouched.status == Order.Status.PAID
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + ctx.captured_queries[0]["sql"])
            plan_text = "\n".join(row[0] for row in cursor.fetchall())
        assert "SubPlan" not in plan_text, plan_text  # a correlated subquery: evaluated once per order
