import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.permissions import IsBuyer, seller_capability

from .. import selectors, services
from ..models import Order, OrderType
from .serializers import (
    CreditSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    PaySerializer,
    SellerOrderDetailSerializer,
    SellerOrderSerializer,
    SubscriptionSerializer,
)


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)
    order_type = django_filters.ChoiceFilter(choices=OrderType.choices)
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    product = django_filters.NumberFilter(field_name="lines__product_id", distinct=True)

    class Meta:
        model = Order
        fields = ["status", "order_type", "product"]


class BuyerOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The buyer's orders: place, pay, cancel, accept delivery."""

    permission_classes = [IsBuyer]
    lookup_value_regex = r"\d+"
    filterset_class = OrderFilter
    search_fields = ["number"]

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.buyer_orders(user=self.request.user).prefetch_related("payments", "events__actor")
        return selectors.buyer_orders(user=self.request.user)

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer

    def _detail(self, order_id, code=status.HTTP_200_OK):
        order = selectors.buyer_order_detail(user=self.request.user, order_id=order_id)
        return Response(OrderDetailSerializer(order).data, status=code)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderDetailSerializer})
    def create(self, request):
        body = OrderCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        order = services.order_create(
            actor=request.user,
            plan_id=d["plan"],
            order_type=d["order_type"],
            period_count=d["period_count"],
            subscription_id=d["subscription"],
        )
        return self._detail(order.pk, status.HTTP_201_CREATED)

    @extend_schema(request=PaySerializer, responses=OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        body = PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.order_pay(
            actor=request.user,
            order_id=pk,
            method=body.validated_data["method"],
            sandbox_outcome=body.validated_data["sandbox_outcome"],
        )
        return self._detail(pk)

    @extend_schema(request=None, responses=OrderDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        services.order_cancel(actor=request.user, order_id=pk)
        return self._detail(pk)

    @extend_schema(request=None, responses=OrderDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>\d+)/accept")
    def accept(self, request, pk=None, line_id=None):
        order = self.get_object()
        if not any(str(line.pk) == str(line_id) for line in order.lines.all()):
            raise NotFound(_("No such order line."))
        services.supervision_accept(actor=request.user, line_id=line_id)
        return self._detail(order.pk)


class BuyerServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Purchased services (已购服务)."""

    permission_classes = [IsBuyer]
    lookup_value_regex = r"\d+"
    serializer_class = SubscriptionSerializer
    filterset_fields = ["status", "is_trial", "product"]

    def get_queryset(self):
        return selectors.buyer_subscriptions(user=self.request.user)


class BuyerCreditView(APIView):
    permission_classes = [IsBuyer]

    @extend_schema(responses=CreditSerializer)
    def get(self, request):
        credit = selectors.buyer_credit(user=request.user)
        if credit is None:
            return Response(
                {"coupon_balance": "0.00", "credit_limit": "0.00", "credit_used": "0.00", "credit_available": "0.00"}
            )
        return Response(CreditSerializer(credit).data)


class SellerOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The seller's orders, with filters and search; the detail carries the event timeline."""

    page_cache = True  # repeat reads from the cache (core/pagecache.py)
    permission_classes = [seller_capability("orders.view")]
    lookup_value_regex = r"\d+"
    filterset_class = OrderFilter
    search_fields = ["number", "buyer__name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Order.objects.none()
        seller_id = self.request.user.seller_membership.seller_id
        qs = selectors.seller_orders(seller_id=seller_id)
        if self.action == "retrieve":
            qs = qs.prefetch_related("payments", "events__actor")
        return qs

    def get_serializer_class(self):
        return SellerOrderDetailSerializer if self.action == "retrieve" else SellerOrderSerializer
