"""Errors raised by services. Views, the API and the admin turn them into messages and status codes."""

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A refused business action. ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"
    default_message = _("The request could not be processed.")

    def __init__(self, message=None, *, field_errors: dict | None = None):
        self.message = message or self.default_message
        self.field_errors = field_errors or {}
        super().__init__(str(self.message))


class ValidationFailed(ServiceError):
    status = 400
    code = "invalid"


class NotAllowed(ServiceError):
    status = 403
    code = "forbidden"
    default_message = _("You are not allowed to do this.")


class NotFound(ServiceError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _("This action is not possible in the current state.")


def as_id(value, what=None) -> int:
    """A primary key from user input; anything that is not a positive integer is simply not found."""
    try:
        pk = int(str(value))
    except (TypeError, ValueError):
        pk = 0
    if pk <= 0 or pk > 2**63 - 1:
        raise NotFound(what)
    return pk


def require_perm(actor, perm: str) -> None:
    """Operations actions: the actor must be staff and hold the permission (groups grant it)."""
    if not (actor.is_staff and actor.has_perm(perm)):
        raise NotAllowed(_("You do not have the permission for this action."))
