"""Invoices. For now: the seller's VAT invoice to the platform for a joint-flow statement."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Statement
from marketplace.core.models import EventBase
from marketplace.core.money import MoneyField
from marketplace.core.uploads import PrivateUploadTo, private_storage


class SellerInvoice(models.Model):
    """The seller's invoice for a statement's net payable. One statement, one accepted invoice;
    a rejected one can be followed by a corrected one."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting verification")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.SUBMITTED: {Status.VERIFIED, Status.REJECTED},
        Status.VERIFIED: set(),
        Status.REJECTED: set(),
    }

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="seller_invoices")
    number = models.CharField(_("invoice number"), max_length=32)
    issued_on = models.DateField(_("invoice date"))
    amount = MoneyField(_("amount (tax included)"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4)
    file = models.FileField(_("PDF"), upload_to=PrivateUploadTo("seller-invoices"), storage=private_storage)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("seller invoice")
        verbose_name_plural = _("seller invoices")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["statement"], condition=~Q(status="rejected"), name="one_live_invoice_per_statement"
            ),
            models.CheckConstraint(condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1), name="invoice_tax_rate_range"),
        ]
        permissions = [("verify_sellerinvoice", _("Can verify sellers' invoices"))]

    def __str__(self):
        return self.number


class SellerInvoiceEvent(EventBase):
    invoice = models.ForeignKey(SellerInvoice, on_delete=models.CASCADE, related_name="events")
    status_choices = SellerInvoice.Status

    class Meta(EventBase.Meta):
        verbose_name = _("seller invoice event")
        verbose_name_plural = _("seller invoice events")
