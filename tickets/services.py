"""Every write about tickets: reception settings, opening, handling, closing (DOMAIN.md section 7).

Keyword-only functions raising ``ServiceError``s; each runs in one transaction and leaves nothing
half-written. Times are ``now=`` so tests pin them. The SLA is counted in the seller's reception
hours (``tickets.sla``): the first response is the acceptance; the resolution clock runs while the
ticket waits for acceptance or is processed, pauses while the buyer is asked for feedback or to
confirm, and stops when the ticket closes.
"""

from datetime import time, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, pgettext

from marketplace.accounts.models import BuyerMembership, SellerMembership, User
from marketplace.accounts.roles import buyer_is_admin, seller_can, seller_users
from marketplace.catalog.models import Product
from marketplace.core.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.core.services import notify
from marketplace.core.state import lock, move, record
from marketplace.core.uploads import clean_files, files_kept_only_on_success
from marketplace.orders.models import Order
from marketplace.orders.selectors import buyer_scope

from . import sla
from .models import (
    ClosedDate,
    ReceptionSettings,
    ReceptionWindow,
    Ticket,
    TicketAttachment,
    TicketMessage,
    new_ticket_number,
)

S = Ticket.Status
MAX_FILES = 5
MAX_TEXT = 10_000


# --- reception settings ----------------------------------------------------------------------------


def schedule_of(reception: ReceptionSettings | None) -> sla.Schedule:
    """The seller's reception hours as ``tickets.sla`` counts them (no windows: never open)."""
    if reception is None:
        return sla.Schedule(windows=())
    windows = tuple((w.weekday, w.start, w.end) for w in reception.windows.all())
    closed = frozenset(c.day for c in reception.closed_dates.all())
    return sla.Schedule(
        windows=sla.normalise_windows(windows),
        closed_dates=closed,
        observe_public_holidays=reception.observe_public_holidays,
    )


def _ticket_staff(actor: User) -> SellerMembership:
    membership = getattr(actor, "seller_membership", None)
    if not seller_can(membership, "tickets.manage"):
        raise NotAllowed(_("Only the seller's administrators and support staff handle tickets."))
    return membership


def reception_update(
    *,
    actor: User,
    accepts_tickets: bool,
    windows: list[tuple[int, time, time]],
    closed_dates: list = (),
    observe_public_holidays: bool = True,
    first_response_hours: int = 4,
    resolution_hours: int = 40,
) -> ReceptionSettings:
    """Replace the seller's reception settings. Taking tickets needs at least 5x8 reception hours a
    week; fewer are refused with how much is missing."""
    membership = _ticket_staff(actor)
    if membership.role != SellerMembership.Role.ADMIN:
        raise NotAllowed(_("Only the seller's administrators change the reception settings."))
    errors = {}
    for weekday, start, end in windows:
        if weekday not in range(7):
            errors["windows"] = _("A day of the week is not valid.")
        elif end != time(0) and end <= start:
            errors["windows"] = _("Each window must end after it starts (%(day)s %(start)s).") % {
                "day": ReceptionWindow.Weekday(weekday).label,
                "start": start.strftime("%H:%M"),
            }
    if not 1 <= int(first_response_hours) <= 72:
        errors["first_response_hours"] = _("Between 1 and 72 reception hours.")
    if not 1 <= int(resolution_hours) <= 400:
        errors["resolution_hours"] = _("Between 1 and 400 reception hours.")
    if int(first_response_hours) > int(resolution_hours):
        errors["first_response_hours"] = _("The first response cannot take longer than the resolution.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), field_errors={k: [v] for k, v in errors.items()})
    minutes = sla.weekly_minutes(sla.normalise_windows(tuple(windows)))
    if accepts_tickets and minutes < sla.MIN_WEEKLY_MINUTES:
        missing = sla.MIN_WEEKLY_MINUTES - minutes
        message = _(
            "Taking tickets needs at least 5×8 = 40 reception hours a week; these windows give "
            "%(have)s, %(missing)s short."
        ) % {"have": _hours(minutes), "missing": _hours(missing)}
        raise ValidationFailed(message, field_errors={"windows": [message]})
    with transaction.atomic():
        reception, _created = ReceptionSettings.objects.select_for_update().get_or_create(seller=membership.seller)
        reception.accepts_tickets = bool(accepts_tickets)
        reception.observe_public_holidays = bool(observe_public_holidays)
        reception.first_response_hours = int(first_response_hours)
        reception.resolution_hours = int(resolution_hours)
        reception.save()
        reception.windows.all().delete()
        ReceptionWindow.objects.bulk_create(
            ReceptionWindow(reception=reception, weekday=w, start=s, end=e) for w, s, e in windows
        )
        reception.closed_dates.all().delete()
        ClosedDate.objects.bulk_create(ClosedDate(reception=reception, day=d) for d in sorted(set(closed_dates)))
    return reception


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(m)s min") % {"m": rest}
    return _("%(h)s h %(m)s min") % {"h": hours, "m": rest} if rest else _("%(h)s h") % {"h": hours}


# --- opening ---------------------------------------------------------------------------------------


def _text(value: str, field: str, label: str, max_length: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        message = _("%(field)s is required.") % {"field": label}
        raise ValidationFailed(message, field_errors={field: [message]})
    if len(value) > max_length:
        message = _("%(field)s is too long (at most %(n)s characters).") % {"field": label, "n": max_length}
        raise ValidationFailed(message, field_errors={field: [message]})
    return value


def ticket_open(
    *,
    actor: User,
    product_id,
    category: str,
    title: str,
    description: str,
    order_id=None,
    files=(),
    now=None,
) -> Ticket:
    """A buyer asks the seller of a product for help. The seller must take tickets."""
    now = now or timezone.now()
    membership = getattr(actor, "buyer_membership", None)
    if membership is None:
        raise NotAllowed(_("Only buyer accounts open tickets."))
    product = Product.objects.select_related("seller").filter(pk=as_id(product_id, _("No such product."))).first()
    if product is None or (product.status != Product.Status.PUBLISHED and not _has_ordered(membership, product)):
        raise NotFound(_("No such product."))
    reception = ReceptionSettings.objects.filter(seller_id=product.seller_id).first()
    if reception is None or not reception.accepts_tickets:
        raise ValidationFailed(_("This seller does not take tickets on the platform."))
    if category not in Ticket.Category.values:
        raise ValidationFailed(_("Choose a category."), field_errors={"category": [_("Choose a category.")]})
    title = _text(title, "title", _("Title"), 120)
    description = _text(description, "description", pgettext("ticket", "Description"))
    order = None
    if order_id not in (None, ""):
        order = Order.objects.filter(
            buyer_scope(actor), pk=as_id(order_id, _("No such order.")), lines__product_id=product.pk
        ).first()
        if order is None:
            raise NotFound(_("No such order."))
    files = clean_files(files, max_files=MAX_FILES)
    schedule = schedule_of(reception)
    target = timedelta(hours=reception.resolution_hours)
    with files_kept_only_on_success() as stored, transaction.atomic():
        ticket = Ticket.objects.create(
            number=new_ticket_number(now),
            seller_id=product.seller_id,
            buyer_id=membership.buyer_id,
            opened_by=actor,
            product=product,
            order=order,
            category=category,
            title=title,
            description=description,
            created_at=now,
            first_response_due_at=sla.add_open_time(schedule, now, timedelta(hours=reception.first_response_hours)),
            resolution_due_at=sla.add_open_time(schedule, now, target),
            resolution_target=target,
            sla_running_since=now,
        )
        TicketAttachment.store(files, uploaded_by=actor, created_at=now, stored=stored, ticket=ticket, message=None)
        record(ticket, actor=actor, from_status="", note=gettext_noop("Ticket opened"), at=now)
        _tell_seller(
            ticket,
            gettext_lazy("New ticket %(number)s: %(title)s"),
            "notifications/ticket_opened.txt",
        )
    return ticket


def _has_ordered(membership: BuyerMembership, product: Product) -> bool:
    return Order.objects.filter(buyer_id=membership.buyer_id, lines__product_id=product.pk).exists()


# --- who may act -----------------------------------------------------------------------------------


def _side(actor: User, ticket: Ticket) -> str:
    """Which party ``actor`` acts for on ``ticket`` ("buyer", "seller", "operations"); NotFound
    when none (another party's ticket does not exist for them)."""
    seller_membership = getattr(actor, "seller_membership", None)
    if seller_membership is not None and seller_membership.seller_id == ticket.seller_id:
        if seller_can(seller_membership, "tickets.manage"):
            return TicketMessage.Side.SELLER
        raise NotAllowed(_("Only the seller's administrators and support staff handle tickets."))
    buyer_membership = getattr(actor, "buyer_membership", None)
    if (
        buyer_membership is not None
        and buyer_membership.buyer_id == ticket.buyer_id
        and (ticket.opened_by_id == actor.pk or buyer_is_admin(buyer_membership))
    ):
        return TicketMessage.Side.BUYER
    if actor.is_staff and actor.has_perm("tickets.change_ticket"):
        return TicketMessage.Side.OPERATIONS
    raise NotFound(_("No such ticket."))


def _locked(ticket_id) -> Ticket:
    return lock(Ticket.objects.select_related("seller", "buyer", "product"), ticket_id, _("No such ticket."))


def _require(side: str, *allowed: str) -> None:
    if side not in allowed:
        raise NotAllowed(_("The other party does this."))


# --- the resolution clock --------------------------------------------------------------------------


def _pause(ticket: Ticket, schedule: sla.Schedule, now) -> None:
    if ticket.sla_running_since is not None:
        ticket.sla_used += sla.open_time_between(schedule, ticket.sla_running_since, now)
        ticket.sla_running_since = None


def _resume(ticket: Ticket, schedule: sla.Schedule, now) -> None:
    if ticket.sla_running_since is not None:
        return
    ticket.sla_running_since = now
    remaining = ticket.resolution_target - ticket.sla_used
    if remaining > timedelta(0):
        ticket.resolution_due_at = sla.add_open_time(schedule, now, remaining)
    # else it is overdue already: the due time stays the one it missed


SLA_FIELDS = ("sla_used", "sla_running_since", "resolution_due_at")


def _schedule_for(ticket: Ticket) -> sla.Schedule:
    reception = (
        ReceptionSettings.objects.prefetch_related("windows", "closed_dates").filter(seller_id=ticket.seller_id).first()
    )
    return schedule_of(reception)


# --- handling --------------------------------------------------------------------------------------


def _accept(ticket: Ticket, actor: User, now) -> None:
    ticket.accepted_at = now
    if ticket.assignee_id is None:
        ticket.assignee = actor
    move(ticket, S.PROCESSING, actor=actor, note=gettext_noop("Accepted"), fields=("accepted_at", "assignee"), at=now)


def ticket_accept(*, actor: User, ticket_id, now=None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.SELLER)
        _accept(ticket, actor, now)
        _tell_buyer(ticket, gettext_lazy("Ticket %(number)s was accepted"), "notifications/ticket_accepted.txt")
    return ticket


def ticket_assign(*, actor: User, ticket_id, assignee_id, now=None) -> Ticket:
    """Hand the ticket to a colleague who handles tickets."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.SELLER, TicketMessage.Side.OPERATIONS)
        if not ticket.is_open:
            raise InvalidTransition(_("A closed ticket is not reassigned."))
        colleague = (
            SellerMembership.objects.select_related("user")
            .filter(seller_id=ticket.seller_id, user_id=as_id(assignee_id, _("No such colleague.")))
            .first()
        )
        if colleague is None or not seller_can(colleague, "tickets.manage"):
            raise NotFound(_("No such colleague."))
        ticket.assignee = colleague.user
        ticket.save(update_fields=["assignee", "updated_at"])
        record(
            ticket,
            actor=actor,
            note=gettext_noop("Assigned to %(name)s"),
            params={"name": colleague.user.name or colleague.user.email},
            at=now,
        )
        if colleague.user_id != actor.pk:
            notify(
                users=[colleague.user],
                subject=gettext_lazy("Ticket %(number)s was assigned to you"),
                subject_params={"number": ticket.number},
                template="notifications/ticket_assigned.txt",
                context={"ticket": ticket},
                link=reverse("seller:ticket_detail", args=[ticket.pk]),
            )
    return ticket


def ticket_reply(*, actor: User, ticket_id, body: str, internal: bool = False, files=(), now=None) -> TicketMessage:
    """A message on the ticket. The seller's reply to a ticket not yet accepted accepts it; the
    buyer's reply to a request for feedback puts it back in processing. Internal notes are the
    seller's, never shown to the buyer."""
    now = now or timezone.now()
    body = _text(body, "body", _("Message"))
    files = clean_files(files, max_files=MAX_FILES)
    with files_kept_only_on_success() as stored, transaction.atomic():
        ticket = _locked(ticket_id)
        side = _side(actor, ticket)
        if not ticket.is_open:
            raise InvalidTransition(_("This ticket is closed; open a new one."))
        if internal and side != TicketMessage.Side.SELLER:
            raise NotAllowed(_("Only the seller's staff write internal notes."))
        kind = TicketMessage.Kind.INTERNAL if internal else TicketMessage.Kind.REPLY
        if side == TicketMessage.Side.SELLER and not internal and ticket.status == S.PENDING_ACCEPTANCE:
            _accept(ticket, actor, now)
        if side == TicketMessage.Side.BUYER and ticket.status == S.AWAITING_FEEDBACK:
            _resume(ticket, _schedule_for(ticket), now)
            move(
                ticket, S.PROCESSING, actor=actor, note=gettext_noop("The customer replied"), fields=SLA_FIELDS, at=now
            )
        message = TicketMessage.objects.create(
            ticket=ticket, author=actor, side=side, kind=kind, body=body, created_at=now
        )
        TicketAttachment.store(files, uploaded_by=actor, created_at=now, stored=stored, ticket=ticket, message=message)
        ticket.save(update_fields=["updated_at"])
        if internal:
            pass
        elif side == TicketMessage.Side.BUYER:
            _tell_seller(
                ticket, gettext_lazy("The customer replied on ticket %(number)s"), "notifications/ticket_reply.txt"
            )
        elif side == TicketMessage.Side.SELLER:
            _tell_buyer(
                ticket, gettext_lazy("The seller replied on ticket %(number)s"), "notifications/ticket_reply.txt"
            )
        else:
            _tell_buyer(ticket, gettext_lazy("Operations wrote on ticket %(number)s"), "notifications/ticket_reply.txt")
            _tell_seller(
                ticket, gettext_lazy("Operations wrote on ticket %(number)s"), "notifications/ticket_reply.txt"
            )
    return message


def ticket_request_feedback(*, actor: User, ticket_id, body: str, now=None) -> Ticket:
    """The seller needs something from the buyer: the resolution clock pauses until they answer."""
    now = now or timezone.now()
    body = _text(body, "body", _("Message"))
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.SELLER)
        if ticket.status == S.PENDING_ACCEPTANCE:
            _accept(ticket, actor, now)
        _pause(ticket, _schedule_for(ticket), now)
        move(
            ticket, S.AWAITING_FEEDBACK, actor=actor, note=gettext_noop("Feedback requested"), fields=SLA_FIELDS, at=now
        )
        TicketMessage.objects.create(
            ticket=ticket,
            author=actor,
            side=TicketMessage.Side.SELLER,
            kind=TicketMessage.Kind.FEEDBACK_REQUEST,
            body=body,
            created_at=now,
        )
        _tell_buyer(ticket, gettext_lazy("Ticket %(number)s needs your feedback"), "notifications/ticket_feedback.txt")
    return ticket


def ticket_resolve(*, actor: User, ticket_id, cause: str, solution: str, now=None) -> Ticket:
    """ "Confirm resolved": the seller states the cause and the solution; the buyer is asked to
    confirm. The resolution clock stops (it runs again if the buyer says it is not resolved)."""
    now = now or timezone.now()
    cause = _text(cause, "cause", _("Cause"))
    solution = _text(solution, "solution", _("Solution"))
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.SELLER)
        if ticket.status == S.PENDING_ACCEPTANCE:
            _accept(ticket, actor, now)
        _pause(ticket, _schedule_for(ticket), now)
        ticket.cause, ticket.solution, ticket.resolved_at = cause, solution, now
        move(
            ticket,
            S.PENDING_CONFIRMATION,
            actor=actor,
            note=gettext_noop("Resolved; waiting for the customer to confirm"),
            fields=(*SLA_FIELDS, "cause", "solution", "resolved_at"),
            at=now,
        )
        TicketMessage.objects.create(
            ticket=ticket,
            author=actor,
            side=TicketMessage.Side.SELLER,
            kind=TicketMessage.Kind.RESOLUTION,
            body=_("Cause: %(cause)s\nSolution: %(solution)s") % {"cause": cause, "solution": solution},
            created_at=now,
        )
        _tell_buyer(
            ticket,
            gettext_lazy("Ticket %(number)s is resolved: please confirm"),
            "notifications/ticket_resolved.txt",
            context={"days": settings.MARKETPLACE["TICKET_AUTO_COMPLETE_DAYS"]},
        )
    return ticket


def ticket_confirm(*, actor: User, ticket_id, rating=None, comment: str = "", now=None) -> Ticket:
    """The buyer confirms the resolution, optionally rating it 1 to 5."""
    now = now or timezone.now()
    if rating not in (None, ""):
        try:
            rating = int(rating)
        except (TypeError, ValueError):
            rating = 0
        if not 1 <= rating <= 5:
            raise ValidationFailed(_("Rate from 1 to 5."), field_errors={"rating": [_("Rate from 1 to 5.")]})
    else:
        rating = None
    comment = (comment or "").strip()[:500]
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.BUYER)
        ticket.rating, ticket.rating_comment, ticket.closed_at = rating, comment, now
        move(
            ticket,
            S.COMPLETED,
            actor=actor,
            note=gettext_noop("The customer confirmed the resolution"),
            message=comment,
            fields=("rating", "rating_comment", "closed_at"),
            at=now,
        )
        _tell_seller(ticket, gettext_lazy("Ticket %(number)s is completed"), "notifications/ticket_completed.txt")
    return ticket


def ticket_reject(*, actor: User, ticket_id, reason: str, now=None) -> Ticket:
    """The buyer says it is not resolved: back to processing, the resolution clock runs again."""
    now = now or timezone.now()
    reason = _text(reason, "reason", _("Reason"))
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.BUYER)
        if ticket.status != S.PENDING_CONFIRMATION:
            raise InvalidTransition(_("Only a ticket waiting for your confirmation can be sent back."))
        _resume(ticket, _schedule_for(ticket), now)
        ticket.resolved_at = None
        move(
            ticket,
            S.PROCESSING,
            actor=actor,
            note=gettext_noop("The customer says it is not resolved"),
            message=reason,
            fields=(*SLA_FIELDS, "resolved_at"),
            at=now,
        )
        TicketMessage.objects.create(
            ticket=ticket,
            author=actor,
            side=TicketMessage.Side.BUYER,
            kind=TicketMessage.Kind.REJECTION,
            body=reason,
            created_at=now,
        )
        _tell_seller(
            ticket,
            gettext_lazy("Ticket %(number)s is not resolved, says the customer"),
            "notifications/ticket_reply.txt",
        )
    return ticket


def ticket_withdraw(*, actor: User, ticket_id, reason: str = "", now=None) -> Ticket:
    """The buyer no longer needs help (not once the seller asked for confirmation)."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _locked(ticket_id)
        _require(_side(actor, ticket), TicketMessage.Side.BUYER)
        _pause(ticket, _schedule_for(ticket), now)
        ticket.closed_at = now
        move(
            ticket,
            S.WITHDRAWN,
            actor=actor,
            note=gettext_noop("Withdrawn by the customer"),
            message=(reason or "").strip()[:500],
            fields=(*SLA_FIELDS, "closed_at"),
            at=now,
        )
        _tell_seller(ticket, gettext_lazy("Ticket %(number)s was withdrawn"), "notifications/ticket_withdrawn.txt")
    return ticket


def tickets_auto_complete(*, now=None) -> int:
    """Tickets the buyer did not confirm within TICKET_AUTO_COMPLETE_DAYS complete by themselves."""
    now = now or timezone.now()
    days = settings.MARKETPLACE["TICKET_AUTO_COMPLETE_DAYS"]
    due = list(
        Ticket.objects.filter(status=S.PENDING_CONFIRMATION, resolved_at__lte=now - timedelta(days=days))
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True).filter(pk=pk, status=S.PENDING_CONFIRMATION).first()
            )
            if ticket is None:
                continue
            ticket.closed_at = now
            move(
                ticket,
                S.COMPLETED,
                actor=None,
                note=gettext_noop("Completed automatically: not confirmed within %(days)s days"),
                params={"days": days},
                fields=("closed_at",),
                at=now,
            )
            _tell_buyer(ticket, gettext_lazy("Ticket %(number)s is completed"), "notifications/ticket_completed.txt")
            _tell_seller(ticket, gettext_lazy("Ticket %(number)s is completed"), "notifications/ticket_completed.txt")
            done += 1
    return done


# --- notices ---------------------------------------------------------------------------------------


def _tell_buyer(ticket: Ticket, subject, template: str, context: dict | None = None) -> None:
    notify(
        users=[ticket.opened_by],
        subject=subject,
        subject_params={"number": ticket.number, "title": ticket.title},
        template=template,
        context={"ticket": ticket, **(context or {})},
        link=reverse("buyer:ticket_detail", args=[ticket.pk]),
    )


def _tell_seller(ticket: Ticket, subject, template: str) -> None:
    """The handler, or (while nobody has it) the seller's administrators and support staff."""
    handler = (
        SellerMembership.objects.filter(seller_id=ticket.seller_id, user_id=ticket.assignee_id).first()
        if ticket.assignee_id
        else None
    )
    if seller_can(handler, "tickets.manage"):  # still with the seller, still handling tickets
        users = [ticket.assignee]
    else:
        users = seller_users(ticket.seller_id, (SellerMembership.Role.ADMIN, SellerMembership.Role.SUPPORT))
    notify(
        users=users,
        subject=subject,
        subject_params={"number": ticket.number, "title": ticket.title},
        template=template,
        context={"ticket": ticket},
        link=reverse("seller:ticket_detail", args=[ticket.pk]),
    )
