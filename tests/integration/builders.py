"""Data for the scale-out and fault tests, made quickly (bulk inserts where the rules allow)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from billing.models import LedgerEntry
from marketplace.core import calendar
from marketplace.orders import services as orders
from marketplace.orders.models import Order


def months_ago(n: int) -> date:
    """The first day of the Beijing month ``n`` months before this one (a finished month)."""
    return calendar.beijing(timezone.now()).date().replace(day=1) - relativedelta(months=n)


def adjustments(sellers, period: date, *, per_seller: int = 1, amount: str = "2000.00", tag: str = "t") -> int:
    """Opening-balance adjustments in ``period`` (general trade mode): statement material, one
    INSERT. Above the minimum payout, so each seller gets a statement of its own."""
    at = datetime(period.year, period.month, 10, 12, tzinfo=calendar.BEIJING)
    gross = Decimal(amount)
    rows = [
        LedgerEntry(
            seller=seller,
            trade_mode="general",
            period=period,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            gross=gross,
            fee_rate=Decimal("0"),
            fee=Decimal("0"),
            net=gross,
            occurred_at=at,
            posted_at=at + timedelta(seconds=i),
            source=f"{tag}:{period:%Y%m}:{seller.pk}:{i}",
            reason=f"Opening balance {i}",
        )
        for seller in sellers
        for i in range(per_seller)
    ]
    LedgerEntry.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def pay(user, plan) -> Order:
    """Place and pay an order as the buyer would; its produce call and e-mails are queued at commit."""
    order = orders.order_create(actor=user, plan_id=plan.pk)
    return orders.order_pay(actor=user, order_id=order.pk, method="online")


def mail_subjects(maildir) -> list[str]:
    """The Subject line of every message the file backend wrote (one file per connection)."""
    if not maildir.exists():
        return []
    return [
        line[len("Subject: ") :]
        for path in maildir.iterdir()
        for line in path.read_text(errors="replace").splitlines()
        if line.startswith("Subject: ")
    ]
