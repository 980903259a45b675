"""Explicit state machines: one transition table per stateful model."""

from django.utils.translation import gettext as _

from .errors import InvalidTransition


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
