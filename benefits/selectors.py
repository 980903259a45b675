"""Reads for merchant benefits. GMV has one definition, here."""

from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from billing.models import LedgerEntry
from marketplace.core.money import ZERO

from .models import Benefit, BenefitApplication

# What counts toward GMV: settled orders and consumption, net of refunds (the settlement ledger's
# own entries, so GMV and statements always agree). Adjustments are money, not sales.
GMV_KINDS = (LedgerEntry.Kind.ORDER, LedgerEntry.Kind.USAGE, LedgerEntry.Kind.REFUND)


def gmv_entries(*, seller_id: int, start: date, end: date) -> QuerySet:
    """The ledger entries behind a seller's GMV for the months [start, end) (first days of months)."""
    return LedgerEntry.objects.filter(seller_id=seller_id, kind__in=GMV_KINDS, period__gte=start, period__lt=end)


def gmv(*, seller_id: int, start: date, end: date) -> Decimal:
    """GMV over the months [start, end): gross of completed orders and usage, minus refunds."""
    return gmv_entries(seller_id=seller_id, start=start, end=end).aggregate(total=Sum("gross"))["total"] or ZERO


def gmv_by_month(*, seller_id: int, start: date, end: date) -> list[tuple[date, Decimal]]:
    """(first day of month, GMV) for each month of [start, end), months without entries as 0."""
    rows = dict(
        gmv_entries(seller_id=seller_id, start=start, end=end)
        .values_list("period")
        .annotate(total=Sum("gross"))
        .order_by()
    )
    months, day = [], start
    while day < end:
        months.append((day, rows.get(day, ZERO)))
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def year_window(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def active_benefits(today: date) -> QuerySet:
    return Benefit.objects.filter(active_from__lte=today).filter(
        Q(active_until__isnull=True) | Q(active_until__gte=today)
    )


def queue_position(application: BenefitApplication) -> int | None:
    """1 for the first waiting application of its benefit, in arrival order; None once decided."""
    if application.status not in BenefitApplication.WAITING:
        return None
    return (
        BenefitApplication.objects.filter(benefit_id=application.benefit_id, status__in=BenefitApplication.WAITING)
        .filter(Q(created_at__lt=application.created_at) | Q(created_at=application.created_at, pk__lt=application.pk))
        .count()
        + 1
    )


def seller_applications(*, seller_id: int) -> QuerySet:
    return (
        BenefitApplication.objects.filter(seller_id=seller_id).select_related("benefit").order_by("-created_at", "-id")
    )


def queue_positions(applications) -> dict[int, int]:
    """Queue position (1 = next) of each waiting application among all waiting applications of its
    benefit, in arrival order: one query for a whole page."""
    waiting = [a for a in applications if a.status in BenefitApplication.WAITING]
    if not waiting:
        return {}
    rows = (
        BenefitApplication.objects.filter(
            benefit_id__in={a.benefit_id for a in waiting}, status__in=BenefitApplication.WAITING
        )
        .order_by("benefit_id", "created_at", "id")
        .values_list("pk", "benefit_id")
    )
    positions, counters = {}, {}
    for pk, benefit_id in rows:
        counters[benefit_id] = counters.get(benefit_id, 0) + 1
        positions[pk] = counters[benefit_id]
    return positions
