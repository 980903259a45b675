"""Reads for the invoice pages, each in a fixed number of queries whatever the number of rows.
Every read takes the user it reads for and filters by them: what is not theirs does not exist."""

from datetime import timedelta

from django.db.models import Count, DecimalField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.roles import buyer_is_admin
from marketplace.core.money import ZERO
from marketplace.orders.models import Order, OrderLine
from marketplace.orders.selectors import buyer_scope
from refunds.models import Refund

from .models import ExplanationLetter, InvoicedOrder, InvoiceProfile, InvoiceRequest, InvoiceRequestEvent
from .services.buyer_invoices import issuer_for

# --- buyer -----------------------------------------------------------------------------------------

R = InvoiceRequest.Status
# A letter certifies an issued invoice: only these requests may ask for one.
LETTER_STATUSES = (R.ISSUED, R.DELIVERED)


def buyer_request_scope(user) -> Q:
    """A tenant's administrators see all its invoice requests, its other users the ones they made."""
    membership = getattr(user, "buyer_membership", None)
    if membership is None:
        return Q(pk__in=[])
    scope = Q(buyer_id=membership.buyer_id)
    if not buyer_is_admin(membership):
        scope &= Q(requested_by_id=user.pk)
    return scope


def _order_lines() -> Prefetch:
    return Prefetch("lines", queryset=OrderLine.objects.select_related("product", "plan").order_by("pk"))


def invoiceable_orders(*, user) -> list[Order]:
    """The user's paid orders that no live request holds, with what is left after refunds
    (``amount_left`` > 0), each labelled with its issuer (``issuer``, ``issuer_key``,
    ``issuer_label``: the seller's name, or the platform). Newest payment first; three queries."""
    refunded = (
        Refund.objects.filter(order_line__order=OuterRef("pk"))
        .values("order_line__order")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    orders = list(
        Order.objects.filter(buyer_scope(user), status=Order.Status.PAID, amount__gt=0)
        .exclude(Exists(InvoicedOrder.objects.filter(order=OuterRef("pk"), active=True)))
        .annotate(refunded=Coalesce(Subquery(refunded, output_field=money), Value(ZERO), output_field=money))
        .select_related("seller")
        .prefetch_related(_order_lines())
        .order_by("-paid_at", "-id")
    )
    result = []
    for order in orders:
        order.amount_left = order.amount - order.refunded
        if order.amount_left <= ZERO:
            continue
        order.issuer = issuer_for(order)
        if order.issuer == InvoiceRequest.Issuer.SELLER:
            order.issuer_key, order.issuer_label = f"seller-{order.seller_id}", order.seller.name
        else:
            order.issuer_key, order.issuer_label = "platform", _("The platform")
        order.products = ", ".join(str(line.product.name) for line in order.lines.all())
        result.append(order)
    return result


def group_by_issuer(orders: list[Order]) -> list[dict]:
    """Orders grouped by who invoices them (one request per group), groups in the orders' order."""
    groups: dict[str, dict] = {}
    for order in orders:
        group = groups.setdefault(
            order.issuer_key, {"key": order.issuer_key, "label": order.issuer_label, "orders": []}
        )
        group["orders"].append(order)
    return list(groups.values())


def buyer_profiles(*, user) -> QuerySet[InvoiceProfile]:
    membership = getattr(user, "buyer_membership", None)
    if membership is None:
        return InvoiceProfile.objects.none()
    return InvoiceProfile.objects.filter(buyer_id=membership.buyer_id).order_by("-is_default", "title", "pk")


def _requests_with_orders(qs: QuerySet) -> QuerySet[InvoiceRequest]:
    return qs.select_related("seller").prefetch_related(
        Prefetch("lines", queryset=InvoicedOrder.objects.select_related("order").order_by("pk"))
    )


def buyer_requests(*, user, status: str = "", q: str = "") -> QuerySet[InvoiceRequest]:
    """The user's invoice requests, newest first; ``q`` finds a request or an invoice number."""
    qs = InvoiceRequest.objects.filter(buyer_request_scope(user))
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(invoice_number__icontains=q))
    return _requests_with_orders(qs).order_by("-created_at", "-id")


def buyer_request_counts(*, user) -> dict:
    """How many of the user's requests are in each status, and in all: one query."""
    counts = InvoiceRequest.objects.filter(buyer_request_scope(user)).aggregate(
        all=Count("pk"), **{status: Count("pk", filter=Q(status=status)) for status in R.values}
    )
    return counts


def buyer_request_detail(*, user, request_id) -> InvoiceRequest | None:
    """A request with its orders (and their products), its timeline and its letters."""
    return (
        InvoiceRequest.objects.filter(buyer_request_scope(user), pk=request_id)
        .select_related("seller", "requested_by", "profile")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=InvoicedOrder.objects.select_related("order")
                .prefetch_related(Prefetch("order__lines", queryset=OrderLine.objects.select_related("product")))
                .order_by("pk"),
            ),
            Prefetch(
                "events",
                queryset=InvoiceRequestEvent.objects.select_related("actor__buyer_membership").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch("letters", queryset=ExplanationLetter.objects.order_by("-created_at", "-id")),
        )
        .first()
    )


def buyer_letter_candidates(*, user) -> QuerySet[InvoiceRequest]:
    """Requests whose invoice is issued (issued or delivered): those a letter may be asked for.
    ``stamping`` tells whether a letter of theirs is being stamped."""
    stamping = ExplanationLetter.objects.filter(request=OuterRef("pk"), status=ExplanationLetter.Status.STAMPING)
    return (
        _requests_with_orders(InvoiceRequest.objects.filter(buyer_request_scope(user), status__in=LETTER_STATUSES))
        .annotate(stamping=Exists(stamping))
        .order_by("-issued_at", "-id")
    )


def buyer_letters(*, user) -> QuerySet[ExplanationLetter]:
    """The letters asked for the user's requests, newest first."""
    return (
        ExplanationLetter.objects.filter(request__in=InvoiceRequest.objects.filter(buyer_request_scope(user)))
        .select_related("request", "requested_by")
        .order_by("-created_at", "-id")
    )


# --- seller ----------------------------------------------------------------------------------------
# Seller center > Invoice management: the requests a seller issues (never the platform's), with the
# 7-day deadline. Each read runs in a fixed number of queries.


def seller_overdue_q(now) -> Q:
    """Requests still to be issued whose deadline has passed."""
    return Q(status=InvoiceRequest.Status.SUBMITTED, due_at__lt=now)


def seller_due_soon_q(now) -> Q:
    """Requests still to be issued whose deadline falls within the next day (the reminder's window)."""
    return Q(status=InvoiceRequest.Status.SUBMITTED, due_at__gte=now, due_at__lt=now + timedelta(days=1))


def seller_requests_base(seller_id: int) -> QuerySet:
    """The requests this seller issues: platform-issued ones are never the seller's to see."""
    return InvoiceRequest.objects.filter(issuer=InvoiceRequest.Issuer.SELLER, seller_id=seller_id)


def seller_invoice_requests(*, seller_id: int, status: str = "", q: str = "", overdue: bool = False, now=None):
    """The seller's requests, newest first, filtered by status, deadline and a search over the
    request, invoice and order numbers, the title and the buyer's name. One query per page, plus
    the count."""
    now = now or timezone.now()
    qs = seller_requests_base(seller_id)
    if status:
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.filter(seller_overdue_q(now))
    q = (q or "").strip()
    if q:
        on_order = InvoicedOrder.objects.filter(request_id=OuterRef("pk"), order__number__icontains=q)
        qs = qs.filter(
            Q(number__icontains=q)
            | Q(invoice_number__icontains=q)
            | Q(title__icontains=q)
            | Q(buyer__name__icontains=q)
            | Exists(on_order)
        )
    return qs.select_related("buyer").annotate(order_count=Count("lines")).order_by("-created_at", "-id")


def seller_invoice_request(*, seller_id: int, request_id):
    """One of the seller's requests with its orders (and their products) and its timeline, or None."""
    lines = InvoicedOrder.objects.select_related("order").prefetch_related(
        Prefetch("order__lines", queryset=OrderLine.objects.select_related("product").order_by("id"))
    )
    return (
        seller_requests_base(seller_id)
        .filter(pk=request_id)
        .select_related("buyer", "requested_by")
        .prefetch_related(
            Prefetch("lines", queryset=lines.order_by("order__created_at", "id")),
            Prefetch("events", queryset=InvoiceRequestEvent.objects.select_related("actor")),
        )
        .first()
    )


def seller_invoice_counts(seller_id: int, now=None) -> dict:
    """Counts per status, plus "overdue", "due_soon" and "all", in one query."""
    now = now or timezone.now()
    statuses = InvoiceRequest.Status.values
    counts = seller_requests_base(seller_id).aggregate(
        all=Count("pk"),
        overdue=Count("pk", filter=seller_overdue_q(now)),
        due_soon=Count("pk", filter=seller_due_soon_q(now)),
        to_mail=Count("pk", filter=Q(status=InvoiceRequest.Status.ISSUED, medium=InvoiceRequest.Medium.PAPER)),
        **{status: Count("pk", filter=Q(status=status)) for status in statuses},
    )
    return counts


def due_state(request: InvoiceRequest, now) -> str:
    """The deadline of a request still to be issued: "overdue", "due_soon" (within a day) or ""."""
    if request.status != InvoiceRequest.Status.SUBMITTED:
        return ""
    if now > request.due_at:
        return "overdue"
    if request.due_at - now < timedelta(days=1):
        return "due_soon"
    return ""
