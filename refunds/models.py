"""Refunds. For now the record of money paid back on an order line; requests, approval and
the guarantee-period rules arrive with the refunds feature."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.core.money import MoneyField
from marketplace.orders.models import OrderLine


class Refund(models.Model):
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order line")
    )
    amount = MoneyField(_("amount"))
    reason = models.TextField(_("reason"))
    refunded_at = models.DateTimeField(_("refunded"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=pgettext_lazy("refund", "by"),
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-refunded_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"{self.order_line} −{self.amount}"
