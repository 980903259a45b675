from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyInline, ReasonForm, form_action, service_action

from . import services
from .models import Category, Plan, Product, ProductEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_zh", "name_en", "position"]
    list_editable = ["position"]
    search_fields = ["slug", "name_zh", "name_en"]


class PlanInline(ReadOnlyInline):
    model = Plan
    fields = ["sku_code", "name_zh", "name_en", "charging_mode", "period_type", "price", "trial_days", "is_active"]
    readonly_fields = fields


class ProductEventInline(ReadOnlyInline):
    model = ProductEvent
    fields = ["created_at", "actor", "from_status", "to_status", "message"]
    readonly_fields = fields


class FeeRateForm(forms.Form):
    rate = forms.DecimalField(label=_("Fee rate (0–1, e.g. 0.2 for 20%)"), min_value=0, max_value=1, decimal_places=4)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products and the publishing review queue (filter: pending review)."""

    list_display = [
        "name_zh",
        "name_en",
        "seller",
        "trade_mode",
        "delivery_kind",
        "status",
        "submitted_at",
        "ops_fee_rate",
    ]
    list_filter = ["status", "trade_mode", "delivery_kind", "supervised", "category"]
    search_fields = ["name_zh", "name_en", "seller__name"]
    list_select_related = ["seller"]
    ordering = ["status", "submitted_at"]
    readonly_fields = [
        "seller",
        "status",
        "rejection_reason",
        "delist_reason",
        "delisted_by_platform",
        "credit_coupon_enabled",
        "credit_line_enabled",
        "ops_fee_rate",
        "created_at",
        "updated_at",
        "submitted_at",
        "published_at",
        "trade_mode",
        "delivery_kind",
        "supervised",
        "auto_deploy",
        "category",
        "name_zh",
        "name_en",
        "summary_zh",
        "summary_en",
        "description_zh",
        "description_en",
    ]
    inlines = [PlanInline, ProductEventInline]
    actions = [
        service_action(
            lambda actor, p: services.product_approve(actor=actor, product_id=p.pk),
            _("Approve and publish"),
            permission="review",
            name="approve",
        ),
        form_action(
            ReasonForm,
            lambda actor, p, reason: services.product_reject(actor=actor, product_id=p.pk, reason=reason),
            _("Reject (with a reason)"),
            permission="review",
            name="reject",
        ),
        form_action(
            ReasonForm,
            lambda actor, p, reason: services.product_platform_delist(actor=actor, product_id=p.pk, reason=reason),
            _("Delist (with a reason)"),
            permission="review",
            name="delist",
        ),
        service_action(
            lambda actor, p: services.product_platform_relist(actor=actor, product_id=p.pk),
            _("Relist"),
            permission="review",
            name="relist",
        ),
        form_action(
            FeeRateForm,
            lambda actor, p, rate: services.product_set_fee_rate(actor=actor, product_id=p.pk, rate=rate),
            _("Set the operations-management fee rate"),
            permission="review",
            name="set_fee_rate",
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm("catalog.review_product")
