from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin

from .models import AppAccess, AppRegistration, LoginTest, TestTenant


@admin.register(AppRegistration)
class AppRegistrationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which product is which OAuth client. Secrets are not shown: the platform keeps a hash, and the
    copy for the seller is encrypted with the seller's key."""

    list_display = ["product", "client_id", "secret_rotated_at", "created_at"]
    search_fields = ["product__name_zh", "product__name_en", "application__client_id"]
    fields = ["product", "client_id", "redirect_uris", "secret_rotated_at", "created_at"]

    @admin.display(description="client_id")
    def client_id(self, obj):
        return obj.application.client_id

    @admin.display(description=_("redirect URIs"))
    def redirect_uris(self, obj):
        return obj.application.redirect_uris


@admin.register(AppAccess)
class AppAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["membership", "product", "granted_by", "created_at"]
    search_fields = ["membership__user__email", "membership__buyer__name", "product__name_zh"]


@admin.register(TestTenant)
class TestTenantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["buyer", "seller", "created_at"]
    search_fields = ["seller__name", "buyer__code"]


@admin.register(LoginTest)
class LoginTestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["registration", "user", "code_issued_at", "code_redeemed_at", "userinfo_read_at", "passed"]
    search_fields = ["registration__application__client_id", "user__email"]

    @admin.display(boolean=True, description=_("passed"))
    def passed(self, obj):
        return obj.passed
