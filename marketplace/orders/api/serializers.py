from rest_framework import serializers

from ..models import CreditAccount, Order, OrderEvent, OrderLine, OrderType, Payment, PaymentMethod, Subscription


class OrderLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    in_guarantee_period = serializers.BooleanField(read_only=True)
    not_yet_effective = serializers.BooleanField(read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "product",
            "product_name",
            "plan",
            "plan_name",
            "subscription",
            "charging_mode",
            "period_type",
            "period_count",
            "unit_price",
            "amount",
            "payment_method",
            "validity_start",
            "validity_end",
            "not_yet_effective",
            "supervision",
            "supervision_completed_at",
            "in_guarantee_period",
        ]


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.email", default=None, read_only=True)
    message = serializers.CharField(source="text", read_only=True)

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "message", "actor", "created_at"]


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "id",
            "method",
            "amount",
            "status",
            "reference",
            "failure_reason",
            "created_at",
            "completed_at",
            "repaid_at",
        ]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    seller_name = serializers.CharField(source="seller.name", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "order_type",
            "status",
            "amount",
            "currency",
            "payment_method",
            "seller",
            "seller_name",
            "created_at",
            "paid_at",
            "closed_at",
            "lines",
        ]


class OrderDetailSerializer(OrderSerializer):
    events = OrderEventSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "payments", "events"]


class SellerOrderSerializer(OrderSerializer):
    buyer_name = serializers.CharField(source="buyer.name", read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "buyer", "buyer_name"]


class SellerOrderDetailSerializer(SellerOrderSerializer):
    events = OrderEventSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta(SellerOrderSerializer.Meta):
        fields = [*SellerOrderSerializer.Meta.fields, "payments", "events"]


class OrderCreateSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    order_type = serializers.ChoiceField(
        choices=[t for t in OrderType.choices if t[0] != OrderType.UNSUBSCRIBE], default=OrderType.NEW
    )
    period_count = serializers.IntegerField(default=1, min_value=1, max_value=36)
    subscription = serializers.IntegerField(required=False, allow_null=True, default=None)


class PaySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    sandbox_outcome = serializers.ChoiceField(choices=["succeed", "fail"], default="succeed")


class SubscriptionSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    delivery_kind = serializers.CharField(source="product.delivery_kind", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "product",
            "product_name",
            "delivery_kind",
            "plan",
            "plan_name",
            "seller",
            "status",
            "is_trial",
            "starts_at",
            "expires_at",
            "created_at",
        ]


class CreditSerializer(serializers.ModelSerializer):
    credit_available = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)

    class Meta:
        model = CreditAccount
        fields = ["coupon_balance", "credit_limit", "credit_used", "credit_available"]
