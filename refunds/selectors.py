"""Reads for the refund pages, each in a fixed number of queries. Every read takes the seller or the
buyer user and filters by it: others' requests are "not found"."""

from django.db.models import Count, Prefetch, Q, QuerySet

from marketplace.accounts.models import User
from marketplace.orders.models import Order, OrderLine
from marketplace.orders.selectors import buyer_scope

from .models import RefundAttempt, RefundRequest, RefundRequestEvent

R = RefundRequest.Status

# The list chips: "open" gathers every state that still waits for someone.
WAITING = (R.REQUESTED, R.PROPOSED, R.ESCALATED, R.APPROVED)


def seller_requests_base(seller_id: int) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(order_line__seller_id=seller_id)


def buyer_requests_base(user: User) -> QuerySet[RefundRequest]:
    """A tenant's administrators see all its refund requests; its other users those of their orders."""
    return RefundRequest.objects.filter(order_line__order__in=Order.objects.filter(buyer_scope(user)))


def _filtered(qs: QuerySet, *, status: str = "", q: str = "") -> QuerySet:
    if status == "open":
        qs = qs.filter(status__in=WAITING)
    elif status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(order_line__order__number__icontains=q))
    return qs


def _listed(qs: QuerySet) -> QuerySet:
    return qs.select_related(
        "order_line__order", "order_line__order__buyer", "order_line__product", "order_line__seller"
    ).order_by("-created_at", "-id")


def seller_refund_requests(*, seller_id: int, status: str = "", q: str = "") -> QuerySet[RefundRequest]:
    return _listed(_filtered(seller_requests_base(seller_id), status=status, q=q))


def buyer_refund_requests(*, user: User, status: str = "", q: str = "") -> QuerySet[RefundRequest]:
    return _listed(_filtered(buyer_requests_base(user), status=status, q=q))


def status_counts(qs: QuerySet) -> dict:
    """Counts per status, plus "open" and "all", in one query."""
    rows = dict(qs.order_by().values_list("status").annotate(n=Count("*")))
    counts = {status: rows.get(status, 0) for status in R.values}
    counts["open"] = sum(counts[status] for status in WAITING)
    counts["all"] = sum(counts[status] for status in R.values)
    return counts


def _with_history(qs: QuerySet, request_id) -> RefundRequest | None:
    return (
        qs.filter(pk=request_id)
        .select_related(
            "order_line__order",
            "order_line__order__buyer",
            "order_line__product",
            "order_line__plan",
            "order_line__seller",
            "requested_by",
            "refund",
        )
        .prefetch_related(
            Prefetch("events", queryset=RefundRequestEvent.objects.select_related("actor")),
            Prefetch("attempts", queryset=RefundAttempt.objects.order_by("created_at", "id")),
        )
        .first()
    )


def refund_request_for_seller(*, seller_id: int, request_id) -> RefundRequest | None:
    return _with_history(seller_requests_base(seller_id), request_id)


def refund_request_for_buyer(*, user: User, request_id) -> RefundRequest | None:
    return _with_history(buyer_requests_base(user), request_id)


def buyer_line(*, user: User, order_id, line_id) -> OrderLine | None:
    """An order line of the buyer's, with its order and product (for the "new refund" page)."""
    return (
        OrderLine.objects.filter(pk=line_id, order_id=order_id, order__in=Order.objects.filter(buyer_scope(user)))
        .select_related("order", "order__seller", "product", "plan")
        .first()
    )


def open_request_for_line(line_id: int) -> RefundRequest | None:
    return RefundRequest.objects.filter(order_line_id=line_id, status__in=RefundRequest.OPEN).first()
