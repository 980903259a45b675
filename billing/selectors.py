"""Reads for settlement, each in a fixed number of queries."""

from django.db.models import Count, Prefetch, QuerySet

from marketplace.catalog.models import TradeMode
from marketplace.core.db_router import reporting_db

from .models import Dispute, ExportJob, LedgerEntry, Statement, StatementEvent


def visible_to_seller(seller_id: int) -> QuerySet:
    """A seller sees its statements once operations reviewed and sent them (and carried-over ones,
    which need no review)."""
    return Statement.objects.filter(seller_id=seller_id).exclude(status=Statement.Status.GENERATED)


def seller_statements(*, seller_id: int, trade_mode: str = "", status: str = "", year: int | None = None) -> QuerySet:
    qs = visible_to_seller(seller_id)
    if trade_mode:
        qs = qs.filter(trade_mode=trade_mode)
    if status:
        qs = qs.filter(status=status)
    if year:
        qs = qs.filter(period__year=year)
    return qs.order_by("-period", "trade_mode")


def trade_mode_tabs(*, seller_id: int, active: str) -> list[dict]:
    """One tab per trade mode with its number of statements (one query)."""
    counts = dict(visible_to_seller(seller_id).values_list("trade_mode").annotate(n=Count("pk")).order_by())
    return [{"code": c, "label": label, "count": counts.get(c, 0), "on": c == active} for c, label in TradeMode.choices]


def seller_statement(*, seller_id: int, statement_id) -> Statement | None:
    return (
        visible_to_seller(seller_id)
        .filter(pk=statement_id)
        .select_related("seller", "carried_into")
        .prefetch_related(
            Prefetch("events", queryset=StatementEvent.objects.select_related("actor")),
            Prefetch("disputes", queryset=Dispute.objects.order_by("-created_at")),
            "seller_invoices",
            "carried_from",
        )
        .first()
    )


def statement_entries(*, statement: Statement, q: str = "") -> QuerySet:
    """The ledger entries of a statement: found by its key, never copied. They never change once the
    statement is generated, so the read replica (when there is one) serves them."""
    qs = (
        LedgerEntry.objects.using(reporting_db())
        .filter(seller_id=statement.seller_id, trade_mode=statement.trade_mode, period=statement.period)
        .select_related("order_line__order", "order_line__product")
    )
    if q:
        qs = qs.filter(order_line__order__number__icontains=q.strip())
    return qs.order_by("id")


def seller_exports(*, seller_id: int) -> QuerySet:
    return (
        ExportJob.objects.filter(seller_id=seller_id)
        .select_related("statement", "requested_by")
        .order_by("-created_at")
    )
