"""Builders shared by the settlement tests: Beijing times, products, paid orders, statements."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group

from billing.models import (
    Countersignature,
    Dispute,
    ExportJob,
    LedgerEntry,
    SettlementPeriod,
    Statement,
    StatementEvent,
)
from billing.services import ledger_adjust, statements_generate
from invoicing.models import SellerInvoice
from marketplace.accounts.models import User
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders import services as orders
from marketplace.orders.models import OrderLine
from tests.factories import PlanFactory, ProductFactory, UserFactory

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args) -> datetime:
    return datetime(*args, tzinfo=BJ)


def staff(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)  # a fresh object: no cached permissions


def product_plan(seller, *, price="1000.00", plan_fields=None, **product_fields):
    """A published product (general SaaS unless told) with one plan (monthly unless told)."""
    product = ProductFactory(seller=seller, status="published", **product_fields)
    plan = PlanFactory(product=product, price=Decimal(price), **(plan_fields or {}))
    return product, plan


def buy(user, plan, *, now, method="online", order_type="NEW", subscription_id=None, periods=1) -> OrderLine:
    """Place and pay an order; return its (only) line."""
    order = orders.order_create(
        actor=user,
        plan_id=plan.pk,
        order_type=order_type,
        subscription_id=subscription_id,
        period_count=periods,
        now=now,
    )
    if order.status == "pending_payment":
        orders.order_pay(actor=user, order_id=order.pk, method=method, now=now)
    return OrderLine.objects.select_related("order", "subscription").get(order=order)


def ledger() -> list[tuple]:
    """Every ledger entry, in posting order: what the seller is paid from."""
    return list(
        LedgerEntry.objects.order_by("id").values_list(
            "seller_id",
            "trade_mode",
            "period",
            "kind",
            "order_line_id",
            "gross",
            "fee_rate",
            "fee",
            "net",
            "occurred_at",
        )
    )


def adjust(actor, seller, mode: str, amount: str, at: datetime, reason: str = "Opening balance") -> LedgerEntry:
    return ledger_adjust(actor=actor, seller_id=seller.pk, trade_mode=mode, amount=amount, reason=reason, now=at)


def make_statements(actor, seller, amounts: dict[str, str], *, month=(2026, 3)) -> dict[str, Statement]:
    """Statements of one month (one adjustment per trade mode on the 10th), generated at 00:00 on the
    3rd of the next month."""
    year, number = month
    for mode, amount in amounts.items():
        adjust(actor, seller, mode, amount, bj(year, number, 10, 10))
    period = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 3)
    statements_generate(period=period, now=bj(following.year, following.month, 3))
    return {s.trade_mode: s for s in Statement.objects.filter(seller=seller, period=period)}


def make_statement(actor, seller, mode: str = "joint", amount: str = "5000.00", *, month=(2026, 3)) -> Statement:
    return make_statements(actor, seller, {mode: amount}, month=month)[mode]


def state() -> dict:
    """Every row a settlement action may write; a refused action leaves all of them as they were."""
    return {
        "statements": list(
            Statement.objects.order_by("pk").values_list(
                "pk",
                "status",
                "net_payable",
                "sent_at",
                "confirmed_at",
                "invoice_due",
                "invoice_reminded_at",
                "paid_at",
                "payout_reference",
                "carried_into",
            )
        ),
        "events": list(StatementEvent.objects.order_by("pk").values_list("pk", "from_status", "to_status", "note")),
        "ledger": ledger(),
        "periods": list(SettlementPeriod.objects.order_by("period").values_list("period", "closed_at")),
        "disputes": list(Dispute.objects.order_by("pk").values_list("pk", "status", "answer", "adjustment")),
        "countersignatures": list(Countersignature.objects.order_by("pk").values_list("statement", "approver")),
        "invoices": list(SellerInvoice.objects.order_by("pk").values_list("pk", "status", "rejection_reason")),
        "exports": list(ExportJob.objects.order_by("pk").values_list("pk", "status", "file_path")),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }
