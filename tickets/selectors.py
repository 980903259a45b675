"""Reads for tickets, each in a fixed number of queries."""

from datetime import time

from django.db.models import CharField, Count, Prefetch, Q, QuerySet, Value
from django.utils import timezone

from marketplace.accounts.roles import buyer_is_admin

from . import sla
from .models import ReceptionSettings, ReceptionWindow, Ticket, TicketAttachment, TicketEvent, TicketMessage
from .services import schedule_of

S = Ticket.Status


def overdue_q(now) -> Q:
    """Tickets past a due time whose clock is running."""
    return Q(status=S.PENDING_ACCEPTANCE, first_response_due_at__lt=now) | Q(
        status__in=Ticket.CLOCK_RUNS, resolution_due_at__lt=now
    )


def _filtered(qs: QuerySet, *, status: str = "", product_id=None, overdue: bool = False, q: str = "", now=None):
    if status == "open":
        qs = qs.filter(status__in=Ticket.OPEN)
    elif status:
        qs = qs.filter(status=status)
    if product_id:
        qs = qs.filter(product_id=product_id)
    if overdue:
        qs = qs.filter(overdue_q(now or timezone.now()))
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q))
    return qs


def seller_tickets(*, seller_id: int, status: str = "", product_id=None, overdue=False, q="", mine_of=None, now=None):
    qs = Ticket.objects.filter(seller_id=seller_id)
    if mine_of is not None:
        qs = qs.filter(assignee=mine_of)
    return (
        _filtered(qs, status=status, product_id=product_id, overdue=overdue, q=q, now=now)
        .select_related("product", "buyer", "assignee")
        .order_by("-created_at", "-id")
    )


def buyer_tickets_base(membership) -> QuerySet:
    """A tenant's administrators see all its tickets; its other users the ones they opened."""
    qs = Ticket.objects.filter(buyer_id=membership.buyer_id)
    if not buyer_is_admin(membership):
        qs = qs.filter(opened_by_id=membership.user_id)
    return qs


def buyer_tickets(*, membership, status: str = "", product_id=None, q: str = "", now=None):
    return (
        _filtered(buyer_tickets_base(membership), status=status, product_id=product_id, q=q, now=now)
        .select_related("product", "product__seller")
        .order_by("-created_at", "-id")
    )


def ticket_for_seller(*, seller_id: int, ticket_id):
    return _with_thread(Ticket.objects.filter(seller_id=seller_id), ticket_id, internal=True)


def ticket_for_buyer(*, membership, ticket_id):
    return _with_thread(buyer_tickets_base(membership), ticket_id, internal=False)


def _with_thread(qs: QuerySet, ticket_id, *, internal: bool):
    messages = TicketMessage.objects.select_related("author").prefetch_related("attachments")
    if not internal:
        messages = messages.exclude(kind=TicketMessage.Kind.INTERNAL)
    return (
        qs.filter(pk=ticket_id)
        .select_related("product", "product__seller", "buyer", "opened_by", "assignee", "order")
        .prefetch_related(
            Prefetch("messages", queryset=messages),
            Prefetch("attachments", queryset=TicketAttachment.objects.filter(message__isnull=True)),
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
        )
        .first()
    )


def attachment_for(*, user, attachment_id) -> TicketAttachment | None:
    """An attachment, for the parties of its ticket only (internal notes' files: the seller only)."""
    attachment = TicketAttachment.objects.select_related("ticket", "message").filter(pk=attachment_id).first()
    if attachment is None:
        return None
    ticket = attachment.ticket
    seller_membership = getattr(user, "seller_membership", None)
    if seller_membership is not None and seller_membership.seller_id == ticket.seller_id:
        from marketplace.accounts.roles import seller_can

        return attachment if seller_can(seller_membership, "tickets.manage") else None
    buyer_membership = getattr(user, "buyer_membership", None)
    if (
        buyer_membership is not None
        and buyer_tickets_base(buyer_membership).filter(pk=ticket.pk).exists()
        and not (attachment.message_id and attachment.message.kind == TicketMessage.Kind.INTERNAL)
    ):
        return attachment
    if user.is_staff and user.has_perm("tickets.view_ticket"):
        return attachment
    return None


def status_counts(qs: QuerySet, now=None) -> dict:
    """Counts per status, plus "open", "overdue" and "all", in one query: counts grouped by status,
    and the overdue ones among the tickets whose clock runs (index-friendly: no per-row filters)."""
    now = now or timezone.now()
    qs = qs.order_by()
    per_status = qs.values_list("status").annotate(n=Count("*"))
    overdue = (
        qs.filter(status__in=Ticket.CLOCK_RUNS)
        .filter(overdue_q(now))
        .values_list(Value("overdue", output_field=CharField()))
        .annotate(n=Count("*"))
    )
    rows = dict(per_status.union(overdue, all=True))
    counts = {status: rows.get(status, 0) for status in S.values}
    counts["open"] = sum(counts[status] for status in Ticket.OPEN)
    counts["overdue"] = rows.get("overdue", 0)
    counts["all"] = sum(counts[status] for status in S.values)
    return counts


def reception_of(seller_id: int) -> ReceptionSettings | None:
    return ReceptionSettings.objects.prefetch_related("windows", "closed_dates").filter(seller_id=seller_id).first()


def availability(seller_id: int, now=None) -> dict:
    """Whether the seller takes tickets, is in reception hours now, and when it next is."""
    now = now or timezone.now()
    reception = reception_of(seller_id)
    if reception is None or not reception.accepts_tickets:
        return {"accepts": False, "open_now": False, "next_open": None, "reception": reception}
    schedule = schedule_of(reception)
    return {
        "days": reception_days(reception),
        "accepts": True,
        "open_now": sla.is_open(schedule, now),
        "next_open": sla.next_open(schedule, now),
        "reception": reception,
    }


def reception_days(reception: ReceptionSettings) -> list[tuple[str, str]]:
    """(day, "09:00–12:00, 13:00–18:00") for each day with reception windows, Monday first."""
    by_day: dict[int, list[str]] = {}
    for w in reception.windows.all():
        end = "24:00" if w.end == time(0) else w.end.strftime("%H:%M")
        by_day.setdefault(w.weekday, []).append(f"{w.start:%H:%M}–{end}")
    return [(ReceptionWindow.Weekday(day).label, ", ".join(spans)) for day, spans in sorted(by_day.items())]


def accepting_seller_ids(seller_ids) -> set[int]:
    return set(
        ReceptionSettings.objects.filter(seller_id__in=set(seller_ids), accepts_tickets=True).values_list(
            "seller_id", flat=True
        )
    )
