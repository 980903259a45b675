"""API token authentication against hashed tokens (accounts.ApiToken)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ..models import ApiToken
from ..services import token_hash


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``. Only the token's SHA-256 is stored, so a copy of the
    database holds no usable token; the user comes with their memberships, as on pages."""

    model = ApiToken

    def authenticate_credentials(self, key):
        token = (
            ApiToken.objects.select_related("user__seller_membership__seller", "user__buyer_membership__buyer")
            .filter(token_hash=token_hash(key))
            .first()
        )
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
