"""Admin helpers: actions that call services, with an optional form for a reason or an amount.

The admin is a UI over services: actions never write models themselves, and each refusal is
reported per object with ``message_user``.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import ServiceError
from .models import AuditEntry, Notification, OutboundEmail
from .services import email_deliver


def _run(modeladmin, request, queryset, call, **kwargs) -> None:
    done = 0
    for obj in queryset:
        try:
            call(request.user, obj, **kwargs)
            done += 1
        except ServiceError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, _("%(n)s done.") % {"n": done}, messages.SUCCESS)


def service_action(call, description, *, permission: str | None = None, name: str | None = None):
    """An admin action calling ``call(actor, obj)`` for each selected object."""

    def action(modeladmin, request, queryset):
        _run(modeladmin, request, queryset, call)

    action.short_description = description
    action.__name__ = name or call.__name__
    if permission:
        action.allowed_permissions = (permission,)
    return action


def form_action(form_class, call, description, *, permission: str | None = None, name: str | None = None):
    """An admin action that first asks for a form (a reason, an amount), then calls
    ``call(actor, obj, **cleaned_data)`` for each selected object."""

    def action(modeladmin, request, queryset):
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            _run(modeladmin, request, queryset, call, **form.cleaned_data)
            return None
        return render(
            request,
            "admin/action_form.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "form": form,
                "queryset": queryset,
                "opts": modeladmin.model._meta,
                "action": action.__name__,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    action.short_description = description
    action.__name__ = name or call.__name__
    if permission:
        action.allowed_permissions = (permission,)
    return action


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ReadOnlyAdminMixin:
    """Records nobody edits by hand: append-only money records, logs, events."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox. E-mails carrying sign-in links never show their body here."""

    list_display = ["to", "subject", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "sensitive"]
    search_fields = ["to", "subject"]
    date_hierarchy = "created_at"
    fields = ["to", "subject", "shown_body", "sensitive", "status", "attempts", "last_error", "created_at", "sent_at"]
    readonly_fields = fields
    actions = [
        service_action(
            lambda actor, email: email_deliver(email_id=email.pk),
            gettext_lazy("Deliver now"),
            name="deliver_now",
            permission="deliver",
        )
    ]

    def has_deliver_permission(self, request):
        return request.user.has_perm("core.change_outboundemail")

    @admin.display(description=gettext_lazy("body"))
    def shown_body(self, obj):
        if obj.sensitive:
            return gettext_lazy("(hidden: it holds a link meant only for its recipient)")
        return obj.body


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "title", "created_at", "read_at"]
    search_fields = ["user__email", "title"]
    list_select_related = ["user"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log of money and permission changes: read-only for operations and finance."""

    list_display = ["created_at", "category", "action", "object_type", "object_id", "object_repr", "actor_repr", "ip"]
    list_filter = ["category", "action", "object_type", ("actor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["object_repr", "=object_id", "action", "actor_repr", "=request_id"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "category",
        "action",
        "actor_repr",
        "object_type",
        "object_id",
        "object_repr",
        "shown_changes",
        "ip",
        "request_id",
    ]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=gettext_lazy("changes"))
    def shown_changes(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, ensure_ascii=False, indent=2, sort_keys=True))
