"""Merchant benefits (商家权益, DOMAIN.md section 9): benefits operations offer to sellers above a GMV
threshold, and sellers' applications for them, decided in arrival order."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Seller
from marketplace.core import calendar
from marketplace.core.models import AttachmentBase, EventBase
from marketplace.core.money import MoneyField
from marketplace.core.uploads import PrivateUploadTo, private_storage


class Benefit(models.Model):
    """A benefit in the catalog (operations, in the admin)."""

    class LeadTime(models.IntegerChoices):
        TWO_WEEKS = 14, _("14 days")
        MONTH = 30, _("30 days")

    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    gmv_threshold = MoneyField(_("GMV threshold"))
    lead_days = models.PositiveSmallIntegerField(_("lead time"), choices=LeadTime.choices, default=LeadTime.TWO_WEEKS)
    quota_per_period = models.PositiveIntegerField(
        _("quota per period"), default=10, help_text=_("How many sellers may be granted it per calendar month.")
    )
    active_from = models.DateField(_("active from"))
    active_until = models.DateField(_("active until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        ordering = ["gmv_threshold", "id"]
        constraints = [models.CheckConstraint(condition=Q(gmv_threshold__gte=0), name="benefit_threshold_not_negative")]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def description(self) -> str:
        return self.description_en if (get_language() or "").startswith("en") else self.description_zh


class BenefitApplication(models.Model):
    """A seller's application for a benefit from a date. Operations decide in arrival order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        GRANTED = "granted", _("Granted")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.PENDING: {Status.VERIFIED, Status.GRANTED, Status.REJECTED, Status.WITHDRAWN},
        Status.VERIFIED: {Status.GRANTED, Status.REJECTED, Status.WITHDRAWN},
        Status.GRANTED: set(),
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
    }
    WAITING = (Status.PENDING, Status.VERIFIED)

    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="applications")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="benefit_applications")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    wanted_from = models.DateField(_("wanted from"))
    gmv_at_application = MoneyField(_("GMV when applying"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    skip_reason = models.TextField(_("reason for deciding out of arrival order"), blank=True)
    created_at = models.DateTimeField(_("applied"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("benefit application")
        verbose_name_plural = _("benefit applications")
        ordering = ["created_at", "id"]  # arrival order
        constraints = [
            models.UniqueConstraint(
                fields=["benefit", "seller"],
                condition=Q(status__in=["pending", "verified"]),
                name="one_waiting_application_per_benefit",
            ),
        ]
        permissions = [("decide_benefitapplication", _("Can decide benefit applications"))]

    def __str__(self):
        return f"{self.seller} · {self.benefit}"


class BenefitApplicationEvent(EventBase):
    application = models.ForeignKey(BenefitApplication, on_delete=models.CASCADE, related_name="events")
    status_choices = BenefitApplication.Status

    class Meta(EventBase.Meta):
        verbose_name = _("benefit application event")
        verbose_name_plural = _("benefit application events")


# --- merchant acceleration plan (商家加速计划) and the signed agreement ------------------------------


class AccelerationPlan(models.Model):
    """A seller's application to the merchant acceleration plan, signed with the merchant marketing
    support payment agreement; operations approve it, and marketing support opens."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REJECTED},
        Status.APPROVED: set(),
        Status.REJECTED: set(),
    }
    HELD = (Status.PENDING, Status.APPROVED)

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="acceleration_plans")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    gmv_at_application = MoneyField(_("GMV when applying"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    created_at = models.DateTimeField(_("applied"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("acceleration plan application")
        verbose_name_plural = _("acceleration plan applications")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller"], condition=Q(status__in=["pending", "approved"]), name="one_acceleration_plan"
            ),
        ]
        permissions = [("decide_accelerationplan", _("Can decide acceleration plan applications"))]

    def __str__(self):
        return f"{self.seller} · {self.get_status_display()}"


class AccelerationPlanEvent(EventBase):
    plan = models.ForeignKey(AccelerationPlan, on_delete=models.CASCADE, related_name="events")
    status_choices = AccelerationPlan.Status

    class Meta(EventBase.Meta):
        verbose_name = _("acceleration plan event")
        verbose_name_plural = _("acceleration plan events")


class ImmutableRecord(Exception):
    """A signed agreement is never changed or deleted."""


class AgreementSignature(models.Model):
    """The signed merchant marketing support payment agreement: the exact text signed (both
    languages), who signed it (typed name and role, the account), when and from which address, and
    the PDF drawn from it. Written once; the model refuses updates and deletes, and a database
    trigger refuses them too (migration 0003)."""

    plan = models.OneToOneField(AccelerationPlan, on_delete=models.PROTECT, related_name="signature")
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="+")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.CharField(_("agreement version"), max_length=20)
    text_zh = models.TextField(_("agreement text (Chinese)"))
    text_en = models.TextField(_("agreement text (English)"))
    text_sha256 = models.CharField(_("SHA-256 of the text"), max_length=64)
    signer_name = models.CharField(_("signer's name"), max_length=100)
    signer_role = models.CharField(_("signer's role"), max_length=100)
    signed_at = models.DateTimeField(_("signed"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    pdf = models.FileField(_("PDF"), upload_to=PrivateUploadTo("agreements"), storage=private_storage)
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)

    class Meta:
        verbose_name = _("signed agreement")
        verbose_name_plural = _("signed agreements")
        ordering = ["signed_at", "id"]

    def __str__(self):
        return f"{self.seller} · {self.signer_name} · {calendar.beijing(self.signed_at):%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecord("A signed agreement cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("A signed agreement cannot be deleted.")


# --- merchant marketing support (商家营销支持) --------------------------------------------------------


class MarketingSupport(models.Model):
    """An application for marketing support of an activity, open to sellers in the approved
    acceleration plan: drafted, submitted, reviewed by operations, accepted after the activity on
    the materials the seller submits, then paid."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Under review")
        CHANGES_REQUESTED = "changes", _("Changes requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        ACCEPTANCE_SUBMITTED = "acceptance", _("Acceptance under review")
        ACCEPTANCE_RETURNED = "returned", _("Acceptance returned")
        ACCEPTED = "accepted", pgettext_lazy("marketing support status", "Accepted")
        PAID = "paid", _("Support paid")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Channel(models.TextChoices):
        MARKETPLACE = "marketplace", _("Marketplace promotion")
        SEARCH_ADS = "search_ads", _("Search and display ads")
        SOCIAL = "social", _("Social media")
        EVENTS = "events", _("Events and conferences")
        EMAIL = "email", _("E-mail and SMS campaigns")
        PARTNERS = "partners", _("Partners and resellers")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED, Status.CHANGES_REQUESTED, Status.WITHDRAWN},
        Status.CHANGES_REQUESTED: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.APPROVED: {Status.ACCEPTANCE_SUBMITTED},
        Status.ACCEPTANCE_SUBMITTED: {Status.ACCEPTED, Status.ACCEPTANCE_RETURNED},
        Status.ACCEPTANCE_RETURNED: {Status.ACCEPTANCE_SUBMITTED},
        Status.ACCEPTED: {Status.PAID},
        Status.PAID: set(),
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
    }
    EDITABLE = (Status.DRAFT, Status.CHANGES_REQUESTED)  # the seller edits the application
    ACCEPTANCE_OPEN = (Status.APPROVED, Status.ACCEPTANCE_RETURNED)  # the seller hands in materials

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="marketing_supports")
    plan = models.ForeignKey(AccelerationPlan, on_delete=models.PROTECT, related_name="marketing_supports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    activity_name = models.CharField(_("activity name"), max_length=120)
    starts_on = models.DateField(_("activity starts"), null=True, blank=True)
    ends_on = models.DateField(_("activity ends"), null=True, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    budget = MoneyField(_("budget"), null=True, blank=True, default=None)
    proposal = models.TextField(_("activity plan"), blank=True)
    review_note = models.TextField(_("operations' reason"), blank=True)
    approved_amount = MoneyField(_("approved support"), null=True, blank=True, default=None)
    acceptance_report = models.TextField(_("acceptance report"), blank=True)
    acceptance_note = models.TextField(_("why the materials were returned"), blank=True)
    paid_amount = MoneyField(_("support paid"), null=True, blank=True, default=None)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("marketing support application")
        verbose_name_plural = _("marketing support applications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gt=0), name="marketing_budget_positive"
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gt=0, approved_amount__lte=F("budget")),
                name="marketing_approved_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__isnull=True) | Q(paid_amount__gt=0, paid_amount__lte=F("approved_amount")),
                name="marketing_paid_within_approved",
            ),
        ]
        permissions = [
            ("review_marketingsupport", _("Can review marketing support applications")),
            ("pay_marketingsupport", _("Can record marketing support payments")),
        ]

    def __str__(self):
        return f"MS-{self.pk} · {self.activity_name}"

    @property
    def number(self) -> str:
        return f"MS-{self.pk:06d}"

    def channel_labels(self) -> list[str]:
        labels = dict(self.Channel.choices)
        return [str(labels.get(c, c)) for c in self.channels or []]


class MarketingSupportAttachment(AttachmentBase):
    class Kind(models.TextChoices):
        PROPOSAL = "proposal", _("Activity plan")
        ACCEPTANCE = "acceptance", _("Acceptance materials")

    application = models.ForeignKey(MarketingSupport, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    file = models.FileField(upload_to=PrivateUploadTo("marketing"), storage=private_storage)


class MarketingSupportEvent(EventBase):
    application = models.ForeignKey(MarketingSupport, on_delete=models.CASCADE, related_name="events")
    status_choices = MarketingSupport.Status

    class Meta(EventBase.Meta):
        verbose_name = _("marketing support event")
        verbose_name_plural = _("marketing support events")
