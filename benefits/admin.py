"""Operations keep the benefit catalog and decide the sellers' applications in arrival order:
verify, grant (a recorded reason when earlier applications still wait), or reject with a reason;
approve or reject acceleration plan applications (the signed agreement is read-only, its PDF
downloadable); review marketing-support applications, accept their acceptance materials, and
(finance) record the support paid. Everything changes only through the services."""

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.core import calendar
from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, ReasonForm, form_action, service_action
from marketplace.core.views import private_download

from . import services
from .models import (
    AccelerationPlan,
    AccelerationPlanEvent,
    AgreementSignature,
    Benefit,
    BenefitApplication,
    BenefitApplicationEvent,
    MarketingSupport,
    MarketingSupportAttachment,
    MarketingSupportEvent,
)


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


# --- acceleration plan -----------------------------------------------------------------------------


class PlanEventInline(ReadOnlyInline):
    model = AccelerationPlanEvent
    fields = ["created_at", "actor", "from_status", "to_status", "note", "message"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("benefits.view_accelerationplan")


def _signature_pdf_link(signature: AgreementSignature):
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:benefits_agreement_pdf", args=[signature.pk]), _("Download PDF")
    )


@admin.register(AccelerationPlan)
class AccelerationPlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "seller", "status", "gmv_at_application", "signer", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["seller__name", "signature__signer_name"]
    list_select_related = ["seller", "signature"]
    ordering = ["created_at", "id"]
    inlines = [PlanEventInline]
    fields = [
        "seller",
        "applied_by",
        "gmv_at_application",
        "status",
        "created_at",
        "decided_at",
        "rejection_reason",
        "signer",
        "signed",
        "agreement_pdf",
    ]
    readonly_fields = fields
    actions = [
        service_action(
            lambda actor, plan: services.plan_approve(actor=actor, plan_id=plan.pk),
            _("Approve"),
            permission="decide",
            name="approve_plan",
        ),
        form_action(
            ReasonForm,
            lambda actor, plan, *, reason: services.plan_reject(actor=actor, plan_id=plan.pk, reason=reason),
            _("Reject, with a reason"),
            permission="decide",
            name="reject_plan",
        ),
    ]

    def has_decide_permission(self, request):
        return request.user.has_perm("benefits.decide_accelerationplan")

    @admin.display(description=_("signed by"))
    def signer(self, obj):
        signature = getattr(obj, "signature", None)
        return f"{signature.signer_name} ({signature.signer_role})" if signature else "-"

    @admin.display(description=_("signed"))
    def signed(self, obj):
        signature = getattr(obj, "signature", None)
        if not signature:
            return "-"
        return f"{calendar.beijing(signature.signed_at):%Y-%m-%d %H:%M:%S} · {signature.ip or '-'}"

    @admin.display(description=_("agreement"))
    def agreement_pdf(self, obj):
        signature = getattr(obj, "signature", None)
        return _signature_pdf_link(signature) if signature else "-"


@admin.register(AgreementSignature)
class AgreementSignatureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Signed agreements: never changed, never deleted (the database refuses it too)."""

    list_display = ["id", "seller", "signer_name", "signer_role", "signed_at", "ip", "version"]
    search_fields = ["seller__name", "signer_name"]
    list_select_related = ["seller"]
    fields = [
        "plan",
        "seller",
        "signer",
        "signer_name",
        "signer_role",
        "signed_at",
        "ip",
        "user_agent",
        "version",
        "text_sha256",
        "pdf_sha256",
        "download",
        "text_zh",
        "text_en",
    ]
    readonly_fields = fields

    @admin.display(description=_("PDF"))
    def download(self, obj):
        return _signature_pdf_link(obj)

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="benefits_agreement_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk):
        if not (
            request.user.has_perm("benefits.view_agreementsignature")
            or request.user.has_perm("benefits.view_accelerationplan")
        ):
            raise Http404
        signature = AgreementSignature.objects.filter(pk=pk).first()
        if signature is None:
            raise Http404
        signed = calendar.beijing(signature.signed_at)
        return private_download(signature.pdf, f"agreement-{signature.seller_id}-{signed:%Y%m%d}.pdf")


# --- marketing support -----------------------------------------------------------------------------


class MarketingEventInline(ReadOnlyInline):
    model = MarketingSupportEvent
    fields = ["created_at", "actor", "from_status", "to_status", "note", "message"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("benefits.view_marketingsupport")


class MarketingFileInline(ReadOnlyInline):
    model = MarketingSupportAttachment
    fields = ["kind", "download", "size", "uploaded_by", "created_at"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("benefits.view_marketingsupport")

    @admin.display(description=_("file"))
    def download(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:benefits_marketing_file", args=[obj.pk]), obj.name)


class ApproveForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Support approved (CNY)"),
        required=False,
        max_digits=18,
        decimal_places=2,
        help_text=_("At most the budget; empty approves the whole budget."),
    )


class PayForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount paid (CNY)"), max_digits=18, decimal_places=2)
    reference = forms.CharField(label=_("Payment reference"), max_length=100)


def _ms(call, **fixed):
    return lambda actor, application, **kwargs: call(actor=actor, application_id=application.pk, **fixed, **kwargs)


@admin.register(MarketingSupport)
class MarketingSupportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "seller",
        "activity_name",
        "status",
        "starts_on",
        "ends_on",
        "budget",
        "approved_amount",
        "paid_amount",
        "submitted_at",
    ]
    list_filter = ["status"]
    search_fields = ["seller__name", "activity_name", "payment_reference"]
    list_select_related = ["seller"]
    ordering = ["submitted_at", "id"]
    inlines = [MarketingFileInline, MarketingEventInline]
    fieldsets = [
        (
            pgettext_lazy("marketing support", "Activity"),
            {
                "fields": [
                    "seller",
                    "created_by",
                    "activity_name",
                    "starts_on",
                    "ends_on",
                    "channel_list",
                    "budget",
                    "proposal",
                ]
            },
        ),
        (_("Review"), {"fields": ["status", "submitted_at", "review_note", "approved_amount"]}),
        (_("Acceptance"), {"fields": ["acceptance_report", "acceptance_note"]}),
        (_("Payment"), {"fields": ["paid_amount", "payment_reference", "paid_at"]}),
    ]
    readonly_fields = [f for _name, options in fieldsets for f in options["fields"]]
    actions = [
        form_action(ApproveForm, _ms(services.marketing_approve), _("Approve"), permission="review", name="approve"),
        form_action(
            ReasonForm, _ms(services.marketing_reject), _("Reject, with a reason"), permission="review", name="reject"
        ),
        form_action(
            ReasonForm,
            _ms(services.marketing_request_changes),
            _("Ask for changes"),
            permission="review",
            name="ask_changes",
        ),
        service_action(_ms(services.marketing_accept), _("Accept the activity"), permission="review", name="accept"),
        form_action(
            ReasonForm,
            _ms(services.marketing_return),
            _("Return the acceptance materials"),
            permission="review",
            name="return_materials",
        ),
        form_action(PayForm, _ms(services.marketing_pay), _("Record the support paid"), permission="pay", name="pay"),
    ]

    def has_review_permission(self, request):
        return request.user.has_perm("benefits.review_marketingsupport")

    def has_pay_permission(self, request):
        return request.user.has_perm("benefits.pay_marketingsupport")

    @admin.display(description=_("number"), ordering="id")
    def number(self, obj):
        return obj.number

    @admin.display(description=_("channels"))
    def channel_list(self, obj):
        return ", ".join(obj.channel_labels()) or "-"

    def get_urls(self):
        return [
            path("file/<int:pk>/", self.admin_site.admin_view(self.file_view), name="benefits_marketing_file"),
            *super().get_urls(),
        ]

    def file_view(self, request, pk):
        if not request.user.has_perm("benefits.view_marketingsupport"):
            raise Http404
        attachment = MarketingSupportAttachment.objects.filter(pk=pk).first()
        if attachment is None:
            raise Http404
        return private_download(attachment.file, attachment.name)
