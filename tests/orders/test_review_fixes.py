"""Holes found in review: each one stays closed."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone, translation

from marketplace.core.errors import Conflict, ServiceError
from marketplace.orders import services
from marketplace.orders.models import Order, OrderType, Subscription
from tests.factories import BuyerFactory, PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db


def paid(buyer_user, plan, **kwargs):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk, **kwargs)
    return services.order_pay(actor=buyer_user, order_id=order.pk, method="online")


def test_an_upgrade_cannot_ride_on_a_renewal_ordered_at_the_old_price(buyer_user):
    product = ProductFactory(status="published")
    basic = PlanFactory(product=product, price=Decimal("100"))
    premium = PlanFactory(product=product, price=Decimal("1000"))
    sub = paid(buyer_user, basic).lines.get().subscription
    renew = services.order_create(
        actor=buyer_user, plan_id=basic.pk, order_type=OrderType.RENEW, period_count=36, subscription_id=sub.pk
    )
    change = services.order_create(
        actor=buyer_user, plan_id=premium.pk, order_type=OrderType.CHANGE, subscription_id=sub.pk
    )
    services.order_pay(actor=buyer_user, order_id=change.pk, method="online")

    with pytest.raises(Conflict):
        services.order_pay(actor=buyer_user, order_id=renew.pk, method="online")

    renew.refresh_from_db()
    sub.refresh_from_db()
    assert renew.status == "pending_payment"
    assert sub.plan == premium


def test_a_renewal_paid_first_voids_an_upgrade_priced_before_it(buyer_user):
    product = ProductFactory(status="published")
    basic = PlanFactory(product=product, price=Decimal("100"))
    premium = PlanFactory(product=product, price=Decimal("1000"))
    sub = paid(buyer_user, basic).lines.get().subscription
    change = services.order_create(
        actor=buyer_user, plan_id=premium.pk, order_type=OrderType.CHANGE, subscription_id=sub.pk
    )
    renew = services.order_create(
        actor=buyer_user, plan_id=basic.pk, order_type=OrderType.RENEW, period_count=12, subscription_id=sub.pk
    )
    services.order_pay(actor=buyer_user, order_id=renew.pk, method="online")

    with pytest.raises(Conflict):
        services.order_pay(actor=buyer_user, order_id=change.pk, method="online")
    assert Subscription.objects.get(pk=sub.pk).plan == basic


@pytest.mark.django_db(transaction=True)
def test_concurrent_trial_requests_make_one_trial():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    plan = PlanFactory(product=ProductFactory(status="published"), trial_days=7)
    user = BuyerFactory().memberships.get().user
    barrier = threading.Barrier(4)
    outcomes = []

    def try_trial():
        try:
            barrier.wait()
            services.order_create(actor=user, plan_id=plan.pk, order_type=OrderType.TRIAL)
            outcomes.append("ok")
        except ServiceError as exc:
            outcomes.append(type(exc).__name__)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=try_trial) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["Conflict", "Conflict", "Conflict", "ok"]
    assert Subscription.objects.filter(is_trial=True).count() == 1


def test_checkout_does_not_show_unpublished_products(client, buyer_user):
    draft = ProductFactory(status="draft", name_zh="秘密草稿")
    plan = PlanFactory(product=draft)
    client.force_login(buyer_user)
    response = client.get(f"/buyer/checkout/?plan={plan.pk}&order_type=NEW")
    assert response.status_code == 404
    assert "秘密草稿" not in response.content.decode()


def test_far_future_dates_in_order_filters_are_a_form_error(client, buyer_user, seller_user):
    client.force_login(buyer_user)
    assert client.get("/buyer/orders/?date_to=9999-12-31").status_code == 200
    client.force_login(seller_user)
    assert client.get("/seller/orders/?date_from=0001-01-01").status_code == 200


def test_timeline_notes_are_shown_in_the_readers_language(buyer_user, plan):
    order = paid(buyer_user, plan)
    placed = order.events.first()
    with translation.override("en"):
        assert placed.text == "Order placed"
    with translation.override("zh-hans"):
        assert placed.text != "Order placed" and placed.text


def test_unpaid_orders_close_after_a_day(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk, now=timezone.now() - timedelta(days=2))
    assert services.orders_close_unpaid() == 1
    assert Order.objects.get(pk=order.pk).status == "closed"
