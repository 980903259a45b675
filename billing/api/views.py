from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from invoicing.services import seller_invoice_submit
from marketplace.core.permissions import seller_capability
from marketplace.core.uploads import private_storage
from marketplace.orders.models import Subscription

from .. import selectors, services
from ..models import ExportJob, Statement
from ..pdf import statement_pdf
from ..services.exports import export_file_for, export_request
from .serializers import (
    DisputeRequestSerializer,
    DisputeSerializer,
    ExportJobSerializer,
    ExportRequestSerializer,
    InvoiceUploadSerializer,
    LineSerializer,
    StatementDetailSerializer,
    StatementSerializer,
    UsageRecordSerializer,
    UsageReportSerializer,
)


class SellerStatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The seller's statements (bill management), one per trade mode and month."""

    permission_classes = [seller_capability("settlement.view")]
    lookup_value_regex = r"\d+"
    filterset_fields = ["trade_mode", "status", "period"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Statement.objects.none()
        qs = selectors.seller_statements(seller_id=self.request.user.seller_membership.seller_id)
        if self.action == "retrieve":
            qs = qs.prefetch_related("events__actor", "disputes")
        return qs

    def get_serializer_class(self):
        return StatementDetailSerializer if self.action == "retrieve" else StatementSerializer

    def _detail(self, pk, code=status.HTTP_200_OK):
        return Response(
            StatementDetailSerializer(
                self.get_queryset().prefetch_related("events__actor", "disputes").get(pk=pk)
            ).data,
            status=code,
        )

    @extend_schema(responses=LineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def lines(self, request, pk=None):
        statement = self.get_object()
        entries = selectors.statement_entries(statement=statement, q=request.query_params.get("search", ""))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(LineSerializer(page, many=True).data)

    @extend_schema(request=None, responses=StatementDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        statement = self.get_object()
        services.statement_confirm(actor=request.user, statement_id=statement.pk)
        return self._detail(statement.pk)

    @extend_schema(request=DisputeRequestSerializer, responses={201: DisputeSerializer})
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        statement = self.get_object()
        body = DisputeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispute = services.statement_dispute(
            actor=request.user, statement_id=statement.pk, reason=body.validated_data["reason"]
        )
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceUploadSerializer, responses=StatementDetailSerializer)
    @action(detail=True, methods=["post"])
    def invoice(self, request, pk=None):
        statement = self.get_object()
        body = InvoiceUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        seller_invoice_submit(actor=request.user, statement_id=statement.pk, **body.validated_data)
        return self._detail(statement.pk)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    @action(detail=True, methods=["post"])
    def exports(self, request, pk=None):
        statement = self.get_object()
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = export_request(actor=request.user, statement_id=statement.pk, fmt=body.validated_data["format"])
        job.refresh_from_db()
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        statement = self.get_object()
        return HttpResponse(statement_pdf(statement), content_type="application/pdf")


class SellerExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Export jobs: progress while running, then the file for 3 days."""

    permission_classes = [seller_capability("settlement.view")]
    lookup_value_regex = r"\d+"
    serializer_class = ExportJobSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return selectors.seller_exports(seller_id=self.request.user.seller_membership.seller_id)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = export_file_for(actor=request.user, job_id=pk)
        return FileResponse(
            private_storage().open(job.file_path, "rb"), as_attachment=True, filename=job.file_path.rsplit("/", 1)[-1]
        )


class SellerUsageView(APIView):
    """Report pay-per-use consumption of one of the seller's services; it is settled when consumed.
    A repeated ``reference`` for the same service is recorded once."""

    permission_classes = [seller_capability("apptools.manage")]

    @extend_schema(request=UsageReportSerializer, responses={201: UsageRecordSerializer})
    def post(self, request):
        body = UsageReportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        subscription = (
            Subscription.objects.select_related("plan", "product")
            .filter(pk=data["subscription"], seller_id=request.user.seller_membership.seller_id)
            .first()
        )
        if subscription is None:
            raise NotFound(_("No such purchased service."))
        record = services.usage_record(
            subscription=subscription,
            quantity=data["quantity"],
            reference=data["reference"],
            consumed_at=data["consumed_at"],
        )
        return Response(UsageRecordSerializer(record).data, status=status.HTTP_201_CREATED)
