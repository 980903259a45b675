"""Posting to the settlement ledger (DOMAIN.md section 5, "what falls in which month").

An order line is posted once, when it becomes settleable:
- License, manual service and supervised SaaS lines when supervision completes (accepted or closed);
- renewals when they take effect (their validity starts);
- every other paid line (periodic, one-time, API) when provisioned: at payment, or for SaaS sold
  through a produce interface when the seller's server made the instance;
- and lines paid on a credit line only once the buyer repaid.
Pay-per-use is posted per consumption, refunds as negative entries when paid, corrections as
adjustments. Each entry is keyed by its cause (``source``), so posting twice posts once.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import JOINT_FLOW_MODES, TradeMode
from marketplace.core import audit, calendar
from marketplace.core.errors import NotFound, ValidationFailed, as_id, require_perm
from marketplace.core.money import ZERO, quantize
from marketplace.orders.models import Order, OrderLine, OrderType, Payment, PaymentMethod, Plan, Subscription

from ..models import BillingSettings, LedgerEntry, SettlementPeriod, UsageRecord


def period_of(moment: datetime) -> date:
    """The settlement month (its first day) of an instant, in Beijing time."""
    local = calendar.beijing(moment)
    return date(local.year, local.month, 1)


def fee_rate_for(line: OrderLine, rules: BillingSettings | None = None) -> Decimal:
    """Joint-flow lines keep the operations-management rate of their order; general lines pay the
    base platform fee (tiers add an extra share on the statement)."""
    if line.trade_mode in JOINT_FLOW_MODES:
        return line.fee_rate if line.fee_rate is not None else Decimal("0")
    return (rules or BillingSettings.current()).general_fee_rate


def _amounts(gross: Decimal, rate: Decimal) -> dict:
    fee = quantize(gross * rate)
    return {"gross": gross, "fee_rate": rate, "fee": fee, "net": gross - fee}


def _is_open(period: date) -> bool:
    """Whether a month is still open, and it stays so until this transaction ends: its row is
    share-locked, so generation (which locks it for update) waits for the posting, or the posting
    waits for generation and then sees the month closed."""
    SettlementPeriod.objects.get_or_create(period=period)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT closed_at FROM billing_settlementperiod WHERE period = %s FOR SHARE", [period])
            return cursor.fetchone()[0] is None
    return SettlementPeriod.objects.filter(period=period, closed_at__isnull=True).exists()


def _first_open(period: date) -> date:
    """The month an entry meant for ``period`` goes into: that month, or the first open one after
    it when its statements were generated meanwhile (a generated statement never changes)."""
    while not _is_open(period):
        period += relativedelta(months=1)
    return period


def _post(**fields) -> LedgerEntry | None:
    """Insert one entry into the first open month from its own; an entry with the same source
    already there means it was posted before."""
    try:
        with transaction.atomic():
            fields["period"] = _first_open(fields["period"])
            return LedgerEntry.objects.create(**fields)
    except IntegrityError:
        if LedgerEntry.objects.filter(source=fields["source"]).exists():
            return None
        raise


def refunded_amount(line: OrderLine) -> Decimal:
    from refunds.models import Refund

    return Refund.objects.filter(order_line=line).aggregate(total=Sum("amount"))["total"] or ZERO


def settle_point(line: OrderLine, *, now: datetime) -> datetime | None:
    """When this line became settleable, or None if it is not (yet)."""
    order = line.order
    if order.status not in (Order.Status.PAID, Order.Status.REFUNDED) or line.amount <= ZERO:
        return None
    if line.charging_mode == Plan.ChargingMode.ON_DEMAND:
        return None  # settled per consumption
    if line.supervision == OrderLine.Supervision.IN_PROGRESS:
        return None
    if line.supervision in (OrderLine.Supervision.COMPLETED, OrderLine.Supervision.CLOSED):
        point = line.supervision_completed_at
    elif order.order_type == OrderType.RENEW:
        point = line.validity_start
    else:
        point = line.provisioned_at  # SaaS with a produce interface: when the instance was made
    if point is None or point > now:
        return None
    if order.payment_method == PaymentMethod.CREDIT_LINE:
        repaid = (
            Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED)
            .values_list("repaid_at", flat=True)
            .first()
        )
        if repaid is None:
            return None
        point = max(point, repaid)
    return point


def _line_entry(line: OrderLine, *, refunded: Decimal, rules: BillingSettings | None, now: datetime) -> dict | None:
    """The ledger entry a line posts now (its fields, without the month), or None if it posts nothing."""
    point = settle_point(line, now=now)
    if point is None:
        return None
    gross = line.amount - refunded
    if gross <= ZERO:
        return None  # refunded in full before it was settled: nothing to pay the seller
    return {
        "seller_id": line.seller_id,
        "trade_mode": line.trade_mode,
        "kind": LedgerEntry.Kind.ORDER,
        "order_line": line,
        "occurred_at": point,
        "posted_at": now,
        "source": f"line:{line.pk}",
        **_amounts(gross, fee_rate_for(line, rules)),
    }


def ledger_settle_line(*, line_id: int, now: datetime | None = None) -> LedgerEntry | None:
    """Post an order line if it has become settleable and was not posted yet. Idempotent."""
    now = now or timezone.now()
    line = OrderLine.objects.select_related("order", "product").filter(pk=line_id).first()
    if line is None:
        return None
    fields = _line_entry(line, refunded=refunded_amount(line), rules=None, now=now)
    return None if fields is None else _post(period=period_of(now), **fields)


def ledger_settle_lines(*, lines: list[OrderLine], now: datetime | None = None) -> None:
    """``ledger_settle_line`` for many lines at once (loaded with their order and product), in a
    handful of statements: a batch of instances made. Lines posted before are skipped by the unique
    source."""
    from refunds.models import Refund

    now = now or timezone.now()
    refunded = dict(
        Refund.objects.filter(order_line__in=lines)
        .values("order_line_id")
        .annotate(total=Sum("amount"))
        .values_list("order_line_id", "total")
    )
    rules = BillingSettings.current() if any(line.trade_mode not in JOINT_FLOW_MODES for line in lines) else None
    entries = [
        LedgerEntry(**fields)
        for line in lines
        if (fields := _line_entry(line, refunded=refunded.get(line.pk, ZERO), rules=rules, now=now))
    ]
    if entries:
        period = _first_open(period_of(now))
        for entry in entries:
            entry.period = period
        LedgerEntry.objects.bulk_create(entries, ignore_conflicts=True)


def unsettled_lines(*, now: datetime):
    """Paid lines that may have become settleable and have no entry yet (for the sweep)."""
    posted = LedgerEntry.objects.filter(order_line=OuterRef("pk"), kind=LedgerEntry.Kind.ORDER)
    unrepaid = Payment.objects.filter(
        order=OuterRef("order"), method=PaymentMethod.CREDIT_LINE, status=Payment.Status.SUCCEEDED, repaid_at=None
    )
    return (
        OrderLine.objects.filter(order__status=Order.Status.PAID, amount__gt=0)
        .exclude(charging_mode=Plan.ChargingMode.ON_DEMAND)
        .exclude(supervision=OrderLine.Supervision.IN_PROGRESS)
        .exclude(Q(order__order_type=OrderType.RENEW) & Q(validity_start__gt=now))
        .exclude(  # waiting for its instance: posted when the seller's server made it
            ~Q(order__order_type=OrderType.RENEW)
            & Q(supervision=OrderLine.Supervision.NOT_REQUIRED)
            & Q(provisioned_at__isnull=True)
        )
        .exclude(Exists(posted))
        .exclude(Exists(unrepaid))
        .values_list("pk", flat=True)
    )


def ledger_settle_due(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Post every line that became settleable without a direct trigger (renewals taking effect)."""
    now = now or timezone.now()
    posted = 0
    for line_id in list(unsettled_lines(now=now)[:limit]):
        with transaction.atomic():
            if ledger_settle_line(line_id=line_id, now=now) is not None:
                posted += 1
    return posted


def ledger_post_refund(*, refund, now: datetime | None = None) -> LedgerEntry | None:
    """A negative entry for a refund of a line that was already settled. A refund inside a month
    that is still open joins the original entry's month, so both net to zero on one statement;
    otherwise it goes into the current month. Refunds before settlement reduce what is settled."""
    now = now or timezone.now()
    original = LedgerEntry.objects.filter(order_line_id=refund.order_line_id, kind=LedgerEntry.Kind.ORDER).first()
    if original is None:
        return None
    period = period_of(now)
    if original.period < period and _is_open(original.period):
        period = original.period
    # The line's fee after the refund is the fee of what is left of it, rounded once: refunds in
    # pieces then take back exactly the fee that was charged, and a full refund nets to zero.
    posted = LedgerEntry.objects.filter(
        order_line_id=refund.order_line_id, kind__in=[LedgerEntry.Kind.ORDER, LedgerEntry.Kind.REFUND]
    ).aggregate(gross=Sum("gross"), fee=Sum("fee"))
    fee = quantize((posted["gross"] - refund.amount) * original.fee_rate) - posted["fee"]
    return _post(
        seller_id=original.seller_id,
        trade_mode=original.trade_mode,
        period=period,
        kind=LedgerEntry.Kind.REFUND,
        order_line_id=refund.order_line_id,
        occurred_at=refund.refunded_at,
        posted_at=now,
        source=f"refund:{refund.pk}",
        gross=-refund.amount,
        fee_rate=original.fee_rate,
        fee=fee,
        net=-refund.amount - fee,
    )


def usage_record(
    *, subscription: Subscription, quantity, reference: str, consumed_at: datetime, now: datetime | None = None
) -> UsageRecord:
    """Record pay-per-use consumption and post it to the ledger when it happened."""
    now = now or timezone.now()
    try:
        quantity = Decimal(str(quantity))
    except ArithmeticError as exc:
        raise ValidationFailed(_("Enter a quantity.")) from exc
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed(_("The quantity must be positive."))
    plan = subscription.plan
    if plan.charging_mode != Plan.ChargingMode.ON_DEMAND:
        raise ValidationFailed(_("Usage is reported only for pay-per-use services."))
    if consumed_at > now:
        raise ValidationFailed(_("Usage cannot be reported ahead of time."))
    line = subscription.lines.order_by("id").first()
    with transaction.atomic():
        record, created = UsageRecord.objects.get_or_create(
            subscription=subscription,
            reference=reference,
            defaults={
                "quantity": quantity,
                "unit_price": plan.price,
                "amount": quantize(quantity * plan.price),
                "consumed_at": consumed_at,
            },
        )
        if created and record.amount > ZERO:
            rate = fee_rate_for(line) if line else BillingSettings.current().general_fee_rate
            _post(
                seller_id=subscription.seller_id,
                trade_mode=line.trade_mode if line else subscription.product.trade_mode,
                period=period_of(now),
                kind=LedgerEntry.Kind.USAGE,
                order_line=line,
                occurred_at=consumed_at,
                posted_at=now,
                source=f"usage:{record.pk}",
                **_amounts(record.amount, rate),
            )
    return record


def ledger_adjust(
    *, actor: User, seller_id, trade_mode: str, amount, reason: str, now: datetime | None = None
) -> LedgerEntry:
    """A correction by operations, posted into the open month (never into a generated statement)."""
    require_perm(actor, "billing.post_adjustment")
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("An adjustment needs a reason."), field_errors={"reason": [_("Required.")]})
    if trade_mode not in TradeMode.values:
        raise ValidationFailed(_("Unknown trade mode."))
    try:
        amount = quantize(Decimal(str(amount)))
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ValidationFailed(_("Enter an amount.")) from exc
    if amount == ZERO:
        raise ValidationFailed(_("An adjustment of zero changes nothing."))
    from marketplace.accounts.models import Seller

    if not Seller.objects.filter(pk=as_id(seller_id, _("No such seller."))).exists():
        raise NotFound(_("No such seller."))
    with transaction.atomic():
        entry = LedgerEntry.objects.create(
            seller_id=seller_id,
            trade_mode=trade_mode,
            period=_first_open(period_of(now)),
            kind=LedgerEntry.Kind.ADJUSTMENT,
            occurred_at=now,
            posted_at=now,
            source=f"adjustment:{uuid.uuid4().hex}",
            reason=reason,
            actor=actor,
            **_amounts(amount, Decimal("0")),
        )
        audit.money(
            "ledger.adjusted",
            entry,
            actor=actor,
            changes={"seller": seller_id, "trade_mode": trade_mode, "amount": amount, "reason": reason},
        )
        return entry
