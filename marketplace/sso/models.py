"""Single sign-on for sellers' apps (ISV interface sections 2 and 3): which joint-operation SaaS
product is which OAuth application, who of a tenant may use it, the sellers' test tenants and
their login tests, and which tokens each authorization code issued (to revoke them when a code is
used twice)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AccessToken, Application, RefreshToken

from marketplace.accounts.models import Buyer, BuyerMembership, Seller
from marketplace.catalog.models import Product


class AppRegistration(models.Model):
    """A joint-operation SaaS product's OAuth client. The secret is stored hashed (by
    django-oauth-toolkit) and, for applicationSync, encrypted with the seller's RSA public key: only
    the seller can read that copy."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="sso_app", verbose_name=_("product"))
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="registration", verbose_name=_("OAuth application")
    )
    secret_for_seller = models.TextField(
        _("client secret for the seller"),
        blank=True,
        help_text=_("RSA-OAEP (SHA-256) with the seller's public key, base64: what applicationSync sends."),
    )
    secret_rotated_at = models.DateTimeField(_("secret issued"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("app registration")
        verbose_name_plural = _("app registrations")

    def __str__(self):
        return f"{self.product} ({self.application.client_id})"

    @property
    def redirect_uris(self) -> list[str]:
        return self.application.redirect_uris.split()


class AppAccess(models.Model):
    """A tenant user allowed to open an app (the tenant's administrators always are)."""

    membership = models.ForeignKey(
        BuyerMembership, on_delete=models.CASCADE, related_name="app_access", verbose_name=_("user")
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", verbose_name=_("app"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("granted by")
    )
    created_at = models.DateTimeField(_("granted"), default=timezone.now)

    class Meta:
        verbose_name = _("app access")
        verbose_name_plural = _("app access")
        constraints = [models.UniqueConstraint(fields=["membership", "product"], name="app_access_once")]

    def __str__(self):
        return f"{self.membership.user} → {self.product}"


class TestTenant(models.Model):
    """The seller's test tenant: its users sign in to the seller's apps for the login test, without
    an instance."""

    __test__ = False  # not a test case, whatever pytest thinks of the name

    seller = models.OneToOneField(Seller, on_delete=models.CASCADE, related_name="test_tenant")
    buyer = models.OneToOneField(Buyer, on_delete=models.CASCADE, related_name="test_tenant_of")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("test tenant")
        verbose_name_plural = _("test tenants")

    def __str__(self):
        return str(self.buyer)


class LoginTest(models.Model):
    """One login test of an app: a test user was given a code, the app redeemed it and read the user."""

    __test__ = False

    registration = models.ForeignKey(
        AppRegistration, on_delete=models.CASCADE, related_name="login_tests", verbose_name=_("app")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_issued_at = models.DateTimeField(_("code issued"), default=timezone.now)
    code_redeemed_at = models.DateTimeField(_("code redeemed"), null=True, blank=True)
    userinfo_read_at = models.DateTimeField(_("user info read"), null=True, blank=True)

    class Meta:
        verbose_name = _("login test")
        verbose_name_plural = _("login tests")
        ordering = ["-code_issued_at"]

    def __str__(self):
        return f"{self.registration} / {self.user}"

    @property
    def passed(self) -> bool:
        return self.code_redeemed_at is not None and self.userinfo_read_at is not None


class RedeemedCode(models.Model):
    """An authorization code that was exchanged, and what it issued: a second use revokes those."""

    code_checksum = models.CharField(max_length=64, unique=True)  # sha256 of the code, never the code
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    access_token = models.ForeignKey(AccessToken, on_delete=models.SET_NULL, null=True, related_name="+")
    refresh_token = models.ForeignKey(RefreshToken, on_delete=models.SET_NULL, null=True, related_name="+")
    redeemed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"code {self.code_checksum[:12]}…"
