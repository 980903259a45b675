from decimal import Decimal

import pytest

from marketplace.core.errors import InvalidTransition, NotFound
from marketplace.orders import services
from marketplace.orders.models import Order, OrderType, Payment, Subscription

pytestmark = pytest.mark.django_db


def test_new_order_paid_online_creates_a_subscription(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk, order_type=OrderType.NEW, period_count=3)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.amount == Decimal("300.00")

    paid = services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    assert paid.status == Order.Status.PAID
    line = paid.lines.get()
    assert line.subscription.status == Subscription.Status.ACTIVE
    assert line.validity_start == paid.paid_at
    assert Payment.objects.filter(order=order, status="succeeded").count() == 1


def test_paying_twice_is_refused_and_changes_nothing(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    with pytest.raises(InvalidTransition):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    assert Payment.objects.filter(order=order).count() == 1
    assert Subscription.objects.count() == 1


def test_another_buyer_cannot_pay_my_order(buyer_user, other_buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)

    with pytest.raises(NotFound):
        services.order_pay(actor=other_buyer_user, order_id=order.pk, method="online")

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert not Payment.objects.exists()
