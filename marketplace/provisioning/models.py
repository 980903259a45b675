"""How the platform reaches each seller's servers (ISV interface, specs/isv-interface.md)."""

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Seller
from marketplace.core.crypto import EncryptedTextField


class SellerIntegration(models.Model):
    """A seller's endpoints: where produce and sync calls go."""

    seller = models.OneToOneField(
        Seller, on_delete=models.CASCADE, related_name="integration", verbose_name=_("seller")
    )
    produce_url = models.URLField(_("produce URL"), blank=True)
    sync_base_url = models.URLField(_("sync base URL"), blank=True)
    rsa_public_key = models.TextField(_("RSA public key (PEM)"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("seller integration")
        verbose_name_plural = _("seller integrations")

    def __str__(self):
        return str(self.seller)


def new_key_id() -> str:
    return "AK" + secrets.token_hex(10).upper()


class AccessKey(models.Model):
    """A secret shared with a seller: signs produce calls, or the seller's open-API requests."""

    class Purpose(models.TextChoices):
        PRODUCE = "produce", _("Produce interface")
        OPEN_API = "open_api", _("Seller open API")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="access_keys", verbose_name=_("seller"))
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    key_id = models.CharField(_("key id"), max_length=32, unique=True, default=new_key_id)
    secret = EncryptedTextField(_("secret"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("access key")
        verbose_name_plural = _("access keys")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "purpose"], condition=Q(revoked_at__isnull=True), name="one_active_key_per_purpose"
            )
        ]

    def __str__(self):
        return self.key_id
