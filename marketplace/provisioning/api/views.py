"""Seller open API: what the push may have missed, pulled with a signed request."""

from django.db.models import Prefetch
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import BasePermission

from marketplace.orders.models import Order, OrderLine

from ..models import Instance, ProduceAttempt, ProduceMessage
from .authentication import OpenAPISignatureAuthentication, SellerRequest


class SignedBySeller(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, SellerRequest)


class OpenLineSerializer(serializers.ModelSerializer):
    # The protocol's field names, as sellers know them from the push.
    orderLineId = serializers.CharField(source="pk")
    productId = serializers.CharField(source="product_id")
    skuCode = serializers.CharField(source="plan.sku_code")
    chargingMode = serializers.CharField(source="charging_mode")
    expireTime = serializers.DateTimeField(source="validity_end")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        model = OrderLine
        fields = ["orderLineId", "productId", "skuCode", "chargingMode", "expireTime", "amount"]


class OpenOrderSerializer(serializers.ModelSerializer):
    orderId = serializers.CharField(source="number")
    type = serializers.CharField(source="order_type")
    customerId = serializers.CharField(source="buyer.code")
    customerName = serializers.CharField(source="buyer.name")
    lines = OpenLineSerializer(many=True)
    extendParams = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "orderId",
            "type",
            "status",
            "customerId",
            "customerName",
            "created_at",
            "paid_at",
            "lines",
            "extendParams",
        ]

    def get_extendParams(self, obj) -> list:
        return []


class OpenInstanceSerializer(serializers.ModelSerializer):
    instanceId = serializers.CharField(source="instance_id")
    orderId = serializers.CharField(source="order_line.order.number")
    orderLineId = serializers.CharField(source="order_line_id")

    class Meta:
        model = Instance
        fields = ["instanceId", "orderId", "orderLineId", "status", "front_end_url", "created_at"]


class OpenAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProduceAttempt
        fields = ["started_at", "duration_ms", "status_code", "result_code", "outcome", "error"]


class OpenMessageSerializer(serializers.ModelSerializer):
    attempts = OpenAttemptSerializer(many=True, source="attempt_log")

    class Meta:
        model = ProduceMessage
        fields = [
            "id",
            "kind",
            "activity",
            "status",
            "payload",
            "result_code",
            "error",
            "created_at",
            "finished_at",
            "attempts",
        ]


class _OpenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authentication_classes = [OpenAPISignatureAuthentication]
    permission_classes = [SignedBySeller]
    lookup_value_regex = r"\d+"

    @property
    def seller_id(self):
        return self.request.user.seller_id


class OpenOrderViewSet(_OpenViewSet):
    """The seller's orders (orderId, lines, charging mode, expiry, buyer)."""

    serializer_class = OpenOrderSerializer
    filterset_fields = ["status", "order_type"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return (
            Order.objects.filter(seller_id=self.seller_id)
            .select_related("buyer")
            .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("plan")))
            .order_by("-created_at", "-id")
        )


class OpenInstanceViewSet(_OpenViewSet):
    serializer_class = OpenInstanceSerializer
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Instance.objects.none()
        return Instance.objects.filter(seller_id=self.seller_id).select_related("order_line__order")


class OpenMessageViewSet(_OpenViewSet):
    serializer_class = OpenMessageSerializer
    filterset_fields = ["status", "activity"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProduceMessage.objects.none()
        return ProduceMessage.objects.filter(seller_id=self.seller_id).prefetch_related("attempt_log")
