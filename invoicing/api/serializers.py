"""Buyers' invoices over the API: what profiles, requests, invoiceable orders and explanation
letters look like to each party, and the bodies of their actions.

Statuses, issuers, media and title types go out as their value and their label in the request's
language. Status fields of responses are plain strings (their values listed in the help text), as
in the tickets API: a second "status" enum in the schema would collide with the orders' one.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import ExplanationLetter, InvoicedOrder, InvoiceProfile, InvoiceRequest, InvoiceRequestEvent

STATUS_HELP = "One of: " + ", ".join(InvoiceRequest.Status.values)
ISSUER_HELP = "One of: " + ", ".join(InvoiceRequest.Issuer.values)
MEDIUM_HELP = "One of: " + ", ".join(InvoiceRequest.Medium.values)
KIND_HELP = "One of: " + ", ".join(InvoiceProfile.Kind.values)
VAT_KIND_HELP = "One of: " + ", ".join(InvoiceProfile.VatKind.values)
MAX_ID = 2**63 - 1


def _now(serializer):
    """One instant for a whole response (the view puts it in the context)."""
    context = serializer.context
    if "now" not in context:
        context["now"] = timezone.now()
    return context["now"]


def _person(user) -> str:
    return (user.name or user.email) if user is not None else ""


# --- profiles --------------------------------------------------------------------------------------


class InvoiceProfileSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    vat_kind = serializers.CharField(read_only=True, help_text=VAT_KIND_HELP)
    vat_kind_label = serializers.CharField(source="get_vat_kind_display", read_only=True)

    class Meta:
        model = InvoiceProfile
        fields = [
            "id",
            "kind",
            "kind_label",
            "title",
            "tax_id",
            "address",
            "phone",
            "bank_name",
            "bank_account",
            "vat_kind",
            "vat_kind_label",
            "is_default",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InvoiceProfileInputSerializer(serializers.Serializer):
    """A profile as the buyer enters it; the service checks it (a company's unified social credit
    code and check character, what a special VAT invoice needs)."""

    kind = serializers.CharField(allow_blank=True, max_length=20, help_text=KIND_HELP)
    title = serializers.CharField(allow_blank=True, max_length=200)
    tax_id = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=40, help_text="A company's unified social credit code."
    )
    address = serializers.CharField(required=False, allow_blank=True, default="", max_length=400)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    bank_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    bank_account = serializers.CharField(required=False, allow_blank=True, default="", max_length=80)
    vat_kind = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20, help_text=VAT_KIND_HELP + " (general if empty)"
    )
    is_default = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Make it the default; left out: unchanged."
    )


class InvoiceProfilePatchSerializer(InvoiceProfileInputSerializer):
    """A partial change: the fields left out keep their values."""

    kind = serializers.CharField(required=False, allow_blank=True, max_length=20, help_text=KIND_HELP)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tax_id = serializers.CharField(required=False, allow_blank=True, max_length=40)
    address = serializers.CharField(required=False, allow_blank=True, max_length=400)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=60)
    bank_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    bank_account = serializers.CharField(required=False, allow_blank=True, max_length=80)
    vat_kind = serializers.CharField(required=False, allow_blank=True, max_length=20, help_text=VAT_KIND_HELP)


# --- invoiceable orders ----------------------------------------------------------------------------


class InvoiceableOrderSerializer(serializers.Serializer):
    """A paid order on no live invoice request, with what is left to invoice and who issues."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    order_type = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="What was paid.")
    amount_left = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="What was paid and not refunded: the amount to invoice."
    )
    paid_at = serializers.DateTimeField(allow_null=True)
    seller = serializers.IntegerField(source="seller_id")
    seller_name = serializers.CharField(source="seller.name")
    products = serializers.SerializerMethodField()
    issuer = serializers.CharField(help_text=ISSUER_HELP)
    issuer_key = serializers.CharField(
        help_text='"platform" or "seller-<id>": the orders of one request must share it.'
    )
    issuer_name = serializers.CharField(source="issuer_label", help_text="The issuing seller's name, or the platform.")

    def get_products(self, obj) -> list[str]:
        return [str(line.product.name) for line in obj.lines.all()]


# --- requests --------------------------------------------------------------------------------------


class InvoicedOrderSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    order_amount = serializers.DecimalField(
        source="order.amount", max_digits=18, decimal_places=2, read_only=True, help_text="What was paid."
    )
    paid_at = serializers.DateTimeField(source="order.paid_at", read_only=True)
    active = serializers.BooleanField(
        read_only=True, help_text="Whether the request still holds the order (false once rejected, returned, voided)."
    )

    class Meta:
        model = InvoicedOrder
        fields = ["order", "order_number", "order_amount", "paid_at", "amount", "active"]
        read_only_fields = fields


class InvoiceRequestEventSerializer(serializers.ModelSerializer):
    to_label = serializers.CharField(read_only=True)
    message = serializers.CharField(source="text", read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceRequestEvent
        fields = ["from_status", "to_status", "to_label", "message", "actor_name", "created_at"]

    def get_actor_name(self, obj) -> str:
        return _person(obj.actor)


class ExplanationLetterSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(ExplanationLetter.Status.values))
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    request_number = serializers.CharField(source="request.number", read_only=True)
    invoice_number = serializers.CharField(source="request.invoice_number", read_only=True)
    download_url = serializers.SerializerMethodField(help_text="The stamped PDF; null while it is being stamped.")
    verify_url = serializers.SerializerMethodField(help_text="The public page that confirms the letter.")

    class Meta:
        model = ExplanationLetter
        fields = [
            "id",
            "request",
            "request_number",
            "invoice_number",
            "status",
            "status_label",
            "verification_code",
            "created_at",
            "expected_at",
            "stamped_at",
            "download_url",
            "verify_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj) -> str | None:
        if obj.status != ExplanationLetter.Status.STAMPED or not obj.file:
            return None
        return reverse("invoicing:letter_file", args=[obj.pk])

    def get_verify_url(self, obj) -> str:
        return reverse("verify:letter_verify", args=[obj.verification_code])


class InvoiceRequestSerializer(serializers.ModelSerializer):
    """A row of a request list; both parties see these fields."""

    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    issuer = serializers.CharField(read_only=True, help_text=ISSUER_HELP)
    issuer_label = serializers.CharField(source="get_issuer_display", read_only=True)
    seller_name = serializers.CharField(source="seller.name", default=None, read_only=True)
    title_kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    vat_kind = serializers.CharField(read_only=True, help_text=VAT_KIND_HELP)
    vat_kind_label = serializers.CharField(source="get_vat_kind_display", read_only=True)
    medium = serializers.CharField(read_only=True, help_text=MEDIUM_HELP)
    medium_label = serializers.CharField(source="get_medium_display", read_only=True)
    overdue = serializers.SerializerMethodField(help_text="Still not issued after the 7-day deadline.")
    order_count = serializers.SerializerMethodField()
    postage_by_seller = serializers.BooleanField(
        read_only=True, help_text="A paper invoice of CNY 100 or more: the issuer pays the postage."
    )

    class Meta:
        model = InvoiceRequest
        fields = [
            "id",
            "number",
            "status",
            "status_label",
            "issuer",
            "issuer_label",
            "seller",
            "seller_name",
            "amount",
            "title_kind",
            "title",
            "vat_kind",
            "vat_kind_label",
            "medium",
            "medium_label",
            "invoice_number",
            "issued_on",
            "created_at",
            "due_at",
            "issued_at",
            "delivered_at",
            "order_count",
            "overdue",
            "postage_by_seller",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.overdue(_now(self))

    def get_order_count(self, obj) -> int:
        count = getattr(obj, "order_count", None)  # annotated by the seller's list
        return count if count is not None else len(obj.lines.all())


class SellerInvoiceRequestSerializer(InvoiceRequestSerializer):
    buyer_name = serializers.CharField(source="buyer.name", read_only=True)

    class Meta(InvoiceRequestSerializer.Meta):
        fields = [*InvoiceRequestSerializer.Meta.fields, "buyer", "buyer_name"]
        read_only_fields = fields


class _DetailMixin(serializers.Serializer):
    orders = InvoicedOrderSerializer(source="lines", many=True, read_only=True)
    events = InvoiceRequestEventSerializer(many=True, read_only=True)
    file_url = serializers.SerializerMethodField(help_text="The invoice PDF, once it is issued.")

    DETAIL_FIELDS = [
        "tax_id",
        "title_details",
        "recipient",
        "recipient_phone",
        "mailing_address",
        "recipient_email",
        "invoice_code",
        "invoice_amount",
        "tax_rate",
        "courier",
        "tracking_number",
        "rejection_reason",
        "return_reason",
        "file_url",
        "orders",
        "events",
    ]

    def get_file_url(self, obj) -> str | None:
        return reverse("invoicing:invoice_file", args=[obj.pk]) if obj.file else None


class BuyerInvoiceRequestDetailSerializer(_DetailMixin, InvoiceRequestSerializer):
    letters = ExplanationLetterSerializer(many=True, read_only=True)

    class Meta(InvoiceRequestSerializer.Meta):
        fields = [*InvoiceRequestSerializer.Meta.fields, "profile", *_DetailMixin.DETAIL_FIELDS, "letters"]
        read_only_fields = fields


class SellerInvoiceRequestDetailSerializer(_DetailMixin, SellerInvoiceRequestSerializer):
    class Meta(SellerInvoiceRequestSerializer.Meta):
        fields = [*SellerInvoiceRequestSerializer.Meta.fields, *_DetailMixin.DETAIL_FIELDS]
        read_only_fields = fields


# --- list filters ----------------------------------------------------------------------------------


class BuyerInvoiceRequestFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=InvoiceRequest.Status.values, required=False, allow_blank=True)
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text=_("Request, invoice or order number, or title")
    )


class SellerInvoiceRequestFilterSerializer(BuyerInvoiceRequestFilterSerializer):
    overdue = serializers.BooleanField(
        required=False, default=False, help_text="Only requests still not issued after the deadline."
    )


# --- actions ---------------------------------------------------------------------------------------


class _DeliverySerializer(serializers.Serializer):
    profile = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="One of the buyer's invoice profiles.")
    medium = serializers.ChoiceField(choices=InvoiceRequest.Medium.choices)
    recipient = serializers.CharField(required=False, allow_blank=True, default="", help_text="Paper invoices.")
    recipient_phone = serializers.CharField(required=False, allow_blank=True, default="", help_text="Paper invoices.")
    mailing_address = serializers.CharField(required=False, allow_blank=True, default="", help_text="Paper invoices.")
    recipient_email = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Electronic and digital all-electric invoices."
    )


class InvoiceRequestSubmitSerializer(_DeliverySerializer):
    orders = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=100,
        help_text="Paid orders of one issuer (see buyer/invoiceable-orders/).",
    )


class InvoiceRequestResubmitSerializer(_DeliverySerializer):
    """A rejected request, corrected: the title and delivery again."""


class InvoiceReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


class InvoiceIssueSerializer(serializers.Serializer):
    invoice_number = serializers.CharField(allow_blank=True)
    invoice_code = serializers.CharField(required=False, allow_blank=True, default="")
    issued_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="Today if left out.")
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="Tax included; must be the amount requested (which it is if left out).",
    )
    tax_rate = serializers.DecimalField(
        max_digits=5, decimal_places=4, required=False, allow_null=True, default=None, help_text="0.06 if left out."
    )
    file = serializers.FileField(
        required=False,
        allow_null=True,
        allow_empty_file=True,
        default=None,
        help_text="The invoice PDF (multipart/form-data).",
    )
    generate = serializers.BooleanField(
        required=False, default=False, help_text="Let the platform draw the PDF instead of uploading one."
    )


class InvoiceDeliverSerializer(serializers.Serializer):
    courier = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)
