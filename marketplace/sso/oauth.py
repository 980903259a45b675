"""django-oauth-toolkit fitted to the ISV interface (section 3): how client secrets are hashed, and
the request validator that adds our rules to the toolkit's.

The toolkit and oauthlib issue and check every code and token; the validator below only adds:

- redirect URIs match exactly, character for character (the toolkit lets loopback addresses
  use any port);
- a code is used once. Its redemption, the tokens it issued and the deletion of its grant are one
  transaction, so two concurrent redemptions cannot both succeed; a second use answers
  ``invalid_grant`` and revokes what the first issued (RFC 6749 section 4.1.2). ``RedeemedCode``
  keeps the code's SHA-256, never the code;
- a refresh goes only to a user who may still sign in to the app (``access.may_sign_in``): a user
  whose tenant lost the app, or whose administrator took the access away, cannot refresh for 30
  days;
- login tests: redeeming a code of a test tenant's user marks the seller's login test;
- ID tokens carry the tenant and the user's name and e-mail.
"""

import functools
import hashlib
import hmac
import json
import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.db import connection, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors, utils

from .access import may_sign_in
from .models import LoginTest, RedeemedCode

log = logging.getLogger(__name__)

Application = get_application_model()
Grant = get_grant_model()
UserModel = get_user_model()
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

# The scopes that read the user (userinfo and the ID token).
USER_SCOPES = frozenset({"get_user_info", "openid"})


class ClientSecretHasher(BasePasswordHasher):
    """Salted HMAC-SHA256 for OAuth client secrets (``OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]``).

    Django's password hashers are slow on purpose (PBKDF2 with a million rounds, about half a
    second): a stolen table of *human* passwords must not be cheap to guess through. A client secret
    is no password: the platform makes it with ``secrets.token_urlsafe(32)``, 256 random bits, so
    guessing one from its hash costs about 2**255 tries whatever the hash's speed, and the slowness
    would buy nothing but a slow token endpoint (one check per token request). So one keyed hash
    with a random per-secret salt (stored hashes cannot be compared or precomputed), compared in
    constant time.

    It is listed in ``PASSWORD_HASHERS`` after the default, only so Django recognises the stored
    form: user passwords keep the default (PBKDF2), and Django upgrades any user password found in
    this form at the next sign-in.
    """

    algorithm = "client_secret_sha256"

    def encode(self, password, salt):
        self._check_encode_args(password, salt)
        digest = hmac.new(salt.encode(), password.encode(), hashlib.sha256).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(self.encode(password, decoded["salt"]), encoded)

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {
            _("algorithm"): decoded["algorithm"],
            _("salt"): mask_hash(decoded["salt"], show=2),
            _("hash"): mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded):
        return False

    def harden_runtime(self, password, encoded):
        pass  # no work factor to even out


CLIENT_SECRET_HASHER = ClientSecretHasher()


def code_checksum(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class MarketplaceOAuth2Validator(OAuth2Validator):
    # ID token claims and the scope that brings each (the toolkit drops claims not listed here).
    oidc_claim_scope = {
        "sub": "openid",
        "name": "openid",
        "preferred_username": "openid",
        "email": "openid",
        "tenant": "openid",
    }

    # --- clients -------------------------------------------------------------------------------

    def _check_secret(self, provided_secret, stored_secret):
        # Our own hashes are checked without Django's registry of hashers (a test or a deployment
        # may narrow PASSWORD_HASHERS); older hashes (PBKDF2) and the rest go the toolkit's way.
        if stored_secret.startswith(ClientSecretHasher.algorithm + "$"):
            return CLIENT_SECRET_HASHER.verify(provided_secret or "", stored_secret)
        return super()._check_secret(provided_secret, stored_secret)

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        """Exact match with one of the registered URIs: no free port on loopback addresses, no
        trailing-slash or case leniency."""
        return redirect_uri in request.client.redirect_uris.split()

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if "openid" in scopes and not client.algorithm:
            return False  # an app that cannot have ID tokens signed asks for invalid_scope, not a 500
        return super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    # --- authorization codes -------------------------------------------------------------------

    def _grant(self, code, request):
        """The code's grant with its application, read once per token request: the OpenID
        dispatcher asks for its scopes first, then the checks and the saving of the tokens use the
        same row."""
        grant = getattr(request, "sso_grant", None)
        if grant is None or grant.code != code:
            grant = load_grant(code)
            request.sso_grant = grant
            if grant is not None and request.client is None:
                # The toolkit reuses a loaded client only for the client id the request
                # authenticates with (else it reads it again): one query for both rows.
                request.client = grant.application
        return grant

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return utils.scope_to_list(grant.scope) if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant is not None else None

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = self._grant(code, request)
        if grant is None or grant.application_id != client.pk:
            request.sso_grant = None
            self._revoke_what_the_code_issued(code, client)
            return False
        if grant.is_expired():
            return False
        request.scopes = grant.scope.split(" ")
        if "openid" in request.scopes:
            request.user = grant.user  # the ID token tells about the user
        else:
            # Saving the tokens needs only the user's id: no query for the rest.
            request.user = UserModel.from_db(Grant.objects.db, ["id"], [grant.user_id])
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def get_code_challenge(self, code, request):
        return self._grant(code, request).code_challenge or None

    def get_code_challenge_method(self, code, request):
        return self._grant(code, request).code_challenge_method or None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request=None, *args, **kwargs):
        grant = getattr(request, "sso_grant", None)
        if grant is not None and grant.code == code:
            return grant.redirect_uri_allowed(redirect_uri)  # exactly the one of the authorization
        return super().confirm_redirect_uri(client_id, code, redirect_uri, client, request, *args, **kwargs)

    def _check_and_set_request_resource(self, request):
        grant = getattr(request, "sso_grant", None)
        if (
            request.grant_type == "authorization_code"
            and grant is not None
            and not grant.resource
            and not getattr(request, "resource", None)
        ):
            request.resource = []  # nothing to narrow or inherit: spare the toolkit's second read
            return
        super()._check_and_set_request_resource(request)

    def _revoke_what_the_code_issued(self, code, client):
        """A code used a second time: revoke the tokens its first use issued, and every token
        refreshed from them (the refresh token's family)."""
        redeemed = (
            RedeemedCode.objects.select_related("refresh_token")
            .filter(code_checksum=code_checksum(code), application=client)
            .first()
        )
        if redeemed is None:
            return
        log.warning(
            "An authorization code of client %s was used again: revoking the tokens it issued.", client.client_id
        )
        with transaction.atomic():
            if redeemed.refresh_token is not None:
                RefreshToken.revoke_family(redeemed.refresh_token.token_family)
                redeemed.refresh_token.revoke()  # in case it has no family
            if redeemed.access_token_id is not None:
                AccessToken.objects.filter(pk=redeemed.access_token_id).delete()

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        request.sso_access_token = access_token
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        request.sso_refresh_token = refresh_token
        return refresh_token

    def _save_bearer_token(self, token, request, *args, **kwargs):
        """In the toolkit's transaction: the tokens, then the code is consumed (see
        ``consume_code``); a code another request consumed meanwhile rolls it all back."""
        super()._save_bearer_token(token, request, *args, **kwargs)
        grant = getattr(request, "sso_grant", None)
        if request.grant_type != "authorization_code" or grant is None:
            return
        consumed = consume_code(
            grant,
            code_checksum(request.code),
            access_token=getattr(request, "sso_access_token", None),
            refresh_token=getattr(request, "sso_refresh_token", None),
        )
        if not consumed:
            raise errors.InvalidGrantError(request=request)
        request.sso_code_consumed = True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        if getattr(request, "sso_code_consumed", False):
            return  # deleted with the tokens, in their transaction
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)

    # --- refresh -------------------------------------------------------------------------------

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        if not may_sign_in(request.user, client).allowed:
            log.info("Refused a refresh for client %s: the user may no longer sign in to it.", client.client_id)
            return False
        return True

    # --- OpenID Connect ------------------------------------------------------------------------

    def get_additional_claims(self, request):
        user = request.user
        membership = getattr(user, "buyer_membership", None)
        return {
            "name": user.name or user.email,
            "preferred_username": user.email,
            "email": user.email,
            "tenant": membership.buyer.code if membership else "",
        }

    def get_discovery_claims(self, request):
        return ["sub", *self.oidc_claim_scope.keys() - {"sub"}]


def mark_login_test(application, user, field: str) -> None:
    """Stamp ``code_redeemed_at`` or ``userinfo_read_at`` on the user's latest login test of the
    app that lacks it: one statement, which changes nothing for users who are not testing."""
    pending = LoginTest.objects.filter(registration__application=application, user=user, **{f"{field}__isnull": True})
    if field == "userinfo_read_at":
        pending = pending.filter(code_redeemed_at__isnull=False)
    latest = Subquery(pending.order_by("-code_issued_at").values("pk")[:1])
    LoginTest.objects.filter(pk__in=latest).update(**{field: timezone.now()})


CONSUME_CODE_SQL = """
WITH consumed AS (
    DELETE FROM {grant} WHERE id = %(grant)s RETURNING id
), redeemed AS (
    INSERT INTO {redeemed} (code_checksum, application_id, access_token_id, refresh_token_id, redeemed_at)
    SELECT %(checksum)s, %(application)s, %(access)s, %(refresh)s, %(now)s FROM consumed
), tested AS (
    UPDATE {login_test} SET code_redeemed_at = %(now)s
    WHERE id = (
        SELECT t.id FROM {login_test} t JOIN {registration} r ON r.id = t.registration_id
        WHERE r.application_id = %(application)s AND t.user_id = %(user)s AND t.code_redeemed_at IS NULL
        ORDER BY t.code_issued_at DESC LIMIT 1
    ) AND EXISTS (SELECT 1 FROM consumed)
)
SELECT count(*) FROM consumed
"""


def consume_code(grant, checksum: str, *, access_token, refresh_token) -> bool:
    """Delete the code's grant, record what it issued (``RedeemedCode``, by the code's SHA-256) and
    mark the user's pending login test of the app, if any. False when the grant was gone: a
    concurrent redemption of the same code deleted it first (our DELETE waited for its commit).

    On PostgreSQL the three writes are one statement (a writable CTE): the token endpoint is hot
    and every round trip shows in its benchmark. Other databases take the same steps one by one.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        sql = CONSUME_CODE_SQL.format(
            grant=Grant._meta.db_table,
            redeemed=RedeemedCode._meta.db_table,
            login_test=LoginTest._meta.db_table,
            registration=LoginTest._meta.get_field("registration").related_model._meta.db_table,
        )
        params = {
            "grant": grant.pk,
            "checksum": checksum,
            "application": grant.application_id,
            "access": access_token.pk if access_token else None,
            "refresh": refresh_token.pk if refresh_token else None,
            "now": now,
            "user": grant.user_id,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0] == 1
    deleted, _deleted = Grant.objects.filter(pk=grant.pk).delete()
    if not deleted:
        return False
    RedeemedCode.objects.create(
        code_checksum=checksum,
        application_id=grant.application_id,
        access_token=access_token,
        refresh_token=refresh_token,
        redeemed_at=now,
    )
    mark_login_test(grant.application_id, grant.user_id, "code_redeemed_at")
    return True


# --- reading a grant fast ------------------------------------------------------------------------
# The token endpoint reads one grant and its application per request. Django's ORM spends longer
# building that joined query than the database spends answering it, so it is built once per process;
# rows become model instances the way the ORM makes them (the same converters, ``Model.from_db``).


@functools.cache
def _grant_select() -> str:
    quote = connection.ops.quote_name
    grant_columns = ", ".join(f"g.{quote(f.column)}" for f in Grant._meta.concrete_fields)
    application_columns = ", ".join(f"a.{quote(f.column)}" for f in Application._meta.concrete_fields)
    # Identifiers come from the models' metadata, quoted; the code is a bound parameter.
    return (
        f"SELECT {grant_columns}, {application_columns} FROM {quote(Grant._meta.db_table)} g "  # noqa: S608
        f"JOIN {quote(Application._meta.db_table)} a "
        f"ON a.{quote(Application._meta.pk.column)} = g.{quote(Grant._meta.get_field('application').column)} "
        f"WHERE g.{quote(Grant._meta.get_field('code').column)} = %s"
    )


@functools.cache
def _columns(model) -> list:
    """Each concrete field's column expression and its field's own converters (``from_db_value``)."""
    columns = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        columns.append((column, column.get_db_converters(connection)))
    return columns


def _instance(model, values):
    converted = []
    for value, (column, field_converters) in zip(values, _columns(model), strict=True):
        # The backend's converters belong to this thread's connection: asked for on every call.
        for convert in [*connection.ops.get_db_converters(column), *field_converters]:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], converted)


def load_grant(code: str):
    """The grant of ``code`` with its application (``grant.application`` costs no query), or None."""
    with connection.cursor() as cursor:
        cursor.execute(_grant_select(), [code])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(Grant._meta.concrete_fields)
    grant = _instance(Grant, row[:split])
    Grant._meta.get_field("application").set_cached_value(grant, _instance(Application, row[split:]))
    return grant
