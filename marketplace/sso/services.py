"""Writes for single sign-on: app registration and its secret, who of a tenant may use which app,
the sellers' test tenants. The OAuth endpoints themselves are django-oauth-toolkit (oauth.py)."""

import secrets
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import Application

from marketplace.accounts.models import Buyer, BuyerMembership, OrgUnit, Seller, User
from marketplace.accounts.roles import seller_can
from marketplace.catalog.models import DeliveryKind, Product, TradeMode
from marketplace.core import audit
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.orders.models import Subscription
from marketplace.provisioning import protocol
from marketplace.provisioning.models import SellerIntegration

from .models import AppAccess, AppRegistration, TestTenant

MAX_REDIRECT_URIS = 10


def _app_admin(actor: User) -> Seller:
    membership = getattr(actor, "seller_membership", None)
    if not seller_can(membership, "apptools.manage"):
        raise NotAllowed(_("Your role does not allow this."))
    return membership.seller


def _own_sso_product(seller: Seller, product_id) -> Product:
    product = Product.objects.filter(pk=as_id(product_id, _("No such product.")), seller=seller).first()
    if product is None:
        raise NotFound(_("No such product."))
    if product.trade_mode != TradeMode.JOINT or product.delivery_kind != DeliveryKind.SAAS:
        raise ValidationFailed(_("Single sign-on is for joint-operation SaaS products."))
    return product


def clean_redirect_uris(text: str) -> str:
    """One absolute http(s) URL per line (or space), without a fragment; matched exactly."""
    uris = list(dict.fromkeys(text.split()))
    if not uris:
        raise ValidationFailed(_("Give at least one redirect URI."))
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationFailed(_("At most %(n)s redirect URIs.") % {"n": MAX_REDIRECT_URIS})
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment or len(uri) > 500:
            raise ValidationFailed(
                _("%(uri)s is not a redirect URI: an absolute http(s) address without a fragment.") % {"uri": uri}
            )
    return " ".join(uris)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def _secret_for_seller(seller_id: int, secret: str) -> str:
    """The secret encrypted with the seller's RSA public key: what applicationSync sends, the only
    copy anyone can read (the platform keeps a hash)."""
    public_key = (
        SellerIntegration.objects.filter(seller_id=seller_id).values_list("rsa_public_key", flat=True).first() or ""
    )
    if not public_key.strip():
        raise ValidationFailed(
            _("Upload your RSA public key first: the client secret reaches your server encrypted with it.")
        )
    return protocol.rsa_encrypt(public_key, secret)


def app_register(
    *, actor: User, product_id, redirect_uris: str, client_id: str | None = None, secret: str | None = None, now=None
) -> tuple[AppRegistration, str]:
    """Register a joint SaaS product as an OAuth client. Returns the registration and the client
    secret, in clear this once (it is stored hashed)."""
    from .sync import sync_app_registered

    seller = _app_admin(actor)
    uris = clean_redirect_uris(redirect_uris)
    secret = secret or new_client_secret()
    now = now or timezone.now()
    with transaction.atomic():
        product = _own_sso_product(seller, product_id)
        if AppRegistration.objects.filter(product=product).exists():
            raise Conflict(_("This product is registered already."))
        client_id = client_id or f"app-{product.pk}-{secrets.token_hex(4)}"
        if Application.objects.filter(client_id=client_id).exists():
            raise Conflict(_("The client id %(id)s is taken.") % {"id": client_id})
        application = Application.objects.create(
            name=product.name_en or product.name_zh,
            client_id=client_id,
            client_secret=secret,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=uris,
            post_logout_redirect_uris=uris,
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=True,  # the tenant's administrators decide who may use the app
        )
        registration = AppRegistration.objects.create(
            product=product,
            application=application,
            secret_for_seller=_secret_for_seller(seller.pk, secret),
            secret_rotated_at=now,
            created_at=now,
        )
        sync_app_registered(registration=registration, now=now)
    return registration, secret


def _own_registration(actor: User, product_id) -> AppRegistration:
    seller = _app_admin(actor)
    registration = (
        AppRegistration.objects.select_for_update()
        .select_related("application", "product")
        .filter(product_id=as_id(product_id, _("No such product.")), product__seller=seller)
        .first()
    )
    if registration is None:
        raise NotFound(_("This product has no single sign-on registration."))
    return registration


def app_update(*, actor: User, product_id, redirect_uris: str) -> AppRegistration:
    uris = clean_redirect_uris(redirect_uris)
    with transaction.atomic():
        registration = _own_registration(actor, product_id)
        registration.application.redirect_uris = uris
        registration.application.post_logout_redirect_uris = uris
        registration.application.save(update_fields=["redirect_uris", "post_logout_redirect_uris", "updated"])
    return registration


def app_rotate_secret(*, actor: User, product_id, now=None) -> tuple[AppRegistration, str]:
    """A new client secret: the old one stops at once; every live instance gets the new one by
    applicationSync (flag 2). Returns the secret in clear, this once."""
    from .sync import sync_app_credentials

    now = now or timezone.now()
    secret = new_client_secret()
    with transaction.atomic():
        registration = _own_registration(actor, product_id)
        registration.application.client_secret = secret  # hashed on save
        registration.application.save(update_fields=["client_secret", "updated"])
        registration.secret_for_seller = _secret_for_seller(registration.product.seller_id, secret)
        registration.secret_rotated_at = now
        registration.save(update_fields=["secret_for_seller", "secret_rotated_at"])
        sync_app_credentials(registration=registration, flag="2", now=now)
    return registration, secret


# --- the tenant's side: who may use which app -------------------------------------------------------


def _tenant_admin(actor: User) -> BuyerMembership:
    membership = getattr(actor, "buyer_membership", None)
    if membership is None or membership.role != BuyerMembership.Role.ADMIN:
        raise NotAllowed(_("Only the tenant's administrators manage app access."))
    return membership


def app_access_set(*, actor: User, product_id, membership_ids, now=None) -> list[AppAccess]:
    """The tenant's administrator says which of its users may open an app (administrators always
    may). Users given access are added at the seller (authSync flag 1), users who lost it are
    revoked (flag 3)."""
    from .sync import sync_users

    admin = _tenant_admin(actor)
    now = now or timezone.now()
    wanted = {as_id(pk, _("No such user.")) for pk in membership_ids}
    with transaction.atomic():
        tenant = Buyer.objects.select_for_update().get(pk=admin.buyer_id)
        product = Product.objects.filter(
            pk=as_id(product_id, _("No such product.")),
            sso_app__isnull=False,
            subscriptions__buyer=tenant,
            subscriptions__status=Subscription.Status.ACTIVE,
        ).first()
        if product is None:
            raise NotFound(_("No such app."))
        members = {m.pk: m for m in BuyerMembership.objects.filter(buyer=tenant).select_related("user", "org_unit")}
        if wanted - members.keys():
            raise NotFound(_("No such user."))
        current = {a.membership_id: a for a in AppAccess.objects.filter(membership__buyer=tenant, product=product)}
        added = [members[pk] for pk in wanted - current.keys()]
        removed = [members[pk] for pk in current.keys() - wanted]
        AppAccess.objects.filter(pk__in=[current[m.pk].pk for m in removed]).delete()
        AppAccess.objects.bulk_create(
            [AppAccess(membership=m, product=product, granted_by=actor, created_at=now) for m in added]
        )
        if added or removed:
            audit.permission(
                "app.access_changed",
                product,
                actor=actor,
                changes={
                    "tenant": tenant.pk,
                    "granted": sorted(m.user.email for m in added),
                    "revoked": sorted(m.user.email for m in removed),
                },
            )
        users = [m for m in added if m.role != BuyerMembership.Role.ADMIN]
        gone = [m for m in removed if m.role != BuyerMembership.Role.ADMIN]
        if users:
            sync_users(tenant=tenant, product=product, memberships=users, flag="1", now=now)
        if gone:
            sync_users(tenant=tenant, product=product, memberships=gone, flag="3", now=now)
    return list(AppAccess.objects.filter(membership__buyer=tenant, product=product))


# --- test tenants for the login test ------------------------------------------------------------------

TEST_USERS = (("admin", BuyerMembership.Role.ADMIN), ("user", BuyerMembership.Role.USER))


def test_tenant_create(*, actor: User, now=None) -> tuple[TestTenant, list[tuple[User, str]]]:
    """The seller's test tenant with two test users (an administrator and a user). Returns their
    passwords, in clear this once. Asking again gives the same tenant new passwords."""
    seller = _app_admin(actor)
    now = now or timezone.now()
    with transaction.atomic():
        Seller.objects.select_for_update().get(pk=seller.pk)
        tenant = TestTenant.objects.select_related("buyer").filter(seller=seller).first()
        if tenant is None:
            buyer = Buyer.objects.create(
                kind=Buyer.Kind.ENTERPRISE, name=_("%(seller)s test tenant") % {"seller": seller.name}, created_at=now
            )
            tenant = TestTenant.objects.create(seller=seller, buyer=buyer, created_at=now)
        unit, _created = OrgUnit.objects.get_or_create(
            buyer=tenant.buyer, code="TEST", defaults={"name": _("Test department")}
        )
        accounts = []
        for suffix, role in TEST_USERS:
            email = f"test-{suffix}-{seller.pk}@test-tenant.invalid"
            password = secrets.token_urlsafe(12)
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=password, name=f"Test {suffix} {seller.pk}")
                BuyerMembership.objects.create(buyer=tenant.buyer, user=user, role=role, org_unit=unit, created_at=now)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            accounts.append((user, password))
    return tenant, accounts
