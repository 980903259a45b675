"""Explicit state machines: one transition table per stateful model, one way to move.

A stateful model has ``Status(TextChoices)``, a ``TRANSITIONS`` table and an ``events`` relation
to its event model (an ``EventBase``). Services lock the row with ``lock()``, then ``move()`` it.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .errors import InvalidTransition, NotFound, as_id


def check_transition(table: dict, current: str, target: str, *, choices=None) -> None:
    """Refuse a move that the table does not list."""
    if target not in table.get(current, ()):
        labels = dict(choices.choices) if choices is not None else {}
        if current == target:
            raise InvalidTransition(_("Nothing to do: it is already “%(to)s”.") % {"to": labels.get(target, target)})
        raise InvalidTransition(
            _("Cannot move from “%(from)s” to “%(to)s”.")
            % {"from": labels.get(current, current), "to": labels.get(target, target)}
        )


def lock(queryset, pk, not_found):
    """The row with this id, locked for the transaction; ``NotFound(not_found)`` when there is none."""
    obj = queryset.select_for_update().filter(pk=as_id(pk, not_found)).first()
    if obj is None:
        raise NotFound(not_found)
    return obj


def move(obj, target: str, *, actor, note: str = "", params=None, message: str = "", fields=(), at=None) -> str:
    """Apply one transition to a locked object: check it against the model's table, save the
    status (and ``fields``) with ``update_fields``, and write the event. Returns the old status.

    ``note`` is a message id (mark it with ``gettext_noop``) with ``params``, translated when shown;
    ``message`` is text a person typed (a reason), shown as typed."""
    model = type(obj)
    check_transition(model.TRANSITIONS, obj.status, target, choices=model.Status)
    previous = obj.status
    obj.status = target
    update = ["status", *fields]
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        update.append("updated_at")
    obj.save(update_fields=update)
    record(obj, actor=actor, from_status=previous, note=note, params=params, message=message, at=at)
    return previous


def record(
    obj, *, actor, note: str = "", params=None, message: str = "", from_status: str | None = None, at=None
) -> None:
    """An event without a move (a note on the timeline), or the creation event (``from_status=""``)."""
    event = obj.events.create(
        actor=actor,
        from_status=obj.status if from_status is None else from_status,
        to_status=obj.status,
        note=str(note),
        params={k: str(v) for k, v in (params or {}).items()},
        message=str(message),
        created_at=at or timezone.now(),
    )
    # Money and permission timelines also go to the audit log (marketplace.core.audit).
    audit.state_event(
        obj,
        actor=actor,
        from_status=event.from_status,
        note=event.note,
        params=event.params,
        message=event.message,
    )


def record_many(objs, *, note: str, params: list[dict], at=None) -> None:
    """``record`` for many objects of one model at once (one INSERT): the same note, each its own params."""
    if not objs:
        return
    relation = type(objs[0]).events.rel
    relation.related_model.objects.bulk_create(
        relation.related_model(
            **{relation.field.name: obj},
            actor=None,
            from_status=obj.status,
            to_status=obj.status,
            note=str(note),
            params={k: str(v) for k, v in obj_params.items()},
            created_at=at or timezone.now(),
        )
        for obj, obj_params in zip(objs, params, strict=True)
    )
