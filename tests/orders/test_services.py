"""Order services: every order type, payments and credit, cancellation, scheduled jobs, supervision."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import Group
from django.utils import timezone

from marketplace.accounts.models import BuyerMembership, SellerMembership, User
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders import selectors, services, tasks
from marketplace.orders.models import (
    CreditAccount,
    CreditTransaction,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Subscription,
)
from tests.factories import BuyerFactory, EnterpriseFactory, PlanFactory, ProductFactory, UserFactory, bj

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")


def state() -> dict:
    """Every row an order action may write; a refused action leaves all of them as they were."""
    return {
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "amount", "paid_at", "closed_at")),
        "lines": list(
            OrderLine.objects.order_by("pk").values_list(
                "pk", "subscription", "validity_start", "validity_end", "supervision", "supervision_completed_at"
            )
        ),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "status", "repaid_at")),
        "subscriptions": list(
            Subscription.objects.order_by("pk").values_list(
                "pk", "status", "plan", "is_trial", "starts_at", "expires_at"
            )
        ),
        "credit": list(
            CreditAccount.objects.order_by("pk").values_list("pk", "coupon_balance", "credit_limit", "credit_used")
        ),
        "credit_transactions": CreditTransaction.objects.count(),
        "events": OrderEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def staff(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)


def buy(user, plan, *, periods=1, now=None) -> tuple[Order, Subscription]:
    """A NEW order, paid online."""
    order = services.order_create(actor=user, plan_id=plan.pk, period_count=periods, now=now)
    if order.status == Order.Status.PENDING_PAYMENT:
        services.order_pay(actor=user, order_id=order.pk, method="online", now=now)
    order.refresh_from_db()
    return order, order.lines.get().subscription


def product_with_plan(seller, *, plan_fields=None, **product_fields):
    product = ProductFactory(seller=seller, status="published", **product_fields)
    return product, PlanFactory(product=product, **(plan_fields or {}))


# --- NEW -------------------------------------------------------------------------------------------


def test_a_periodic_order_costs_price_times_periods_and_runs_for_those_months(buyer_user, seller):
    _product, plan = product_with_plan(seller, plan_fields={"price": Decimal("99.90")})
    placed = bj(2026, 3, 1, 9, 30)

    order = services.order_create(actor=buyer_user, plan_id=plan.pk, period_count=3, now=placed)

    assert (order.status, order.amount, order.order_type, order.currency) == (
        "pending_payment",
        Decimal("299.70"),
        "NEW",
        "CNY",
    )
    line = order.lines.get()
    assert (line.charging_mode, line.period_type, line.period_count, line.unit_price, line.amount) == (
        "PERIOD",
        "month",
        3,
        Decimal("99.90"),
        Decimal("299.70"),
    )
    assert (line.subscription, line.validity_start, line.validity_end) == (None, None, None)

    paid_at = bj(2026, 3, 1, 10, 0)
    services.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=paid_at)

    line.refresh_from_db()
    assert (line.validity_start, line.validity_end) == (paid_at, bj(2026, 6, 1, 10, 0))
    sub = line.subscription
    assert (sub.status, sub.is_trial, sub.starts_at, sub.expires_at, sub.plan, sub.buyer) == (
        "active",
        False,
        paid_at,
        bj(2026, 6, 1, 10, 0),
        plan,
        buyer_user.buyer_membership.buyer,
    )


@pytest.mark.parametrize(
    ("paid_at", "expires_at"),
    [
        # 05:00 on 31 January in Beijing is 30 January in UTC: a month later is 28 February in Beijing.
        (bj(2026, 1, 31, 5), bj(2026, 2, 28, 5)),
        (bj(2026, 3, 31, 7), bj(2026, 4, 30, 7)),
        (bj(2026, 2, 1, 0, 30), bj(2026, 3, 1, 0, 30)),
    ],
)
def test_months_are_counted_in_beijing_time(buyer_user, plan, paid_at, expires_at):
    _order, sub = buy(buyer_user, plan, now=paid_at)

    assert sub.expires_at == expires_at


def test_a_yearly_order_runs_for_whole_years(buyer_user, seller):
    _product, plan = product_with_plan(
        seller, plan_fields={"period_type": "year", "price": Decimal("1000.00"), "sku_code": "y"}
    )

    order, sub = buy(buyer_user, plan, periods=2, now=bj(2026, 5, 20, 12))

    assert order.amount == Decimal("2000.00")
    assert sub.expires_at == bj(2028, 5, 20, 12)


@pytest.mark.parametrize(("period_type", "periods"), [("month", 0), ("month", 37), ("year", 6), ("month", "x")])
def test_a_period_count_out_of_range_is_refused(buyer_user, seller, period_type, periods):
    _product, plan = product_with_plan(seller, plan_fields={"period_type": period_type})
    before = state()

    with pytest.raises(ValidationFailed) as exc:
        services.order_create(actor=buyer_user, plan_id=plan.pk, period_count=periods)

    assert set(exc.value.field_errors) == {"period_count"}
    assert state() == before


def test_a_one_time_order_costs_the_price_once_and_never_expires(buyer_user, seller):
    _product, plan = product_with_plan(
        seller, plan_fields={"charging_mode": "ONE_TIME", "period_type": "", "price": Decimal("5000.00")}
    )

    order, sub = buy(buyer_user, plan, periods=7)

    assert order.amount == Decimal("5000.00")
    line = order.lines.get()
    assert (line.period_count, line.validity_end, sub.expires_at) == (1, None, None)
    assert line.validity_start == order.paid_at


def test_a_pay_per_use_order_is_free_and_paid_at_once(buyer_user, seller):
    _product, plan = product_with_plan(
        seller,
        plan_fields={"charging_mode": "ON_DEMAND", "period_type": "", "price": Decimal("0.05"), "usage_unit": "call"},
    )
    now = timezone.now()

    order = services.order_create(actor=buyer_user, plan_id=plan.pk, period_count=12, now=now)

    assert (order.status, order.amount, order.payment_method, order.paid_at) == ("paid", Decimal("0.00"), "free", now)
    payment = order.payments.get()
    assert (payment.method, payment.amount, payment.status) == ("free", Decimal("0.00"), "succeeded")
    line = order.lines.get()
    assert (line.unit_price, line.amount, line.period_count, line.validity_end) == (
        Decimal("0.05"),
        Decimal("0.00"),
        1,
        None,
    )
    assert line.subscription.status == "active"
    assert list(order.events.values_list("from_status", "to_status")) == [
        ("", "pending_payment"),
        ("pending_payment", "paid"),
    ]


def test_a_product_not_on_sale_cannot_be_bought(buyer_user, seller):
    _product, plan = product_with_plan(seller)
    plan.product.status = "delisted"
    plan.product.save()
    before = state()

    with pytest.raises(Conflict):
        services.order_create(actor=buyer_user, plan_id=plan.pk)

    assert state() == before


def test_a_plan_off_sale_cannot_be_bought(buyer_user, seller):
    _product, plan = product_with_plan(seller, plan_fields={"is_active": False})
    before = state()

    with pytest.raises(Conflict):
        services.order_create(actor=buyer_user, plan_id=plan.pk)

    assert state() == before


@pytest.mark.parametrize("plan_id", ["abc", 0, -3, 99999999999999999999, None, 424242])
def test_an_unknown_plan_is_not_found(buyer_user, plan_id):
    with pytest.raises(NotFound):
        services.order_create(actor=buyer_user, plan_id=plan_id)

    assert Order.objects.count() == 0


@pytest.mark.parametrize("order_type", ["UNSUBSCRIBE", "GIFT", ""])
def test_an_order_type_that_cannot_be_placed_is_refused(buyer_user, plan, order_type):
    with pytest.raises(ValidationFailed) as exc:
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type=order_type)

    assert set(exc.value.field_errors) == {"order_type"}
    assert Order.objects.count() == 0


def test_a_seller_user_cannot_buy_its_own_sellers_product(seller, plan):
    colleague = UserFactory()
    SellerMembership.objects.create(seller=seller, user=colleague, role="developer")
    BuyerMembership.objects.create(buyer=BuyerFactory(), user=colleague, role="admin")
    colleague = User.objects.get(pk=colleague.pk)
    before = state()

    with pytest.raises(NotAllowed):
        services.order_create(actor=colleague, plan_id=plan.pk)

    assert state() == before


def test_a_seller_user_with_a_buyer_account_can_buy_from_other_sellers(other_seller, plan):
    user = UserFactory()
    SellerMembership.objects.create(seller=other_seller, user=user, role="admin")
    BuyerMembership.objects.create(buyer=BuyerFactory(), user=user, role="admin")

    order = services.order_create(actor=User.objects.get(pk=user.pk), plan_id=plan.pk)

    assert order.seller == plan.product.seller


def test_a_seller_user_without_a_buyer_account_cannot_order(seller_user, plan):
    with pytest.raises(NotAllowed):
        services.order_create(actor=seller_user, plan_id=plan.pk)

    assert Order.objects.count() == 0


# --- TRIAL and TRIAL_TO_FORMAL -------------------------------------------------------------------------------


@pytest.fixture
def trial_plan(seller):
    product = ProductFactory(seller=seller, status="published", delivery_kind="license")
    return PlanFactory(product=product, trial_days=14, price=Decimal("300.00"))


def test_a_trial_is_free_starts_at_once_and_is_not_supervised(buyer_user, trial_plan):
    now = timezone.now()

    order = services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL", now=now)

    assert (order.status, order.amount, order.payment_method) == ("paid", Decimal("0.00"), "free")
    line = order.lines.get()
    assert (line.validity_start, line.validity_end, line.supervision) == (now, now + timedelta(days=14), "not_required")
    assert (line.subscription.is_trial, line.subscription.expires_at) == (True, now + timedelta(days=14))


def test_a_buyer_tries_a_product_only_once(buyer_user, trial_plan):
    services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL")
    other_plan = PlanFactory(product=trial_plan.product, trial_days=7, sku_code="other")
    before = state()

    for plan in (trial_plan, other_plan):
        with pytest.raises(Conflict):
            services.order_create(actor=buyer_user, plan_id=plan.pk, order_type="TRIAL")

    assert state() == before


def test_another_buyer_can_still_try_the_product(buyer_user, other_buyer_user, trial_plan):
    services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL")

    order = services.order_create(actor=other_buyer_user, plan_id=trial_plan.pk, order_type="TRIAL")

    assert order.status == "paid"


def test_a_plan_without_a_trial_cannot_be_tried(buyer_user, plan):
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type="TRIAL")

    assert state() == before


def test_converting_a_trial_makes_the_same_service_a_paid_one(buyer_user, trial_plan):
    trial = services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL", now=bj(2026, 4, 1, 8))
    sub = trial.lines.get().subscription
    yearly = PlanFactory(product=trial_plan.product, sku_code="year", period_type="year", price=Decimal("3000.00"))

    order = services.order_create(
        actor=buyer_user, plan_id=yearly.pk, order_type="TRIAL_TO_FORMAL", subscription_id=sub.pk, period_count=2
    )
    assert order.amount == Decimal("6000.00")
    services.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=bj(2026, 4, 5, 8))

    sub.refresh_from_db()
    assert (sub.is_trial, sub.plan, sub.starts_at, sub.expires_at, sub.status) == (
        False,
        yearly,
        bj(2026, 4, 5, 8),
        bj(2028, 4, 5, 8),
        "active",
    )
    assert Subscription.objects.count() == 1
    assert order.lines.get().supervision == "in_progress"  # a paid License line


def test_only_a_trial_can_be_converted(buyer_user, plan):
    _order, sub = buy(buyer_user, plan)
    before = state()

    with pytest.raises(Conflict):
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type="TRIAL_TO_FORMAL", subscription_id=sub.pk)

    assert state() == before


def test_a_trial_cannot_be_converted_to_pay_per_use(buyer_user, trial_plan):
    sub = services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL").lines.get().subscription
    on_demand = PlanFactory(
        product=trial_plan.product, sku_code="od", charging_mode="ON_DEMAND", period_type="", price=Decimal("1")
    )
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(
            actor=buyer_user, plan_id=on_demand.pk, order_type="TRIAL_TO_FORMAL", subscription_id=sub.pk
        )

    assert state() == before


def test_a_trial_cannot_be_converted_twice(buyer_user, trial_plan):
    sub = services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL").lines.get().subscription
    first = services.order_create(
        actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL_TO_FORMAL", subscription_id=sub.pk
    )
    second = services.order_create(
        actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL_TO_FORMAL", subscription_id=sub.pk
    )
    services.order_pay(actor=buyer_user, order_id=first.pk, method="online")
    before = state()

    with pytest.raises(Conflict):
        services.order_pay(actor=buyer_user, order_id=second.pk, method="online")

    assert state() == before


@pytest.mark.parametrize("order_type", ["TRIAL_TO_FORMAL", "RENEW", "CHANGE"])
def test_orders_on_a_service_need_one_of_my_services(buyer_user, other_buyer_user, plan, order_type):
    _order, theirs = buy(other_buyer_user, plan)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type=order_type)
    with pytest.raises(NotFound):
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type=order_type, subscription_id=theirs.pk)
    with pytest.raises(NotFound):
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type=order_type, subscription_id="abc")

    assert state() == before


@pytest.mark.parametrize("order_type", ["TRIAL_TO_FORMAL", "RENEW", "CHANGE"])
def test_orders_on_a_service_need_a_plan_of_its_product(buyer_user, seller, plan, order_type):
    _order, sub = buy(buyer_user, plan)
    _other_product, other_plan = product_with_plan(seller, plan_fields={"price": Decimal("500.00")})
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(actor=buyer_user, plan_id=other_plan.pk, order_type=order_type, subscription_id=sub.pk)

    assert state() == before


# --- RENEW ---------------------------------------------------------------------------------------------------


def test_a_renewal_starts_at_the_current_expiry_and_extends_the_service(buyer_user, plan):
    _order, sub = buy(buyer_user, plan)
    expiry = sub.expires_at

    order = services.order_create(
        actor=buyer_user, plan_id=plan.pk, order_type="RENEW", subscription_id=sub.pk, period_count=2
    )
    assert order.amount == Decimal("200.00")
    services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    line = order.lines.get()
    assert (line.validity_start, line.validity_end) == (expiry, expiry + relativedelta(months=2))
    assert line.not_yet_effective is True
    assert not line.is_effective()
    sub.refresh_from_db()
    assert sub.expires_at == line.validity_end


def test_renewal_dates_in_beijing_months(buyer_user, plan):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 1, 10, 12))
    assert sub.expires_at == bj(2026, 2, 10, 12)

    order = services.order_create(
        actor=buyer_user,
        plan_id=plan.pk,
        order_type="RENEW",
        subscription_id=sub.pk,
        period_count=3,
        now=bj(2026, 1, 20),
    )
    services.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=bj(2026, 1, 20))

    line = order.lines.get()
    assert (line.validity_start, line.validity_end) == (bj(2026, 2, 10, 12), bj(2026, 5, 10, 12))
    with time_machine.travel(bj(2026, 1, 21)):
        assert line.not_yet_effective is True
    with time_machine.travel(bj(2026, 2, 10, 12)):
        assert line.not_yet_effective is False
    sub.refresh_from_db()
    assert sub.expires_at == bj(2026, 5, 10, 12)


def test_renewing_an_expired_service_starts_now_and_reactivates_it(buyer_user, plan):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 1, 10, 12))
    assert services.subscriptions_expire(now=bj(2026, 3, 1)) == 1

    order = services.order_create(
        actor=buyer_user, plan_id=plan.pk, order_type="RENEW", subscription_id=sub.pk, now=bj(2026, 3, 5)
    )
    services.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=bj(2026, 3, 5))

    sub.refresh_from_db()
    assert (sub.status, sub.expires_at) == ("active", bj(2026, 4, 5))
    assert order.lines.get().validity_start == bj(2026, 3, 5)


def test_a_trial_cannot_be_renewed(buyer_user, trial_plan):
    sub = services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL").lines.get().subscription
    before = state()

    with pytest.raises(Conflict):
        services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="RENEW", subscription_id=sub.pk)

    assert state() == before


def test_a_renewal_is_on_the_current_periodic_plan_only(buyer_user, plan):
    _order, sub = buy(buyer_user, plan)
    bigger = PlanFactory(product=plan.product, sku_code="big", price=Decimal("300.00"))
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(actor=buyer_user, plan_id=bigger.pk, order_type="RENEW", subscription_id=sub.pk)

    assert state() == before


def test_a_one_time_service_cannot_be_renewed(buyer_user, seller):
    _product, plan = product_with_plan(seller, plan_fields={"charging_mode": "ONE_TIME", "period_type": ""})
    _order, sub = buy(buyer_user, plan)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(actor=buyer_user, plan_id=plan.pk, order_type="RENEW", subscription_id=sub.pk)

    assert state() == before


# --- CHANGE (upgrade) ------------------------------------------------------------------------------------------


@pytest.fixture
def premium(plan):
    return PlanFactory(product=plan.product, sku_code="premium", price=Decimal("200.00"))


def test_an_upgrade_costs_the_price_difference_for_the_time_left(buyer_user, plan, premium):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 3, 1))
    assert sub.expires_at == bj(2026, 4, 1)

    order = services.order_create(
        actor=buyer_user, plan_id=premium.pk, order_type="CHANGE", subscription_id=sub.pk, now=bj(2026, 3, 11)
    )

    # 21 days left of the term; the month from 11 March has 31 days: 100 * 21/31 = 67.74
    assert order.amount == Decimal("67.74")
    assert order.lines.get().period_count == 1

    services.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=bj(2026, 3, 11))

    sub.refresh_from_db()
    assert (sub.plan, sub.expires_at) == (premium, bj(2026, 4, 1))
    line = order.lines.get()
    assert (line.validity_start, line.validity_end) == (bj(2026, 3, 11), bj(2026, 4, 1))


@pytest.mark.parametrize(
    "target_fields",
    [
        {"price": Decimal("100.00")},
        {"price": Decimal("50.00")},
        {"price": Decimal("2000.00"), "period_type": "year"},
        {"price": Decimal("2000.00"), "charging_mode": "ONE_TIME", "period_type": ""},
    ],
)
def test_an_upgrade_needs_a_higher_priced_plan_with_the_same_period(buyer_user, plan, target_fields):
    _order, sub = buy(buyer_user, plan)
    target = PlanFactory(product=plan.product, sku_code="target", **target_fields)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_create(actor=buyer_user, plan_id=target.pk, order_type="CHANGE", subscription_id=sub.pk)

    assert state() == before


def test_a_trial_or_an_expired_service_cannot_be_upgraded(buyer_user, plan, premium, trial_plan):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 1, 10))
    trial = services.order_create(actor=buyer_user, plan_id=trial_plan.pk, order_type="TRIAL").lines.get().subscription
    trial_premium = PlanFactory(product=trial_plan.product, sku_code="tp", price=Decimal("900.00"))
    before = state()

    with pytest.raises(Conflict):
        services.order_create(
            actor=buyer_user, plan_id=premium.pk, order_type="CHANGE", subscription_id=sub.pk, now=bj(2026, 2, 10)
        )
    with pytest.raises(Conflict):
        services.order_create(actor=buyer_user, plan_id=trial_premium.pk, order_type="CHANGE", subscription_id=trial.pk)

    assert state() == before


def test_an_upgrade_order_left_unpaid_until_the_service_expired_cannot_be_paid(buyer_user, plan, premium):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 1, 10))
    order = services.order_create(
        actor=buyer_user, plan_id=premium.pk, order_type="CHANGE", subscription_id=sub.pk, now=bj(2026, 2, 9)
    )
    before = state()

    with pytest.raises(Conflict):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=bj(2026, 2, 10, 1))

    assert state() == before


def test_a_second_upgrade_placed_before_the_first_was_paid_cannot_be_paid(buyer_user, plan, premium):
    _order, sub = buy(buyer_user, plan)
    top = PlanFactory(product=plan.product, sku_code="top", price=Decimal("400.00"))
    to_premium = services.order_create(
        actor=buyer_user, plan_id=premium.pk, order_type="CHANGE", subscription_id=sub.pk
    )
    to_top = services.order_create(actor=buyer_user, plan_id=top.pk, order_type="CHANGE", subscription_id=sub.pk)
    services.order_pay(actor=buyer_user, order_id=to_premium.pk, method="online")
    before = state()

    # Its price was worked out from the plan the service had before the first upgrade.
    with pytest.raises(Conflict):
        services.order_pay(actor=buyer_user, order_id=to_top.pk, method="online")

    assert state() == before


# --- payments ----------------------------------------------------------------------------------------------------


def test_an_online_payment_records_the_gateway_reference_and_tells_both_sides(
    buyer_user, seller_user, plan, django_capture_on_commit_callbacks, mailoutbox
):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.amount, payment.status) == ("online", Decimal("100.00"), "succeeded")
    assert payment.reference.startswith("SBX")
    assert sorted(Notification.objects.values_list("user", flat=True)) == sorted([buyer_user.pk, seller_user.pk])
    assert [m.to for m in mailoutbox] == [[buyer_user.email]]
    assert order.number in mailoutbox[0].body


def test_a_declined_payment_is_recorded_and_the_order_stays_payable(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)

    with pytest.raises(services.PaymentFailed) as exc:
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online", sandbox_outcome="fail")

    assert exc.value.status == 402
    order.refresh_from_db()
    assert (order.status, order.paid_at, order.payment_method) == ("pending_payment", None, "")
    failed = Payment.objects.get(order=order)
    assert (failed.status, failed.method, failed.failure_reason) == ("failed", "online", "card declined (sandbox)")
    assert Subscription.objects.count() == 0
    assert order.events.last().from_status == order.events.last().to_status == "pending_payment"
    assert Notification.objects.count() == 0

    services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    order.refresh_from_db()
    assert order.status == "paid"
    assert sorted(Payment.objects.filter(order=order).values_list("status", flat=True)) == ["failed", "succeeded"]


def test_the_gateway_switch_declines_every_payment(buyer_user, plan, settings):
    settings.MARKETPLACE = {**settings.MARKETPLACE, "SANDBOX_GATEWAY_FAIL_ALL": True}
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)

    with pytest.raises(services.PaymentFailed):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    assert Order.objects.get(pk=order.pk).status == "pending_payment"
    assert Payment.objects.get(order=order).status == "failed"


@pytest.mark.parametrize("method", ["free", "cash", ""])
def test_an_unknown_or_unavailable_method_is_refused(buyer_user, plan, method):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    before = state()

    with pytest.raises(ValidationFailed) as exc:
        services.order_pay(actor=buyer_user, order_id=order.pk, method=method)

    assert set(exc.value.field_errors) == {"method"}
    assert state() == before


@pytest.fixture
def finance():
    return staff("finance")


@pytest.fixture
def joint(seller):
    """A joint-operation product with both credit switches on."""
    _product, plan = product_with_plan(
        seller,
        trade_mode="joint",
        ops_fee_rate=Decimal("0.2"),
        credit_coupon_enabled=True,
        credit_line_enabled=True,
        plan_fields={"price": Decimal("300.00")},
    )
    return plan


def buyer_id(user) -> int:
    return user.buyer_membership.buyer_id


def test_the_checkout_offers_credit_methods_only_where_switched_on(seller, buyer_user, joint):
    general_with_flags = product_with_plan(seller, credit_coupon_enabled=True, credit_line_enabled=True)[1]
    platform_coupon_only = product_with_plan(seller, trade_mode="platform", credit_coupon_enabled=True)[1]

    def methods(plan):
        return services.available_payment_methods(services.order_create(actor=buyer_user, plan_id=plan.pk))

    assert methods(joint) == ["online", "coupon", "credit_line"]
    assert methods(platform_coupon_only) == ["online", "coupon"]
    assert methods(general_with_flags) == ["online"]  # the trade mode does not allow credit control


def test_paying_with_the_coupon_balance(buyer_user, joint, finance):
    services.credit_grant_coupon(actor=finance, buyer_id=buyer_id(buyer_user), amount="500", reason="Launch promo")
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)

    services.order_pay(actor=buyer_user, order_id=order.pk, method="coupon")

    order.refresh_from_db()
    assert (order.status, order.payment_method) == ("paid", "coupon")
    account = CreditAccount.objects.get(buyer_id=buyer_id(buyer_user))
    assert account.coupon_balance == Decimal("200.00")
    spend = CreditTransaction.objects.get(kind="coupon_spend")
    assert (spend.amount, spend.balance_after, spend.order, spend.actor) == (
        Decimal("300.00"),
        Decimal("200.00"),
        order,
        buyer_user,
    )
    assert order.lines.get().payment_method == "coupon"


def test_paying_on_the_credit_line(buyer_user, joint, finance):
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="1000", reason="Key account")
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)

    services.order_pay(actor=buyer_user, order_id=order.pk, method="credit_line")

    account = CreditAccount.objects.get(buyer_id=buyer_id(buyer_user))
    assert (account.credit_used, account.credit_available) == (Decimal("300.00"), Decimal("700.00"))
    assert Payment.objects.get(order=order).method == "credit_line"


@pytest.mark.parametrize("method", ["coupon", "credit_line"])
def test_credit_methods_are_refused_where_the_switch_is_off(seller, buyer_user, finance, method):
    _product, plan = product_with_plan(seller, trade_mode="joint", ops_fee_rate=Decimal("0.1"))
    services.credit_grant_coupon(actor=finance, buyer_id=buyer_id(buyer_user), amount="500", reason="Promo")
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="500", reason="Key account")
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_pay(actor=buyer_user, order_id=order.pk, method=method)

    assert state() == before


@pytest.mark.parametrize("method", ["coupon", "credit_line"])
def test_credit_methods_are_refused_for_a_general_product_even_with_the_switch_on(seller, buyer_user, finance, method):
    _product, plan = product_with_plan(seller, credit_coupon_enabled=True, credit_line_enabled=True)
    services.credit_grant_coupon(actor=finance, buyer_id=buyer_id(buyer_user), amount="500", reason="Promo")
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="500", reason="Key account")
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_pay(actor=buyer_user, order_id=order.pk, method=method)

    assert state() == before


def test_an_insufficient_coupon_balance_is_refused_and_changes_nothing(buyer_user, joint, finance):
    services.credit_grant_coupon(actor=finance, buyer_id=buyer_id(buyer_user), amount="299.99", reason="Promo")
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="coupon")

    assert state() == before


def test_insufficient_available_credit_is_refused_and_changes_nothing(buyer_user, joint, finance):
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="500", reason="Key account")
    first = services.order_create(actor=buyer_user, plan_id=joint.pk)
    services.order_pay(actor=buyer_user, order_id=first.pk, method="credit_line")
    second = services.order_create(actor=buyer_user, plan_id=joint.pk)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_pay(actor=buyer_user, order_id=second.pk, method="credit_line")

    assert state() == before


@pytest.mark.parametrize("method", ["coupon", "credit_line"])
def test_a_buyer_without_credit_cannot_pay_with_it(buyer_user, joint, method):
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)
    before = state()

    with pytest.raises(ValidationFailed):
        services.order_pay(actor=buyer_user, order_id=order.pk, method=method)

    assert state() == before


def test_operations_record_a_credit_repayment(buyer_user, joint, finance):
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="1000", reason="Key account")
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)
    services.order_pay(actor=buyer_user, order_id=order.pk, method="credit_line")
    payment = Payment.objects.get(order=order)
    now = timezone.now()

    services.credit_record_repayment(actor=finance, payment_id=payment.pk, now=now)

    payment.refresh_from_db()
    assert payment.repaid_at == now
    account = CreditAccount.objects.get(buyer_id=buyer_id(buyer_user))
    assert account.credit_used == Decimal("0.00")
    repay = CreditTransaction.objects.get(kind="credit_repay")
    assert (repay.amount, repay.balance_after, repay.order, repay.actor) == (
        Decimal("300.00"),
        Decimal("0.00"),
        order,
        finance,
    )
    assert order.events.last().actor == finance


def test_a_repayment_is_recorded_once_and_only_for_credit_line_payments(buyer_user, joint, plan, finance):
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="1000", reason="Key account")
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)
    services.order_pay(actor=buyer_user, order_id=order.pk, method="credit_line")
    credit_payment = Payment.objects.get(order=order)
    services.credit_record_repayment(actor=finance, payment_id=credit_payment.pk)
    online_order, _sub = buy(buyer_user, plan)
    online_payment = Payment.objects.get(order=online_order)
    before = state()

    for payment in (credit_payment, online_payment):
        with pytest.raises(Conflict):
            services.credit_record_repayment(actor=finance, payment_id=payment.pk)

    assert state() == before


@pytest.mark.parametrize("group", ["support", "operations"])
def test_staff_without_the_repayment_permission_cannot_record_one(buyer_user, joint, finance, group):
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="1000", reason="Key account")
    order = services.order_create(actor=buyer_user, plan_id=joint.pk)
    services.order_pay(actor=buyer_user, order_id=order.pk, method="credit_line")
    other_staff = staff(group)
    before = state()

    with pytest.raises(NotAllowed):
        services.credit_record_repayment(actor=other_staff, payment_id=Payment.objects.get(order=order).pk)
    with pytest.raises(NotAllowed):
        services.credit_grant_coupon(actor=other_staff, buyer_id=buyer_id(buyer_user), amount="10", reason="x")

    assert state() == before


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "NaN", "Infinity", None])
def test_a_coupon_grant_needs_a_positive_amount(buyer_user, finance, amount):
    with pytest.raises(ValidationFailed):
        services.credit_grant_coupon(actor=finance, buyer_id=buyer_id(buyer_user), amount=amount, reason="Promo")

    assert CreditAccount.objects.count() == 0
    assert CreditTransaction.objects.count() == 0


def test_a_credit_limit_cannot_go_below_what_is_used(buyer_user, joint, finance):
    services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="1000", reason="Key account")
    services.order_pay(
        actor=buyer_user, order_id=services.order_create(actor=buyer_user, plan_id=joint.pk).pk, method="credit_line"
    )
    before = state()

    with pytest.raises(Conflict):
        services.credit_set_limit(actor=finance, buyer_id=buyer_id(buyer_user), limit="299.99", reason="Cut")

    assert state() == before


# --- cancel ------------------------------------------------------------------------------------------------------


def test_a_pending_order_is_cancelled_by_the_buyer(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    now = timezone.now()

    services.order_cancel(actor=buyer_user, order_id=order.pk, now=now)

    order.refresh_from_db()
    assert (order.status, order.closed_at) == ("cancelled", now)
    assert order.events.last().to_status == "cancelled"


def test_a_paid_or_cancelled_order_cannot_be_cancelled(buyer_user, plan):
    paid, _sub = buy(buyer_user, plan)
    cancelled = services.order_create(actor=buyer_user, plan_id=plan.pk)
    services.order_cancel(actor=buyer_user, order_id=cancelled.pk)
    before = state()

    for order in (paid, cancelled):
        with pytest.raises(InvalidTransition):
            services.order_cancel(actor=buyer_user, order_id=order.pk)

    assert state() == before


def test_a_cancelled_order_cannot_be_paid(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    services.order_cancel(actor=buyer_user, order_id=order.pk)
    before = state()

    with pytest.raises(InvalidTransition):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    assert state() == before


def test_another_buyer_cannot_cancel_my_order(buyer_user, other_buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    before = state()

    with pytest.raises(NotFound):
        services.order_cancel(actor=other_buyer_user, order_id=order.pk)

    assert state() == before


# --- scheduled jobs ----------------------------------------------------------------------------------------------


def test_unpaid_orders_are_closed_after_the_time_limit(buyer_user, plan):
    placed = bj(2026, 3, 1, 10)
    order = services.order_create(actor=buyer_user, plan_id=plan.pk, now=placed)
    paid, _sub = buy(buyer_user, plan, now=placed)

    assert services.orders_close_unpaid(now=placed + timedelta(hours=24)) == 0
    assert Order.objects.get(pk=order.pk).status == "pending_payment"

    closing = placed + timedelta(hours=24, seconds=1)
    assert services.orders_close_unpaid(now=closing) == 1
    assert services.orders_close_unpaid(now=closing) == 0  # idempotent

    order.refresh_from_db()
    assert (order.status, order.closed_at) == ("closed", closing)
    event = order.events.last()
    assert (event.actor, event.from_status, event.to_status) == (None, "pending_payment", "closed")
    assert Order.objects.get(pk=paid.pk).status == "paid"


def test_the_close_unpaid_task_uses_the_clock(buyer_user, plan, settings):
    settings.MARKETPLACE = {**settings.MARKETPLACE, "UNPAID_ORDER_TTL_MINUTES": 30}
    with time_machine.travel(bj(2026, 3, 1, 10), tick=False):
        order = services.order_create(actor=buyer_user, plan_id=plan.pk)

    with time_machine.travel(bj(2026, 3, 1, 10, 31), tick=False):
        assert tasks.close_unpaid_orders() == 1

    assert Order.objects.get(pk=order.pk).status == "closed"


def test_a_closed_order_cannot_be_paid(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk, now=bj(2026, 3, 1))
    services.orders_close_unpaid(now=bj(2026, 3, 5))
    before = state()

    with pytest.raises(InvalidTransition):
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online")

    assert state() == before


def test_services_past_their_validity_expire(buyer_user, plan, seller):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 1, 10, 12))
    _p, one_time = product_with_plan(seller, plan_fields={"charging_mode": "ONE_TIME", "period_type": ""})
    _order, forever = buy(buyer_user, one_time, now=bj(2026, 1, 10, 12))

    assert services.subscriptions_expire(now=bj(2026, 2, 10, 11, 59)) == 0
    assert services.subscriptions_expire(now=bj(2026, 2, 10, 12)) == 1
    assert services.subscriptions_expire(now=bj(2026, 2, 10, 12)) == 0

    assert Subscription.objects.get(pk=sub.pk).status == "expired"
    assert Subscription.objects.get(pk=forever.pk).status == "active"


def test_the_expiry_task_uses_the_clock(buyer_user, plan):
    _order, sub = buy(buyer_user, plan, now=bj(2026, 1, 10, 12))

    with time_machine.travel(bj(2026, 2, 11), tick=False):
        assert tasks.expire_subscriptions() == 1

    assert Subscription.objects.get(pk=sub.pk).status == "expired"


# --- supervision ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "supervised", "expected"),
    [
        ("license", False, "in_progress"),
        ("manual", False, "in_progress"),
        ("saas", True, "in_progress"),
        ("saas", False, "not_required"),
        ("api", True, "not_required"),
    ],
)
def test_paid_lines_of_supervised_products_enter_supervision(buyer_user, seller, kind, supervised, expected):
    _product, plan = product_with_plan(seller, delivery_kind=kind, supervised=supervised)

    order, _sub = buy(buyer_user, plan)

    line = order.lines.get()
    assert line.supervision == expected
    assert line.in_guarantee_period is (expected == "in_progress")


@pytest.fixture
def supervised_line(buyer_user, seller):
    _product, plan = product_with_plan(seller, delivery_kind="license")
    order, _sub = buy(buyer_user, plan)
    return order.lines.get()


def test_the_buyer_accepts_delivery_and_the_seller_is_told(buyer_user, seller_user, supervised_line):
    now = timezone.now()
    notices = Notification.objects.count()

    services.supervision_accept(actor=buyer_user, line_id=supervised_line.pk, now=now)

    supervised_line.refresh_from_db()
    assert (supervised_line.supervision, supervised_line.supervision_completed_at) == ("completed", now)
    assert supervised_line.in_guarantee_period is False
    assert supervised_line.order.events.last().actor == buyer_user
    assert Notification.objects.count() == notices + 1
    assert Notification.objects.first().user == seller_user


def test_operations_close_supervision_with_a_reason(supervised_line):
    operator = staff("operations")

    with time_machine.travel(timezone.now(), tick=False):
        services.supervision_close(actor=operator, line_id=supervised_line.pk, reason=" Buyer unreachable ")

    supervised_line.refresh_from_db()
    assert supervised_line.supervision == "closed"
    assert supervised_line.supervision_completed_at is not None
    event = supervised_line.order.events.last()
    assert event.actor == operator
    assert "Buyer unreachable" in event.message


@pytest.mark.parametrize("reason", ["", "   "])
def test_closing_supervision_needs_a_reason(supervised_line, reason):
    operator = staff("operations")
    before = state()

    with pytest.raises(ValidationFailed):
        services.supervision_close(actor=operator, line_id=supervised_line.pk, reason=reason)

    assert state() == before


@pytest.mark.parametrize("group", ["finance", "support"])
def test_staff_without_the_permission_cannot_close_supervision(supervised_line, group):
    other = staff(group)
    before = state()

    with pytest.raises(NotAllowed):
        services.supervision_close(actor=other, line_id=supervised_line.pk, reason="x")

    assert state() == before


def test_supervision_that_is_not_in_progress_cannot_end_again(buyer_user, plan, supervised_line):
    services.supervision_accept(actor=buyer_user, line_id=supervised_line.pk)
    unsupervised, _sub = buy(buyer_user, plan)
    operator = staff("operations")
    before = state()

    for line in (supervised_line, unsupervised.lines.get()):
        with pytest.raises(Conflict):
            services.supervision_accept(actor=buyer_user, line_id=line.pk)
        with pytest.raises(Conflict):
            services.supervision_close(actor=operator, line_id=line.pk, reason="late")

    assert state() == before


def test_another_buyer_or_a_seller_cannot_accept_delivery(other_buyer_user, seller_user, supervised_line):
    before = state()

    with pytest.raises(NotFound):
        services.supervision_accept(actor=other_buyer_user, line_id=supervised_line.pk)
    with pytest.raises(NotAllowed):
        services.supervision_accept(actor=seller_user, line_id=supervised_line.pk)

    assert state() == before


# --- enterprise tenants ------------------------------------------------------------------------------------------


@pytest.fixture
def tenant():
    enterprise = EnterpriseFactory()
    admin = enterprise.memberships.get().user
    alice, bob = UserFactory(), UserFactory()
    for user in (alice, bob):
        BuyerMembership.objects.create(buyer=enterprise, user=user, role="user")
    return admin, User.objects.get(pk=alice.pk), User.objects.get(pk=bob.pk)


def test_a_plain_tenant_user_sees_only_own_orders_and_the_admin_sees_all(tenant, plan):
    admin, alice, bob = tenant
    alices = services.order_create(actor=alice, plan_id=plan.pk)
    bobs = services.order_create(actor=bob, plan_id=plan.pk)
    admins = services.order_create(actor=admin, plan_id=plan.pk)

    assert list(selectors.buyer_orders(user=alice)) == [alices]
    assert list(selectors.buyer_orders(user=bob)) == [bobs]
    assert set(selectors.buyer_orders(user=admin)) == {alices, bobs, admins}
    assert selectors.buyer_order_detail(user=alice, order_id=bobs.pk) is None
    assert selectors.buyer_order_detail(user=admin, order_id=bobs.pk) == bobs


def test_a_plain_tenant_user_cannot_pay_or_cancel_a_colleagues_order(tenant, plan):
    _admin, alice, bob = tenant
    bobs = services.order_create(actor=bob, plan_id=plan.pk)
    before = state()

    with pytest.raises(NotFound):
        services.order_pay(actor=alice, order_id=bobs.pk, method="online")
    with pytest.raises(NotFound):
        services.order_cancel(actor=alice, order_id=bobs.pk)

    assert state() == before


def test_the_tenant_admin_can_pay_a_users_order(tenant, plan):
    admin, alice, _bob = tenant
    order = services.order_create(actor=alice, plan_id=plan.pk)

    services.order_pay(actor=admin, order_id=order.pk, method="online")

    order.refresh_from_db()
    assert (order.status, order.placed_by) == ("paid", alice)


def test_a_plain_tenant_user_cannot_accept_delivery_of_a_colleagues_order(tenant, seller):
    admin, alice, bob = tenant
    _product, plan = product_with_plan(seller, delivery_kind="manual")
    order, _sub = buy(bob, plan)
    line = order.lines.get()
    before = state()

    with pytest.raises(NotFound):
        services.supervision_accept(actor=alice, line_id=line.pk)

    assert state() == before

    services.supervision_accept(actor=admin, line_id=line.pk)
    assert OrderLine.objects.get(pk=line.pk).supervision == "completed"
