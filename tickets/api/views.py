"""Tickets over the API: the buyer's side, the seller's side, the reception settings, files.

Every write calls the same service as the pages; every read goes through a selector. A ticket of
another party is "not found" (404) before its body is even looked at, so its existence does not
leak; a refused action answers with the status of its ``ServiceError``.
"""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.models import SellerMembership
from marketplace.accounts.roles import SELLER_CAPABILITIES
from marketplace.catalog.models import Product
from marketplace.core.errors import NotFound, as_id
from marketplace.core.permissions import IsBuyer, seller_capability
from marketplace.core.views import private_download
from marketplace.orders.models import OrderLine

from .. import selectors, services, sla
from ..models import Ticket
from .serializers import (
    BuyerTicketDetailSerializer,
    BuyerTicketFilterSerializer,
    BuyerTicketSerializer,
    ReceptionSettingsOutSerializer,
    ReceptionSettingsSerializer,
    SellerTicketDetailSerializer,
    SellerTicketFilterSerializer,
    SellerTicketReplySerializer,
    SellerTicketSerializer,
    TicketAssigneeSerializer,
    TicketAssignSerializer,
    TicketAvailabilityQuerySerializer,
    TicketAvailabilitySerializer,
    TicketConfirmSerializer,
    TicketCountsSerializer,
    TicketFeedbackRequestSerializer,
    TicketOpenSerializer,
    TicketRejectSerializer,
    TicketReplySerializer,
    TicketResolveSerializer,
    TicketWithdrawSerializer,
)

NO_TICKET = _("No such ticket.")


def _valid(serializer_class, data) -> dict:
    body = serializer_class(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _windows_out(reception) -> list[dict]:
    if reception is None:
        return []
    return [{"weekday": w.weekday, "start": w.start, "end": w.end} for w in reception.windows.all()]


class _TicketViewSet(viewsets.GenericViewSet):
    """What the buyer's and the seller's ticket endpoints share."""

    lookup_value_regex = r"\d+"
    filter_backends = []  # the list filters are parsed by a serializer and applied by the selector
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    detail_serializer = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Ticket.objects.none()
        return self.visible()

    def visible(self):
        """The tickets this user may see (no joins)."""
        raise NotImplementedError

    def fetch(self, ticket_id):
        """One ticket with its thread, or None."""
        raise NotImplementedError

    def check_visible(self, pk) -> int:
        """404 for a ticket this user does not see, before the request body is looked at."""
        pk = as_id(pk, NO_TICKET)
        if not self.visible().filter(pk=pk).exists():
            raise NotFound(NO_TICKET)
        return pk

    def ticket_response(self, pk, code=status.HTTP_200_OK) -> Response:
        ticket = self.fetch(as_id(pk, NO_TICKET))
        if ticket is None:
            raise NotFound(NO_TICKET)
        context = {**self.get_serializer_context(), "now": timezone.now()}
        return Response(self.detail_serializer(ticket, context=context).data, status=code)

    def page_of(self, tickets, now) -> Response:
        page = self.paginate_queryset(tickets)
        context = {**self.get_serializer_context(), "now": now}
        return self.get_paginated_response(self.get_serializer_class()(page, many=True, context=context).data)

    def retrieve(self, request, pk=None):
        return self.ticket_response(pk)

    def counts(self, request):
        return Response(selectors.status_counts(self.visible(), timezone.now()))


# --- the buyer's side ------------------------------------------------------------------------------


class BuyerTicketViewSet(_TicketViewSet):
    """The buyer's tickets: open one about a product, talk with the seller, confirm, send back,
    withdraw. A tenant's administrators see all its tickets; its other users the ones they opened."""

    permission_classes = [IsBuyer]
    serializer_class = BuyerTicketSerializer
    detail_serializer = BuyerTicketDetailSerializer

    @property
    def membership(self):
        return self.request.user.buyer_membership

    def visible(self):
        return selectors.buyer_tickets_base(self.membership)

    def fetch(self, ticket_id):
        return selectors.ticket_for_buyer(membership=self.membership, ticket_id=ticket_id)

    @extend_schema(parameters=[BuyerTicketFilterSerializer], responses=BuyerTicketSerializer(many=True))
    def list(self, request):
        filters = _valid(BuyerTicketFilterSerializer, request.query_params)
        now = timezone.now()
        tickets = selectors.buyer_tickets(
            membership=self.membership,
            status=filters.get("status") or "",
            product_id=filters.get("product"),
            q=filters.get("q") or "",
            now=now,
        )
        return self.page_of(tickets, now)

    @extend_schema(responses=BuyerTicketDetailSerializer)
    def retrieve(self, request, pk=None):
        return super().retrieve(request, pk)

    @extend_schema(request=TicketOpenSerializer, responses={201: BuyerTicketDetailSerializer})
    def create(self, request):
        data = _valid(TicketOpenSerializer, request.data)
        ticket = services.ticket_open(
            actor=request.user,
            product_id=data["product"],
            order_id=data["order"],
            category=data["category"],
            title=data["title"],
            description=data["description"],
            files=data["files"],
        )
        return self.ticket_response(ticket.pk, status.HTTP_201_CREATED)

    @extend_schema(request=TicketReplySerializer, responses={201: BuyerTicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketReplySerializer, request.data)
        services.ticket_reply(actor=request.user, ticket_id=pk, body=data["body"], files=data["files"])
        return self.ticket_response(pk, status.HTTP_201_CREATED)

    @extend_schema(request=TicketConfirmSerializer, responses=BuyerTicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketConfirmSerializer, request.data)
        services.ticket_confirm(actor=request.user, ticket_id=pk, rating=data["rating"], comment=data["comment"])
        return self.ticket_response(pk)

    @extend_schema(request=TicketRejectSerializer, responses=BuyerTicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketRejectSerializer, request.data)
        services.ticket_reject(actor=request.user, ticket_id=pk, reason=data["reason"])
        return self.ticket_response(pk)

    @extend_schema(request=TicketWithdrawSerializer, responses=BuyerTicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketWithdrawSerializer, request.data)
        services.ticket_withdraw(actor=request.user, ticket_id=pk, reason=data["reason"])
        return self.ticket_response(pk)

    @extend_schema(responses=TicketCountsSerializer)
    @action(detail=False, methods=["get"])
    def counts(self, request):
        """How many of my tickets are in each status, plus "open" and "overdue"."""
        return super().counts(request)

    @extend_schema(parameters=[TicketAvailabilityQuerySerializer], responses=TicketAvailabilitySerializer)
    @action(detail=False, methods=["get"])
    def availability(self, request):
        """Whether the seller of a product takes tickets, and its reception hours (Beijing time)."""
        product_id = _valid(TicketAvailabilityQuerySerializer, request.query_params)["product"]
        ordered = OrderLine.objects.filter(order__buyer_id=self.membership.buyer_id, product_id=product_id)
        product = (
            Product.objects.select_related("seller")
            .filter(Q(status=Product.Status.PUBLISHED) | Q(pk__in=ordered.values("product_id")), pk=product_id)
            .first()
        )
        if product is None:
            raise NotFound(_("No such product."))
        info = selectors.availability(product.seller_id)
        reception = info["reception"]
        return Response(
            TicketAvailabilitySerializer(
                {
                    "seller": product.seller_id,
                    "seller_name": product.seller.name,
                    "accepts": info["accepts"],
                    "open_now": info["open_now"],
                    "next_open": info["next_open"],
                    "observe_public_holidays": reception.observe_public_holidays if reception else True,
                    "first_response_hours": reception.first_response_hours if reception else 0,
                    "resolution_hours": reception.resolution_hours if reception else 0,
                    "windows": _windows_out(reception) if info["accepts"] else [],
                }
            ).data
        )


# --- the seller's side -----------------------------------------------------------------------------


class SellerTicketViewSet(_TicketViewSet):
    """The seller's tickets (administrators and support staff): accept, assign, reply, write
    internal notes, ask the customer for feedback, mark resolved."""

    permission_classes = [seller_capability("tickets.manage")]
    serializer_class = SellerTicketSerializer
    detail_serializer = SellerTicketDetailSerializer

    @property
    def seller_id(self) -> int:
        return self.request.user.seller_membership.seller_id

    def visible(self):
        return Ticket.objects.filter(seller_id=self.seller_id)

    def fetch(self, ticket_id):
        return selectors.ticket_for_seller(seller_id=self.seller_id, ticket_id=ticket_id)

    @extend_schema(parameters=[SellerTicketFilterSerializer], responses=SellerTicketSerializer(many=True))
    def list(self, request):
        filters = _valid(SellerTicketFilterSerializer, request.query_params)
        now = timezone.now()
        tickets = selectors.seller_tickets(
            seller_id=self.seller_id,
            status=filters.get("status") or "",
            product_id=filters.get("product"),
            overdue=filters["overdue"],
            q=filters.get("q") or "",
            mine_of=request.user if filters["mine"] else None,
            now=now,
        )
        return self.page_of(tickets, now)

    @extend_schema(responses=SellerTicketDetailSerializer)
    def retrieve(self, request, pk=None):
        return super().retrieve(request, pk)

    @extend_schema(request=None, responses=SellerTicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        pk = self.check_visible(pk)
        services.ticket_accept(actor=request.user, ticket_id=pk)
        return self.ticket_response(pk)

    @extend_schema(request=TicketAssignSerializer, responses=SellerTicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketAssignSerializer, request.data)
        services.ticket_assign(actor=request.user, ticket_id=pk, assignee_id=data["assignee"])
        return self.ticket_response(pk)

    @extend_schema(request=SellerTicketReplySerializer, responses={201: SellerTicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(SellerTicketReplySerializer, request.data)
        services.ticket_reply(
            actor=request.user, ticket_id=pk, body=data["body"], internal=data["internal"], files=data["files"]
        )
        return self.ticket_response(pk, status.HTTP_201_CREATED)

    @extend_schema(request=TicketFeedbackRequestSerializer, responses=SellerTicketDetailSerializer)
    @action(detail=True, methods=["post"], url_path="request-feedback")
    def request_feedback(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketFeedbackRequestSerializer, request.data)
        services.ticket_request_feedback(actor=request.user, ticket_id=pk, body=data["body"])
        return self.ticket_response(pk)

    @extend_schema(request=TicketResolveSerializer, responses=SellerTicketDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        pk = self.check_visible(pk)
        data = _valid(TicketResolveSerializer, request.data)
        services.ticket_resolve(actor=request.user, ticket_id=pk, cause=data["cause"], solution=data["solution"])
        return self.ticket_response(pk)

    @extend_schema(responses=TicketCountsSerializer)
    @action(detail=False, methods=["get"])
    def counts(self, request):
        """How many tickets are in each status, plus "open" and "overdue"."""
        return super().counts(request)

    @extend_schema(responses=TicketAssigneeSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def assignees(self, request):
        """The colleagues a ticket can be assigned to."""
        colleagues = (
            SellerMembership.objects.filter(seller_id=self.seller_id, role__in=SELLER_CAPABILITIES["tickets.manage"])
            .select_related("user")
            .order_by("user__name", "user_id")
        )
        return Response(TicketAssigneeSerializer(colleagues, many=True).data)


class ReceptionSettingsView(APIView):
    """When the seller takes tickets: weekly reception hours (Beijing time), days off, SLA targets.
    Everyone who handles tickets reads them; administrators change them."""

    permission_classes = [seller_capability("tickets.manage")]

    def _out(self, seller_id) -> Response:
        now = timezone.now()
        info = selectors.availability(seller_id, now)
        reception = info["reception"]
        schedule = services.schedule_of(reception)
        return Response(
            ReceptionSettingsOutSerializer(
                {
                    "accepts_tickets": reception.accepts_tickets if reception else False,
                    "observe_public_holidays": reception.observe_public_holidays if reception else True,
                    "first_response_hours": reception.first_response_hours if reception else 4,
                    "resolution_hours": reception.resolution_hours if reception else 40,
                    "windows": _windows_out(reception),
                    "closed_dates": [c.day for c in reception.closed_dates.all()] if reception else [],
                    "weekly_minutes": sla.weekly_minutes(schedule),
                    "min_weekly_minutes": sla.MIN_WEEKLY_MINUTES,
                    "open_now": info["open_now"],
                    "next_open": info["next_open"],
                }
            ).data
        )

    @extend_schema(responses=ReceptionSettingsOutSerializer)
    def get(self, request):
        return self._out(request.user.seller_membership.seller_id)

    @extend_schema(request=ReceptionSettingsSerializer, responses=ReceptionSettingsOutSerializer)
    def put(self, request):
        data = _valid(ReceptionSettingsSerializer, request.data)
        reception = services.reception_update(
            actor=request.user,
            accepts_tickets=data["accepts_tickets"],
            observe_public_holidays=data["observe_public_holidays"],
            first_response_hours=data["first_response_hours"],
            resolution_hours=data["resolution_hours"],
            windows=[(w["weekday"], w["start"], w["end"]) for w in data["windows"]],
            closed_dates=data["closed_dates"],
        )
        return self._out(reception.seller_id)


class TicketAttachmentDownloadView(APIView):
    """A file of a ticket, for its parties only (an internal note's files: the seller's staff only)."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        attachment = selectors.attachment_for(user=request.user, attachment_id=as_id(pk))
        if attachment is None:
            raise NotFound()
        return private_download(attachment.file, attachment.name or f"attachment-{attachment.pk}")
