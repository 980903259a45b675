"""Tickets (工单): a buyer asks a seller for help about a product; the seller answers within its
reception hours. DOMAIN.md section 7; the SLA arithmetic is ``tickets.sla``."""

import secrets
from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Buyer, Seller
from marketplace.catalog.models import Product
from marketplace.core.models import AttachmentBase, EventBase
from marketplace.core.uploads import PrivateUploadTo, private_storage
from marketplace.orders.models import Order


def new_ticket_number(at=None) -> str:
    return "T" + timezone.localtime(at).strftime("%Y%m%d") + f"{secrets.randbelow(10**8):08d}"


class ReceptionSettings(models.Model):
    """When a seller takes tickets (seller center > Tickets > Settings)."""

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, related_name="reception", verbose_name=_("seller"))
    accepts_tickets = models.BooleanField(_("accepts tickets"), default=False)
    observe_public_holidays = models.BooleanField(_("closed on public holidays"), default=True)
    first_response_hours = models.PositiveSmallIntegerField(_("first response within (reception hours)"), default=4)
    resolution_hours = models.PositiveSmallIntegerField(_("resolution within (reception hours)"), default=40)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reception settings")
        verbose_name_plural = _("reception settings")

    def __str__(self):
        return str(self.seller)


class ReceptionWindow(models.Model):
    """One weekly window of reception hours, Beijing time; ``end`` 00:00 means midnight (24:00)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    reception = models.ForeignKey(ReceptionSettings, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("to"))

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name = _("reception window")
        verbose_name_plural = _("reception windows")

    def __str__(self):
        end = "24:00" if self.end == time(0) else self.end.strftime("%H:%M")
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{end}"


class ClosedDate(models.Model):
    """A day the seller does not take tickets, besides public holidays."""

    reception = models.ForeignKey(ReceptionSettings, on_delete=models.CASCADE, related_name="closed_dates")
    day = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["reception", "day"], name="closed_date_once")]
        verbose_name = _("closed date")
        verbose_name_plural = _("closed dates")

    def __str__(self):
        return f"{self.day:%Y-%m-%d}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        PENDING_ACCEPTANCE = "pending_acceptance", _("Pending acceptance")
        PROCESSING = "processing", _("Processing")
        AWAITING_FEEDBACK = "awaiting_feedback", _("Awaiting feedback")
        PENDING_CONFIRMATION = "pending_confirmation", _("Pending confirmation")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.PENDING_ACCEPTANCE: {Status.PROCESSING, Status.WITHDRAWN},
        Status.PROCESSING: {Status.AWAITING_FEEDBACK, Status.PENDING_CONFIRMATION, Status.WITHDRAWN},
        Status.AWAITING_FEEDBACK: {Status.PROCESSING, Status.PENDING_CONFIRMATION, Status.WITHDRAWN},
        Status.PENDING_CONFIRMATION: {Status.COMPLETED, Status.PROCESSING},
        Status.COMPLETED: set(),
        Status.WITHDRAWN: set(),
    }
    OPEN = (Status.PENDING_ACCEPTANCE, Status.PROCESSING, Status.AWAITING_FEEDBACK, Status.PENDING_CONFIRMATION)
    # The resolution clock runs in these states; it pauses while the buyer is asked for feedback
    # and stops once the seller says it is resolved.
    CLOCK_RUNS = (Status.PENDING_ACCEPTANCE, Status.PROCESSING)

    class Category(models.TextChoices):
        USAGE = "usage", _("Usage question")
        FAULT = "fault", _("Fault")
        ACCOUNT = "account", _("Account and activation")
        BILLING = "billing", _("Billing and invoices")
        STATEMENT_DISPUTE = "statement_dispute", _("Statement dispute")
        OTHER = "other", _("Other")

    number = models.CharField(_("ticket number"), max_length=20, unique=True, default=new_ticket_number)
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("seller"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("buyer"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets_opened", verbose_name=_("opened by")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("product"))
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("order")
    )
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.PENDING_ACCEPTANCE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets_assigned",
        verbose_name=_("handler"),
    )
    cause = models.TextField(_("cause"), blank=True)
    solution = models.TextField(_("solution"), blank=True)
    rating = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    rating_comment = models.CharField(_("comment on the rating"), max_length=500, blank=True)

    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # SLA, in the seller's reception hours (tickets.sla). The first response is the acceptance.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # The resolution clock: reception time used before the running stretch began, and when it began
    # (None while paused or stopped).
    sla_used = models.DurationField(default=timedelta)
    sla_running_since = models.DateTimeField(null=True, blank=True)
    resolution_target = models.DurationField(default=timedelta)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["seller", "-created_at", "-id"], name="ticket_seller_recent"),
            models.Index(fields=["buyer", "-created_at", "-id"], name="ticket_buyer_recent"),
            models.Index(fields=["seller", "status"], name="ticket_seller_status"),
            models.Index(fields=["status", "closed_at"], name="ticket_status_closed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="ticket_rating_1_to_5",
            ),
        ]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def overdue_at(self, now) -> str:
        """'' when on time, else which target was missed: "response" or "resolution"."""
        if (
            self.status == self.Status.PENDING_ACCEPTANCE
            and self.first_response_due_at
            and now > self.first_response_due_at
        ):
            return "response"
        if self.status in self.CLOCK_RUNS and self.resolution_due_at and now > self.resolution_due_at:
            return "resolution"
        return ""


class TicketMessage(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        INTERNAL = "internal", _("Internal note")
        FEEDBACK_REQUEST = "feedback_request", _("Feedback requested")
        RESOLUTION = "resolution", _("Resolution")
        REJECTION = "rejection", _("Not resolved")

    class Side(models.TextChoices):
        BUYER = "buyer", _("Customer")
        SELLER = "seller", _("Seller")
        OPERATIONS = "operations", _("Operations")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(_("from"), max_length=12, choices=Side.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REPLY)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_message_time")]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")

    def __str__(self):
        return f"{self.ticket_id}: {self.body[:40]}"

    @property
    def internal(self) -> bool:
        return self.kind == self.Kind.INTERNAL


class TicketAttachment(AttachmentBase):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        TicketMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=PrivateUploadTo("tickets"), storage=private_storage)


class TicketEvent(EventBase):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    status_choices = Ticket.Status

    class Meta(EventBase.Meta):
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
