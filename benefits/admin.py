"""Operations keep the benefit catalog and decide the sellers' applications in arrival order:
verify, grant (a recorded reason when earlier applications still wait), or reject with a reason.
Applications change only through the services; nothing about them is edited by hand."""

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, ReasonForm, form_action, service_action

from . import services
from .models import Benefit, BenefitApplication, BenefitApplicationEvent


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = [
        "name_zh",
        "name_en",
        "gmv_threshold",
        "lead_days",
        "quota_per_period",
        "active_from",
        "active_until",
    ]
    list_filter = ["lead_days", "active_from"]
    search_fields = ["name_zh", "name_en"]
    fieldsets = [
        (_("Name and description"), {"fields": ["name_zh", "name_en", "description_zh", "description_en"]}),
        (_("Rules"), {"fields": ["gmv_threshold", "lead_days", "quota_per_period"]}),
        (_("Active dates"), {"fields": ["active_from", "active_until"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # applications refer to it; end it with "active until" instead


class _SeenWithTheApplication:
    """An inline shown to whoever may view the application (the groups grant no view permission on
    events)."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("benefits.view_benefitapplication")


class EventInline(_SeenWithTheApplication, ReadOnlyInline):
    model = BenefitApplicationEvent
    fields = ["created_at", "actor", "from_status", "to_status", "note", "message"]


class GrantForm(forms.Form):
    skip_reason = forms.CharField(
        label=_("Reason for deciding out of arrival order"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when earlier applications for the same benefit are still waiting."),
    )


def _verify(actor, application):
    services.benefit_verify(actor=actor, application_id=application.pk)


def _grant(actor, application, *, skip_reason=""):
    services.benefit_grant(actor=actor, application_id=application.pk, skip_reason=skip_reason)


def _reject(actor, application, *, reason):
    services.benefit_reject(actor=actor, application_id=application.pk, reason=reason)


def _position_subquery():
    """1 + the waiting applications of the same benefit that arrived earlier (one subquery)."""
    waiting = BenefitApplication.WAITING
    return Subquery(
        BenefitApplication.objects.filter(benefit_id=OuterRef("benefit_id"), status__in=waiting)
        .filter(Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lte=OuterRef("pk")))
        .order_by()
        .values("benefit_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )


@admin.register(BenefitApplication)
class BenefitApplicationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "seller",
        "benefit",
        "wanted_from",
        "status",
        "queue_position",
        "gmv_at_application",
        "created_at",
        "decided_at",
    ]
    list_filter = ["status", "benefit"]
    search_fields = ["seller__name"]
    list_select_related = ["seller", "benefit"]
    ordering = ["created_at", "id"]  # arrival order
    inlines = [EventInline]
    fields = [
        "seller",
        "benefit",
        "applied_by",
        "wanted_from",
        "gmv_at_application",
        "status",
        "queue_position",
        "created_at",
        "decided_at",
        "skip_reason",
        "rejection_reason",
    ]
    readonly_fields = fields
    actions = [
        service_action(_verify, _("Verify"), permission="decide", name="verify"),
        form_action(GrantForm, _grant, _("Grant"), permission="decide", name="grant"),
        form_action(ReasonForm, _reject, _("Reject, with a reason"), permission="decide", name="reject"),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(position=_position_subquery())

    def has_decide_permission(self, request):
        return request.user.has_perm("benefits.decide_benefitapplication")

    @admin.display(description=_("queue position"))
    def queue_position(self, obj):
        if obj.status not in BenefitApplication.WAITING:
            return "-"
        return obj.position
