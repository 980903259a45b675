"""Reads for the catalog, each in a fixed number of queries."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from marketplace.accounts.models import Seller

from .models import Category, Plan, Product, ProductEvent


def plan_price_label(plan: Plan) -> str:
    if plan.charging_mode == Plan.ChargingMode.ON_DEMAND:
        unit = plan.usage_unit or pgettext("usage", "unit")
        return _("CNY %(price)s per %(unit)s") % {"price": plan.price, "unit": unit}
    if plan.charging_mode == Plan.ChargingMode.ONE_TIME:
        return _("CNY %(price)s one-time") % {"price": plan.price}
    if plan.period_type == Plan.PeriodType.YEAR:
        return _("CNY %(price)s / year") % {"price": plan.price}
    return _("CNY %(price)s / month") % {"price": plan.price}


def _active_plans() -> Prefetch:
    return Prefetch(
        "plans", queryset=Plan.objects.filter(is_active=True).order_by("position", "id"), to_attr="active_plans"
    )


def catalog_search(
    *, q: str = "", trade_mode: str = "", delivery_kind: str = "", category: str = ""
) -> QuerySet[Product]:
    """Published products matching the visitor's search and filters."""
    qs = (
        Product.objects.filter(status=Product.Status.PUBLISHED, seller__status=Seller.Status.ACTIVE)
        .select_related("seller", "category")
        .prefetch_related(_active_plans())
    )
    if q:
        q = q.strip()
        qs = qs.filter(
            Q(name_zh__icontains=q)
            | Q(name_en__icontains=q)
            | Q(summary_zh__icontains=q)
            | Q(summary_en__icontains=q)
            | Q(seller__name__icontains=q)
        )
    if trade_mode:
        qs = qs.filter(trade_mode=trade_mode)
    if delivery_kind:
        qs = qs.filter(delivery_kind=delivery_kind)
    if category:
        qs = qs.filter(category__slug=category)
    return qs.order_by("-published_at", "-id")


def categories_with_counts() -> list[Category]:
    return list(
        Category.objects.annotate(
            published=Count(
                "products",
                filter=Q(products__status=Product.Status.PUBLISHED, products__seller__status=Seller.Status.ACTIVE),
            )
        ).order_by("position", "slug")
    )


def product_public_detail(*, product_id: int) -> Product | None:
    return (
        Product.objects.filter(pk=product_id, status=Product.Status.PUBLISHED, seller__status=Seller.Status.ACTIVE)
        .select_related("seller", "category")
        .prefetch_related(_active_plans())
        .first()
    )


def seller_products(*, seller_id: int, status: str = "", q: str = "") -> QuerySet[Product]:
    qs = (
        Product.objects.filter(seller_id=seller_id)
        .select_related("category")
        .annotate(plan_count=Count("plans"))
        .order_by("-created_at", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(name_zh__icontains=q) | Q(name_en__icontains=q))
    return qs


def seller_product_detail(*, seller_id: int, product_id: int) -> Product | None:
    return (
        Product.objects.filter(pk=product_id, seller_id=seller_id)
        .select_related("category", "seller")
        .prefetch_related("plans", Prefetch("events", queryset=ProductEvent.objects.select_related("actor")))
        .first()
    )


def credit_control_products(*, seller_id: int) -> QuerySet[Product]:
    """All of the seller's products; the page explains which ones can use credit control."""
    return (
        Product.objects.filter(seller_id=seller_id)
        .exclude(status=Product.Status.DRAFT)
        .order_by("trade_mode", "name_zh")
    )


def seller_product_counts(*, seller_id: int) -> dict[str, int]:
    """Products per status, every status present: one query."""
    counts = dict.fromkeys(Product.Status.values, 0)
    for row in Product.objects.filter(seller_id=seller_id).values("status").annotate(n=Count("pk")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def status_rows(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(status, label, count) in the order of the status choices, for display."""
    return [(value, label, counts[value]) for value, label in Product.Status.choices]
