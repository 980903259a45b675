"""The single sign-on endpoints of the ISV interface (section 3), on django-oauth-toolkit:

    GET  /api/v1/oauth2/authorize        code flow; signs the user in first; no consent screen
    POST /api/v1/oauth2/token            authorization_code and refresh_token grants
    GET  /api/v1/oauth2/userinfo         Bearer token -> the spec's user fields
    GET  /api/v1/oauth2/jwks             keys of the ID tokens (RS256)
    GET  /api/v1/logout?redirect_url=    ends the session; back to a registered URL of the user's app
    GET  /.well-known/openid-configuration

The toolkit issues and checks every code and token; our rules are in ``access.may_sign_in`` (who
gets a code) and ``oauth.MarketplaceOAuth2Validator`` (single-use codes, exact redirect URIs).
"""

import json
import time

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET
from django.views.generic import View
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import AuthorizationView, ConnectDiscoveryInfoView
from oauth2_provider.views import TokenView as ToolkitTokenView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauth2_provider.www_authenticate import build_bearer_challenge
from oauthlib.common import add_params_to_uri

from .access import may_sign_in
from .models import LoginTest
from .oauth import USER_SCOPES, mark_login_test

Application = get_application_model()

MAX_LOGOUT_URL = 2000


# --- authorize -----------------------------------------------------------------------------------


def _fatal_reason(error) -> str:
    """Why an authorization request cannot even be answered to the app (its client id or
    redirect URI is wrong): the page says it to the person, never redirects."""
    name = type(getattr(error, "oauthlib_error", error)).__name__
    if name in ("InvalidClientIdError", "MissingClientIdError"):
        return _("The app that sent you here is not registered for single sign-on.")
    if name in ("MismatchingRedirectURIError", "InvalidRedirectURIError"):
        return _("The app asked to send you back to an address it has not registered.")
    if name == "MissingRedirectURIError":
        return _("The app did not say where to send you back.")
    return _("The sign-in request of the app is not valid.")


class AuthorizeView(AuthorizationView):
    """Code flow without a consent screen: the tenant's administrators decided who may use the app.
    Signs the user in through our login page first (``LoginRequiredMixin``); only users for whom
    ``may_sign_in`` says yes get a code, the others a page saying why (HTTP 403)."""

    http_method_names = ["get"]
    template_name = "sso/oauth_error.html"

    def error_response(self, error, application, **kwargs):
        kwargs.setdefault("reason", _fatal_reason(error))
        return super().error_response(error, application, **kwargs)

    def get(self, request, *args, **kwargs):
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        if "login" in request.GET.get("prompt", "").split():
            return self.handle_prompt_login()
        oauth_request = credentials.get("request")
        application = getattr(oauth_request, "client", None) or Application.objects.get(
            client_id=credentials["client_id"]
        )
        decision = may_sign_in(request.user, application)
        if not decision.allowed:
            return refused(request, application, decision.reason)
        if isinstance(credentials.get("ui_locales"), list):
            credentials["ui_locales"] = " ".join(credentials["ui_locales"])
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        uri = add_params_to_uri(uri, [("tenant", decision.tenant.code)])
        if decision.test:
            LoginTest.objects.create(registration=decision.registration, user=request.user)
        return self.redirect(uri, application)


def refused(request, application, reason: str):
    registration = getattr(application, "registration", None)
    switch_to = reverse("accounts:login") + "?" + urlencode({"next": request.get_full_path()})
    context = {
        "app_name": registration.product.name if registration else application.name,
        "reason": reason,
        "switch_to": switch_to,
    }
    return render(request, "sso/refused.html", context, status=403)


# --- token ---------------------------------------------------------------------------------------


def _rate() -> tuple[int, int]:
    """``OAUTH_TOKEN_RATE_LIMIT`` as (requests, seconds): "120/min", "10/s", "1000/h"; "" is off."""
    text = getattr(settings, "OAUTH_TOKEN_RATE_LIMIT", "") or ""
    if not text:
        return 0, 0
    count, _slash, unit = text.partition("/")
    seconds = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}[unit.strip() or "min"]
    return int(count), seconds


def rate_limited(request, scope: str):
    """A fixed-window counter per client address in the shared cache; the answer when over the
    limit, else None."""
    limit, window = _rate()
    if not limit:
        return None
    now = time.time()
    key = f"ratelimit:{scope}:{request.META.get('REMOTE_ADDR', '')}:{int(now // window)}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=window + 1)
            count = 1
    if count <= limit:
        return None
    response = JsonResponse(
        {"error": "too_many_requests", "error_description": _("Too many requests. Try again in a minute.")},
        status=429,
    )
    response["Retry-After"] = str(int(window - now % window) + 1)
    response["Cache-Control"] = "no-store"
    return response


GRANT_TYPES = ("authorization_code", "refresh_token")


def token_error(error: str, description: str, status: int = 400):
    response = JsonResponse({"error": error, "error_description": str(description)}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class TokenView(ToolkitTokenView):
    """The toolkit's token endpoint (CSRF-exempt, as OAuth requires), behind a per-address rate
    limit. Only the grants our applications use reach the toolkit; every answer is JSON."""

    def post(self, request, *args, **kwargs):
        limited = rate_limited(request, "oauth-token")
        if limited:
            return limited
        if request.POST.get("grant_type") not in GRANT_TYPES:
            return token_error("unsupported_grant_type", _("grant_type is authorization_code or refresh_token."))
        response = self.authorization_flow_token_response(request)
        # Errors raised while saving (a code redeemed concurrently) come without the JSON headers.
        response["Content-Type"] = "application/json"
        response["Cache-Control"] = "no-store"
        return response

    @method_decorator(sensitive_post_parameters("client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        if app_authorized.has_listeners():
            return super().authorization_flow_token_response(request, *args, **kwargs)
        # Nobody listens to app_authorized: spare the toolkit's lookup of the token just issued.
        _url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


# --- userinfo ------------------------------------------------------------------------------------


def bearer_error(request, error: str, description: str, status: int = 401):
    response = JsonResponse({"error": error, "error_description": str(description)}, status=status)
    # The header has the error code only: RFC 6750 allows no characters outside ASCII in it, and the
    # description is in the user's language (the JSON body carries it).
    challenge = {"error": error}
    response["WWW-Authenticate"] = build_bearer_challenge(request, oauth2_error=challenge, resource_metadata_url=None)
    response["Cache-Control"] = "no-store"
    return response


def userinfo_of(user, membership) -> dict:
    """The fields of the ISV interface. ``userName`` is the sign-in name (the e-mail), as in
    authSync; ``tenant`` is the tenant id (``Buyer.code``)."""
    tenant, unit = membership.buyer, membership.org_unit
    return {
        "id": str(user.pk),
        "userName": user.email,
        "name": user.name or user.email,
        "email": user.email,
        "mobile": user.mobile,
        "role": membership.role,  # "admin" or "user"
        "organizationName": unit.name if unit else tenant.name,
        "organizationCode": unit.code if unit else "",
        "userId": str(user.pk),
        "projectName": tenant.name,
        "tenant": tenant.code,
    }


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(OAuthLibMixin, View):
    """Bearer token (header, or form body on POST) with the ``get_user_info`` or ``openid`` scope."""

    http_method_names = ["get", "post"]

    def get(self, request, *args, **kwargs):
        valid, oauth_request = self.verify_request(request)
        if not valid:
            error = getattr(oauth_request, "oauth2_error", None) or {}
            return bearer_error(
                request,
                error.get("error", "invalid_token"),
                error.get("error_description") or _("Send the access token as: Authorization: Bearer <token>."),
            )
        if not USER_SCOPES & set(oauth_request.scopes):
            return bearer_error(
                request, "insufficient_scope", _("The access token does not allow reading the user."), 403
            )
        user, application = oauth_request.user, oauth_request.client
        decision = may_sign_in(user, application)
        if not decision.allowed:
            return bearer_error(request, "invalid_token", decision.reason)
        if decision.test:
            mark_login_test(application, user, "userinfo_read_at")
        response = JsonResponse(userinfo_of(user, user.buyer_membership), json_dumps_params={"ensure_ascii": False})
        response["Cache-Control"] = "no-store"
        return response

    post = get


# --- logout --------------------------------------------------------------------------------------


def registered_for_users_app(user, url: str) -> bool:
    """Is ``url`` one of the redirect or post-logout URIs (exact match) of an app the user may sign
    in to?"""
    if not user.is_authenticated or not url or len(url) > MAX_LOGOUT_URL:
        return False
    candidates = Application.objects.filter(
        Q(redirect_uris__contains=url) | Q(post_logout_redirect_uris__contains=url)
    ).order_by("pk")[:20]
    for application in candidates:
        registered = application.redirect_uris.split() + application.post_logout_redirect_uris.split()
        if url in registered and may_sign_in(user, application).allowed:
            return True
    return False


@require_GET
@never_cache
def logout(request):
    """Ends the platform session, then back to the app when ``redirect_url`` is registered for one
    the user may use, else to the home page (never an open redirect)."""
    url = request.GET.get("redirect_url", "")
    allowed = registered_for_users_app(request.user, url)
    auth_logout(request)
    if allowed:
        return HttpResponseRedirect(url)
    return redirect(settings.LOGOUT_REDIRECT_URL)


# --- discovery -----------------------------------------------------------------------------------


class DiscoveryView(ConnectDiscoveryInfoView):
    """The toolkit's OpenID Provider metadata, with what this server actually supports."""

    def get(self, request, *args, **kwargs):
        data = json.loads(super().get(request, *args, **kwargs).content)
        data["grant_types_supported"] = ["authorization_code", "refresh_token"]
        data["id_token_signing_alg_values_supported"] = ["RS256"]
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        return response
