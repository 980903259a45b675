"""What falls in which month (DOMAIN.md section 5): one test per attribution rule of the ledger."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import LedgerEntry, Statement
from billing.services import (
    ledger_settle_due,
    ledger_settle_line,
    ledger_settle_lines,
    statements_generate,
    usage_record,
)
from marketplace.orders import services as orders
from marketplace.orders.models import OrderLine, Payment
from refunds.services import refund_record

from .builders import bj, buy, ledger, product_plan, staff

pytestmark = pytest.mark.django_db

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def entry(line) -> LedgerEntry:
    return LedgerEntry.objects.get(order_line=line, kind="order")


# --- at payment ---------------------------------------------------------------------------------


def test_a_new_periodic_general_saas_order_is_posted_at_payment_with_a_five_percent_fee(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00")
    paid_at = bj(2026, 4, 1, 0, 30)  # still 31 March in UTC: the month is counted in Beijing time

    line = buy(buyer_user, plan, now=paid_at)

    e = entry(line)
    assert (e.seller, e.trade_mode, e.period, e.kind) == (seller, "general", APRIL, "order")
    assert (e.gross, e.fee_rate, e.fee, e.net, e.currency) == (
        Decimal("1000.00"),
        Decimal("0.0500"),
        Decimal("50.00"),
        Decimal("950.00"),
        "CNY",
    )
    assert (e.occurred_at, e.posted_at, e.source, e.actor, e.reason) == (paid_at, paid_at, f"line:{line.pk}", None, "")
    assert LedgerEntry.objects.count() == 1


def test_the_fee_is_rounded_half_up_to_the_cent(buyer_user, seller):
    _product, plan = product_plan(seller, price="100.10")  # 5% is 5.005

    line = buy(buyer_user, plan, now=bj(2026, 3, 2, 10))

    assert (entry(line).fee, entry(line).net) == (Decimal("5.01"), Decimal("95.09"))


def test_a_joint_product_uses_the_fee_rate_of_the_order_not_the_products_later_rate(buyer_user, seller):
    product, plan = product_plan(seller, trade_mode="joint", ops_fee_rate=Decimal("0.1200"))
    order = orders.order_create(actor=buyer_user, plan_id=plan.pk, now=bj(2026, 3, 5, 9))
    product.ops_fee_rate = Decimal("0.3000")  # operations change the rate after the order was placed
    product.save(update_fields=["ops_fee_rate"])

    orders.order_pay(actor=buyer_user, order_id=order.pk, method="online", now=bj(2026, 3, 5, 10))
    later = buy(buyer_user, plan, now=bj(2026, 3, 6, 10))

    first = entry(order.lines.get())
    assert (first.trade_mode, first.fee_rate, first.fee, first.net) == (
        "joint",
        Decimal("0.1200"),
        Decimal("120.00"),
        Decimal("880.00"),
    )
    assert (entry(later).fee_rate, entry(later).fee, entry(later).net) == (
        Decimal("0.3000"),
        Decimal("300.00"),
        Decimal("700.00"),
    )


def test_an_api_product_is_posted_at_payment(buyer_user, seller):
    _product, plan = product_plan(
        seller, delivery_kind="api", price="300.00", plan_fields={"charging_mode": "ONE_TIME", "period_type": ""}
    )
    paid_at = bj(2026, 3, 31, 23, 59)

    line = buy(buyer_user, plan, now=paid_at)

    e = entry(line)
    assert (e.period, e.occurred_at, e.gross, e.fee, e.net) == (
        MARCH,
        paid_at,
        Decimal("300.00"),
        Decimal("15.00"),
        Decimal("285.00"),
    )


# --- renewals -----------------------------------------------------------------------------------


def test_a_renewal_paid_early_is_posted_when_it_takes_effect(buyer_user, seller):
    _product, plan = product_plan(seller, price="200.00")
    first = buy(buyer_user, plan, now=bj(2026, 3, 10, 10))
    renewal = buy(buyer_user, plan, now=bj(2026, 3, 20, 15), order_type="RENEW", subscription_id=first.subscription_id)
    assert renewal.validity_start == bj(2026, 4, 10, 10)
    assert LedgerEntry.objects.filter(order_line=renewal).count() == 0  # paid, not yet effective

    assert ledger_settle_due(now=bj(2026, 4, 10, 9, 59)) == 0
    assert LedgerEntry.objects.filter(order_line=renewal).count() == 0

    assert ledger_settle_due(now=bj(2026, 4, 10, 10, 5)) == 1

    e = entry(renewal)
    assert (e.period, e.occurred_at, e.posted_at, e.gross, e.fee, e.net) == (
        APRIL,
        bj(2026, 4, 10, 10),
        bj(2026, 4, 10, 10, 5),
        Decimal("200.00"),
        Decimal("10.00"),
        Decimal("190.00"),
    )
    assert ledger_settle_due(now=bj(2026, 4, 10, 10, 15)) == 0
    assert LedgerEntry.objects.count() == 2


# --- pay-per-use --------------------------------------------------------------------------------


def test_pay_per_use_is_posted_at_consumption_and_a_repeated_report_once(buyer_user, seller):
    _product, plan = product_plan(
        seller,
        price="0.05",
        plan_fields={"charging_mode": "ON_DEMAND", "period_type": "", "usage_unit": "call"},
    )
    line = buy(buyer_user, plan, now=bj(2026, 3, 1, 9))
    assert ledger() == []  # the sign-up is free

    record = usage_record(
        subscription=line.subscription,
        quantity="1000",
        reference="batch-1",
        consumed_at=bj(2026, 3, 15, 23),
        now=bj(2026, 3, 16, 1),
    )
    again = usage_record(
        subscription=line.subscription,
        quantity="9999",
        reference="batch-1",
        consumed_at=bj(2026, 3, 15, 23),
        now=bj(2026, 3, 16, 2),
    )

    assert again.pk == record.pk
    assert record.amount == Decimal("50.00")
    e = LedgerEntry.objects.get()
    assert (e.kind, e.order_line, e.period, e.occurred_at, e.source) == (
        "usage",
        line,
        MARCH,
        bj(2026, 3, 15, 23),
        f"usage:{record.pk}",
    )
    assert (e.gross, e.fee_rate, e.fee, e.net) == (
        Decimal("50.00"),
        Decimal("0.0500"),
        Decimal("2.50"),
        Decimal("47.50"),
    )


# --- supervision --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "product_fields",
    [
        {"delivery_kind": "license"},
        {"delivery_kind": "manual"},
        {"delivery_kind": "saas", "supervised": True},
    ],
    ids=["license", "manual_service", "supervised_saas"],
)
def test_a_supervised_line_is_posted_when_the_buyer_accepts_delivery(buyer_user, seller, product_fields):
    _product, plan = product_plan(seller, price="2000.00", **product_fields)
    line = buy(buyer_user, plan, now=bj(2026, 3, 20, 10))
    assert line.supervision == "in_progress"
    assert ledger_settle_due(now=bj(2026, 4, 1, 10)) == 0
    assert ledger() == []

    orders.supervision_accept(actor=buyer_user, line_id=line.pk, now=bj(2026, 4, 2, 16))

    e = entry(line)
    assert (e.period, e.occurred_at, e.gross, e.fee, e.net) == (
        APRIL,
        bj(2026, 4, 2, 16),
        Decimal("2000.00"),
        Decimal("100.00"),
        Decimal("1900.00"),
    )


def test_a_supervised_line_closed_by_operations_is_posted_at_closing(buyer_user, seller):
    _product, plan = product_plan(seller, price="2000.00", delivery_kind="license")
    line = buy(buyer_user, plan, now=bj(2026, 3, 20, 10))

    orders.supervision_close(
        actor=staff("operations"), line_id=line.pk, reason="Buyer did not answer", now=bj(2026, 5, 6, 11)
    )

    e = entry(line)
    assert (e.period, e.occurred_at, e.net) == (date(2026, 5, 1), bj(2026, 5, 6, 11), Decimal("1900.00"))


# --- credit line --------------------------------------------------------------------------------


@pytest.mark.parametrize("trade_mode", ["joint", "platform"])
def test_a_credit_line_order_is_posted_only_once_the_buyer_repaid(buyer_user, seller, trade_mode):
    finance = staff("finance")
    orders.credit_set_limit(
        actor=finance, buyer_id=buyer_user.buyer_membership.buyer_id, limit="5000", reason="Key account"
    )
    _product, plan = product_plan(
        seller, trade_mode=trade_mode, credit_line_enabled=True, ops_fee_rate=Decimal("0.1000")
    )
    line = buy(buyer_user, plan, now=bj(2026, 3, 5, 10), method="credit_line")
    assert line.order.payment_method == "credit_line"
    assert ledger_settle_due(now=bj(2026, 4, 7, 10)) == 0
    assert ledger() == []

    payment = Payment.objects.get(order=line.order, status="succeeded")
    orders.credit_record_repayment(actor=finance, payment_id=payment.pk, now=bj(2026, 4, 8, 14))

    e = entry(line)
    assert (e.trade_mode, e.period, e.occurred_at, e.gross, e.fee_rate, e.fee, e.net) == (
        trade_mode,
        APRIL,
        bj(2026, 4, 8, 14),
        Decimal("1000.00"),
        Decimal("0.1000"),
        Decimal("100.00"),
        Decimal("900.00"),
    )
    assert ledger_settle_due(now=bj(2026, 4, 9)) == 0
    assert LedgerEntry.objects.count() == 1


# --- refunds ------------------------------------------------------------------------------------


def test_a_refund_of_a_settled_line_posts_a_negative_entry_at_refund_time(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00")
    line = buy(buyer_user, plan, now=bj(2026, 3, 5, 10))

    refund = refund_record(line_id=line.pk, amount="300.00", reason="Partial refund", now=bj(2026, 3, 20, 11))

    e = LedgerEntry.objects.get(kind="refund")
    assert (e.seller, e.trade_mode, e.order_line, e.period, e.occurred_at, e.source) == (
        seller,
        "general",
        line,
        MARCH,
        bj(2026, 3, 20, 11),
        f"refund:{refund.pk}",
    )
    assert (e.gross, e.fee_rate, e.fee, e.net) == (
        Decimal("-300.00"),
        Decimal("0.0500"),
        Decimal("-15.00"),
        Decimal("-285.00"),
    )


def test_a_line_refunded_in_pieces_nets_to_zero_to_the_cent(buyer_user, seller):
    _product, plan = product_plan(seller, price="100.10")  # fee 5.005 -> 5.01
    line = buy(buyer_user, plan, now=bj(2026, 3, 5, 10))

    refund_record(line_id=line.pk, amount="50.05", reason="First half", now=bj(2026, 3, 6, 10))
    refund_record(line_id=line.pk, amount="50.05", reason="Second half", now=bj(2026, 3, 7, 10))

    entries = list(LedgerEntry.objects.order_by("id").values_list("kind", "gross", "fee", "net"))
    assert entries == [
        ("order", Decimal("100.10"), Decimal("5.01"), Decimal("95.09")),
        ("refund", Decimal("-50.05"), Decimal("-2.51"), Decimal("-47.54")),
        ("refund", Decimal("-50.05"), Decimal("-2.50"), Decimal("-47.55")),
    ]
    assert [sum(column) for column in list(zip(*entries, strict=True))[1:]] == [Decimal("0.00")] * 3


def test_a_refund_next_month_joins_the_original_month_while_it_is_open(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00")
    line = buy(buyer_user, plan, now=bj(2026, 3, 30, 10))

    refund_record(line_id=line.pk, amount="1000.00", reason="Changed mind", now=bj(2026, 4, 2, 9))

    e = LedgerEntry.objects.get(kind="refund")
    assert (e.period, e.occurred_at, e.net) == (MARCH, bj(2026, 4, 2, 9), Decimal("-950.00"))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    statement = Statement.objects.get(seller=seller, period=MARCH)
    assert (statement.line_count, statement.gross, statement.fee, statement.net) == (
        2,
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert not LedgerEntry.objects.filter(period=APRIL).exists()


def test_a_refund_after_the_original_month_was_generated_goes_into_the_current_month(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00")
    line = buy(buyer_user, plan, now=bj(2026, 3, 30, 10))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))

    refund_record(line_id=line.pk, amount="1000.00", reason="Changed mind", now=bj(2026, 4, 10, 9))

    e = LedgerEntry.objects.get(kind="refund")
    assert (e.period, e.occurred_at, e.gross, e.net) == (
        APRIL,
        bj(2026, 4, 10, 9),
        Decimal("-1000.00"),
        Decimal("-950.00"),
    )
    march = Statement.objects.get(seller=seller, period=MARCH)
    assert (march.line_count, march.net) == (1, Decimal("950.00"))


def test_a_refund_before_settlement_reduces_what_is_posted(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00", delivery_kind="manual")
    line = buy(buyer_user, plan, now=bj(2026, 3, 5, 10))

    refund_record(line_id=line.pk, amount="400.00", reason="Scope reduced", now=bj(2026, 3, 10, 10))
    assert ledger() == []  # nothing was settled yet, so nothing to reverse
    orders.supervision_accept(actor=buyer_user, line_id=line.pk, now=bj(2026, 3, 12, 10))

    e = entry(line)
    assert (e.gross, e.fee, e.net) == (Decimal("600.00"), Decimal("30.00"), Decimal("570.00"))
    assert LedgerEntry.objects.count() == 1


def test_a_full_refund_before_settlement_posts_nothing(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00", delivery_kind="manual")
    line = buy(buyer_user, plan, now=bj(2026, 3, 5, 10))

    refund_record(line_id=line.pk, amount="1000.00", reason="Cancelled", now=bj(2026, 3, 10, 10))
    orders.supervision_accept(actor=buyer_user, line_id=line.pk, now=bj(2026, 3, 12, 10))

    assert ledger_settle_line(line_id=line.pk, now=bj(2026, 3, 13)) is None
    assert ledger_settle_due(now=bj(2026, 3, 13)) == 0
    assert ledger() == []


# --- nothing to settle, consistency, idempotence ------------------------------------------------


def test_free_and_trial_lines_post_nothing(buyer_user, seller):
    _product, trial_plan = product_plan(seller, price="500.00", plan_fields={"trial_days": 14})
    _product, per_use = product_plan(
        seller, price="0.10", plan_fields={"charging_mode": "ON_DEMAND", "period_type": "", "usage_unit": "call"}
    )

    trial = buy(buyer_user, trial_plan, now=bj(2026, 3, 5, 10), order_type="TRIAL")
    signup = buy(buyer_user, per_use, now=bj(2026, 3, 5, 11))

    assert (trial.order.status, trial.amount, signup.order.status, signup.amount) == (
        "paid",
        Decimal("0.00"),
        "paid",
        Decimal("0.00"),
    )
    assert ledger_settle_line(line_id=trial.pk, now=bj(2026, 3, 6)) is None
    assert ledger_settle_due(now=bj(2026, 3, 30)) == 0
    assert ledger() == []


def test_every_entry_nets_gross_minus_fee(buyer_user, seller):
    _p, general = product_plan(seller, price="333.33")
    _p, joint = product_plan(seller, price="777.77", trade_mode="joint", ops_fee_rate=Decimal("0.0833"))
    first = buy(buyer_user, general, now=bj(2026, 3, 5, 10))
    buy(buyer_user, joint, now=bj(2026, 3, 6, 10))
    refund_record(line_id=first.pk, amount="111.11", reason="Partial", now=bj(2026, 3, 7, 10))

    entries = list(LedgerEntry.objects.order_by("id").values_list("gross", "fee", "net"))

    assert entries == [
        (Decimal("333.33"), Decimal("16.67"), Decimal("316.66")),
        (Decimal("777.77"), Decimal("64.79"), Decimal("712.98")),
        (Decimal("-111.11"), Decimal("-5.56"), Decimal("-105.55")),
    ]
    assert all(net == gross - fee for gross, fee, net in entries)
    before = ledger()
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses anything else
        LedgerEntry.objects.create(
            seller=seller,
            trade_mode="general",
            period=MARCH,
            kind="order",
            gross=Decimal("10.00"),
            fee_rate=Decimal("0.0500"),
            fee=Decimal("0.50"),
            net=Decimal("9.00"),
            occurred_at=bj(2026, 3, 8),
            source="hand-made",
        )
    assert ledger() == before


def test_posting_a_line_twice_posts_it_once(buyer_user, seller):
    _product, plan = product_plan(seller, price="1000.00", delivery_kind="license")
    line = buy(buyer_user, plan, now=bj(2026, 3, 5, 10))
    orders.supervision_accept(actor=buyer_user, line_id=line.pk, now=bj(2026, 3, 6, 10))
    before = ledger()

    again = ledger_settle_line(line_id=line.pk, now=bj(2026, 3, 7, 10))
    once_more = ledger_settle_line(line_id=line.pk, now=bj(2026, 4, 7, 10))

    assert (again, once_more) == (None, None)
    assert ledger() == before
    assert len(before) == 1


def test_posting_many_lines_at_once_posts_what_posting_each_would(buyer_user, seller):
    _p, general = product_plan(seller, price="200.00")
    _p, joint = product_plan(seller, price="300.00", trade_mode="joint", ops_fee_rate=Decimal("0.1000"))
    renewals = []
    for plan in (general, joint, general):
        first = buy(buyer_user, plan, now=bj(2026, 3, 10, 10))
        renewals.append(
            buy(buyer_user, plan, now=bj(2026, 3, 20, 15), order_type="RENEW", subscription_id=first.subscription_id)
        )
    refund_record(line_id=renewals[2].pk, amount="50.00", reason="Partial", now=bj(2026, 3, 25, 10))
    ids = [line.pk for line in renewals]

    def loaded():
        return list(OrderLine.objects.select_related("order", "product").filter(pk__in=ids).order_by("pk"))

    at = bj(2026, 4, 10, 10, 5)
    with transaction.atomic():  # what posting each line would give, then undone
        for pk in ids:
            ledger_settle_line(line_id=pk, now=at)
        one_by_one = ledger()
        transaction.set_rollback(True)
    before = ledger()

    ledger_settle_lines(lines=loaded(), now=bj(2026, 4, 10, 9))  # not in effect yet: nothing
    assert ledger() == before
    ledger_settle_lines(lines=loaded(), now=at)
    assert sorted(ledger()) == sorted(one_by_one)
    assert [row[5] for row in ledger()[-3:]] == [Decimal("200.00"), Decimal("300.00"), Decimal("150.00")]
    after = ledger()
    ledger_settle_lines(lines=loaded(), now=bj(2026, 4, 11))  # again: posted once
    assert ledger() == after
