"""Merchant benefits over the API, for the seller's administrators: GMV, the benefits with the
seller's progress, applications (apply, list with queue position, withdraw).

Every write calls the same service as the pages; every read goes through a selector. Another
seller's application is "not found" (404)."""

from datetime import timedelta

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core import calendar
from marketplace.core.errors import NotFound, as_id
from marketplace.core.money import ZERO
from marketplace.core.permissions import seller_capability

from .. import selectors, services
from ..models import BenefitApplication
from .serializers import (
    BenefitApplicationSerializer,
    BenefitApplySerializer,
    BenefitSerializer,
    GmvQuerySerializer,
    GmvSerializer,
)

NO_APPLICATION = _("No such application.")
SellerAdmin = seller_capability("cooperation.manage")


def _valid(serializer_class, data) -> dict:
    body = serializer_class(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _seller_id(request) -> int:
    return request.user.seller_membership.seller_id


class SellerGmvView(APIView):
    """The seller's GMV for a calendar year (default: this year, Beijing time), with its months:
    completed orders and usage net of refunds, as in the settlement ledger."""

    permission_classes = [SellerAdmin]

    @extend_schema(parameters=[GmvQuerySerializer], responses=GmvSerializer)
    def get(self, request):
        year = _valid(GmvQuerySerializer, request.query_params).get("year") or calendar.today().year
        start, end = selectors.year_window(year)
        months = selectors.gmv_by_month(seller_id=_seller_id(request), start=start, end=end)
        total = sum((amount for _month, amount in months), ZERO)
        return Response(
            GmvSerializer(
                {"year": year, "total": total, "months": [{"month": m, "gmv": amount} for m, amount in months]}
            ).data
        )


class SellerBenefitsView(APIView):
    """The benefits on offer today, each with its threshold and the seller's progress toward it."""

    permission_classes = [SellerAdmin]

    @extend_schema(responses=BenefitSerializer(many=True))
    def get(self, request):
        today = calendar.today()
        start, end = selectors.year_window(today.year)
        gmv = selectors.gmv(seller_id=_seller_id(request), start=start, end=end)
        rows = []
        for benefit in selectors.active_benefits(today):
            threshold = benefit.gmv_threshold
            rows.append(
                {
                    "id": benefit.pk,
                    "name": benefit.name,
                    "description": benefit.description,
                    "gmv_threshold": threshold,
                    "lead_days": benefit.lead_days,
                    "quota_per_period": benefit.quota_per_period,
                    "active_from": benefit.active_from,
                    "active_until": benefit.active_until,
                    "gmv": gmv,
                    "missing": max(threshold - gmv, ZERO),
                    "progress": 1.0 if threshold <= 0 else float(min(gmv / threshold, 1)),
                    "eligible": gmv >= threshold,
                    "earliest_date": today + timedelta(days=benefit.lead_days),
                }
            )
        return Response(BenefitSerializer(rows, many=True).data)


class SellerBenefitApplicationViewSet(viewsets.GenericViewSet):
    """The seller's benefit applications, newest first, with their queue position; apply; withdraw
    one while it waits."""

    permission_classes = [SellerAdmin]
    serializer_class = BenefitApplicationSerializer
    lookup_value_regex = r"\d+"
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return BenefitApplication.objects.none()
        return selectors.seller_applications(seller_id=_seller_id(self.request))

    def _one(self, pk, code=status.HTTP_200_OK) -> Response:
        application = self.get_queryset().filter(pk=as_id(pk, NO_APPLICATION)).first()
        if application is None:
            raise NotFound(NO_APPLICATION)
        context = {**self.get_serializer_context(), "positions": selectors.queue_positions([application])}
        return Response(BenefitApplicationSerializer(application, context=context).data, status=code)

    @extend_schema(responses=BenefitApplicationSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "positions": selectors.queue_positions(page)}
        return self.get_paginated_response(BenefitApplicationSerializer(page, many=True, context=context).data)

    @extend_schema(responses=BenefitApplicationSerializer)
    def retrieve(self, request, pk=None):
        return self._one(pk)

    @extend_schema(request=BenefitApplySerializer, responses={201: BenefitApplicationSerializer})
    def create(self, request):
        data = _valid(BenefitApplySerializer, request.data)
        application = services.benefit_apply(
            actor=request.user, benefit_id=data["benefit"], wanted_from=data["wanted_from"]
        )
        return self._one(application.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BenefitApplicationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        pk = as_id(pk, NO_APPLICATION)
        if not self.get_queryset().filter(pk=pk).exists():
            raise NotFound(NO_APPLICATION)
        services.benefit_withdraw(actor=request.user, application_id=pk)
        return self._one(pk)
