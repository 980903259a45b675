"""Merchant benefits over the API (the seller's side): GMV, the benefit catalog with the seller's
progress, and its applications with their queue position."""

from rest_framework import serializers

from .. import selectors
from ..models import BenefitApplication

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
