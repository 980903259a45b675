from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, form_action, service_action

from . import services
from .models import (
    BillingSettings,
    Countersignature,
    Dispute,
    ExportJob,
    FeeTier,
    LedgerEntry,
    SettlementPeriod,
    Statement,
    StatementEvent,
    UsageRecord,
)


@admin.register(BillingSettings)
class BillingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "generation_day", "review_sla_working_days", "minimum_payout", "general_fee_rate"]

    def has_add_permission(self, request):
        return not BillingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FeeTier)
class FeeTierAdmin(admin.ModelAdmin):
    """General products' extra-share tiers; a new set takes effect from its date."""

    list_display = ["effective_from", "threshold", "extra_share"]
    list_filter = ["effective_from"]


@admin.register(SettlementPeriod)
class SettlementPeriodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "closed_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger is append-only: read here, corrected by adjustments (action on statements)."""

    list_display = ["id", "period", "seller", "trade_mode", "kind", "gross", "fee", "net", "occurred_at", "source"]
    list_filter = ["kind", "trade_mode", "period"]
    search_fields = ["source", "seller__name", "order_line__order__number"]
    list_select_related = ["seller"]
    show_full_result_count = False


class StatementEventInline(ReadOnlyInline):
    model = StatementEvent
    fields = ["created_at", "actor", "from_status", "to_status", "message"]
    readonly_fields = fields


class CountersignatureInline(ReadOnlyInline):
    model = Countersignature
    fields = ["approver", "created_at"]
    readonly_fields = fields


class PayoutForm(forms.Form):
    payout_reference = forms.CharField(label=_("Payout reference"), max_length=64)


class AdjustmentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount (CNY, negative to deduct)"), max_digits=18, decimal_places=2)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("review", _("Review overdue")), ("invoice", _("Invoice overdue"))]

    def queryset(self, request, queryset):
        from marketplace.core import calendar

        today = calendar.today()
        if self.value() == "review":
            return queryset.filter(status=Statement.Status.GENERATED, review_due__lt=today)
        if self.value() == "invoice":
            return queryset.filter(status=Statement.Status.AWAITING_INVOICE, invoice_due__lt=today)
        return queryset


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Statement review: send (in bulk), countersign, payout, adjustments into the next cycle."""

    list_display = ["period_label", "seller", "trade_mode", "gross", "net_payable", "status", "sla"]
    list_filter = ["status", OverdueFilter, "trade_mode", "period"]
    search_fields = ["seller__name"]
    list_select_related = ["seller"]
    ordering = ["-period", "status"]
    readonly_fields = [f.name for f in Statement._meta.concrete_fields] + ["lines_link"]
    inlines = [CountersignatureInline, StatementEventInline]
    actions = [
        service_action(
            lambda actor, s: services.statement_send(actor=actor, statement_id=s.pk),
            _("Reviewed: send to the sellers"),
            permission="send",
            name="send",
        ),
        service_action(
            lambda actor, s: services.statement_countersign(actor=actor, statement_id=s.pk),
            _("Countersign payment"),
            permission="countersign",
            name="countersign",
        ),
        form_action(
            PayoutForm,
            lambda actor, s, payout_reference: services.statement_pay(
                actor=actor, statement_id=s.pk, payout_reference=payout_reference
            ),
            _("Record payout"),
            permission="pay",
            name="pay",
        ),
        form_action(
            AdjustmentForm,
            lambda actor, s, amount, reason: services.ledger_adjust(
                actor=actor,
                seller_id=s.seller_id,
                trade_mode=s.trade_mode,
                amount=amount,
                reason=f"{s.period:%Y-%m}: {reason}",
            ),
            _("Post an adjustment into the current month"),
            permission="adjust",
            name="adjust",
        ),
    ]

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff and request.user.has_perm("billing.view_statement")

    def has_send_permission(self, request):
        return request.user.has_perm("billing.send_statement")

    def has_countersign_permission(self, request):
        return request.user.has_perm("billing.countersign_statement")

    def has_pay_permission(self, request):
        return request.user.has_perm("billing.pay_statement")

    def has_adjust_permission(self, request):
        return request.user.has_perm("billing.post_adjustment")

    @admin.display(description=_("month"), ordering="period")
    def period_label(self, obj):
        return obj.period.strftime("%Y-%m")

    @admin.display(description=_("deadline"))
    def sla(self, obj):
        late = '<strong style="color:#ba2121;white-space:nowrap">{}</strong>'
        due = '<span style="white-space:nowrap">{}</span>'
        if obj.review_overdue():
            return format_html(late, _("review overdue since %(date)s") % {"date": obj.review_due.strftime("%m-%d")})
        if obj.status == Statement.Status.GENERATED:
            return format_html(due, _("review by %(date)s") % {"date": obj.review_due.strftime("%m-%d")})
        if obj.invoice_overdue():
            return format_html(late, _("invoice overdue since %(date)s") % {"date": obj.invoice_due.strftime("%m-%d")})
        if obj.status == Statement.Status.AWAITING_INVOICE:
            return format_html(due, _("invoice by %(date)s") % {"date": obj.invoice_due.strftime("%m-%d")})
        return "—"

    @admin.display(description=_("lines"))
    def lines_link(self, obj):
        url = reverse("admin:billing_ledgerentry_changelist")
        return format_html(
            '<a href="{}?period__exact={}&trade_mode__exact={}&q={}">{} ({})</a>',
            url,
            obj.period,
            obj.trade_mode,
            obj.seller.name,
            _("ledger entries"),
            obj.line_count,
        )


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 3}))
    adjustment = forms.DecimalField(
        label=_("Correction (CNY, optional)"),
        required=False,
        max_digits=18,
        decimal_places=2,
        help_text=_("Posted into the current month as an adjustment."),
    )


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["statement", "status", "created_at", "answered_at"]
    list_filter = ["status"]
    search_fields = ["statement__seller__name", "reason"]
    list_select_related = ["statement__seller"]
    readonly_fields = [f.name for f in Dispute._meta.concrete_fields]
    actions = [
        form_action(
            AnswerForm,
            lambda actor, d, answer, adjustment: services.dispute_answer(
                actor=actor, dispute_id=d.pk, answer=answer, adjustment=adjustment
            ),
            _("Answer (and correct)"),
            permission="answer",
            name="answer",
        )
    ]

    def has_answer_permission(self, request):
        return request.user.has_perm("billing.send_statement")


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["subscription", "quantity", "amount", "consumed_at", "reference"]
    search_fields = ["reference"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["statement", "format", "status", "rows_done", "rows_total", "created_at", "expires_at"]
    list_filter = ["status", "format"]
