"""Merchant benefits (商家权益, DOMAIN.md section 9): benefits operations offer to sellers above a GMV
threshold, and sellers' applications for them, decided in arrival order."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Seller
from marketplace.core.models import EventBase
from marketplace.core.money import MoneyField


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
