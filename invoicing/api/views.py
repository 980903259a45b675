"""Buyers' invoices over the API: the buyer's profiles, requests, invoiceable orders and
explanation letters; the seller's invoice management.

Every write calls the same service as the pages. A request of another party is "not found" (404)
before the body is even looked at, so its existence does not leak; a refused action answers with
the status of its ``ServiceError``. Lists take a fixed number of queries.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from marketplace.accounts.roles import buyer_is_admin
from marketplace.core.errors import NotAllowed, NotFound, as_id
from marketplace.core.permissions import IsBuyer, seller_capability
from marketplace.orders.models import Order
from marketplace.orders.selectors import buyer_scope

from .. import selectors, services
from ..models import ExplanationLetter, InvoiceProfile, InvoiceRequest
from ..services.buyer_invoices import PROFILE_FIELDS
from .serializers import (
    BuyerInvoiceRequestDetailSerializer,
    BuyerInvoiceRequestFilterSerializer,
    ExplanationLetterSerializer,
    InvoiceableOrderSerializer,
    InvoiceDeliverSerializer,
    InvoiceIssueSerializer,
    InvoiceProfileInputSerializer,
    InvoiceProfilePatchSerializer,
    InvoiceProfileSerializer,
    InvoiceReasonSerializer,
    InvoiceRequestResubmitSerializer,
    InvoiceRequestSerializer,
    InvoiceRequestSubmitSerializer,
    SellerInvoiceRequestDetailSerializer,
    SellerInvoiceRequestFilterSerializer,
    SellerInvoiceRequestSerializer,
)

NO_REQUEST = _("No such invoice request.")
NO_PROFILE = _("No such invoice profile.")
NO_LETTER = _("No such explanation letter.")


def _valid(serializer_class, data) -> dict:
    body = serializer_class(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _delivery(data: dict) -> dict:
    return {
        "profile_id": data["profile"],
        "medium": data["medium"],
        "recipient": data["recipient"],
        "recipient_phone": data["recipient_phone"],
        "mailing_address": data["mailing_address"],
        "recipient_email": data["recipient_email"],
    }


class _Base(viewsets.GenericViewSet):
    lookup_value_regex = r"\d+"
    filter_backends = []  # list filters are parsed by a serializer
    model = None
    not_found = NO_REQUEST

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.model.objects.none()
        return self.visible()

    def visible(self):
        """What this user may see."""
        raise NotImplementedError

    def check_visible(self, pk) -> int:
        """404 for an object this user does not see, before the request body is looked at."""
        pk = as_id(pk, self.not_found)
        if not self.visible().filter(pk=pk).exists():
            raise NotFound(self.not_found)
        return pk

    def context(self, now=None) -> dict:
        return {**self.get_serializer_context(), "now": now or timezone.now()}

    def page_of(self, qs, serializer_class, now=None) -> Response:
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(serializer_class(page, many=True, context=self.context(now)).data)


# --- the buyer's side ------------------------------------------------------------------------------


class ProfileWritesByAdmins(BasePermission):
    """Writes to invoice profiles are the tenant administrators' (refused before the body is read,
    with the service's own refusal)."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or buyer_is_admin(getattr(request.user, "buyer_membership", None)):
            return True
        raise NotAllowed(_("Only the tenant's administrators manage invoice profiles."))


class BuyerInvoiceProfileViewSet(_Base):
    """The tenant's invoice titles. Every user of the tenant reads them (to pick one for a
    request); its administrators add, change and delete them."""

    permission_classes = [IsBuyer, ProfileWritesByAdmins]
    serializer_class = InvoiceProfileSerializer
    model = InvoiceProfile
    not_found = NO_PROFILE

    def visible(self):
        return selectors.buyer_profiles(user=self.request.user)

    def profile_response(self, pk, code=status.HTTP_200_OK) -> Response:
        profile = self.visible().filter(pk=as_id(pk, NO_PROFILE)).first()
        if profile is None:
            raise NotFound(NO_PROFILE)
        return Response(InvoiceProfileSerializer(profile, context=self.context()).data, status=code)

    def _is_default(self, data: dict):
        """True or false when given; left out (or null): unchanged."""
        return data["is_default"] if "is_default" in self.request.data else None

    def list(self, request):
        return self.page_of(self.visible(), InvoiceProfileSerializer)

    def retrieve(self, request, pk=None):
        return self.profile_response(pk)

    @extend_schema(request=InvoiceProfileInputSerializer, responses={201: InvoiceProfileSerializer})
    def create(self, request):
        data = _valid(InvoiceProfileInputSerializer, request.data)
        fields = {f: data[f] for f in PROFILE_FIELDS}
        profile = services.profile_save(actor=request.user, data=fields, is_default=self._is_default(data))
        return self.profile_response(profile.pk, status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceProfileInputSerializer, responses=InvoiceProfileSerializer)
    def update(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(InvoiceProfileInputSerializer, request.data)
        fields = {f: data[f] for f in PROFILE_FIELDS}
        services.profile_save(actor=request.user, data=fields, profile_id=pk, is_default=self._is_default(data))
        return self.profile_response(pk)

    @extend_schema(request=InvoiceProfilePatchSerializer, responses=InvoiceProfileSerializer)
    def partial_update(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(InvoiceProfilePatchSerializer, request.data)
        current = self.visible().values(*PROFILE_FIELDS).get(pk=pk)
        fields = {f: data.get(f, current[f]) for f in PROFILE_FIELDS}
        services.profile_save(actor=request.user, data=fields, profile_id=pk, is_default=self._is_default(data))
        return self.profile_response(pk)

    def destroy(self, request, pk=None):
        pk = self.check_visible(pk)
        services.profile_delete(actor=request.user, profile_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=InvoiceProfileSerializer)
    @action(detail=True, methods=["post"], url_path="make-default")
    def make_default(self, request, pk=None):
        """Make this profile the tenant's default (the one a new request starts from)."""
        pk = self.check_visible(pk)
        current = self.visible().values(*PROFILE_FIELDS).get(pk=pk)
        services.profile_save(actor=request.user, data=current, profile_id=pk, is_default=True)
        return self.profile_response(pk)


class BuyerInvoiceRequestViewSet(_Base):
    """The buyer's invoice requests: ask for an invoice over paid orders, correct and resubmit a
    rejected one, send an issued invoice back before a refund, ask for an explanation letter. A
    tenant's administrators see all its requests; its other users the ones they made."""

    permission_classes = [IsBuyer]
    serializer_class = InvoiceRequestSerializer
    model = InvoiceRequest

    def visible(self):
        return InvoiceRequest.objects.filter(selectors.buyer_request_scope(self.request.user))

    def request_response(self, pk, code=status.HTTP_200_OK) -> Response:
        invoice_request = selectors.buyer_request_detail(user=self.request.user, request_id=as_id(pk, NO_REQUEST))
        if invoice_request is None:
            raise NotFound(NO_REQUEST)
        return Response(BuyerInvoiceRequestDetailSerializer(invoice_request, context=self.context()).data, status=code)

    @extend_schema(parameters=[BuyerInvoiceRequestFilterSerializer], responses=InvoiceRequestSerializer(many=True))
    def list(self, request):
        filters = _valid(BuyerInvoiceRequestFilterSerializer, request.query_params)
        requests = selectors.buyer_requests(
            user=request.user, status=filters.get("status") or "", q=filters.get("q") or ""
        )
        return self.page_of(requests, InvoiceRequestSerializer)

    @extend_schema(responses=BuyerInvoiceRequestDetailSerializer)
    def retrieve(self, request, pk=None):
        return self.request_response(pk)

    @extend_schema(request=InvoiceRequestSubmitSerializer, responses={201: BuyerInvoiceRequestDetailSerializer})
    def create(self, request):
        data = _valid(InvoiceRequestSubmitSerializer, request.data)
        created = services.invoice_request_submit(actor=request.user, order_ids=data["orders"], **_delivery(data))
        return self.request_response(created.pk, status.HTTP_201_CREATED)

    @extend_schema(request=InvoiceRequestResubmitSerializer, responses=BuyerInvoiceRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def resubmit(self, request, pk=None):
        """Correct a rejected request (title, medium, delivery) and send it again."""
        pk = self.check_visible(pk)
        data = _valid(InvoiceRequestResubmitSerializer, request.data)
        services.invoice_request_resubmit(actor=request.user, request_id=pk, **_delivery(data))
        return self.request_response(pk)

    @extend_schema(request=InvoiceReasonSerializer, responses=BuyerInvoiceRequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_invoice(self, request, pk=None):
        """Send an issued paper invoice back, or ask for an electronic one to be voided (a refund
        of its orders waits for it); the issuer confirms."""
        pk = self.check_visible(pk)
        data = _valid(InvoiceReasonSerializer, request.data)
        services.invoice_return_start(actor=request.user, request_id=pk, reason=data["reason"])
        return self.request_response(pk)

    @extend_schema(request=None, responses={201: ExplanationLetterSerializer})
    @action(detail=True, methods=["post"])
    def letters(self, request, pk=None):
        """Ask for a stamped explanation letter about the issued invoice (one at a time)."""
        pk = self.check_visible(pk)
        letter = services.letter_request(actor=request.user, request_id=pk)
        letter = ExplanationLetter.objects.select_related("request").get(pk=letter.pk)
        return Response(
            ExplanationLetterSerializer(letter, context=self.context()).data, status=status.HTTP_201_CREATED
        )


class BuyerInvoiceableOrderViewSet(_Base):
    """Paid orders on no live invoice request, with the amount left to invoice and the issuer
    (orders of one request must share it)."""

    permission_classes = [IsBuyer]
    serializer_class = InvoiceableOrderSerializer
    model = Order

    def visible(self):
        return Order.objects.filter(buyer_scope(self.request.user), status=Order.Status.PAID)

    def list(self, request):
        return self.page_of(selectors.invoiceable_orders(user=request.user), InvoiceableOrderSerializer)


class BuyerExplanationLetterViewSet(_Base):
    """Explanation letters about the buyer's invoices: being stamped, then downloadable."""

    permission_classes = [IsBuyer]
    serializer_class = ExplanationLetterSerializer
    model = ExplanationLetter
    not_found = NO_LETTER

    def visible(self):
        return selectors.buyer_letters(user=self.request.user)

    def list(self, request):
        return self.page_of(self.visible(), ExplanationLetterSerializer)

    def retrieve(self, request, pk=None):
        letter = self.visible().filter(pk=as_id(pk, NO_LETTER)).first()
        if letter is None:
            raise NotFound(NO_LETTER)
        return Response(ExplanationLetterSerializer(letter, context=self.context()).data)


# --- the seller's side -----------------------------------------------------------------------------


class SellerInvoiceRequestViewSet(_Base):
    """The invoice requests this seller issues (administrators and finance staff): issue the
    invoice, mail a paper one, reject a request to be corrected, confirm a return or a void."""

    permission_classes = [seller_capability("invoices.manage")]
    serializer_class = SellerInvoiceRequestSerializer
    model = InvoiceRequest
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def visible(self):
        return selectors.seller_requests_base(self.seller_id)

    @property
    def seller_id(self) -> int:
        return self.request.user.seller_membership.seller_id

    def request_response(self, pk) -> Response:
        invoice_request = selectors.seller_invoice_request(seller_id=self.seller_id, request_id=as_id(pk, NO_REQUEST))
        if invoice_request is None:
            raise NotFound(NO_REQUEST)
        return Response(SellerInvoiceRequestDetailSerializer(invoice_request, context=self.context()).data)

    @extend_schema(
        parameters=[SellerInvoiceRequestFilterSerializer], responses=SellerInvoiceRequestSerializer(many=True)
    )
    def list(self, request):
        filters = _valid(SellerInvoiceRequestFilterSerializer, request.query_params)
        now = timezone.now()
        requests = selectors.seller_invoice_requests(
            seller_id=self.seller_id,
            status=filters.get("status") or "",
            q=filters.get("q") or "",
            overdue=filters["overdue"],
            now=now,
        )
        return self.page_of(requests.select_related("seller"), SellerInvoiceRequestSerializer, now)

    @extend_schema(responses=SellerInvoiceRequestDetailSerializer)
    def retrieve(self, request, pk=None):
        return self.request_response(pk)

    @extend_schema(request=InvoiceIssueSerializer, responses=SellerInvoiceRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        """Record the invoice with its PDF (uploaded, or drawn by the platform with generate=true).
        Electronic and digital invoices are e-mailed to the recipient at once."""
        pk = self.check_visible(pk)
        data = _valid(InvoiceIssueSerializer, request.data)
        services.invoice_issue(actor=request.user, request_id=pk, **data)
        return self.request_response(pk)

    @extend_schema(request=InvoiceDeliverSerializer, responses=SellerInvoiceRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        """A paper invoice handed to a courier."""
        pk = self.check_visible(pk)
        data = _valid(InvoiceDeliverSerializer, request.data)
        services.invoice_deliver(
            actor=request.user, request_id=pk, courier=data["courier"], tracking_number=data["tracking_number"]
        )
        return self.request_response(pk)

    @extend_schema(request=InvoiceReasonSerializer, responses=SellerInvoiceRequestDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Send the request back to the buyer to correct (its orders are free meanwhile)."""
        pk = self.check_visible(pk)
        data = _valid(InvoiceReasonSerializer, request.data)
        services.invoice_reject(actor=request.user, request_id=pk, reason=data["reason"])
        return self.request_response(pk)

    @extend_schema(request=None, responses=SellerInvoiceRequestDetailSerializer)
    @action(detail=True, methods=["post"], url_path="confirm-return", url_name="confirm-return")
    def confirm_return(self, request, pk=None):
        """The paper invoice is back, or the electronic one voided: its orders are free again."""
        pk = self.check_visible(pk)
        services.invoice_return_confirm(actor=request.user, request_id=pk)
        return self.request_response(pk)
