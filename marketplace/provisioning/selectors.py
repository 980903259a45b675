"""Reads for delivery: fixed numbers of queries."""

from django.db.models import Prefetch, QuerySet

from marketplace.accounts.models import User
from marketplace.orders.models import OrderLine
from marketplace.orders.selectors import buyer_scope

from .models import AccessKey, ConformanceRun, ProduceAttempt, ProduceMessage, SellerIntegration


def seller_integration(*, seller_id: int) -> SellerIntegration | None:
    return SellerIntegration.objects.filter(seller_id=seller_id).first()


def active_keys(*, seller_id: int) -> list[AccessKey]:
    return list(AccessKey.objects.filter(seller_id=seller_id, revoked_at__isnull=True).defer("secret"))


def seller_messages(*, seller_id: int, status: str = "", activity: str = "", q: str = "") -> QuerySet:
    qs = ProduceMessage.objects.filter(seller_id=seller_id).select_related("order_line__order")
    if status:
        qs = qs.filter(status=status)
    if activity:
        qs = qs.filter(activity=activity)
    if q:
        qs = qs.filter(order_line__order__number__icontains=q.strip())
    return qs.order_by("-created_at", "-id")


def seller_message(*, seller_id: int, message_id) -> ProduceMessage | None:
    return (
        ProduceMessage.objects.filter(seller_id=seller_id, pk=message_id)
        .select_related("order_line__order", "instance")
        .prefetch_related(Prefetch("attempt_log", queryset=ProduceAttempt.objects.order_by("started_at", "id")))
        .first()
    )


def conformance_runs(*, seller_id: int) -> QuerySet:
    return ConformanceRun.objects.filter(seller_id=seller_id).select_related("started_by")


def buyer_line(*, user: User, line_id) -> OrderLine | None:
    """An order line of the user's orders (tenant administrators: the tenant's)."""
    return (
        OrderLine.objects.filter(order__in=_orders(user), pk=line_id)
        .select_related("order__buyer", "product", "plan")
        .first()
    )


def _orders(user):
    from marketplace.orders.models import Order

    return Order.objects.filter(buyer_scope(user)).values("pk")
