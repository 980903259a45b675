"""Merchant benefits over the API (the seller's side): GMV, the benefit catalog with the seller's
progress, its applications with their queue position, the merchant acceleration plan with its signed
agreement, and marketing-support applications. Money goes out as strings with two decimals."""

from django.urls import reverse
from rest_framework import serializers

from .. import selectors
from ..models import (
    AccelerationPlan,
    AgreementSignature,
    BenefitApplication,
    MarketingSupport,
    MarketingSupportAttachment,
    MarketingSupportEvent,
)

STATUS_HELP = "One of: " + ", ".join(BenefitApplication.Status.values)


class GmvMonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month.")
    gmv = serializers.DecimalField(max_digits=18, decimal_places=2)


class GmvSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    months = GmvMonthSerializer(many=True)


class GmvQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100, help_text="Default: this year.")


class BenefitSerializer(serializers.Serializer):
    """An active benefit with the seller's progress toward its GMV threshold (this calendar year)."""

    id = serializers.IntegerField()
    name = serializers.CharField(help_text="In the request's language.")
    description = serializers.CharField()
    gmv_threshold = serializers.DecimalField(max_digits=18, decimal_places=2)
    lead_days = serializers.IntegerField(help_text="Days' notice needed: 14 or 30.")
    quota_per_period = serializers.IntegerField(help_text="Sellers granted it per calendar month, at most.")
    active_from = serializers.DateField()
    active_until = serializers.DateField(allow_null=True)
    gmv = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The seller's GMV this year.")
    missing = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="What is missing to the threshold.")
    progress = serializers.FloatField(help_text="GMV / threshold, 0 to 1.")
    eligible = serializers.BooleanField(help_text="The GMV reaches the threshold.")
    earliest_date = serializers.DateField(help_text="The earliest date an application may ask for.")


class BenefitApplicationSerializer(serializers.ModelSerializer):
    benefit_name = serializers.CharField(source="benefit.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    queue_position = serializers.SerializerMethodField(
        help_text="1 for the next application operations decide for this benefit; null once decided."
    )

    class Meta:
        model = BenefitApplication
        fields = [
            "id",
            "benefit",
            "benefit_name",
            "wanted_from",
            "gmv_at_application",
            "status",
            "status_label",
            "queue_position",
            "rejection_reason",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields

    def get_queue_position(self, obj) -> int | None:
        positions = self.context.get("positions")
        if positions is None:
            return selectors.queue_position(obj)
        return positions.get(obj.pk)


class BenefitApplySerializer(serializers.Serializer):
    benefit = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    wanted_from = serializers.DateField(help_text="The date the seller wants the benefit from (YYYY-MM-DD).")


# --- the merchant acceleration plan ----------------------------------------------------------------

PLAN_STATUS_HELP = "One of: " + ", ".join(AccelerationPlan.Status.values)
MARKETING_STATUS_HELP = "One of: " + ", ".join(MarketingSupport.Status.values)


def _person(user) -> str:
    return (user.name or user.email) if user is not None else ""


class AgreementSignatureSerializer(serializers.ModelSerializer):
    pdf_url = serializers.SerializerMethodField(help_text="The signed agreement as a PDF.")

    class Meta:
        model = AgreementSignature
        fields = ["signer_name", "signer_role", "signed_at", "ip", "version", "text_sha256", "pdf_url"]
        read_only_fields = fields

    def get_pdf_url(self, obj) -> str:
        return reverse("api-seller-acceleration-agreement")


class AccelerationPlanSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=PLAN_STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    signature = AgreementSignatureSerializer(read_only=True)

    class Meta:
        model = AccelerationPlan
        fields = [
            "id",
            "status",
            "status_label",
            "gmv_at_application",
            "created_at",
            "decided_at",
            "rejection_reason",
            "signature",
        ]
        read_only_fields = fields


class AgreementTextSerializer(serializers.Serializer):
    version = serializers.CharField()
    text_zh = serializers.CharField(help_text="The agreement as the seller signs it now, in Chinese.")
    text_en = serializers.CharField(help_text="The same, in English.")


class AccelerationPlanStateSerializer(serializers.Serializer):
    """The seller's standing toward the plan, its current plan (if any) and the agreement to sign."""

    threshold = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The GMV the plan needs.")
    gmv = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The seller's GMV this year.")
    missing = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="What is missing to the threshold.")
    eligible = serializers.BooleanField(help_text="The GMV reaches the threshold.")
    can_apply = serializers.BooleanField(help_text="Eligible, and no plan pending or approved.")
    status = serializers.CharField(
        allow_null=True, help_text="The current plan's status, null without one. " + PLAN_STATUS_HELP
    )
    plan = AccelerationPlanSerializer(
        allow_null=True, help_text="The plan pending or approved, else the latest rejected one, else null."
    )
    agreement = AgreementTextSerializer()


class AccelerationPlanApplySerializer(serializers.Serializer):
    signer_name = serializers.CharField(
        required=False, default="", allow_blank=True, trim_whitespace=False, help_text="The signer's full name."
    )
    signer_role = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        help_text="The role the signer signs in (for example: general manager).",
    )
    agreed = serializers.BooleanField(
        required=False, default=False, help_text="true: the signer has read the agreement and agrees to it."
    )


# --- merchant marketing support --------------------------------------------------------------------


class MarketingAttachmentSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(MarketingSupportAttachment.Kind.values)
    )
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = MarketingSupportAttachment
        fields = ["id", "kind", "kind_label", "name", "size", "created_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj) -> str:
        return reverse("api-seller-marketing-support-file", args=[obj.pk])


class MarketingEventSerializer(serializers.ModelSerializer):
    to_label = serializers.CharField(read_only=True)
    message = serializers.CharField(source="text", read_only=True, help_text="What happened, with the reason given.")
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = MarketingSupportEvent
        fields = ["from_status", "to_status", "to_label", "message", "actor_name", "created_at"]
        read_only_fields = fields

    def get_actor_name(self, obj) -> str:
        return _person(obj.actor)


class MarketingSupportSerializer(serializers.ModelSerializer):
    """A row of the list."""

    status = serializers.CharField(read_only=True, help_text=MARKETING_STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    channels = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Values of: " + ", ".join(MarketingSupport.Channel.values),
    )
    channel_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    editable = serializers.SerializerMethodField(help_text="The seller may change and submit it.")
    acceptance_open = serializers.SerializerMethodField(help_text="The seller may hand in acceptance materials.")

    class Meta:
        model = MarketingSupport
        fields = [
            "id",
            "number",
            "status",
            "status_label",
            "activity_name",
            "starts_on",
            "ends_on",
            "channels",
            "channel_labels",
            "budget",
            "approved_amount",
            "paid_amount",
            "editable",
            "acceptance_open",
            "submitted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_editable(self, obj) -> bool:
        return obj.status in MarketingSupport.EDITABLE

    def get_acceptance_open(self, obj) -> bool:
        return obj.status in MarketingSupport.ACCEPTANCE_OPEN


class MarketingSupportDetailSerializer(MarketingSupportSerializer):
    attachments = MarketingAttachmentSerializer(
        many=True, read_only=True, help_text="The activity plan's files and the acceptance materials."
    )
    events = MarketingEventSerializer(many=True, read_only=True)

    class Meta(MarketingSupportSerializer.Meta):
        fields = [
            *MarketingSupportSerializer.Meta.fields,
            "proposal",
            "review_note",
            "acceptance_report",
            "acceptance_note",
            "payment_reference",
            "paid_at",
            "attachments",
            "events",
        ]
        read_only_fields = fields


class MarketingSupportFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MarketingSupport.Status.values, required=False, allow_blank=True)


def _files():
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        help_text="PDF, PNG or JPEG files, at most 10 (multipart/form-data, repeat the field).",
    )


class MarketingSupportWriteSerializer(serializers.Serializer):
    """A draft may be incomplete (it needs a name); submitting needs every field."""

    FIELDS = ("activity_name", "starts_on", "ends_on", "channels", "budget", "proposal")

    activity_name = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=MarketingSupport.Channel.choices),
        required=False,
        default=list,
        help_text="In multipart/form-data, repeat the field.",
    )
    budget = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True, default=None, help_text="CNY."
    )
    proposal = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, help_text="The activity's plan."
    )
    files = _files()
    submit = serializers.BooleanField(required=False, default=False, help_text="true: submit it for review at once.")


class MarketingAcceptanceSerializer(serializers.Serializer):
    report = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="The activity's report.")
    files = _files()
