import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from marketplace.core.permissions import seller_capability

from .. import selectors, services
from ..models import DeliveryKind, Plan, Product, ProductEvent, TradeMode
from .serializers import (
    CreditControlSerializer,
    PlanSerializer,
    PublicProductSerializer,
    ReasonSerializer,
    SellerProductDetailSerializer,
    SellerProductSerializer,
)


class CatalogFilter(django_filters.FilterSet):
    trade_mode = django_filters.ChoiceFilter(choices=TradeMode.choices)
    delivery_kind = django_filters.ChoiceFilter(choices=DeliveryKind.choices)
    category = django_filters.CharFilter(field_name="category__slug")

    class Meta:
        model = Product
        fields = ["trade_mode", "delivery_kind", "category"]


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """The public catalog: published products with their plans on sale."""

    permission_classes = [AllowAny]
    serializer_class = PublicProductSerializer
    lookup_value_regex = r"\d+"
    filterset_class = CatalogFilter
    search_fields = ["name_zh", "name_en", "summary_zh", "summary_en", "seller__name"]
    ordering_fields = ["published_at", "id"]

    def get_queryset(self):
        return selectors.catalog_search()


class SellerProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The seller's own products. Writes go through the catalog services."""

    lookup_value_regex = r"\d+"
    filterset_fields = ["status", "trade_mode", "delivery_kind"]
    search_fields = ["name_zh", "name_en"]
    capabilities = {"list": "products.view", "retrieve": "products.view", "credit_control": "products.credit"}

    def get_permissions(self):
        return [seller_capability(self.capabilities.get(self.action, "products.manage"))()]

    def get_serializer_class(self):
        return SellerProductDetailSerializer if self.action == "retrieve" else SellerProductSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Product.objects.none()
        seller_id = self.request.user.seller_membership.seller_id
        qs = Product.objects.filter(seller_id=seller_id).select_related("category").prefetch_related("plans")
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch("events", queryset=ProductEvent.objects.select_related("actor")))
        return qs.order_by("-created_at", "-id")

    def perform_create(self, serializer):
        serializer.instance = services.product_create(actor=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.product_update(
            actor=self.request.user, product_id=serializer.instance.pk, data=serializer.validated_data
        )

    def _transition(self, request, pk, service, **kwargs):
        product = service(actor=request.user, product_id=pk, **kwargs)
        return Response(SellerProductSerializer(self.get_queryset().get(pk=product.pk)).data)

    @extend_schema(request=None, responses=SellerProductSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, pk, services.product_submit)

    @extend_schema(request=None, responses=SellerProductSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._transition(request, pk, services.product_withdraw)

    @extend_schema(request=ReasonSerializer, responses=SellerProductSerializer)
    @action(detail=True, methods=["post"])
    def delist(self, request, pk=None):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._transition(request, pk, services.product_delist, reason=body.validated_data["reason"])

    @extend_schema(request=None, responses=SellerProductSerializer)
    @action(detail=True, methods=["post"])
    def relist(self, request, pk=None):
        return self._transition(request, pk, services.product_relist)

    @extend_schema(request=CreditControlSerializer, responses=SellerProductSerializer)
    @action(detail=True, methods=["patch"], url_path="credit-control")
    def credit_control(self, request, pk=None):
        body = CreditControlSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._transition(
            request,
            pk,
            services.product_set_credit_control,
            coupon=body.validated_data.get("credit_coupon_enabled"),
            credit_line=body.validated_data.get("credit_line_enabled"),
        )


class SellerPlanViewSet(viewsets.ModelViewSet):
    """Plans of one of the seller's products."""

    serializer_class = PlanSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete"]

    def get_permissions(self):
        write = self.action not in ("list", "retrieve")
        return [seller_capability("products.manage" if write else "products.view")()]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Another seller's product is not found, whatever the request body says.
        self.product = get_object_or_404(
            Product, pk=self.kwargs["product_pk"], seller_id=request.user.seller_membership.seller_id
        )

    def _product(self):
        return self.product

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Plan.objects.none()
        return Plan.objects.filter(product=self._product()).order_by("position", "id")

    def perform_create(self, serializer):
        serializer.instance = services.plan_save(
            actor=self.request.user, product_id=self._product().pk, data=serializer.validated_data
        )

    def perform_update(self, serializer):
        data = {**PlanSerializer(serializer.instance).data, **serializer.validated_data}
        serializer.instance = services.plan_save(
            actor=self.request.user, product_id=self._product().pk, data=data, plan_id=serializer.instance.pk
        )

    def destroy(self, request, *args, **kwargs):
        plan = self.get_object()
        services.plan_delete(actor=request.user, product_id=plan.product_id, plan_id=plan.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
