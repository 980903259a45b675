"""Refund requests over the API: what a request looks like to each party, the eligibility of an
order line, and the bodies of the actions.

Statuses, kinds and reasons go out as their value and their label in the request's language. They
are plain strings here (their values listed in the help text), so the schema does not grow a second
"status" enum that collides with the orders' ones.
"""

from rest_framework import serializers

from ..models import RefundAttempt, RefundRequest, RefundRequestEvent

STATUS_HELP = "One of: " + ", ".join(RefundRequest.Status.values)
KIND_HELP = "One of: " + ", ".join(RefundRequest.Kind.values)
REASON_HELP = "One of: " + ", ".join(RefundRequest.Reason.values)
MAX_ID = 2**63 - 1


def _person(user) -> str:
    return (user.name or user.email) if user is not None else ""


# --- reading ---------------------------------------------------------------------------------------


class RefundEligibilitySerializer(serializers.Serializer):
    """The rule that applies to an order line now, explained."""

    line = serializers.IntegerField(help_text="The order line asked about.")
    kind = serializers.CharField(allow_null=True, help_text=KIND_HELP + "; null when no refund is possible.")
    allowed = serializers.BooleanField()
    max_amount = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The most that may be asked.")
    full = serializers.BooleanField(help_text="A full refund of max_amount, approved without the seller.")
    reason = serializers.CharField(help_text="Which rule applies and why (or why a refund is refused).")
    no_reason_used = serializers.IntegerField(help_text="No-reason refunds used this calendar year.")
    no_reason_limit = serializers.IntegerField(help_text="No-reason refunds allowed per calendar year.")


class RefundRequestEventSerializer(serializers.ModelSerializer):
    to_label = serializers.CharField(read_only=True)
    message = serializers.CharField(source="text", read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = RefundRequestEvent
        fields = ["from_status", "to_status", "to_label", "message", "actor_name", "created_at"]

    def get_actor_name(self, obj) -> str:
        return _person(obj.actor)


class RefundAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = RefundAttempt
        fields = ["id", "method", "ok", "created_at"]
        read_only_fields = fields


class RefundRequestSerializer(serializers.ModelSerializer):
    """A row of a refund request list; both parties see these fields."""

    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    reason_code = serializers.CharField(read_only=True, help_text=REASON_HELP)
    reason_label = serializers.CharField(source="get_reason_code_display", read_only=True)
    line = serializers.IntegerField(source="order_line_id", read_only=True)
    order = serializers.IntegerField(source="order_line.order_id", read_only=True)
    order_number = serializers.CharField(source="order_line.order.number", read_only=True)
    product = serializers.IntegerField(source="order_line.product_id", read_only=True)
    product_name = serializers.CharField(source="order_line.product.name", read_only=True)
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = RefundRequest
        fields = [
            "id",
            "number",
            "status",
            "status_label",
            "is_open",
            "kind",
            "kind_label",
            "reason_code",
            "reason_label",
            "line",
            "order",
            "order_number",
            "product",
            "product_name",
            "amount_requested",
            "amount_proposed",
            "amount",
            "created_at",
            "answer_due_at",
            "approved_at",
            "pay_by",
            "paid_at",
        ]
        read_only_fields = fields

    def get_is_open(self, obj) -> bool:
        return obj.status in RefundRequest.OPEN


class BuyerRefundRequestSerializer(RefundRequestSerializer):
    seller = serializers.IntegerField(source="order_line.seller_id", read_only=True)
    seller_name = serializers.CharField(source="order_line.seller.name", read_only=True)

    class Meta(RefundRequestSerializer.Meta):
        fields = [*RefundRequestSerializer.Meta.fields, "seller", "seller_name"]
        read_only_fields = fields


class SellerRefundRequestSerializer(RefundRequestSerializer):
    buyer = serializers.IntegerField(source="order_line.order.buyer_id", read_only=True)
    buyer_name = serializers.CharField(source="order_line.order.buyer.name", read_only=True)

    class Meta(RefundRequestSerializer.Meta):
        fields = [*RefundRequestSerializer.Meta.fields, "buyer", "buyer_name"]
        read_only_fields = fields


class _RefundDetailMixin(serializers.Serializer):
    requested_by_name = serializers.SerializerMethodField()
    events = RefundRequestEventSerializer(many=True, read_only=True, help_text="The timeline.")
    attempts = RefundAttemptSerializer(many=True, read_only=True, help_text="Tries at paying the refund back.")

    DETAIL_FIELDS = ["reason_text", "rejection_reason", "requested_by_name", "events", "attempts"]

    def get_requested_by_name(self, obj) -> str:
        return _person(obj.requested_by)


class BuyerRefundRequestDetailSerializer(_RefundDetailMixin, BuyerRefundRequestSerializer):
    class Meta(BuyerRefundRequestSerializer.Meta):
        fields = [*BuyerRefundRequestSerializer.Meta.fields, *_RefundDetailMixin.DETAIL_FIELDS]
        read_only_fields = fields


class SellerRefundRequestDetailSerializer(_RefundDetailMixin, SellerRefundRequestSerializer):
    class Meta(SellerRefundRequestSerializer.Meta):
        fields = [*SellerRefundRequestSerializer.Meta.fields, *_RefundDetailMixin.DETAIL_FIELDS]
        read_only_fields = fields


# --- list filters ----------------------------------------------------------------------------------


class BuyerRefundFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["open", *RefundRequest.Status.values],
        required=False,
        allow_blank=True,
        help_text="open: every open status",
    )


class SellerRefundFilterSerializer(BuyerRefundFilterSerializer):
    escalated = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only requests escalated to operations (or never)."
    )


# --- actions ---------------------------------------------------------------------------------------


class RefundRequestCreateSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The order line to be refunded.")
    reason_code = serializers.CharField(max_length=20, help_text=REASON_HELP)
    reason_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="Negotiated refunds: the amount asked. Full refunds ignore it.",
    )


class RefundReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="Why the refund is rejected.")


class RefundAmountSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The amount proposed instead.")
