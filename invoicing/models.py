"""Invoices: the seller's VAT invoice to the platform for a joint-flow statement, and buyers'
invoices (profiles, requests, the issuer's invoice, returns and voids, explanation letters)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Statement
from marketplace.accounts.models import Buyer, Seller
from marketplace.core.models import EventBase
from marketplace.core.money import MoneyField
from marketplace.core.uploads import PrivateUploadTo, private_storage
from marketplace.orders.models import Order


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


# --- buyers' invoices ------------------------------------------------------------------------------


class InvoiceProfile(models.Model):
    """An invoice title a buyer invoices to (抬头): a person or a company, with its tax details."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        COMPANY = "company", _("Company")

    class VatKind(models.TextChoices):
        GENERAL = "general", _("General VAT invoice")
        SPECIAL = "special", _("Special VAT invoice")

    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="invoice_profiles", verbose_name=_("buyer"))
    kind = models.CharField(_("title type"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("invoice title"), max_length=100)
    tax_id = models.CharField(_("taxpayer id"), max_length=20, blank=True)
    address = models.CharField(_("registered address"), max_length=200, blank=True)
    phone = models.CharField(_("registered phone"), max_length=30, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    vat_kind = models.CharField(_("invoice type"), max_length=12, choices=VatKind.choices, default=VatKind.GENERAL)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("invoice profile")
        verbose_name_plural = _("invoice profiles")
        ordering = ["-is_default", "title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["buyer"], condition=Q(is_default=True), name="one_default_invoice_profile"),
        ]

    def __str__(self):
        return self.title


class InvoiceRequest(models.Model):
    """A buyer's request for an invoice over one or more paid orders of one issuer."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ISSUED = "issued", _("Issued")
        DELIVERED = "delivered", _("Delivered")
        RETURN_REQUESTED = "return_requested", _("Return requested")
        RETURNED = "returned", _("Returned")
        VOIDED = "voided", _("Voided")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.SUBMITTED: {Status.ISSUED, Status.REJECTED},
        Status.REJECTED: {Status.SUBMITTED},
        Status.ISSUED: {Status.DELIVERED, Status.RETURN_REQUESTED},
        Status.DELIVERED: {Status.RETURN_REQUESTED},
        Status.RETURN_REQUESTED: {Status.RETURNED, Status.VOIDED},
        Status.RETURNED: set(),
        Status.VOIDED: set(),
    }
    # States in which an invoice exists that a refund must wait for.
    INVOICE_OUT = (Status.ISSUED, Status.DELIVERED, Status.RETURN_REQUESTED)

    class Issuer(models.TextChoices):
        SELLER = "seller", _("The seller")
        PLATFORM = "platform", _("The platform")

    class Medium(models.TextChoices):
        PAPER = "paper", _("Paper invoice")
        ELECTRONIC = "electronic", _("Electronic invoice")
        DIGITAL = "digital", _("Digital all-electric invoice")

    number = models.CharField(_("request number"), max_length=20, unique=True)
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="invoice_requests", verbose_name=_("buyer"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issuer = models.CharField(_("issuer"), max_length=10, choices=Issuer.choices)
    # The issuing seller; empty when the platform issues (its orders may be of several sellers).
    seller = models.ForeignKey(
        Seller,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice_requests",
        verbose_name=_("seller"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    amount = MoneyField(_("amount"))
    # The title as it was when the request was made (a profile may change later).
    profile = models.ForeignKey(InvoiceProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title_kind = models.CharField(_("title type"), max_length=12, choices=InvoiceProfile.Kind.choices)
    title = models.CharField(_("invoice title"), max_length=100)
    tax_id = models.CharField(_("taxpayer id"), max_length=20, blank=True)
    title_details = models.JSONField(_("title details"), default=dict, blank=True)
    vat_kind = models.CharField(_("invoice type"), max_length=12, choices=InvoiceProfile.VatKind.choices)
    medium = models.CharField(_("medium"), max_length=12, choices=Medium.choices)
    recipient = models.CharField(_("recipient"), max_length=50, blank=True)
    recipient_phone = models.CharField(_("recipient phone"), max_length=30, blank=True)
    mailing_address = models.CharField(_("mailing address"), max_length=200, blank=True)
    recipient_email = models.EmailField(_("recipient e-mail"), blank=True)
    # The invoice itself, recorded by the issuer.
    invoice_number = models.CharField(_("invoice number"), max_length=32, blank=True)
    invoice_code = models.CharField(_("invoice code"), max_length=32, blank=True)
    issued_on = models.DateField(_("invoice date"), null=True, blank=True)
    invoice_amount = MoneyField(_("invoice amount"), null=True, blank=True)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    file = models.FileField(
        _("invoice PDF"), upload_to=PrivateUploadTo("buyer-invoices"), storage=private_storage, blank=True
    )
    courier = models.CharField(_("courier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=50, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    return_reason = models.TextField(_("return reason"), blank=True)
    created_at = models.DateTimeField(_("submitted"), default=timezone.now)
    due_at = models.DateTimeField(_("to be issued by"))
    reminded_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("invoice request")
        verbose_name_plural = _("invoice requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["seller", "issuer", "status", "due_at"], name="invreq_issuer_queue"),
            models.Index(fields=["buyer", "-created_at"], name="invreq_buyer_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_request_amount_positive"),
        ]
        permissions = [("issue_invoicerequest", _("Can issue buyers' invoices for the platform"))]

    def __str__(self):
        return self.number

    @property
    def postage_by_seller(self) -> bool:
        """Paper invoices of CNY 100 or more are posted at the issuer's cost."""
        return self.medium == self.Medium.PAPER and self.amount >= 100

    def overdue(self, now) -> bool:
        return self.status == self.Status.SUBMITTED and now > self.due_at


class InvoicedOrder(models.Model):
    """An order on an invoice request. While the request holds it, no other request may: a partial
    unique index is the guard (two requests racing for one order: one wins)."""

    request = models.ForeignKey(InvoiceRequest, on_delete=models.CASCADE, related_name="lines")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoice_lines", verbose_name=_("order"))
    amount = MoneyField(_("amount"))
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("invoiced order")
        verbose_name_plural = _("invoiced orders")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(active=True), name="order_invoiced_once"),
        ]

    def __str__(self):
        return f"{self.request_id}: {self.order_id}"


class InvoiceRequestEvent(EventBase):
    request = models.ForeignKey(InvoiceRequest, on_delete=models.CASCADE, related_name="events")
    status_choices = InvoiceRequest.Status

    class Meta(EventBase.Meta):
        verbose_name = _("invoice request event")
        verbose_name_plural = _("invoice request events")


class ExplanationLetter(models.Model):
    """A stamped letter (说明函) certifying an issued invoice, verifiable at /verify/<code>."""

    class Status(models.TextChoices):
        STAMPING = "stamping", _("Stamping")
        STAMPED = "stamped", _("Stamped")

    request = models.ForeignKey(InvoiceRequest, on_delete=models.PROTECT, related_name="letters")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.STAMPING)
    verification_code = models.CharField(_("verification code"), max_length=32, unique=True)
    file = models.FileField(_("letter PDF"), upload_to=PrivateUploadTo("letters"), storage=private_storage, blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    expected_at = models.DateTimeField(_("expected"))
    stamped_at = models.DateTimeField(_("stamped"), null=True, blank=True)

    class Meta:
        verbose_name = _("explanation letter")
        verbose_name_plural = _("explanation letters")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(status="stamping"), name="one_letter_stamping_per_request"
            ),
        ]

    def __str__(self):
        return self.verification_code
