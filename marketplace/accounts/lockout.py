"""Sign-in lockout (django-axes): how a locked-out sign-in is answered, and which name counts.

Five failed sign-ins for one account from one address lock that account on that address for
``AXES_COOLOFF_TIME``; the login page, the API token endpoint (``/api/v1/auth/token/``) and every
other ``authenticate(request, ...)`` go through the axes backend. Locked-out people get a page
saying so (HTTP 403), API clients ``{"error": "locked_out", "detail": ...}`` (HTTP 403).
"""

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def username_of(request, credentials) -> str | None:
    """The sign-in name, case-folded: users sign in with their e-mail in any case."""
    name = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if name is None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})  # DRF requests have .data
        name = data.get(settings.AXES_USERNAME_FORM_FIELD)
    return str(name).strip().lower() if name else None


def lockout_message(request=None) -> str:
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0
    if not minutes:
        return _("Too many failed sign-in attempts: this account is locked. Ask operations to unlock it.")
    return _(
        "Too many failed sign-in attempts: this account is locked on this device for %(minutes)s minutes. "
        "Try again later, or reset your password."
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: called by the axes middleware when a sign-in was refused."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "locked_out", "detail": message}, status=403)
    return render(request, "accounts/locked_out.html", {"message": message}, status=403)
