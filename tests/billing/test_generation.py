"""Statement generation: one per seller, trade mode and month, set-based, idempotent, scheduled."""

import json
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import translation

from billing import tasks
from billing.models import BillingSettings, FeeTier, LedgerEntry, SettlementPeriod, Statement, StatementEvent
from billing.services import (
    ledger_settle_line,
    statements_generate,
    statements_generate_due,
    usage_record,
)
from billing.services import statements as statements_module
from marketplace.core import calendar
from marketplace.core.errors import Conflict, ValidationFailed
from marketplace.orders import services as orders

from .builders import adjust, bj, buy, ledger, product_plan, state

pytestmark = pytest.mark.django_db

MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)


def generate(period: str, *extra) -> dict:
    out = StringIO()
    call_command("generate_statements", "--period", period, *extra, stdout=out)
    return json.loads(out.getvalue())


def totals(statement: Statement) -> tuple:
    return (
        statement.line_count,
        statement.gross,
        statement.fee,
        statement.net,
        statement.extra_share_rate,
        statement.extra_share,
        statement.carried_in,
        statement.net_payable,
        statement.status,
    )


def sums(seller, mode, period) -> tuple:
    entries = LedgerEntry.objects.filter(seller=seller, trade_mode=mode, period=period)
    return (
        entries.count(),
        sum((e.gross for e in entries), Decimal("0")),
        sum((e.fee for e in entries), Decimal("0")),
        sum((e.net for e in entries), Decimal("0")),
    )


def statement(seller, mode, period) -> Statement:
    return Statement.objects.get(seller=seller, trade_mode=mode, period=period)


def rows() -> list[tuple]:
    return list(
        Statement.objects.order_by("pk").values_list(
            "pk",
            "seller",
            "trade_mode",
            "period",
            "status",
            "line_count",
            "gross",
            "fee",
            "net",
            "extra_share",
            "carried_in",
            "net_payable",
            "carried_into",
            "generated_at",
        )
    )


# --- the command and the totals -----------------------------------------------------------------


def test_the_command_generates_one_statement_per_seller_mode_and_month(buyer_user, seller, other_seller, ops_user):
    _p, general = product_plan(seller, price="1000.00")
    _p, joint = product_plan(seller, price="3000.00", trade_mode="joint", ops_fee_rate=Decimal("0.2000"))
    _p, others = product_plan(other_seller, price="2500.00")
    buy(buyer_user, general, now=bj(2026, 3, 2, 10))
    buy(buyer_user, general, now=bj(2026, 3, 31, 23, 59))
    buy(buyer_user, joint, now=bj(2026, 3, 15, 10))
    buy(buyer_user, others, now=bj(2026, 3, 15, 10))
    adjust(ops_user, seller, "joint", "-100.00", bj(2026, 3, 20))
    buy(buyer_user, general, now=bj(2026, 4, 1, 0, 0))  # April: not in March's statements

    with time_machine.travel(bj(2026, 4, 3, 0, 0, 5), tick=False):
        result = generate("2026-03")

    assert result == {"period": "2026-03", "created": 3, "existing": 0, "lines": 5}
    assert Statement.objects.count() == 3
    mine = statement(seller, "general", MARCH)
    assert totals(mine) == (
        2,
        Decimal("2000.00"),
        Decimal("100.00"),
        Decimal("1900.00"),
        Decimal("0"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("1900.00"),
        "generated",
    )
    assert sums(seller, "general", MARCH) == (2, mine.gross, mine.fee, mine.net)
    joint_statement = statement(seller, "joint", MARCH)
    assert totals(joint_statement)[:4] == (2, Decimal("2900.00"), Decimal("600.00"), Decimal("2300.00"))
    assert sums(seller, "joint", MARCH) == totals(joint_statement)[:4]
    assert totals(statement(other_seller, "general", MARCH))[:4] == (
        1,
        Decimal("2500.00"),
        Decimal("125.00"),
        Decimal("2375.00"),
    )
    assert (mine.generated_at, mine.review_due) == (bj(2026, 4, 3, 0, 0, 5), date(2026, 4, 9))  # 6 April: Qingming
    assert SettlementPeriod.objects.get(period=MARCH).closed_at == bj(2026, 4, 3, 0, 0, 5)
    assert not SettlementPeriod.objects.filter(period=APRIL, closed_at__isnull=False).exists()


def test_general_statements_get_the_extra_share_of_the_fee_tier(buyer_user, seller, other_seller):
    _p, big = product_plan(seller, price="1500000.00")
    _p, just_below = product_plan(other_seller, price="1499999.99")
    _p, joint = product_plan(seller, price="2000000.00", trade_mode="joint", ops_fee_rate=Decimal("0.1000"))
    buy(buyer_user, big, now=bj(2026, 3, 10))
    buy(buyer_user, just_below, now=bj(2026, 3, 10))
    buy(buyer_user, joint, now=bj(2026, 3, 10))

    statements_generate(period=MARCH, now=bj(2026, 4, 3))

    assert totals(statement(seller, "general", MARCH)) == (
        1,
        Decimal("1500000.00"),
        Decimal("75000.00"),
        Decimal("1425000.00"),
        Decimal("0.0200"),
        Decimal("30000.00"),
        Decimal("0.00"),
        Decimal("1455000.00"),
        "generated",
    )
    below = statement(other_seller, "general", MARCH)
    assert (below.extra_share_rate, below.extra_share, below.net_payable) == (
        Decimal("0"),
        Decimal("0.00"),
        Decimal("1424999.99"),
    )
    joint_statement = statement(seller, "joint", MARCH)
    assert (joint_statement.extra_share_rate, joint_statement.extra_share, joint_statement.net_payable) == (
        Decimal("0"),
        Decimal("0.00"),
        Decimal("1800000.00"),
    )


def test_a_tier_set_effective_from_a_later_date_does_not_apply_to_earlier_months(buyer_user, seller):
    FeeTier.objects.create(effective_from=APRIL, threshold=Decimal("100000.00"), extra_share=Decimal("0.0300"))
    _p, plan = product_plan(seller, price="200000.00")
    buy(buyer_user, plan, now=bj(2026, 3, 10))
    buy(buyer_user, plan, now=bj(2026, 4, 10))

    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    statements_generate(period=APRIL, now=bj(2026, 5, 6))

    march, april = statement(seller, "general", MARCH), statement(seller, "general", APRIL)
    assert (march.extra_share_rate, march.extra_share, march.net_payable) == (
        Decimal("0"),
        Decimal("0.00"),
        Decimal("190000.00"),
    )
    assert (april.extra_share_rate, april.extra_share, april.net_payable) == (
        Decimal("0.0300"),
        Decimal("6000.00"),
        Decimal("196000.00"),
    )


# --- carry-over ---------------------------------------------------------------------------------


def test_a_statement_below_the_minimum_carries_over_until_the_chain_reaches_it(buyer_user, seller):
    _p, small = product_plan(seller, price="400.00")
    _p, smaller = product_plan(seller, price="300.00")
    _p, medium = product_plan(seller, price="600.00")
    buy(buyer_user, small, now=bj(2026, 3, 10))
    buy(buyer_user, smaller, now=bj(2026, 4, 10))
    buy(buyer_user, medium, now=bj(2026, 5, 10))

    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    statements_generate(period=APRIL, now=bj(2026, 5, 6))
    statements_generate(period=MAY, now=bj(2026, 6, 3))

    march, april, may = (statement(seller, "general", p) for p in (MARCH, APRIL, MAY))
    assert (march.status, march.net, march.carried_in, march.net_payable, march.carried_into) == (
        "carried_over",
        Decimal("380.00"),
        Decimal("0.00"),
        Decimal("380.00"),
        april,
    )
    assert (april.status, april.net, april.carried_in, april.net_payable, april.carried_into) == (
        "carried_over",
        Decimal("285.00"),
        Decimal("380.00"),
        Decimal("665.00"),
        may,
    )
    assert (may.status, may.net, may.carried_in, may.net_payable, may.carried_into) == (
        "generated",
        Decimal("570.00"),
        Decimal("665.00"),
        Decimal("1235.00"),
        None,
    )
    assert list(may.carried_from.all()) == [april]


def test_a_statement_of_exactly_the_minimum_is_paid_out(ops_user, seller):
    adjust(ops_user, seller, "joint", "1000.00", bj(2026, 3, 10))
    adjust(ops_user, seller, "general", "999.99", bj(2026, 3, 10))

    statements_generate(period=MARCH, now=bj(2026, 4, 3))

    assert statement(seller, "joint", MARCH).status == "generated"
    assert statement(seller, "general", MARCH).status == "carried_over"


def test_a_seller_with_only_a_carry_over_gets_a_statement(buyer_user, seller):
    _p, plan = product_plan(seller, price="400.00")
    buy(buyer_user, plan, now=bj(2026, 3, 10))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))

    result = statements_generate(period=APRIL, now=bj(2026, 5, 6))

    assert result == {"period": "2026-04", "created": 1, "existing": 0, "lines": 0}
    april = statement(seller, "general", APRIL)
    assert totals(april) == (
        0,
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0"),
        Decimal("0.00"),
        Decimal("380.00"),
        Decimal("380.00"),
        "carried_over",
    )
    assert statement(seller, "general", MARCH).carried_into == april


# --- idempotence, crashes, dry runs -------------------------------------------------------------


def test_generating_twice_changes_nothing_the_second_time(buyer_user, seller, other_seller):
    _p, plan = product_plan(seller, price="1200.00")
    _p, small = product_plan(other_seller, price="100.00")
    buy(buyer_user, plan, now=bj(2026, 3, 10))
    buy(buyer_user, small, now=bj(2026, 3, 11))
    buy(buyer_user, small, now=bj(2026, 4, 11))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))

    with time_machine.travel(bj(2026, 5, 6, 0, 0), tick=False):
        first = generate("2026-04")
        after_first = rows()
    with time_machine.travel(bj(2026, 5, 6, 1, 0), tick=False):
        second = generate("2026-04")

    assert first == {"period": "2026-04", "created": 1, "existing": 0, "lines": 1}
    assert second == {"period": "2026-04", "created": 0, "existing": 1, "lines": 1}
    assert rows() == after_first
    assert Statement.objects.filter(period=APRIL).count() == 1
    assert statement(other_seller, "general", MARCH).carried_into == statement(other_seller, "general", APRIL)
    # Generation's line of the timeline is the statement's generated_at (kept above); no event rows.
    assert StatementEvent.objects.count() == 0
    assert SettlementPeriod.objects.get(period=APRIL).closed_at == bj(2026, 5, 6, 0, 0)


def test_a_crash_halfway_leaves_nothing_and_a_rerun_is_right(buyer_user, seller, monkeypatch):
    _p, small = product_plan(seller, price="400.00")
    _p, big = product_plan(seller, price="2000.00")
    buy(buyer_user, small, now=bj(2026, 3, 10))
    buy(buyer_user, big, now=bj(2026, 4, 10))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    before = state()

    # The statements are inserted, then linking the carried-over ones fails.
    monkeypatch.setattr(statements_module, "LINK_CARRIED_SQL", "UPDATE no_such_table SET x = 1")
    with pytest.raises(DatabaseError):
        statements_generate(period=APRIL, now=bj(2026, 5, 6))

    assert state() == before
    assert not Statement.objects.filter(period=APRIL).exists()
    monkeypatch.undo()

    result = statements_generate(period=APRIL, now=bj(2026, 5, 6, 1))

    assert result == {"period": "2026-04", "created": 1, "existing": 0, "lines": 1}
    april = statement(seller, "general", APRIL)
    assert (april.carried_in, april.net, april.net_payable, april.status) == (
        Decimal("380.00"),
        Decimal("1900.00"),
        Decimal("2280.00"),
        "generated",
    )
    assert statement(seller, "general", MARCH).carried_into == april
    assert april.generated_at == bj(2026, 5, 6, 1)
    assert SettlementPeriod.objects.get(period=APRIL).closed_at == bj(2026, 5, 6, 1)


def test_a_dry_run_counts_and_writes_nothing(buyer_user, seller):
    _p, plan = product_plan(seller, price="1200.00")
    buy(buyer_user, plan, now=bj(2026, 3, 10))
    buy(buyer_user, plan, now=bj(2026, 3, 11))
    before = state()

    with time_machine.travel(bj(2026, 4, 3, 8), tick=False):
        result = generate("2026-03", "--dry-run")

    assert result == {"period": "2026-03", "created": 1, "existing": 0, "lines": 2}
    assert state() == before
    assert Statement.objects.count() == 0
    assert not SettlementPeriod.objects.filter(closed_at__isnull=False).exists()


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-04", "2026-05", "2027-01"])
def test_the_current_or_a_future_month_is_refused(ops_user, seller, period):
    adjust(ops_user, seller, "general", "5000.00", bj(2026, 4, 2))
    before = state()

    with time_machine.travel(bj(2026, 4, 30, 23, 59), tick=False), pytest.raises(CommandError):
        generate(period)
    with pytest.raises(ValidationFailed):
        statements_generate(period=date(int(period[:4]), int(period[5:]), 1), now=bj(2026, 4, 30, 23, 59))

    assert state() == before


@pytest.mark.parametrize("text", ["2026", "March", "2026-13", ""])
def test_a_malformed_period_is_refused(text):
    with pytest.raises(CommandError):
        generate(text)
    assert Statement.objects.count() == 0


def test_a_month_is_refused_while_an_earlier_month_with_entries_is_not_generated(ops_user, seller):
    adjust(ops_user, seller, "general", "5000.00", bj(2026, 3, 10))
    adjust(ops_user, seller, "general", "6000.00", bj(2026, 4, 10))
    before = state()

    with pytest.raises(Conflict) as exc, translation.override("en"):
        statements_generate(period=APRIL, now=bj(2026, 5, 6))

    assert str(exc.value) == "Generate 2026-03 first."
    assert state() == before
    statements_generate(period=MARCH, now=bj(2026, 5, 6))
    statements_generate(period=APRIL, now=bj(2026, 5, 6))
    assert [(s.period, s.net_payable) for s in Statement.objects.order_by("period")] == [
        (MARCH, Decimal("5000.00")),
        (APRIL, Decimal("6000.00")),
    ]


def test_nothing_is_posted_into_a_generated_month(buyer_user, seller, ops_user):
    """A posting computed just before the month closed (its clock still in March) lands in April."""
    _p, supervised = product_plan(seller, price="1000.00", delivery_kind="license")
    _p, per_use = product_plan(
        seller, price="1.00", plan_fields={"charging_mode": "ON_DEMAND", "period_type": "", "usage_unit": "call"}
    )
    line = buy(buyer_user, supervised, now=bj(2026, 3, 10))
    signup = buy(buyer_user, per_use, now=bj(2026, 3, 10))
    adjust(ops_user, seller, "general", "2000.00", bj(2026, 3, 11))
    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    march = rows()
    late = bj(2026, 3, 31, 23, 59)

    orders.supervision_accept(actor=buyer_user, line_id=line.pk, now=late)
    usage_record(subscription=signup.subscription, quantity=100, reference="u1", consumed_at=late, now=late)
    adjust(ops_user, seller, "general", "-10.00", late, reason="Late correction")

    assert list(LedgerEntry.objects.filter(period=MARCH).values_list("kind", flat=True)) == ["adjustment"]
    assert list(LedgerEntry.objects.filter(period=APRIL).order_by("id").values_list("kind", "occurred_at")) == [
        ("order", late),
        ("usage", late),
        ("adjustment", late),
    ]
    assert rows() == march
    assert ledger_settle_line(line_id=line.pk, now=late) is None


def test_the_ledger_is_append_only_on_postgresql(ops_user, seller):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    entry = adjust(ops_user, seller, "general", "100.00", bj(2026, 3, 10))
    before = ledger()

    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_ledgerentry SET gross = 0, fee = 0, net = 0")

    assert ledger() == before
    assert LedgerEntry.objects.get(pk=entry.pk).reason == "Opening balance"


# --- the beat schedule --------------------------------------------------------------------------


def test_the_schedule_generates_last_month_on_the_3rd_at_midnight_beijing(ops_user, seller):
    adjust(ops_user, seller, "general", "5000.00", bj(2026, 3, 10))

    assert statements_generate_due(now=bj(2026, 4, 2, 23, 59, 59)) is None
    assert Statement.objects.count() == 0

    result = statements_generate_due(now=bj(2026, 4, 3, 0, 0))

    assert result == {"period": "2026-03", "created": 1, "existing": 0, "lines": 1}
    assert statement(seller, "general", MARCH).generated_at == bj(2026, 4, 3, 0, 0)
    after = state()
    assert statements_generate_due(now=bj(2026, 4, 3, 1, 0)) is None
    assert statements_generate_due(now=bj(2026, 4, 20, 0, 0)) is None
    assert state() == after


def test_the_beat_task_generates_on_the_3rd(ops_user, seller):
    adjust(ops_user, seller, "general", "5000.00", bj(2026, 3, 10))

    with time_machine.travel(bj(2026, 4, 2, 0, 0), tick=False):
        tasks.generate_due_statements.delay()
    assert Statement.objects.count() == 0
    with time_machine.travel(bj(2026, 4, 3, 0, 0), tick=False):
        tasks.generate_due_statements.delay()

    assert statement(seller, "general", MARCH).generated_at == bj(2026, 4, 3, 0, 0)


def test_when_the_3rd_is_a_public_holiday_generation_waits_for_the_next_working_day(ops_user, seller):
    adjust(ops_user, seller, "joint", "5000.00", bj(2026, 9, 10))
    assert calendar.is_holiday(date(2026, 10, 3))  # National Day
    day = calendar.next_working_day(date(2026, 10, 3))
    assert day > date(2026, 10, 3)
    eve = calendar.start_of_day(day - timedelta(days=1))

    assert statements_generate_due(now=bj(2026, 10, 3, 0, 0)) is None
    assert statements_generate_due(now=eve + timedelta(hours=23, minutes=59)) is None
    assert Statement.objects.count() == 0

    result = statements_generate_due(now=calendar.start_of_day(day))

    assert result == {"period": "2026-09", "created": 1, "existing": 0, "lines": 1}
    assert statement(seller, "joint", date(2026, 9, 1)).generated_at == calendar.start_of_day(day)
    after = state()
    assert statements_generate_due(now=calendar.start_of_day(day) + timedelta(hours=5)) is None
    assert state() == after


def test_the_generation_day_is_a_setting(ops_user, seller):
    BillingSettings.objects.update_or_create(defaults={"generation_day": 7})
    adjust(ops_user, seller, "general", "5000.00", bj(2026, 6, 10))

    assert statements_generate_due(now=bj(2026, 7, 3, 0, 0)) is None
    assert statements_generate_due(now=bj(2026, 7, 6, 23, 0)) is None
    assert statements_generate_due(now=bj(2026, 7, 7, 0, 0))["created"] == 1
    assert Statement.objects.get().period == date(2026, 6, 1)
