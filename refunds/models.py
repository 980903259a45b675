"""Refunds. For now the record of money paid back on an order line; requests, approval and
the guarantee-period rules arrive with the refunds feature."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.core.models import EventBase
from marketplace.core.money import MoneyField
from marketplace.orders.models import OrderLine


class Refund(models.Model):
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order line")
    )
    amount = MoneyField(_("amount"))
    reason = models.TextField(_("reason"))
    refunded_at = models.DateTimeField(_("refunded"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("refund", "by"),
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-refunded_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"{self.order_line} −{self.amount}"


class RefundRequest(models.Model):
    """A buyer's request to be paid back on an order line (DOMAIN.md section 8). Negotiated refunds
    wait for the seller (or, after 7 days, operations); full refunds of a renewal not yet in effect
    and no-reason refunds of non-supervised SaaS are approved at once. Approved requests are paid
    back by a background job (``refunds.services.refunds_pay_due``)."""

    class Kind(models.TextChoices):
        NEGOTIATED = "negotiated", _("Negotiated refund (guarantee period)")
        RENEWAL_NOT_EFFECTIVE = "renewal_not_effective", _("Full refund of a renewal not yet in effect")
        NO_REASON = "no_reason", _("5-day no-reason refund")

    class Reason(models.TextChoices):
        NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
        QUALITY = "quality", _("Quality or faults")
        NOT_DELIVERED = "not_delivered", _("Not delivered in time")
        WRONG_PURCHASE = "wrong_purchase", _("Bought by mistake")
        NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Waiting for the seller")
        PROPOSED = "proposed", _("Seller proposed another amount")
        ESCALATED = "escalated", _("Escalated to operations")
        APPROVED = "approved", _("Approved, being paid back")
        PAID = "paid", _("Paid back")
        REJECTED = "rejected", _("Rejected")
        DECLINED = "declined", _("Proposal declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.REQUESTED: {Status.APPROVED, Status.REJECTED, Status.PROPOSED, Status.ESCALATED, Status.WITHDRAWN},
        Status.PROPOSED: {Status.APPROVED, Status.DECLINED, Status.WITHDRAWN},
        Status.ESCALATED: {Status.APPROVED, Status.REJECTED, Status.PROPOSED, Status.WITHDRAWN},
        Status.APPROVED: {Status.PAID},
        Status.PAID: set(),
        Status.REJECTED: set(),
        Status.DECLINED: set(),
        Status.WITHDRAWN: set(),
    }
    OPEN = (Status.REQUESTED, Status.PROPOSED, Status.ESCALATED, Status.APPROVED)

    number = models.CharField(_("refund number"), max_length=20, unique=True)
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="refund_requests", verbose_name=_("order line")
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    reason_code = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    reason_text = models.TextField(_("details"), blank=True)
    amount_requested = MoneyField(_("amount requested"))
    amount_proposed = MoneyField(_("amount proposed"), null=True, blank=True)
    amount = MoneyField(_("amount agreed"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    answer_due_at = models.DateTimeField(_("seller to answer by"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    pay_by = models.DateTimeField(_("to be paid back by"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid back"), null=True, blank=True)
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="request", verbose_name=_("refund")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "answer_due_at"], name="refundreq_due"),
            models.Index(fields=["status", "approved_at"], name="refundreq_to_pay"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_requested__gt=0), name="refundreq_amount_positive"),
            # One open request per order line at a time.
            models.UniqueConstraint(
                fields=["order_line"],
                condition=Q(status__in=["requested", "proposed", "escalated", "approved"]),
                name="one_open_refund_request_per_line",
            ),
        ]
        permissions = [("decide_refundrequest", _("Can decide escalated refund requests"))]

    def __str__(self):
        return self.number


class RefundRequestEvent(EventBase):
    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="events")
    status_choices = RefundRequest.Status

    class Meta(EventBase.Meta):
        verbose_name = _("refund request event")
        verbose_name_plural = _("refund request events")


class RefundAttempt(models.Model):
    """One try at paying a refund back. The idempotency key is the refund request's: a retry after
    an unknown outcome asks the gateway again with the same key and is never paid twice."""

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="attempts")
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    method = models.CharField(_("paid back to"), max_length=16)
    ok = models.BooleanField(_("succeeded"), default=False)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("refund attempt")
        verbose_name_plural = _("refund attempts")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], condition=Q(ok=True), name="refund_paid_once"),
        ]

    def __str__(self):
        return f"{self.idempotency_key} {'ok' if self.ok else 'failed'}"
