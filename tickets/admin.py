"""Operations see every ticket, find the overdue ones, and step in: a message to both parties, or
a reassignment. Tickets change only through the services."""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, form_action

from . import services
from .models import ReceptionSettings, ReceptionWindow, Ticket, TicketAttachment, TicketEvent, TicketMessage
from .selectors import overdue_q


class OverdueFilter(admin.SimpleListFilter):
    title = _("SLA")
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("on_time", _("On time"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(overdue_q(timezone.now()))
        if self.value() == "on_time":
            return queryset.exclude(overdue_q(timezone.now()))
        return queryset


class MessageInline(ReadOnlyInline):
    model = TicketMessage
    fields = ["created_at", "author", "side", "kind", "body"]


class AttachmentInline(ReadOnlyInline):
    model = TicketAttachment
    fields = ["created_at", "name", "size", "uploaded_by", "message"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "actor", "from_status", "to_status", "note", "message"]


class OperationsMessageForm(forms.Form):
    body = forms.CharField(label=_("Message to both parties"), widget=forms.Textarea(attrs={"rows": 4}))


def _operations_reply(actor, ticket, *, body):
    services.ticket_reply(actor=actor, ticket_id=ticket.pk, body=body)


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "title", "seller", "buyer", "product", "status", "overdue", "created_at"]
    list_filter = [OverdueFilter, "status", "category", "created_at"]
    search_fields = ["number", "title", "seller__name", "buyer__name", "opened_by__email"]
    list_select_related = ["seller", "buyer", "product"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, AttachmentInline, EventInline]
    fields = [
        "number",
        "status",
        "seller",
        "buyer",
        "opened_by",
        "product",
        "order",
        "category",
        "title",
        "description",
        "assignee",
        "first_response_due_at",
        "resolution_due_at",
        "accepted_at",
        "resolved_at",
        "closed_at",
        "cause",
        "solution",
        "rating",
        "rating_comment",
    ]
    actions = [
        form_action(
            OperationsMessageForm,
            _operations_reply,
            _("Step in: write to both parties"),
            permission="change",
            name="operations_reply",
        ),
    ]

    def has_change_permission(self, request, obj=None):
        # The page stays read-only; the action needs the change permission of operations staff.
        return obj is None and request.user.has_perm("tickets.change_ticket")

    @admin.display(description=_("overdue"))
    def overdue(self, obj):
        late = obj.overdue_at(timezone.now())
        return {"response": _("first response"), "resolution": _("resolution")}.get(late, "")


class WindowInline(ReadOnlyInline):
    model = ReceptionWindow
    fields = ["weekday", "start", "end"]


@admin.register(ReceptionSettings)
class ReceptionSettingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["seller", "accepts_tickets", "first_response_hours", "resolution_hours", "updated_at"]
    list_filter = ["accepts_tickets"]
    search_fields = ["seller__name"]
    inlines = [WindowInline]
