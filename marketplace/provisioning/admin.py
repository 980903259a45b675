from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from marketplace.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, service_action

from . import services
from .models import AccessKey, ConformanceRun, Deployment, Instance, ProduceAttempt, ProduceMessage, SellerIntegration


@admin.register(SellerIntegration)
class SellerIntegrationAdmin(admin.ModelAdmin):
    list_display = ["seller", "produce_url", "sync_base_url", "deploy_url", "updated_at"]
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


class AttemptInline(ReadOnlyInline):
    model = ProduceAttempt
    fields = [
        "started_at",
        "duration_ms",
        "status_code",
        "result_code",
        "outcome",
        "error",
        "request_body",
        "response_body",
    ]
    readonly_fields = fields


@admin.register(ProduceMessage)
class ProduceMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Calls to sellers' servers. Parked messages wait here for operations."""

    list_display = [
        "__str__",
        "seller",
        "kind",
        "activity",
        "status",
        "attempts",
        "result_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "kind", "activity"]
    search_fields = ["seller__name", "order_line__order__number", "activity"]
    list_select_related = ["seller"]
    date_hierarchy = "created_at"
    fields = [
        "seller",
        "kind",
        "activity",
        "order_line",
        "instance",
        "payload",
        "status",
        "attempts",
        "rounds",
        "next_attempt_at",
        "polling_until",
        "pending_instance_id",
        "result_code",
        "error",
        "seller_error",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = [
        service_action(
            lambda actor, m: services.message_retry(actor=actor, message_id=m.pk),
            _("Retry now"),
            permission="retry",
            name="retry",
        )
    ]

    def has_retry_permission(self, request):
        return request.user.has_perm("provisioning.change_producemessage")


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["instance_id", "seller", "order_line", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["instance_id", "seller__name", "order_line__order__number"]
    list_select_related = ["seller", "order_line__order"]
    fields = [
        "instance_id",
        "seller",
        "order_line",
        "subscription",
        "status",
        "front_end_url",
        "admin_url",
        "memo",
        "created_at",
        "updated_at",
    ]  # credentials are the buyer's: not shown here


@admin.register(ConformanceRun)
class ConformanceRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["seller", "started_at", "passed", "produce_url"]
    list_filter = ["passed"]
    search_fields = ["seller__name"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["deployment_id", "order_line", "status", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["deployment_id", "order_line__order__number"]
    exclude = ["parameters"]  # what the buyer typed stays between the buyer and the seller
