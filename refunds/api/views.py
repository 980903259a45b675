"""Refund requests over the API: the buyer's side (eligibility, asking, answering a proposal,
withdrawing) and the seller's side (approve, reject, propose another amount).

Every write calls the same service as the pages. A request of another party is "not found" (404)
before the request body is even looked at, so its existence does not leak; a refused action
answers with the status of its ``ServiceError`` through the API's exception handler.
"""

from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.errors import NotFound, as_id
from marketplace.core.permissions import IsBuyer, seller_capability
from marketplace.orders.models import Order, OrderLine
from marketplace.orders.selectors import buyer_scope

from .. import services
from ..models import RefundRequest, RefundRequestEvent
from .serializers import (
    BuyerRefundFilterSerializer,
    BuyerRefundRequestDetailSerializer,
    BuyerRefundRequestSerializer,
    RefundAmountSerializer,
    RefundEligibilitySerializer,
    RefundReasonSerializer,
    RefundRequestCreateSerializer,
    SellerRefundFilterSerializer,
    SellerRefundRequestDetailSerializer,
    SellerRefundRequestSerializer,
)

NO_REQUEST = _("No such refund request.")
NO_LINE = _("No such order line.")
R = RefundRequest.Status


def _valid(serializer_class, data) -> dict:
    body = serializer_class(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _filtered(requests, filters: dict):
    wanted = filters.get("status") or ""
    if wanted == "open":
        requests = requests.filter(status__in=RefundRequest.OPEN)
    elif wanted:
        requests = requests.filter(status=wanted)
    escalated = filters.get("escalated")
    if escalated is not None:
        ever = Exists(RefundRequestEvent.objects.filter(request=OuterRef("pk"), to_status=R.ESCALATED))
        requests = requests.filter(ever) if escalated else requests.exclude(ever)
    return requests


def _with_thread(requests):
    return requests.select_related("requested_by").prefetch_related(
        Prefetch("events", queryset=RefundRequestEvent.objects.select_related("actor")), "attempts"
    )


class _RefundRequestViewSet(viewsets.GenericViewSet):
    """What the buyer's and the seller's refund request endpoints share."""

    lookup_value_regex = r"[^/.]+"
    filter_backends = []  # the list filters are parsed by a serializer
    detail_serializer = None
    filter_serializer = None
    row_related = ("order_line__order", "order_line__product")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RefundRequest.objects.none()
        return self.visible()

    def visible(self):
        """The refund requests this user may see (no joins)."""
        raise NotImplementedError

    def check_visible(self, pk) -> int:
        """404 for a request this user does not see, before the request body is looked at."""
        pk = as_id(pk, NO_REQUEST)
        if not self.visible().filter(pk=pk).exists():
            raise NotFound(NO_REQUEST)
        return pk

    def request_response(self, pk, code=status.HTTP_200_OK) -> Response:
        found = _with_thread(self.visible().select_related(*self.row_related)).filter(pk=as_id(pk, NO_REQUEST)).first()
        if found is None:
            raise NotFound(NO_REQUEST)
        return Response(self.detail_serializer(found, context=self.get_serializer_context()).data, status=code)

    def list(self, request):
        filters = _valid(self.filter_serializer, request.query_params)
        requests = _filtered(self.visible(), filters).select_related(*self.row_related).order_by("-created_at", "-id")
        page = self.paginate_queryset(requests)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.request_response(pk)


# --- the buyer's side ------------------------------------------------------------------------------


class BuyerRefundEligibilityView(APIView):
    """Whether an order line can be refunded now, how much, under which rule, and the no-reason
    counter of the buyer account: what the page explains before the buyer asks."""

    permission_classes = [IsBuyer]

    @extend_schema(responses=RefundEligibilitySerializer)
    def get(self, request, line_id):
        lines = OrderLine.objects.select_related("order", "product").filter(
            order__in=Order.objects.filter(buyer_scope(request.user))
        )
        line = lines.filter(pk=as_id(line_id, NO_LINE)).first()
        if line is None:
            raise NotFound(NO_LINE)
        decision = services.refund_eligibility(line=line)
        return Response(
            RefundEligibilitySerializer(
                {
                    "line": line.pk,
                    "kind": decision.kind,
                    "allowed": decision.allowed,
                    "max_amount": decision.max_amount,
                    "full": decision.full,
                    "reason": decision.reason,
                    "no_reason_used": decision.no_reason_used,
                    "no_reason_limit": decision.no_reason_limit,
                }
            ).data
        )


class BuyerRefundRequestViewSet(_RefundRequestViewSet):
    """The buyer's refund requests: ask, accept or decline the seller's proposal, withdraw. A
    tenant's administrators see all its requests; its other users those on orders they placed."""

    permission_classes = [IsBuyer]
    serializer_class = BuyerRefundRequestSerializer
    detail_serializer = BuyerRefundRequestDetailSerializer
    filter_serializer = BuyerRefundFilterSerializer
    row_related = ("order_line__order", "order_line__product", "order_line__seller")

    def visible(self):
        return RefundRequest.objects.filter(order_line__order__in=Order.objects.filter(buyer_scope(self.request.user)))

    @extend_schema(parameters=[BuyerRefundFilterSerializer], responses=BuyerRefundRequestSerializer(many=True))
    def list(self, request):
        return super().list(request)

    @extend_schema(responses=BuyerRefundRequestDetailSerializer)
    def retrieve(self, request, pk=None):
        return super().retrieve(request, pk)

    @extend_schema(request=RefundRequestCreateSerializer, responses={201: BuyerRefundRequestDetailSerializer})
    def create(self, request):
        data = _valid(RefundRequestCreateSerializer, request.data)
        created = services.refund_request_create(
            actor=request.user,
            line_id=data["line"],
            reason_code=data["reason_code"],
            reason_text=data["reason_text"],
            amount=data["amount"],
        )
        return self.request_response(created.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BuyerRefundRequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="accept-proposal")
    def accept_proposal(self, request, pk=None):
        pk = self.check_visible(pk)
        services.refund_proposal_accept(actor=request.user, request_id=pk)
        return self.request_response(pk)

    @extend_schema(request=None, responses=BuyerRefundRequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="decline-proposal")
    def decline_proposal(self, request, pk=None):
        pk = self.check_visible(pk)
        services.refund_proposal_decline(actor=request.user, request_id=pk)
        return self.request_response(pk)

    @extend_schema(request=None, responses=BuyerRefundRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        pk = self.check_visible(pk)
        services.refund_request_withdraw(actor=request.user, request_id=pk)
        return self.request_response(pk)


# --- the seller's side -----------------------------------------------------------------------------


class SellerRefundRequestViewSet(_RefundRequestViewSet):
    """Refund requests on the seller's order lines (administrators and finance staff): approve,
    reject with a reason, or propose another amount."""

    permission_classes = [seller_capability("refunds.manage")]
    serializer_class = SellerRefundRequestSerializer
    detail_serializer = SellerRefundRequestDetailSerializer
    filter_serializer = SellerRefundFilterSerializer
    row_related = ("order_line__order__buyer", "order_line__product")

    def visible(self):
        return RefundRequest.objects.filter(order_line__seller_id=self.request.user.seller_membership.seller_id)

    @extend_schema(parameters=[SellerRefundFilterSerializer], responses=SellerRefundRequestSerializer(many=True))
    def list(self, request):
        return super().list(request)

    @extend_schema(responses=SellerRefundRequestDetailSerializer)
    def retrieve(self, request, pk=None):
        return super().retrieve(request, pk)

    @extend_schema(request=None, responses=SellerRefundRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        pk = self.check_visible(pk)
        services.refund_request_approve(actor=request.user, request_id=pk)
        return self.request_response(pk)

    @extend_schema(request=RefundReasonSerializer, responses=SellerRefundRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(RefundReasonSerializer, request.data)
        services.refund_request_reject(actor=request.user, request_id=pk, reason=data["reason"])
        return self.request_response(pk)

    @extend_schema(request=RefundAmountSerializer, responses=SellerRefundRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(RefundAmountSerializer, request.data)
        services.refund_request_propose(actor=request.user, request_id=pk, amount=data["amount"])
        return self.request_response(pk)
