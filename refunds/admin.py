from django.contrib import admin

from marketplace.core.admin import ReadOnlyAdminMixin

from .models import Refund


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_line", "amount", "refunded_at", "actor"]
    search_fields = ["order_line__order__number"]
    list_select_related = ["order_line__order", "actor"]
