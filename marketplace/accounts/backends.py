"""Signing in and loading the signed-in user."""

from django.contrib.auth.backends import ModelBackend

from .models import User


class AccountBackend(ModelBackend):
    """Django's ModelBackend, but the user of a session comes with their seller and buyer
    memberships (and the seller and buyer) in one query: every page reads them for its access check
    and navigation, which took three more queries per request."""

    def get_user(self, user_id):
        user = (
            User._default_manager.select_related("seller_membership__seller", "buyer_membership__buyer")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None
