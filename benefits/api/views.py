"""Merchant benefits over the API, for the seller's administrators: GMV, the benefits with the
seller's progress, applications (apply, list with queue position, withdraw), the merchant
acceleration plan (its state, signing the agreement, the signed PDF) and marketing-support
applications (draft, change, submit, withdraw, hand in acceptance materials, files).

Every write calls the same service as the pages. Another seller's application or file is "not
found" (404) before the request body is even looked at; a refused action answers with the status
of its ``ServiceError`` through the API's exception handler."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core import calendar
from marketplace.core.errors import NotFound, as_id
from marketplace.core.money import ZERO
from marketplace.core.permissions import seller_capability
from marketplace.core.views import private_download

from .. import agreement, selectors, services
from ..models import (
    AccelerationPlan,
    BenefitApplication,
    MarketingSupport,
    MarketingSupportAttachment,
    MarketingSupportEvent,
)
from .serializers import (
    AccelerationPlanApplySerializer,
    AccelerationPlanSerializer,
    AccelerationPlanStateSerializer,
    BenefitApplicationSerializer,
    BenefitApplySerializer,
    BenefitSerializer,
    GmvQuerySerializer,
    GmvSerializer,
    MarketingAcceptanceSerializer,
    MarketingSupportDetailSerializer,
    MarketingSupportFilterSerializer,
    MarketingSupportSerializer,
    MarketingSupportWriteSerializer,
)

NO_APPLICATION = _("No such application.")
NO_FILE = _("No such file.")
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


# --- the merchant acceleration plan ----------------------------------------------------------------


class SellerAccelerationPlanView(APIView):
    """The seller's standing toward the merchant acceleration plan (this year's GMV against the
    threshold), its current plan with the signature, and the agreement's text; POST applies to the
    plan and signs the agreement in one step (refused below the threshold or with a plan pending or
    approved already: 409)."""

    permission_classes = [SellerAdmin]

    @extend_schema(responses=AccelerationPlanStateSerializer)
    def get(self, request):
        seller = request.user.seller_membership.seller
        threshold = services.plan_threshold()
        gmv = services.year_gmv(seller.pk)
        plan = services.current_plan(seller.pk)
        text_zh, text_en = agreement.texts(seller_name=seller.name, threshold=threshold)
        held = plan is not None and plan.status in plan.HELD
        return Response(
            AccelerationPlanStateSerializer(
                {
                    "threshold": threshold,
                    "gmv": gmv,
                    "missing": max(threshold - gmv, ZERO),
                    "eligible": gmv >= threshold,
                    "can_apply": gmv >= threshold and not held,
                    "status": plan.status if plan else None,
                    "plan": plan,
                    "agreement": {"version": agreement.VERSION, "text_zh": text_zh, "text_en": text_en},
                }
            ).data
        )

    @extend_schema(request=AccelerationPlanApplySerializer, responses={201: AccelerationPlanSerializer})
    def post(self, request):
        data = _valid(AccelerationPlanApplySerializer, request.data)
        plan = services.plan_apply(
            actor=request.user,
            signer_name=data["signer_name"],
            signer_role=data["signer_role"],
            agreed=data["agreed"],
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        plan = AccelerationPlan.objects.select_related("signature").get(pk=plan.pk)
        return Response(AccelerationPlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class SellerAccelerationAgreementView(APIView):
    """The signed agreement (PDF) of the seller's current plan; 404 when it has none."""

    permission_classes = [SellerAdmin]

    @extend_schema(
        operation_id="v1_seller_acceleration_plan_agreement_pdf",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        plan = services.current_plan(_seller_id(request))
        signature = getattr(plan, "signature", None) if plan is not None else None
        if signature is None or not signature.pdf:
            raise NotFound()
        return private_download(signature.pdf, f"acceleration-plan-agreement-{plan.pk}.pdf")


# --- merchant marketing support --------------------------------------------------------------------


def _marketing_of(seller_id: int):
    return MarketingSupport.objects.filter(seller_id=seller_id)


def _marketing_response(seller_id: int, pk, code=status.HTTP_200_OK) -> Response:
    found = (
        _marketing_of(seller_id)
        .prefetch_related(
            "attachments", Prefetch("events", queryset=MarketingSupportEvent.objects.select_related("actor"))
        )
        .filter(pk=as_id(pk, NO_APPLICATION))
        .first()
    )
    if found is None:
        raise NotFound(NO_APPLICATION)
    return Response(MarketingSupportDetailSerializer(found).data, status=code)


class SellerMarketingSupportViewSet(viewsets.GenericViewSet):
    """The seller's marketing-support applications, newest first: draft one (JSON or multipart with
    the plan's files; ``submit: true`` submits it at once), change it while it is a draft or returned
    for changes, submit, withdraw, and after the activity hand in the acceptance materials. Opens
    once the seller's acceleration plan is approved (409 before)."""

    permission_classes = [SellerAdmin]
    serializer_class = MarketingSupportSerializer
    lookup_value_regex = r"\d+"
    filter_backends = []  # the list filter is parsed by a serializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return MarketingSupport.objects.none()
        return _marketing_of(_seller_id(self.request))

    def check_visible(self, pk) -> int:
        """404 for an application of another seller, before the request body is looked at."""
        pk = as_id(pk, NO_APPLICATION)
        if not self.get_queryset().filter(pk=pk).exists():
            raise NotFound(NO_APPLICATION)
        return pk

    def _one(self, pk, code=status.HTTP_200_OK) -> Response:
        return _marketing_response(_seller_id(self.request), pk, code)

    def _save(self, request, *, pk=None, partial=False) -> MarketingSupport:
        body = MarketingSupportWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        files, submit = data.pop("files", []), data.pop("submit", False)
        with transaction.atomic():
            if partial:  # the fields not sent keep their values, read under the row's lock
                fields = MarketingSupportWriteSerializer.FIELDS
                current = self.get_queryset().select_for_update().filter(pk=pk).values(*fields).first()
                if current is None:
                    raise NotFound(NO_APPLICATION)
                data = {**current, **data}
            return services.marketing_save(actor=request.user, data=data, files=files, application_id=pk, submit=submit)

    @extend_schema(parameters=[MarketingSupportFilterSerializer], responses=MarketingSupportSerializer(many=True))
    def list(self, request):
        wanted = _valid(MarketingSupportFilterSerializer, request.query_params).get("status") or ""
        applications = self.get_queryset().order_by("-created_at", "-id")
        if wanted:
            applications = applications.filter(status=wanted)
        page = self.paginate_queryset(applications)
        return self.get_paginated_response(MarketingSupportSerializer(page, many=True).data)

    @extend_schema(responses=MarketingSupportDetailSerializer)
    def retrieve(self, request, pk=None):
        return self._one(pk)

    @extend_schema(request=MarketingSupportWriteSerializer, responses={201: MarketingSupportDetailSerializer})
    def create(self, request):
        application = self._save(request)
        return self._one(application.pk, status.HTTP_201_CREATED)

    @extend_schema(request=MarketingSupportWriteSerializer, responses=MarketingSupportDetailSerializer)
    def update(self, request, pk=None):
        pk = self.check_visible(pk)
        self._save(request, pk=pk)
        return self._one(pk)

    @extend_schema(request=MarketingSupportWriteSerializer, responses=MarketingSupportDetailSerializer)
    def partial_update(self, request, pk=None):
        """Change only the fields sent (files sent are added)."""
        pk = self.check_visible(pk)
        self._save(request, pk=pk, partial=True)
        return self._one(pk)

    @extend_schema(request=None, responses=MarketingSupportDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        pk = self.check_visible(pk)
        services.marketing_submit(actor=request.user, application_id=pk)
        return self._one(pk)

    @extend_schema(request=None, responses=MarketingSupportDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        pk = self.check_visible(pk)
        services.marketing_withdraw(actor=request.user, application_id=pk)
        return self._one(pk)

    @extend_schema(request=MarketingAcceptanceSerializer, responses=MarketingSupportDetailSerializer)
    @action(detail=True, methods=["post"])
    def acceptance(self, request, pk=None):
        """Hand in the acceptance materials after the activity: the report and evidence files (at
        least one, new or handed in before)."""
        pk = self.check_visible(pk)
        data = _valid(MarketingAcceptanceSerializer, request.data)
        services.marketing_submit_acceptance(
            actor=request.user, application_id=pk, report=data["report"], files=data["files"]
        )
        return self._one(pk)


class SellerMarketingSupportFileView(APIView):
    """A file of one of the seller's marketing-support applications: download it, or remove a file
    of the activity plan while the application may still be changed (answers the application)."""

    permission_classes = [SellerAdmin]

    def _attachment(self, request, pk) -> MarketingSupportAttachment:
        attachment = MarketingSupportAttachment.objects.filter(
            application__seller_id=_seller_id(request), pk=as_id(pk, NO_FILE)
        ).first()
        if attachment is None:
            raise NotFound(NO_FILE)
        return attachment

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        attachment = self._attachment(request, pk)
        return private_download(attachment.file, attachment.name or f"attachment-{attachment.pk}")

    @extend_schema(request=None, responses=MarketingSupportDetailSerializer)
    def delete(self, request, pk):
        attachment = self._attachment(request, pk)
        application = services.marketing_attachment_remove(actor=request.user, attachment_id=attachment.pk)
        return _marketing_response(_seller_id(request), application.pk)
