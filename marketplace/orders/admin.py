from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, ReasonForm, form_action, service_action

from . import services
from .models import CreditAccount, CreditTransaction, Order, OrderEvent, OrderLine, Payment, Subscription


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "product",
        "plan",
        "period_count",
        "amount",
        "validity_start",
        "validity_end",
        "supervision",
        "supervision_completed_at",
    ]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["method", "amount", "status", "reference", "failure_reason", "created_at", "repaid_at"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "actor", "from_status", "to_status", "message"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "order_type",
        "status",
        "amount",
        "payment_method",
        "buyer",
        "seller",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", "order_type", "payment_method"]
    search_fields = ["number", "buyer__name", "seller__name"]
    list_select_related = ["buyer", "seller"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff and request.user.has_perm("orders.view_order")


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Order lines; filter "Under supervision" to find deliveries awaiting acceptance."""

    list_display = ["__str__", "product", "seller", "amount", "supervision", "validity_start", "validity_end"]
    list_filter = ["supervision", "charging_mode"]
    search_fields = ["order__number", "product__name_zh", "product__name_en", "seller__name"]
    list_select_related = ["order", "product", "seller"]
    actions = [
        form_action(
            ReasonForm,
            lambda actor, line, reason: services.supervision_close(actor=actor, line_id=line.pk, reason=reason),
            _("Close supervision (with a reason)"),
            permission="close_supervision",
            name="close_supervision",
        )
    ]

    def has_close_supervision_permission(self, request):
        return request.user.has_perm("orders.close_supervision")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "method", "amount", "status", "reference", "created_at", "repaid_at"]
    list_filter = ["method", "status", ("repaid_at", admin.EmptyFieldListFilter)]
    search_fields = ["order__number", "reference"]
    list_select_related = ["order"]
    actions = [
        service_action(
            lambda actor, p: services.credit_record_repayment(actor=actor, payment_id=p.pk),
            _("Record credit-line repayment"),
            permission="record_repayment",
            name="record_repayment",
        )
    ]

    def has_record_repayment_permission(self, request):
        return request.user.has_perm("orders.record_repayment")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["product", "buyer", "plan", "status", "is_trial", "starts_at", "expires_at"]
    list_filter = ["status", "is_trial"]
    search_fields = ["buyer__name", "product__name_zh", "product__name_en"]
    list_select_related = ["product", "buyer", "plan__product"]


class CreditTransactionInline(ReadOnlyInline):
    model = CreditTransaction
    fields = ["created_at", "kind", "amount", "balance_after", "order", "actor", "reason"]
    readonly_fields = fields


class CouponForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0.01, max_digits=16, decimal_places=2)
    reason = forms.CharField(label=_("Reason"))


class LimitForm(forms.Form):
    limit = forms.DecimalField(label=_("New credit limit (CNY)"), min_value=0, max_digits=16, decimal_places=2)
    reason = forms.CharField(label=_("Reason"))


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    """Buyers' credit. Balances change only through the actions, each leaving a transaction."""

    list_display = ["buyer", "coupon_balance", "credit_limit", "credit_used"]
    search_fields = ["buyer__name", "buyer__code"]
    autocomplete_fields = ["buyer"]
    inlines = [CreditTransactionInline]
    actions = [
        form_action(
            CouponForm,
            lambda actor, acc, amount, reason: services.credit_grant_coupon(
                actor=actor, buyer_id=acc.buyer_id, amount=amount, reason=reason
            ),
            _("Grant a cash coupon"),
            permission="grant_credit",
            name="grant_coupon",
        ),
        form_action(
            LimitForm,
            lambda actor, acc, limit, reason: services.credit_set_limit(
                actor=actor, buyer_id=acc.buyer_id, limit=limit, reason=reason
            ),
            _("Set the credit limit"),
            permission="grant_credit",
            name="set_limit",
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["coupon_balance", "credit_limit", "credit_used"] + (["buyer"] if obj else [])

    def has_grant_credit_permission(self, request):
        return request.user.has_perm("orders.grant_credit")

    def has_delete_permission(self, request, obj=None):
        return False
