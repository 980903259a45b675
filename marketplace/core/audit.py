"""The audit log: every change of money and of permissions is one ``AuditEntry`` (actor, action,
object, changes, IP address, request id), append-only, read by operations and finance in the admin.

Where the entries come from, so that nothing is left out without a call in every service:

* ``core.state.move`` and ``core.state.record`` — every status change and every timeline note of a
  money-bearing model (``MONEY_MODELS``: orders, statements, sellers' invoices, refund requests,
  marketing support) or of a permission-bearing one (``PERMISSION_MODELS``: a seller's suspension
  and reinstatement, an onboarding application's approval). Creation events (``from_status=""``)
  only open a timeline and are not audited.
* Signals — a staff user's groups and permissions, a group's permissions (``m2m_changed``), and a
  user's ``is_staff``/``is_superuser``/``is_active`` (``pre_save``), whoever changes them (the
  admin, a shell, a command).
* Signals — the settlement settings and fee tiers (``MONEY_SETTINGS_MODELS``): created, changed
  field by field, deleted, whoever edits them.
* ``record(...)`` in the services whose money or permission change has no timeline: credit granted
  or limited, ledger adjustments, seller and tenant roles, invitations accepted, single sign-on app
  access, access keys issued or rotated.

The actor, IP address and request id default to the request being served (``RequestIdMiddleware``
binds it to the log context); in a worker or a command they stay empty unless a service says who.
"""

import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.signals import m2m_changed, pre_save

from .models import AuditEntry

MONEY = AuditEntry.Category.MONEY
PERMISSION = AuditEntry.Category.PERMISSION

MONEY_MODELS = {
    "orders.order",
    "billing.statement",
    "invoicing.sellerinvoice",
    "refunds.refundrequest",
    "benefits.marketingsupport",
}
PERMISSION_MODELS = {"accounts.seller", "accounts.sellerapplication"}


def _request_context() -> tuple[object | None, str, str | None]:
    """(the signed-in user, request id, client address) of the request being served, if any."""
    try:
        from .logging import current
    except ImportError:  # pragma: no cover - the log context is part of the core app
        return None, "", None
    context = current()
    request = context.get("request")
    request_id = context.get("request_id") or getattr(request, "request_id", "") or ""
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    return user, request_id, address or None


def _plain(value):
    """JSON of anything a service holds (Decimal, dates, lazy strings, model instances)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def record(
    *,
    category: str,
    action: str,
    obj=None,
    object_type: str = "",
    object_id="",
    object_repr: str = "",
    actor=None,
    changes: dict | None = None,
) -> AuditEntry:
    """Write one entry. ``obj`` fills the object's type, id and text; ``actor`` defaults to the
    signed-in user of the request being served."""
    user, request_id, address = _request_context()
    actor = actor if actor is not None else user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    fields = {
        "category": category,
        "action": action,
        "actor": actor if getattr(actor, "pk", None) else None,
        "actor_repr": str(getattr(actor, "email", "") or "")[:254],
        "object_type": object_type,
        "object_id": str(object_id)[:64],
        "object_repr": str(object_repr)[:200],
        "changes": _plain(changes or {}),
        "ip": address,
        "request_id": request_id[:128],
    }
    return AuditEntry.objects.create(**fields)


def money(action: str, obj, *, actor=None, changes: dict | None = None) -> AuditEntry:
    return record(category=MONEY, action=action, obj=obj, actor=actor, changes=changes)


def permission(action: str, obj, *, actor=None, changes: dict | None = None) -> AuditEntry:
    return record(category=PERMISSION, action=action, obj=obj, actor=actor, changes=changes)


# --- the generic hook of core.state ----------------------------------------------------------------------


def state_event(obj, *, actor, from_status: str, note: str, params: dict, message: str) -> None:
    """Called by ``core.state.record`` for every timeline event."""
    label = obj._meta.label_lower
    if label in MONEY_MODELS:
        category = MONEY
    elif label in PERMISSION_MODELS:
        category = PERMISSION
    else:
        return
    if from_status == "":
        return  # a creation: the object's first event, not a change
    to_status = obj.status
    changes: dict = {}
    if from_status != to_status:
        changes["status"] = [from_status, to_status]
    if note:
        changes["note"] = str(note)
    if params:
        changes["params"] = params
    if message:
        changes["message"] = str(message)
    action = f"{obj._meta.model_name}.{to_status if from_status != to_status else 'noted'}"
    record(category=category, action=action, obj=obj, actor=actor, changes=changes)


# --- staff permissions: whoever changes them -------------------------------------------------------------


def _names(model, pks) -> list[str]:
    if model._meta.label_lower == "auth.permission":
        return sorted(
            f"{app}.{codename}"
            for app, codename in model.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
        )
    return sorted(str(o) for o in model.objects.filter(pk__in=pks))


def _m2m_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """A user's groups or permissions, or a group's permissions, changed (either side of the relation)."""
    if action == "pre_clear":
        through = sender._meta
        # Remember what a clear() removes: the post_clear signal does not say.
        field = next(f for f in through.fields if f.remote_field and isinstance(instance, f.remote_field.model))
        other = next(f for f in through.fields if f.remote_field and f is not field)
        instance._audit_cleared = set(
            sender.objects.filter(**{field.attname: instance.pk}).values_list(other.attname, flat=True)
        )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    pks = set(pk_set or ()) if action != "post_clear" else getattr(instance, "_audit_cleared", set())
    if not pks:
        return
    verb = "added" if action == "post_add" else "removed"
    side = type(instance) if reverse else model  # the group or permission end of the relation
    relation = "groups" if side._meta.label_lower == "auth.group" else "permissions"
    if reverse:
        # group.user_set.add(user), permission.group_set.remove(group): one entry per object changed.
        for obj in model.objects.filter(pk__in=pks):
            permission(
                f"{obj._meta.model_name}.{relation}_{verb}", obj, changes={relation: _names(side, [instance.pk])}
            )
        return
    permission(f"{instance._meta.model_name}.{relation}_{verb}", instance, changes={relation: _names(model, pks)})


STAFF_FLAGS = ("is_staff", "is_superuser", "is_active")


def _user_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    """A user became (or stopped being) staff, a superuser, or active."""
    if raw or (update_fields is not None and not set(update_fields) & set(STAFF_FLAGS)):
        return
    if instance._state.adding or instance.pk is None:
        granted = {f: [None, True] for f in ("is_staff", "is_superuser") if getattr(instance, f)}
        if granted:
            instance._audit_created_flags = granted
        return
    before = sender.objects.filter(pk=instance.pk).values(*STAFF_FLAGS).first()
    if before is None:
        return
    changes = {f: [before[f], getattr(instance, f)] for f in STAFF_FLAGS if before[f] != getattr(instance, f)}
    if changes:
        permission("user.flags_changed", instance, changes=changes)


def _user_post_save(sender, instance, created=False, raw=False, **kwargs):
    granted = getattr(instance, "_audit_created_flags", None)
    if created and granted and not raw:
        del instance._audit_created_flags
        permission("user.created_with_flags", instance, changes=granted)


# --- the settings money is computed with: whoever edits them ---------------------------------------------

# The settlement rules (fee rate, minimum payout, deadlines) and the fee tiers, edited in the admin.
MONEY_SETTINGS_MODELS = ("billing.BillingSettings", "billing.FeeTier")


def _fields(instance) -> dict:
    """The row's values as stored: an unsaved "2026-01-01" or Decimal("0.02") reads as the date and
    the Decimal("0.0200") the database holds, so only real changes differ."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        value = field.to_python(getattr(instance, field.attname))
        if isinstance(value, Decimal) and getattr(field, "decimal_places", None) is not None:
            value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
        values[field.attname] = value
    return values


def _settings_pre_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).first()
    instance._audit_before = _fields(before) if before is not None else None


def _settings_post_save(sender, instance, created=False, raw=False, **kwargs):
    if raw:
        return
    before, after = getattr(instance, "_audit_before", None), _fields(instance)
    instance._audit_before = None
    if created or before is None:
        defaults = {f.attname: f.get_default() for f in instance._meta.concrete_fields if f.has_default()}
        if after == _fields(type(instance)(**defaults)):
            return  # the settings row made with its defaults on first use: no rule changed
        money(f"{instance._meta.model_name}.created", instance, changes={k: [None, v] for k, v in after.items()})
        return
    changes = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if changes:
        money(f"{instance._meta.model_name}.changed", instance, changes=changes)


def _settings_post_delete(sender, instance, **kwargs):
    money(
        f"{instance._meta.model_name}.deleted", instance, changes={k: [v, None] for k, v in _fields(instance).items()}
    )


def connect() -> None:
    """Wire the signals (CoreConfig.ready)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models.signals import post_save

    user_model = get_user_model()
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"audit-{through._meta.label_lower}")
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="audit-user-flags")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="audit-user-created")
    from django.apps import apps
    from django.db.models.signals import post_delete

    for label in MONEY_SETTINGS_MODELS:
        model = apps.get_model(label)
        pre_save.connect(_settings_pre_save, sender=model, dispatch_uid=f"audit-before-{label}")
        post_save.connect(_settings_post_save, sender=model, dispatch_uid=f"audit-saved-{label}")
        post_delete.connect(_settings_post_delete, sender=model, dispatch_uid=f"audit-deleted-{label}")
