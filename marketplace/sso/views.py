"""Seller center > app tools > single sign-on (app registration, secret, test accounts, login tests)
and the buyer's side (open an app from the workbench, who of the tenant may use it, failed syncs)."""

import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.core.errors import ServiceError, ValidationFailed
from marketplace.core.views import message_error
from marketplace.portal.access import buyer_required, seller_required
from marketplace.provisioning.models import SellerIntegration

from . import selectors, services
from .forms import RedirectUrisForm


def authorize_url(registration, *, state: str) -> str:
    """Where a sign-in to the app starts: the platform's authorize endpoint, back to the app's first
    registered redirect URI."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": registration.application.client_id,
            "redirect_uri": registration.redirect_uris[0],
            "scope": "get_user_info",
            "state": state,
        }
    )
    return f"/api/v1/oauth2/authorize?{query}"


# --- seller -----------------------------------------------------------------------------------------------


@seller_required("apptools.manage")
def sso_settings(request):
    if request.method == "POST":
        action, product_id = request.POST.get("action", ""), request.POST.get("product", "")
        form = RedirectUrisForm(request.POST)
        try:
            if action in ("register", "update"):
                if not form.is_valid():
                    raise ValidationFailed(_("Give at least one redirect URI."))
                uris = form.cleaned_data["redirect_uris"]
                if action == "register":
                    registration, secret = services.app_register(
                        actor=request.user, product_id=product_id, redirect_uris=uris
                    )
                    _show_secret_once(request, registration, secret)
                else:
                    services.app_update(actor=request.user, product_id=product_id, redirect_uris=uris)
                    messages.success(request, _("Redirect URIs saved."))
            elif action == "rotate":
                registration, secret = services.app_rotate_secret(actor=request.user, product_id=product_id)
                _show_secret_once(request, registration, secret)
            elif action == "test_accounts":
                _tenant, accounts = services.test_tenant_create(actor=request.user)
                request.session["sso_test_accounts"] = [[user.email, password] for user, password in accounts]
            else:
                raise ValidationFailed(_("Unknown action."))
        except ServiceError as exc:
            message_error(request, exc)
        return redirect("seller:sso")
    products = list(selectors.seller_sso_products(seller_id=request.seller.pk))
    for product in products:
        registration = getattr(product, "sso_app", None)
        product.login_url = authorize_url(registration, state="login-test") if registration else ""
        tests = list(registration.login_tests.all()) if registration else []
        product.latest_tests = tests[:5]
        product.login_test_passed = any(t.passed for t in tests)
    return render(
        request,
        "sso/seller_sso.html",
        {
            "tab": "sso",
            "products": products,
            "rsa_key": SellerIntegration.objects.filter(seller=request.seller).exclude(rsa_public_key="").exists(),
            "test_tenant": selectors.seller_test_tenant(seller_id=request.seller.pk),
            "new_secret": request.session.pop("sso_secret", None),
            "test_accounts": request.session.pop("sso_test_accounts", None),
            "site_url": settings.SITE_URL,
        },
    )


def _show_secret_once(request, registration, secret: str) -> None:
    """On the next page, then gone: only its hash (and the copy encrypted for the seller) is kept."""
    request.session["sso_secret"] = {
        "product": str(registration.product.name),
        "client_id": registration.application.client_id,
        "secret": secret,
    }


# --- buyer ------------------------------------------------------------------------------------------------


def _app(request, product_id) -> dict:
    app = next(
        (a for a in selectors.workbench_apps(membership=request.buyer_membership) if a["product"].pk == product_id),
        None,
    )
    if app is None:
        raise Http404
    return app


@buyer_required
def app_open(request, product_id):
    """One click from the workbench: into the app, signed in (its authorize link) or its front page."""
    app = _app(request, product_id)
    if not app["may_open"]:
        messages.error(
            request, _("Your administrator has not given you access to %(app)s.") % {"app": app["product"].name}
        )
        return redirect("buyer:workbench")
    if not app["sso"]:
        return redirect(app["instance"].front_end_url)
    return redirect(authorize_url(app["product"].sso_app, state=secrets.token_urlsafe(16)))


@buyer_required(admin=True)
def app_access(request, product_id):
    """The tenant's administrator chooses who may use a single sign-on app."""
    app = _app(request, product_id)
    if not app["sso"]:
        raise Http404
    if request.method == "POST":
        try:
            services.app_access_set(
                actor=request.user, product_id=product_id, membership_ids=request.POST.getlist("members")
            )
            messages.success(request, _("Access saved; the seller's app is told."))
            return redirect("buyer:workbench")
        except ServiceError as exc:
            message_error(request, exc)
    return render(
        request,
        "sso/app_access.html",
        {"app": app, "members": selectors.app_members(tenant_id=request.buyer.pk, product_id=product_id)},
    )


@require_POST
@buyer_required(admin=True)
def sync_retry(request, pk):
    from marketplace.provisioning.services import message_retry

    try:
        message_retry(actor=request.user, message_id=pk)
        messages.success(request, _("Sent again."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect(reverse("buyer:workbench") + "#syncs")
