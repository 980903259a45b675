"""Property: whatever happens (orders, refunds, adjustments, fee tiers, month ends in between),
statement totals equal the sum of their lines, the lines are exactly the ledger, nothing is in two
statements and nothing is missing; carried-over money reappears once, in the next statement."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import FeeTier, LedgerEntry, Statement
from billing.services import ledger_adjust, period_of, statements_generate
from marketplace.core.calendar import BEIJING
from marketplace.core.money import quantize
from marketplace.orders import services as orders
from refunds.services import refund_record
from tests.factories import BuyerFactory, PlanFactory, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, tzinfo=BEIJING)
DAYS = 100  # a little over three months of activity

events = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.integers(0, DAYS),  # day of payment
            st.integers(0, 2),  # seller and product
            st.decimals(min_value=Decimal("1"), max_value=Decimal("2000000"), places=2),  # price
            st.lists(st.tuples(st.integers(0, 60), st.decimals(Decimal("0.01"), Decimal("1"), places=2)), max_size=2),
        ),
        st.tuples(
            st.just("adjust"),
            st.integers(0, DAYS),
            st.integers(0, 2),
            st.decimals(min_value=Decimal("-5000"), max_value=Decimal("5000"), places=2).filter(lambda d: d != 0),
            st.just([]),
        ),
    ),
    min_size=1,
    max_size=12,
)
tiers = st.lists(
    st.tuples(
        st.decimals(Decimal("0"), Decimal("3000000"), places=2), st.decimals(Decimal("0"), Decimal("0.05"), places=4)
    ),
    max_size=3,
    unique_by=lambda t: t[0],
)


def generation_time(period: date) -> datetime:
    return datetime(period.year, period.month, 3, tzinfo=BEIJING) + relativedelta(months=1)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(events=events, tier_table=tiers)
def test_statements_are_exactly_the_ledger(events, tier_table):
    with transaction.atomic():
        check(events, tier_table)
        transaction.set_rollback(True)  # every example starts from an empty database


def check(events, tier_table):
    FeeTier.objects.all().delete()
    for threshold, share in tier_table:
        FeeTier.objects.create(effective_from=date(2020, 1, 1), threshold=threshold, extra_share=share)
    ops = UserFactory(is_staff=True, is_superuser=True)
    sellers = [SellerFactory() for _ in range(2)]
    products = [
        ProductFactory(seller=sellers[0], trade_mode="general", status="published"),
        ProductFactory(seller=sellers[0], trade_mode="joint", status="published", ops_fee_rate=Decimal("0.2")),
        ProductFactory(seller=sellers[1], trade_mode="general", status="published"),
    ]
    buyer = BuyerFactory().memberships.get().user

    timeline = []  # (time, action)
    for kind, day, which, amount, refunds in events:
        at = START + timedelta(days=day, hours=10)
        if kind == "order":
            timeline.append(
                (at, ("order", which, amount, [(at + timedelta(days=d, hours=1), share) for d, share in refunds]))
            )
        else:
            timeline.append((at, ("adjust", which, amount, [])))
    for at, (kind, which, amount, refunds) in list(timeline):
        for when, share in refunds:
            timeline.append((when, ("refund", None, share, at)))
    timeline.sort(key=lambda item: item[0])

    generated: set[date] = set()
    lines_by_order_time = {}

    def month_ends_until(moment):
        period = period_of(START)
        while generation_time(period) <= moment:
            if period not in generated:
                statements_generate(period=period, now=generation_time(period))
                generated.add(period)
            period = period + relativedelta(months=1)

    for at, (kind, which, amount, extra) in timeline:
        month_ends_until(at)
        if kind == "order":
            product = products[which]
            plan = PlanFactory(product=product, price=amount, charging_mode="ONE_TIME", period_type="")
            order = orders.order_create(actor=buyer, plan_id=plan.pk, now=at)
            orders.order_pay(actor=buyer, order_id=order.pk, method="online", now=at)
            lines_by_order_time[at] = order.lines.get()
        elif kind == "adjust":
            product = products[which]
            ledger_adjust(
                actor=ops,
                seller_id=product.seller_id,
                trade_mode=product.trade_mode,
                amount=amount,
                reason="property",
                now=at,
            )
        else:  # a refund of a share of what is left
            line = lines_by_order_time[extra]
            left = line.amount - (line.refunds.aggregate(t=Sum("amount"))["t"] or 0)
            refund = quantize(left * amount)
            if refund > 0:
                refund_record(line_id=line.pk, amount=refund, reason="property", now=at)

    last = max(at for at, _ in timeline)
    month_ends_until(generation_time(period_of(last)))

    entries = LedgerEntry.objects.all()
    statements = list(Statement.objects.all())
    keys = [(s.seller_id, s.trade_mode, s.period) for s in statements]
    assert len(keys) == len(set(keys)), "two statements for one seller, mode and month"

    covered = 0
    for s in statements:
        mine = entries.filter(seller_id=s.seller_id, trade_mode=s.trade_mode, period=s.period)
        totals = mine.aggregate(g=Sum("gross"), f=Sum("fee"), n=Sum("net"))
        assert s.line_count == mine.count()
        assert s.gross == (totals["g"] or 0)
        assert s.fee == (totals["f"] or 0)
        assert s.net == (totals["n"] or 0)
        carried = sum((c.net_payable for c in s.carried_from.all()), Decimal("0"))
        assert s.carried_in == carried
        assert s.net_payable == s.net + s.extra_share + s.carried_in
        reached = [(threshold, share) for threshold, share in tier_table if threshold <= s.gross]
        expected_rate = max(reached)[1] if reached else Decimal("0")  # the highest threshold reached
        if s.trade_mode != "general" or not tier_table:
            expected_rate = Decimal("0")
        assert s.extra_share_rate == expected_rate
        assert s.extra_share == quantize(s.gross * expected_rate)
        assert (s.status == "carried_over") == (s.net_payable < 1000)
        covered += s.line_count
    assert covered == entries.count(), "an entry is in no statement"

    # Money is conserved: what the ledger and the tiers give, the open end of each chain holds.
    ledger_net = entries.aggregate(n=Sum("net"))["n"] or Decimal("0")
    extra = sum((s.extra_share for s in statements), Decimal("0"))
    chain_ends = sum((s.net_payable for s in statements if s.carried_into_id is None), Decimal("0"))
    assert chain_ends == ledger_net + extra
    for entry in entries:
        assert entry.net == entry.gross - entry.fee
