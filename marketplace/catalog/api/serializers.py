from rest_framework import serializers

from ..models import Category, Plan, Product, ProductEvent


class PlanSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "sku_code",
            "name",
            "name_zh",
            "name_en",
            "charging_mode",
            "period_type",
            "price",
            "currency",
            "usage_unit",
            "trial_days",
            "is_active",
            "position",
        ]
        read_only_fields = ["id", "currency"]


class CategorySerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "name_zh", "name_en"]


class SellerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PublicProductSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    category = CategorySerializer(read_only=True)
    seller = SellerRefSerializer(read_only=True)
    plans = PlanSerializer(many=True, read_only=True, source="active_plans")

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "name_zh",
            "name_en",
            "summary",
            "description",
            "trade_mode",
            "delivery_kind",
            "supervised",
            "auto_deploy",
            "credit_coupon_enabled",
            "credit_line_enabled",
            "category",
            "seller",
            "plans",
            "published_at",
        ]


class ProductEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.email", default=None, read_only=True)
    message = serializers.CharField(source="text", read_only=True)

    class Meta:
        model = ProductEvent
        fields = ["from_status", "to_status", "message", "actor", "created_at"]


class SellerProductSerializer(serializers.ModelSerializer):
    """What a seller reads and writes of its products. Status and review fields are read-only."""

    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    plans = PlanSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name_zh",
            "name_en",
            "summary_zh",
            "summary_en",
            "description_zh",
            "description_en",
            "category",
            "trade_mode",
            "delivery_kind",
            "supervised",
            "auto_deploy",
            "status",
            "rejection_reason",
            "delist_reason",
            "credit_coupon_enabled",
            "credit_line_enabled",
            "ops_fee_rate",
            "plans",
            "created_at",
            "submitted_at",
            "published_at",
        ]
        read_only_fields = [
            "status",
            "rejection_reason",
            "delist_reason",
            "credit_coupon_enabled",
            "credit_line_enabled",
            "ops_fee_rate",
            "created_at",
            "submitted_at",
            "published_at",
        ]


class SellerProductDetailSerializer(SellerProductSerializer):
    events = ProductEventSerializer(many=True, read_only=True)

    class Meta(SellerProductSerializer.Meta):
        fields = [*SellerProductSerializer.Meta.fields, "events"]


class CreditControlSerializer(serializers.Serializer):
    credit_coupon_enabled = serializers.BooleanField(required=False)
    credit_line_enabled = serializers.BooleanField(required=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
