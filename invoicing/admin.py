from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReasonForm, form_action, service_action

from . import services
from .models import SellerInvoice


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
