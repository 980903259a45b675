"""Tickets over the API: what a ticket looks like to each party, and the bodies of its actions.

Statuses and categories go out as their value and their label in the request's language. Status
fields are plain strings here (their values listed in the help text): the schema's enum names are
settled in SPECTACULAR_SETTINGS, and a second "status" enum would collide with the orders' ones.
"""

from datetime import time

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import ReceptionWindow, Ticket, TicketAttachment, TicketEvent, TicketMessage

STATUS_HELP = "One of: " + ", ".join(Ticket.Status.values)
MIDNIGHT = time(0)


def _now(serializer):
    """One instant for a whole response (the view puts it in the context)."""
    context = serializer.context
    if "now" not in context:
        context["now"] = timezone.now()
    return context["now"]


def _person(user) -> str:
    return (user.name or user.email) if user is not None else ""


# --- reading ---------------------------------------------------------------------------------------


class TicketAttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = TicketAttachment
        fields = ["id", "name", "size", "created_at", "download_url"]

    def get_download_url(self, obj) -> str:
        return reverse("api-ticket-attachment", args=[obj.pk])


class TicketMessageSerializer(serializers.ModelSerializer):
    side_label = serializers.CharField(source="get_side_display", read_only=True)
    kind = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(TicketMessage.Kind.values))
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    author_name = serializers.SerializerMethodField()
    attachments = TicketAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = TicketMessage
        fields = ["id", "side", "side_label", "kind", "kind_label", "body", "author_name", "created_at", "attachments"]

    def get_author_name(self, obj) -> str:
        return _person(obj.author)


class SellerTicketMessageSerializer(TicketMessageSerializer):
    internal = serializers.BooleanField(read_only=True, help_text="An internal note: never shown to the customer.")

    class Meta(TicketMessageSerializer.Meta):
        fields = [*TicketMessageSerializer.Meta.fields, "internal"]


class TicketEventSerializer(serializers.ModelSerializer):
    to_label = serializers.CharField(read_only=True)
    message = serializers.CharField(source="text", read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["from_status", "to_status", "to_label", "message", "actor_name", "created_at"]

    def get_actor_name(self, obj) -> str:
        return _person(obj.actor)


class TicketSerializer(serializers.ModelSerializer):
    """A row of a ticket list; both parties see these fields."""

    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    category = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(Ticket.Category.values))
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    overdue = serializers.SerializerMethodField(
        help_text='"" when on time, "response" when the first response is late, "resolution" when the resolution is.'
    )
    sla_paused = serializers.SerializerMethodField(
        help_text="The resolution clock is paused (waiting for the customer's feedback or confirmation)."
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "title",
            "category",
            "category_label",
            "status",
            "status_label",
            "is_open",
            "product",
            "product_name",
            "created_at",
            "updated_at",
            "accepted_at",
            "resolved_at",
            "closed_at",
            "first_response_due_at",
            "resolution_due_at",
            "overdue",
            "sla_paused",
            "rating",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> str:
        return obj.overdue_at(_now(self))

    def get_sla_paused(self, obj) -> bool:
        return obj.is_open and obj.sla_running_since is None


class BuyerTicketSerializer(TicketSerializer):
    seller = serializers.IntegerField(source="product.seller_id", read_only=True)
    seller_name = serializers.CharField(source="product.seller.name", read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "seller", "seller_name"]
        read_only_fields = fields


class SellerTicketSerializer(TicketSerializer):
    buyer_name = serializers.CharField(source="buyer.name", read_only=True)
    assignee_name = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "buyer", "buyer_name", "assignee", "assignee_name"]
        read_only_fields = fields

    def get_assignee_name(self, obj) -> str:
        return _person(obj.assignee)


class _DetailMixin(serializers.Serializer):
    order_number = serializers.CharField(source="order.number", default=None, read_only=True)
    opened_by_name = serializers.SerializerMethodField()
    attachments = TicketAttachmentSerializer(many=True, read_only=True, help_text="Files sent with the ticket itself.")
    events = TicketEventSerializer(many=True, read_only=True)

    DETAIL_FIELDS = [
        "description",
        "order",
        "order_number",
        "opened_by_name",
        "cause",
        "solution",
        "rating_comment",
        "attachments",
        "messages",
        "events",
    ]

    def get_opened_by_name(self, obj) -> str:
        return _person(obj.opened_by)


class BuyerTicketDetailSerializer(_DetailMixin, BuyerTicketSerializer):
    messages = TicketMessageSerializer(many=True, read_only=True, help_text="The conversation, without internal notes.")

    class Meta(BuyerTicketSerializer.Meta):
        fields = [*BuyerTicketSerializer.Meta.fields, *_DetailMixin.DETAIL_FIELDS]
        read_only_fields = fields


class SellerTicketDetailSerializer(_DetailMixin, SellerTicketSerializer):
    messages = SellerTicketMessageSerializer(
        many=True, read_only=True, help_text="The conversation and internal notes."
    )

    class Meta(SellerTicketSerializer.Meta):
        fields = [*SellerTicketSerializer.Meta.fields, *_DetailMixin.DETAIL_FIELDS]
        read_only_fields = fields


class TicketCountsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    pending_acceptance = serializers.IntegerField()
    processing = serializers.IntegerField()
    awaiting_feedback = serializers.IntegerField()
    pending_confirmation = serializers.IntegerField()
    completed = serializers.IntegerField()
    withdrawn = serializers.IntegerField()


class TicketAssigneeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user_id")
    name = serializers.CharField(source="user.name")
    email = serializers.EmailField(source="user.email")
    role = serializers.CharField()


# --- list filters ----------------------------------------------------------------------------------


class BuyerTicketFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["open", *Ticket.Status.values], required=False, allow_blank=True, help_text="open: every open status"
    )
    product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text=_("Number or title"))


class SellerTicketFilterSerializer(BuyerTicketFilterSerializer):
    overdue = serializers.BooleanField(required=False, default=False, help_text="Only tickets past a due time.")
    mine = serializers.BooleanField(required=False, default=False, help_text="Only tickets assigned to me.")


class TicketAvailabilityQuerySerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


# --- actions ---------------------------------------------------------------------------------------


def _files():
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        help_text="PDF, PNG or JPEG files, at most 5 (multipart/form-data, repeat the field).",
    )


class TicketOpenSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    order = serializers.IntegerField(required=False, allow_null=True, default=None)
    category = serializers.ChoiceField(choices=Ticket.Category.choices)
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(allow_blank=True, trim_whitespace=False)
    files = _files()


class TicketReplySerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    files = _files()


class SellerTicketReplySerializer(TicketReplySerializer):
    internal = serializers.BooleanField(required=False, default=False, help_text="An internal note for colleagues.")


class TicketFeedbackRequestSerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="What the customer should send.")


class TicketAssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(help_text="The user id of a colleague who handles tickets.")


class TicketResolveSerializer(serializers.Serializer):
    cause = serializers.CharField(allow_blank=True, trim_whitespace=False)
    solution = serializers.CharField(allow_blank=True, trim_whitespace=False)


class TicketConfirmSerializer(serializers.Serializer):
    rating = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class TicketRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="Why it is not resolved.")


class TicketWithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


# --- reception settings ----------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class ClockTimeField(serializers.Field):
    """A wall-clock time "HH:MM" (Beijing time). As an end, "24:00" (or "00:00") is midnight."""

    # DRF's own message (translated in its catalog): "Time has wrong format. Use one of these formats instead: ..."
    default_error_messages = {"invalid": serializers.TimeField.default_error_messages["invalid"]}

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", format="HH:MM")
        hours, sep, minutes = data.strip().partition(":")
        if not (
            sep and data.isascii() and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2
        ):
            self.fail("invalid", format="HH:MM")
        h, m = int(hours), int(minutes)
        if self.end and (h, m) == (24, 0):
            return MIDNIGHT
        if not (0 <= h <= 23 and 0 <= m <= 59):
            self.fail("invalid", format="HH:MM")
        return time(h, m)

    def to_representation(self, value):
        if self.end and value == MIDNIGHT:
            return "24:00"
        return value.strftime("%H:%M")


class ReceptionWindowSerializer(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=ReceptionWindow.Weekday.choices, help_text="0 = Monday .. 6 = Sunday")
    start = ClockTimeField(help_text='"HH:MM", Beijing time')
    end = ClockTimeField(end=True, help_text='"HH:MM", Beijing time; "24:00" (or "00:00") is midnight')


class ReceptionSettingsSerializer(serializers.Serializer):
    accepts_tickets = serializers.BooleanField()
    observe_public_holidays = serializers.BooleanField(default=True)
    first_response_hours = serializers.IntegerField(default=4, help_text="Reception hours, 1 to 72")
    resolution_hours = serializers.IntegerField(default=40, help_text="Reception hours, 1 to 400")
    windows = ReceptionWindowSerializer(many=True, help_text="Weekly reception hours; at least 40 h to take tickets.")
    closed_dates = serializers.ListField(child=serializers.DateField(), default=list, help_text="Days off.")


class ReceptionSettingsOutSerializer(ReceptionSettingsSerializer):
    weekly_minutes = serializers.IntegerField(read_only=True)
    min_weekly_minutes = serializers.IntegerField(read_only=True)
    open_now = serializers.BooleanField(read_only=True)
    next_open = serializers.DateTimeField(read_only=True, allow_null=True)


class TicketAvailabilitySerializer(serializers.Serializer):
    seller = serializers.IntegerField()
    seller_name = serializers.CharField()
    accepts = serializers.BooleanField(help_text="Whether the seller takes tickets on the platform.")
    open_now = serializers.BooleanField(help_text="Whether it is within the seller's reception hours now.")
    next_open = serializers.DateTimeField(allow_null=True)
    observe_public_holidays = serializers.BooleanField()
    first_response_hours = serializers.IntegerField()
    resolution_hours = serializers.IntegerField()
    windows = ReceptionWindowSerializer(many=True)
