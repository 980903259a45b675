"""Writes for sellers' integration settings and keys."""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Seller, User
from marketplace.accounts.roles import seller_can
from marketplace.core.errors import NotAllowed

from .models import AccessKey, SellerIntegration


def integration_update(*, actor: User, produce_url: str, sync_base_url: str) -> SellerIntegration:
    membership = getattr(actor, "seller_membership", None)
    if not seller_can(membership, "apptools.manage"):
        raise NotAllowed(_("Your role does not allow this."))
    integration, _created = SellerIntegration.objects.get_or_create(seller_id=membership.seller_id)
    integration.produce_url = produce_url.strip()
    integration.sync_base_url = sync_base_url.strip().rstrip("/")
    integration.save(update_fields=["produce_url", "sync_base_url", "updated_at"])
    return integration


def access_key_issue(*, seller: Seller, purpose: str, secret: str | None = None, now=None) -> tuple[AccessKey, str]:
    """Issue a new key for ``purpose``, revoking the previous one. Returns the key and its secret."""
    now = now or timezone.now()
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        AccessKey.objects.select_for_update().filter(seller=seller, purpose=purpose, revoked_at__isnull=True).update(
            revoked_at=now
        )
        key = AccessKey.objects.create(seller=seller, purpose=purpose, secret=secret, created_at=now)
    return key, secret
