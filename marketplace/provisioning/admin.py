from django.contrib import admin

from marketplace.core.admin import ReadOnlyAdminMixin

from .models import AccessKey, SellerIntegration


@admin.register(SellerIntegration)
class SellerIntegrationAdmin(admin.ModelAdmin):
    list_display = ["seller", "produce_url", "sync_base_url", "updated_at"]
    search_fields = ["seller__name", "produce_url"]
    readonly_fields = ["seller", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(AccessKey)
class AccessKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Keys are listed without their secrets; sellers see a secret once, when it is issued."""

    list_display = ["key_id", "seller", "purpose", "created_at", "revoked_at"]
    list_filter = ["purpose"]
    search_fields = ["key_id", "seller__name"]
    fields = ["key_id", "seller", "purpose", "created_at", "revoked_at"]
