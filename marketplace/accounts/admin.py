from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyInline, ReasonForm, form_action, service_action

from . import services
from .models import (
    ApiToken,
    Buyer,
    BuyerMembership,
    Invitation,
    OrgUnit,
    Seller,
    SellerApplication,
    SellerApplicationDocument,
    SellerApplicationEvent,
    SellerEvent,
    SellerMembership,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name", "mobile"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("name", "mobile", "language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)


class BuyerMembershipInline(admin.TabularInline):
    model = BuyerMembership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "org_unit", "created_at"]
    readonly_fields = ["created_at"]


class OrgUnitInline(admin.TabularInline):
    model = OrgUnit
    extra = 0
    fields = ["code", "name", "parent"]


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "code", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "memberships__user__email"]
    readonly_fields = ["code", "created_at", "credit_link"]
    inlines = [BuyerMembershipInline, OrgUnitInline]

    @admin.display(description=_("credit"))
    def credit_link(self, obj):
        credit = getattr(obj, "credit", None)
        if credit is None:
            return _("No credit granted. Use the credit accounts page to grant some.")
        url = reverse("admin:orders_creditaccount_change", args=[credit.pk])
        return format_html(
            '<a href="{}">{} {} / {} {} / {}</a>',
            url,
            _("coupon"),
            credit.coupon_balance,
            _("credit used"),
            credit.credit_used,
            credit.credit_limit,
        )


class SellerMembershipInline(admin.TabularInline):
    model = SellerMembership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class SellerEventInline(ReadOnlyInline):
    model = SellerEvent
    fields = ["created_at", "actor", "from_status", "to_status", "message"]
    readonly_fields = fields


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    """Sellers. Identity and status change only through onboarding and the suspend/reinstate actions."""

    list_display = ["name", "credit_code", "bound_email", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "credit_code", "bound_email"]
    readonly_fields = [
        "name",
        "credit_code",
        "bound_email",
        "status",
        "established_on",
        "registered_capital",
        "created_at",
    ]
    inlines = [SellerMembershipInline, SellerEventInline]
    actions = [
        form_action(
            ReasonForm,
            lambda actor, seller, reason: services.seller_suspend(actor=actor, seller_id=seller.pk, reason=reason),
            _("Suspend (with a reason)"),
            permission="suspend",
            name="suspend",
        ),
        service_action(
            lambda actor, seller: services.seller_reinstate(actor=actor, seller_id=seller.pk),
            _("Reinstate"),
            permission="suspend",
            name="reinstate",
        ),
    ]

    def has_add_permission(self, request):
        return False  # sellers come from approved onboarding applications

    def has_suspend_permission(self, request):
        return request.user.has_perm("accounts.suspend_seller")


class DocumentInline(ReadOnlyInline):
    model = SellerApplicationDocument
    fields = ["kind", "download", "size", "uploaded_at"]
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("accounts:application_document", args=[obj.pk]), obj.original_name
        )


class ApplicationEventInline(ReadOnlyInline):
    model = SellerApplicationEvent
    fields = ["created_at", "actor", "from_status", "to_status", "message"]
    readonly_fields = fields


@admin.register(SellerApplication)
class SellerApplicationAdmin(admin.ModelAdmin):
    """The onboarding review queue: oldest submitted first."""

    list_display = ["company_name", "applicant", "status", "submitted_at", "meets_bar", "reviewed_at"]
    list_filter = ["status"]
    search_fields = ["company_name", "credit_code", "applicant__email"]
    ordering = ["status", "submitted_at"]
    list_select_related = ["applicant"]
    readonly_fields = [
        "applicant",
        "status",
        "bar_check",
        "submitted_at",
        "reviewed_at",
        "reviewer",
        "rejection_reason",
        "seller",
        "created_at",
        *services.APPLICATION_FIELDS,
    ]
    fieldsets = (
        (_("Company"), {"fields": services.APPLICATION_FIELDS}),
        (
            _("Review"),
            {
                "fields": (
                    "status",
                    "bar_check",
                    "applicant",
                    "submitted_at",
                    "reviewed_at",
                    "reviewer",
                    "rejection_reason",
                    "seller",
                )
            },
        ),
    )
    inlines = [DocumentInline, ApplicationEventInline]
    actions = [
        service_action(
            lambda actor, app: services.seller_application_approve(actor=actor, application_id=app.pk),
            _("Approve selected applications"),
            permission="review",
            name="approve",
        ),
        form_action(
            ReasonForm,
            lambda actor, app, reason: services.seller_application_reject(
                actor=actor, application_id=app.pk, reason=reason
            ),
            _("Reject selected applications (with a reason)"),
            permission="review",
            name="reject",
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm("accounts.review_sellerapplication")

    @admin.display(boolean=True, description=_("meets the bar"))
    def meets_bar(self, obj):
        return not services.onboarding_bar_failures(obj)

    @admin.display(description=_("onboarding bar"))
    def bar_check(self, obj):
        failures = services.onboarding_bar_failures(obj)
        if not failures:
            return _("Meets every requirement.")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((f,) for f in failures)))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Users' API tokens: who holds one since when; deleting revokes it. The tokens themselves are
    not stored (only their hashes), so nobody can read one here."""

    list_display = ["prefix", "user", "created_at"]
    search_fields = ["user__email", "prefix"]
    list_select_related = ["user"]
    readonly_fields = ["user", "prefix", "created_at"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "buyer",
        "seller",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email"]
    list_select_related = ["buyer", "seller", "invited_by"]
    readonly_fields = [f.name for f in Invitation._meta.fields]

    def has_add_permission(self, request):
        return False
