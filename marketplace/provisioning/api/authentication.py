"""The seller open API's signed requests (spec section 4).

Headers X-Access-Key-Id, X-Timestamp (ms), X-Nonce and X-Signature =
uppercase_hex(HMAC_SHA256(secret, METHOD \\n path \\n sorted_query \\n timestamp \\n nonce \\n sha256(body))).
A timestamp more than 60 s away and a nonce seen in the last 5 minutes are refused; the nonces are
kept in the cache (Redis in production), with an atomic add.
"""

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from .. import protocol
from ..models import AccessKey


class SellerRequest:
    """The request's principal: the seller whose key signed it (not a user)."""

    is_authenticated = True
    is_staff = False
    is_anonymous = False

    def __init__(self, key: AccessKey):
        self.key = key
        self.seller_id = key.seller_id

    def __str__(self):
        return f"seller {self.seller_id} ({self.key.key_id})"


class OpenAPISignatureAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key_id = request.headers.get("X-Access-Key-Id")
        if not key_id:
            return None  # not this scheme: DRF answers 401 with the header below
        timestamp = request.headers.get("X-Timestamp", "")
        nonce = request.headers.get("X-Nonce", "")
        signature = request.headers.get("X-Signature", "")
        if not (timestamp and nonce and signature):
            raise exceptions.AuthenticationFailed(_("X-Timestamp, X-Nonce and X-Signature are required."))
        if not protocol.timestamp_fresh(timestamp):
            raise exceptions.AuthenticationFailed(_("The timestamp is more than 60 seconds away from our clock."))
        key = AccessKey.objects.filter(
            key_id=key_id, purpose=AccessKey.Purpose.OPEN_API, revoked_at__isnull=True
        ).first()
        query = [(name, value) for name, values in request.GET.lists() for value in values]  # every value signed
        expected = (
            protocol.open_api_signature(key.secret, request.method, request.path, query, timestamp, nonce, request.body)
            if key
            else "0" * 64
        )
        if key is None or not protocol.signature_matches(expected, signature):
            raise exceptions.AuthenticationFailed(_("The access key or the signature is wrong."))
        if not cache.add(f"openapi-nonce:{key_id}:{nonce}", 1, timeout=protocol.NONCE_TTL_S):
            raise exceptions.AuthenticationFailed(_("This nonce was used already."))
        return SellerRequest(key), key

    def authenticate_header(self, request):
        return 'MarketplaceSignature realm="seller-open-api"'


class SignatureScheme(OpenApiAuthenticationExtension):
    target_class = OpenAPISignatureAuthentication
    name = "sellerSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Access-Key-Id",
            "description": "With X-Timestamp, X-Nonce and X-Signature (see the developer guide).",
        }
