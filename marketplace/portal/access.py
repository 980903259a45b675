"""Who may open which page of the seller and buyer centers."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from marketplace.accounts.roles import buyer_is_admin, seller_can


def _forbidden(request, message):
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def buyer_required(view=None, *, admin=False, enterprise=False):
    """The user has a buyer account (and, optionally, administers an enterprise tenant)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request.user, "buyer_membership", None)
            if membership is None:
                return _forbidden(request, _("This page is for buyer accounts."))
            if enterprise and not membership.buyer.is_enterprise:
                return render(request, "buyer/workbench_individual.html", status=200)
            if admin and not buyer_is_admin(membership):
                return _forbidden(request, _("Only the tenant's administrators can open this page."))
            request.buyer_membership = membership
            request.buyer = membership.buyer
            return view(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view else decorator


def seller_required(capability: str):
    """The user works for a seller, in a role that has ``capability`` (see accounts.roles)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request.user, "seller_membership", None)
            if membership is None:
                return redirect("accounts:seller_apply")
            if membership.seller.status != membership.seller.Status.ACTIVE:
                return _forbidden(request, _("Your seller account is suspended. Contact the platform's operations."))
            if not seller_can(membership, capability):
                return _forbidden(
                    request, _("Your role (%(role)s) does not allow this.") % {"role": membership.get_role_display()}
                )
            request.seller_membership = membership
            request.seller = membership.seller
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
