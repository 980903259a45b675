"""Operations see every refund request and its payment attempts, and decide the escalated ones
(the seller did not answer in time): approve, reject with a reason, or propose another amount.
Requests change only through the services; nothing here is edited by hand."""

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, ReasonForm, form_action, service_action

from . import services
from .models import Refund, RefundAttempt, RefundRequest, RefundRequestEvent


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_line", "amount", "refunded_at", "actor"]
    search_fields = ["order_line__order__number"]
    list_select_related = ["order_line__order", "actor"]


class EscalatedFilter(admin.SimpleListFilter):
    """Requests that went to operations at some time (waiting now, or already decided)."""

    title = _("escalated")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        ever = Exists(
            RefundRequestEvent.objects.filter(request=OuterRef("pk"), to_status=RefundRequest.Status.ESCALATED)
        )
        if self.value() == "yes":
            return queryset.filter(ever)
        if self.value() == "no":
            return queryset.exclude(ever)
        return queryset


class _SeenWithTheRequest:
    """An inline shown to whoever may view the request (the groups grant no view permission on
    events)."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("refunds.view_refundrequest")


class EventInline(_SeenWithTheRequest, ReadOnlyInline):
    model = RefundRequestEvent
    fields = ["created_at", "actor", "from_status", "to_status", "note", "message"]


class AttemptInline(_SeenWithTheRequest, ReadOnlyInline):
    model = RefundAttempt
    fields = ["created_at", "method", "ok", "reference", "error", "idempotency_key"]


class ProposeForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to propose (CNY)"), max_digits=18, decimal_places=2, min_value=0)


def _approve(actor, request):
    services.refund_request_approve(actor=actor, request_id=request.pk)


def _reject(actor, request, *, reason):
    services.refund_request_reject(actor=actor, request_id=request.pk, reason=reason)


def _propose(actor, request, *, amount):
    services.refund_request_propose(actor=actor, request_id=request.pk, amount=amount)


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "order_number",
        "seller",
        "buyer",
        "kind",
        "status",
        "amount_requested",
        "amount_proposed",
        "amount",
        "created_at",
        "answer_due_at",
    ]
    list_filter = ["status", "kind", EscalatedFilter, "created_at"]
    search_fields = ["number", "order_line__order__number"]
    list_select_related = ["order_line__order__buyer", "order_line__seller"]
    date_hierarchy = "created_at"
    inlines = [EventInline, AttemptInline]
    fields = [
        "number",
        "status",
        "kind",
        "order_line",
        "requested_by",
        "reason_code",
        "reason_text",
        "amount_requested",
        "amount_proposed",
        "amount",
        "rejection_reason",
        "created_at",
        "answer_due_at",
        "approved_at",
        "pay_by",
        "paid_at",
        "refund",
    ]
    readonly_fields = fields
    actions = [
        service_action(_approve, _("Approve the amount asked"), permission="decide", name="approve"),
        form_action(ReasonForm, _reject, _("Reject, with a reason"), permission="decide", name="reject"),
        form_action(ProposeForm, _propose, _("Propose another amount"), permission="decide", name="propose"),
    ]

    def has_decide_permission(self, request):
        return request.user.has_perm("refunds.decide_refundrequest")

    @admin.display(description=_("order"), ordering="order_line__order__number")
    def order_number(self, obj):
        return obj.order_line.order.number

    @admin.display(description=_("seller"))
    def seller(self, obj):
        return obj.order_line.seller

    @admin.display(description=_("buyer"))
    def buyer(self, obj):
        return obj.order_line.order.buyer


@admin.register(RefundAttempt)
class RefundAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["request", "method", "ok", "reference", "created_at"]
    list_filter = ["ok", "method"]
    search_fields = ["request__number", "idempotency_key", "reference"]
    list_select_related = ["request"]
    fields = ["request", "idempotency_key", "method", "ok", "reference", "error", "created_at"]
    readonly_fields = fields
