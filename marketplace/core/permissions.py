"""API permissions matching the page decorators in marketplace.portal.access."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from marketplace.accounts.roles import seller_can


class IsBuyer(BasePermission):
    message = _("This endpoint is for buyer accounts.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and hasattr(request.user, "buyer_membership"))


def seller_capability(capability: str):
    class SellerCapability(BasePermission):
        message = _("Your seller role does not allow this.")

        def has_permission(self, request, view):
            user = request.user
            if not (user and user.is_authenticated):
                return False
            return seller_can(getattr(user, "seller_membership", None), capability)

    SellerCapability.__name__ = f"Seller_{capability.replace('.', '_')}"
    return SellerCapability
