from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from marketplace.core import calendar
from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, ReasonForm, form_action, service_action
from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error

from . import services
from .forms import InvoiceIssueForm, InvoiceMailForm
from .models import (
    ExplanationLetter,
    InvoicedOrder,
    InvoiceProfile,
    InvoiceRequest,
    InvoiceRequestEvent,
    SellerInvoice,
)


@admin.register(SellerInvoice)
class SellerInvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Sellers' invoices for joint statements: verify, or reject with a reason."""

    list_display = ["number", "statement", "amount", "tax_rate", "status", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["number", "statement__seller__name"]
    list_select_related = ["statement__seller"]
    readonly_fields = [f.name for f in SellerInvoice._meta.concrete_fields if f.name != "file"] + ["pdf"]
    exclude = ["file"]
    actions = [
        service_action(
            lambda actor, inv: services.seller_invoice_verify(actor=actor, invoice_id=inv.pk),
            _("Verify"),
            permission="verify",
            name="verify",
        ),
        form_action(
            ReasonForm,
            lambda actor, inv, reason: services.seller_invoice_reject(actor=actor, invoice_id=inv.pk, reason=reason),
            _("Reject (with a reason)"),
            permission="verify",
            name="reject",
        ),
    ]

    def has_verify_permission(self, request):
        return request.user.has_perm("invoicing.verify_sellerinvoice")

    @admin.display(description=_("PDF"))
    def pdf(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("invoicing:seller_invoice_file", args=[obj.pk]), _("Download")
        )


# --- buyers' invoices ------------------------------------------------------------------------------


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("due_soon", _("Due within a day"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(status=InvoiceRequest.Status.SUBMITTED, due_at__lt=now)
        if self.value() == "due_soon":
            return queryset.filter(
                status=InvoiceRequest.Status.SUBMITTED, due_at__gte=now, due_at__lt=now + timedelta(days=1)
            )
        return queryset


class _RequestInline(ReadOnlyInline):
    """Shown to whoever may see the request (the rows have no permissions of their own to grant)."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("invoicing.view_invoicerequest")


class InvoicedOrderInline(_RequestInline):
    model = InvoicedOrder
    fields = ["order", "amount", "active"]


class InvoiceRequestEventInline(_RequestInline):
    model = InvoiceRequestEvent
    fields = ["created_at", "actor", "from_status", "to_status", "what"]
    readonly_fields = ["what"]

    @admin.display(description=_("event"))
    def what(self, obj):
        return obj.text


def _deliver(actor, invoice_request, *, courier, tracking_number):
    services.invoice_deliver(
        actor=actor, request_id=invoice_request.pk, courier=courier, tracking_number=tracking_number
    )


def _reject(actor, invoice_request, *, reason):
    services.invoice_reject(actor=actor, request_id=invoice_request.pk, reason=reason)


def _confirm_return(actor, invoice_request):
    services.invoice_return_confirm(actor=actor, request_id=invoice_request.pk)


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Buyers' invoice requests. Operations issue the platform's (joint, strict-selection,
    self-operated and platform products): the queue is ordered by the 7-day deadline; "Issue" opens
    the invoice form (number, code, date, tax rate, PDF uploaded or drawn); the actions mail a paper
    invoice, reject a request, or confirm a return or void. Sellers issue their own; here they are
    for reading. Every change goes through the services."""

    list_display = ["number", "issued_by", "buyer", "amount", "state", "deadline", "process"]
    list_filter = ["issuer", "status", DeadlineFilter, "medium", "vat_kind", "created_at"]
    search_fields = [
        "number",
        "invoice_number",
        "title",
        "tax_id",
        "buyer__name",
        "seller__name",
        "lines__order__number",
    ]
    list_select_related = ["buyer", "seller"]
    ordering = ["due_at", "id"]
    date_hierarchy = "created_at"
    inlines = [InvoicedOrderInline, InvoiceRequestEventInline]
    fieldsets = [
        (
            None,
            {"fields": ["number", "status", "process", "issuer", "seller", "buyer", "requested_by", "amount"]},
        ),
        (_("Deadline"), {"fields": ["created_at", "deadline", "reminded_at"]}),
        (
            _("Invoice title"),
            {"fields": ["title_kind", "title", "tax_id", "vat_kind", "registration"]},
        ),
        (
            _("Delivery"),
            {
                "fields": [
                    "medium",
                    "postage",
                    "recipient",
                    "recipient_phone",
                    "mailing_address",
                    "recipient_email",
                    "courier",
                    "tracking_number",
                    "delivered_at",
                ]
            },
        ),
        (
            _("Invoice"),
            {
                "fields": [
                    "invoice_number",
                    "invoice_code",
                    "issued_on",
                    "invoice_amount",
                    "tax_rate",
                    "pdf",
                    "issued_at",
                ]
            },
        ),
        (_("Rejection and return"), {"fields": ["rejection_reason", "return_reason"]}),
    ]
    readonly_fields = ["process", "deadline", "registration", "postage", "pdf"]
    actions = [
        "issue",
        form_action(
            InvoiceMailForm,
            _deliver,
            _("Mailed (courier and tracking number)"),
            permission="issue",
            name="deliver",
        ),
        form_action(ReasonForm, _reject, _("Reject (with a reason)"), permission="issue", name="reject"),
        service_action(_confirm_return, _("Confirm returned or voided"), permission="issue", name="confirm_return"),
    ]

    def has_issue_permission(self, request):
        return request.user.has_perm("invoicing.issue_invoicerequest")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/issue/",
                self.admin_site.admin_view(self.issue_view),
                name="invoicing_invoicerequest_issue",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Issue the invoice…"), permissions=["issue"])
    def issue(self, request, queryset):
        """One request at a time: each invoice has its own number and PDF."""
        if queryset.count() != 1:
            self.message_user(request, _("Issue one request at a time."), messages.ERROR)
            return None
        return redirect("admin:invoicing_invoicerequest_issue", queryset.get().pk)

    def issue_view(self, request, object_id):
        """The platform's invoice for a request: the seller center's form, with the PDF uploaded or
        drawn by the platform."""
        if not self.has_issue_permission(request):
            raise PermissionDenied
        invoice_request = self.get_object(request, object_id)
        if invoice_request is None:
            raise Http404
        today = calendar.today()
        form = InvoiceIssueForm(request=invoice_request, today=today)
        if request.method == "POST":
            form = InvoiceIssueForm(request.POST, request.FILES, request=invoice_request, today=today)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    services.invoice_issue(
                        actor=request.user,
                        request_id=invoice_request.pk,
                        invoice_number=data["invoice_number"],
                        invoice_code=data["invoice_code"],
                        issued_on=data["issued_on"],
                        amount=data["amount"],
                        tax_rate=data["tax_rate"],
                        file=data["file"] or None,
                        generate=data["generate"],
                    )
                except ServiceError as exc:
                    form_error(form, exc)
                else:
                    self.message_user(
                        request,
                        _("Invoice %(number)s recorded for request %(request)s.")
                        % {"number": data["invoice_number"], "request": invoice_request.number},
                        messages.SUCCESS,
                    )
                    return redirect("admin:invoicing_invoicerequest_change", invoice_request.pk)
        return render(
            request,
            "admin/invoicing/invoicerequest/issue.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Issue the invoice for %(number)s") % {"number": invoice_request.number},
                "opts": self.model._meta,
                "original": invoice_request,
                "ir": invoice_request,
                "lines": invoice_request.lines.select_related("order"),
                "form": form,
                "media": self.media + form.media,
            },
        )

    def get_fieldsets(self, request, obj=None):
        """The invoice and the reasons only once there is something to show."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        hidden = set()
        if not obj.invoice_number:
            hidden.add(_("Invoice"))
        if not (obj.rejection_reason or obj.return_reason):
            hidden.add(_("Rejection and return"))
        return [fs for fs in fieldsets if fs[0] not in hidden]

    @admin.display(description=_("status"), ordering="status")
    def state(self, obj):
        return format_html("{}<br><small>{}</small>", obj.get_status_display(), obj.get_medium_display())

    @admin.display(description=_("issuer"), ordering="issuer")
    def issued_by(self, obj):
        return obj.seller.name if obj.seller_id else obj.get_issuer_display()

    @admin.display(description=_("to do"))
    def process(self, obj):
        if obj.issuer != InvoiceRequest.Issuer.PLATFORM:
            return _("The seller issues")
        if obj.status == InvoiceRequest.Status.SUBMITTED:
            return format_html(
                '<a class="button" href="{}">{}</a>',
                reverse("admin:invoicing_invoicerequest_issue", args=[obj.pk]),
                _("Issue"),
            )
        if obj.status == InvoiceRequest.Status.ISSUED and obj.medium == InvoiceRequest.Medium.PAPER:
            return _("Mail it (action “Mailed”)")
        if obj.status == InvoiceRequest.Status.RETURN_REQUESTED:
            return _("Confirm the return or void (action)")
        return "—"

    @admin.display(description=_("to be issued by"), ordering="due_at")
    def deadline(self, obj):
        """The 7-day deadline of a request still to be issued, flagged when it is near or past."""
        if obj.status != InvoiceRequest.Status.SUBMITTED:
            return "—"
        now, due = timezone.now(), timezone.localtime(obj.due_at).strftime("%Y-%m-%d %H:%M")
        if obj.overdue(now):
            return format_html('{} <strong style="color:#ba2121">{}</strong>', due, _("Overdue"))
        if obj.due_at - now < timedelta(days=1):
            return format_html('{} <strong style="color:#b85c00">{}</strong>', due, _("Due within a day"))
        return due

    @admin.display(description=_("registered address, phone, bank and account"))
    def registration(self, obj):
        details = obj.title_details or {}
        values = [details.get(k) for k in ("address", "phone", "bank_name", "bank_account")]
        return " · ".join(v for v in values if v) or "—"

    @admin.display(description=_("postage"))
    def postage(self, obj):
        if obj.medium != InvoiceRequest.Medium.PAPER:
            return "—"
        return _("Borne by the issuer (CNY 100 or more)") if obj.postage_by_seller else _("Borne by the buyer")

    @admin.display(description=_("invoice PDF"))
    def pdf(self, obj):
        if not obj.file:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("invoicing:invoice_file", args=[obj.pk]), _("Download"))


@admin.register(InvoiceProfile)
class InvoiceProfileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Buyers' invoice titles, for reading (buyers keep them in the buyer center)."""

    list_display = ["title", "buyer", "kind", "tax_id", "vat_kind", "is_default", "updated_at"]
    list_filter = ["kind", "vat_kind"]
    search_fields = ["title", "tax_id", "buyer__name"]
    list_select_related = ["buyer"]


@admin.register(ExplanationLetter)
class ExplanationLetterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stamped explanation letters, for reading; each is verifiable at /verify/<code>/."""

    list_display = ["verification_code", "request", "status", "requested_by", "created_at", "stamped_at"]
    list_filter = ["status"]
    search_fields = ["verification_code", "request__number", "request__invoice_number"]
    list_select_related = ["request", "requested_by"]
    exclude = ["file"]
    readonly_fields = ["letter_pdf"]

    @admin.display(description=_("letter PDF"))
    def letter_pdf(self, obj):
        if not obj.file:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("invoicing:letter_file", args=[obj.pk]), _("Download"))
