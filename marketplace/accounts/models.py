"""People and accounts: users, buyers (individuals and enterprise tenants), sellers, onboarding."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.core.models import EventBase
from marketplace.core.money import MoneyField
from marketplace.core.uploads import PrivateUploadTo, private_storage


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: buyers, seller staff, operations staff. Signs in with an e-mail."""

    email = models.EmailField(_("e-mail"), unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    is_staff = models.BooleanField(
        _("operations staff"), default=False, help_text=_("Can sign in to the operations back office.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self):
        return self.name or self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email.split("@")[0]


def new_tenant_code() -> str:
    return "T" + secrets.token_hex(6).upper()


class Buyer(models.Model):
    """A buying account: one individual, or an enterprise tenant with several users."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ENTERPRISE = "enterprise", _("Enterprise")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INDIVIDUAL)
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("tenant code"), max_length=32, unique=True, default=new_tenant_code)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_enterprise(self):
        return self.kind == self.Kind.ENTERPRISE


class OrgUnit(models.Model):
    """A node of an enterprise tenant's organisation tree."""

    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="org_units", verbose_name=_("buyer"))
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=64)

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")
        ordering = ["buyer", "code"]
        constraints = [models.UniqueConstraint(fields=["buyer", "code"], name="orgunit_code_unique_per_buyer")]

    def __str__(self):
        return self.name


class BuyerMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        USER = "user", _("User")

    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("buyer"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buyer_membership", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.USER)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("unit")
    )
    created_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("buyer membership")
        verbose_name_plural = _("buyer memberships")

    def __str__(self):
        return f"{self.user} @ {self.buyer}"


class Seller(models.Model):
    """A company that passed onboarding review."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    TRANSITIONS = {Status.ACTIVE: {Status.SUSPENDED}, Status.SUSPENDED: {Status.ACTIVE}}

    name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    established_on = models.DateField(_("established on"))
    registered_capital = MoneyField(_("registered capital (CNY)"))
    staff_count = models.PositiveIntegerField(_("technical and support staff"))
    support_days_per_week = models.PositiveSmallIntegerField(_("support days per week"))
    support_hours_per_day = models.PositiveSmallIntegerField(_("support hours per day"))
    bound_email = models.EmailField(_("bound e-mail"), help_text=_("Receives statements and platform notices."))
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["name"]
        permissions = [("suspend_seller", _("Can suspend and reinstate sellers"))]

    def __str__(self):
        return self.name


class SellerEvent(EventBase):
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="events")
    status_choices = Seller.Status

    class Meta(EventBase.Meta):
        verbose_name = _("seller event")
        verbose_name_plural = _("seller events")


class SellerMembership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        FINANCE = "finance", _("Finance")
        SUPPORT = "support", _("Support")
        DEVELOPER = "developer", _("Developer")

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("seller"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller_membership", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("seller membership")
        verbose_name_plural = _("seller memberships")

    def __str__(self):
        return f"{self.user} @ {self.seller}"


class SellerApplication(models.Model):
    """An onboarding (入驻) application: company details and documents, reviewed by operations."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Under review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED},
        Status.REJECTED: {Status.SUBMITTED},
        Status.APPROVED: set(),
    }

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="seller_applications",
        verbose_name=_("applicant"),
    )
    company_name = models.CharField(_("company name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18)
    established_on = models.DateField(_("established on"))
    registered_capital = MoneyField(_("registered capital (CNY)"))
    staff_count = models.PositiveIntegerField(_("technical and support staff"))
    support_days_per_week = models.PositiveSmallIntegerField(_("support days per week"))
    support_hours_per_day = models.PositiveSmallIntegerField(_("support hours per day"))
    contact_name = models.CharField(_("contact name"), max_length=100)
    contact_phone = models.CharField(_("contact phone"), max_length=32)
    bound_email = models.EmailField(_("bound e-mail"))
    address = models.CharField(_("address"), max_length=300)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewer"),
    )
    seller = models.OneToOneField(
        Seller, on_delete=models.PROTECT, null=True, blank=True, related_name="application", verbose_name=_("seller")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("seller application")
        verbose_name_plural = _("seller applications")
        permissions = [("review_sellerapplication", _("Can approve or reject seller applications"))]
        ordering = ["-submitted_at", "-created_at"]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self):
        return self.company_name


class SellerApplicationDocument(models.Model):
    class Kind(models.TextChoices):
        BUSINESS_LICENSE = "business_license", _("Business licence")
        LEGAL_REP_ID = "legal_rep_id", _("Legal representative's ID")
        QUALIFICATION = "qualification", _("Qualification certificate")

    application = models.ForeignKey(
        SellerApplication, on_delete=models.CASCADE, related_name="documents", verbose_name=_("application")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=PrivateUploadTo("onboarding"), storage=private_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ["kind", "uploaded_at"]

    def __str__(self):
        return self.original_name


class SellerApplicationEvent(EventBase):
    application = models.ForeignKey(SellerApplication, on_delete=models.CASCADE, related_name="events")
    status_choices = SellerApplication.Status

    class Meta(EventBase.Meta):
        verbose_name = _("application event")
        verbose_name_plural = _("application events")


class ApiToken(models.Model):
    """A token for the REST API (``Authorization: Token ...``). Only its SHA-256 is stored: the token
    is shown once, when issued; the prefix tells a user's tokens apart."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("starts with"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.prefix}…"


class Invitation(models.Model):
    """An invitation to join an enterprise tenant or a seller, sent by its administrator."""

    email = models.EmailField(_("e-mail"))
    buyer = models.ForeignKey(
        Buyer, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations", verbose_name=_("buyer")
    )
    seller = models.ForeignKey(
        Seller, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations", verbose_name=_("seller")
    )
    role = models.CharField(_("role"), max_length=16)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("unit")
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("invited by")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(buyer__isnull=False) & Q(seller__isnull=True))
                | (Q(buyer__isnull=True) & Q(seller__isnull=False)),
                name="invitation_for_buyer_xor_seller",
            )
        ]

    def __str__(self):
        return self.email

    @property
    def role_label(self) -> str:
        roles = BuyerMembership.Role if self.buyer_id else SellerMembership.Role
        return str(dict(roles.choices).get(self.role, self.role))

    def is_open(self, now=None):
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now
