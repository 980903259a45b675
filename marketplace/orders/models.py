"""Orders and their lines, payments, purchased services (subscriptions) and buyers' credit."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Buyer, Seller
from marketplace.catalog.models import Plan, Product, TradeMode
from marketplace.core.models import EventBase
from marketplace.core.money import CurrencyField, MoneyField


def new_order_number() -> str:
    return timezone.localtime().strftime("%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


class OrderType(models.TextChoices):
    NEW = "NEW", _("New purchase")
    TRIAL = "TRIAL", _("Free trial")
    TRIAL_TO_FORMAL = "TRIAL_TO_FORMAL", _("Trial converted to paid")
    RENEW = "RENEW", _("Renewal")
    CHANGE = "CHANGE", _("Upgrade")
    UNSUBSCRIBE = "UNSUBSCRIBE", _("Unsubscribe")


class PaymentMethod(models.TextChoices):
    ONLINE = "online", _("Online payment")
    COUPON = "coupon", _("Credit cash coupon")
    CREDIT_LINE = "credit_line", _("Credit line")
    FREE = "free", _("No payment needed")


class Subscription(models.Model):
    """A purchased service (已购服务): what a buyer holds of a product, made by its first order."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        RELEASED = "released", _("Released")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("buyer"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("product")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan"))
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("seller"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_trial = models.BooleanField(_("trial"), default=False)
    starts_at = models.DateTimeField(_("starts"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, help_text=_("Empty: does not expire."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("purchased service")
        verbose_name_plural = _("purchased services")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "status"]), models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"{self.product} ({self.buyer})"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Pending payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        CLOSED = "closed", _("Closed (unpaid)")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")

    TRANSITIONS = {
        Status.PENDING_PAYMENT: {Status.PAID, Status.CANCELLED, Status.CLOSED},
        Status.PAID: {Status.FAILED, Status.REFUNDED},
        Status.CANCELLED: set(),
        Status.CLOSED: set(),
        Status.FAILED: {Status.REFUNDED},
        Status.REFUNDED: set(),
    }

    number = models.CharField(_("order number"), max_length=20, unique=True, default=new_order_number)
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("buyer"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("placed by")
    )
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="orders", verbose_name=_("seller"))
    order_type = models.CharField(_("order type"), max_length=16, choices=OrderType.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING_PAYMENT)
    amount = MoneyField(_("amount payable"))
    currency = CurrencyField(_("currency"))
    payment_method = models.CharField(_("payment method"), max_length=16, choices=PaymentMethod.choices, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cancelled or closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["seller", "-created_at"]),
            models.Index(fields=["buyer", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative")]

    def __str__(self):
        return self.number


class OrderLine(models.Model):
    class Supervision(models.TextChoices):
        NOT_REQUIRED = "not_required", _("Not supervised")
        IN_PROGRESS = "in_progress", _("Under supervision")
        COMPLETED = "completed", _("Delivery accepted")
        CLOSED = "closed", _("Closed by operations")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("product")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("plan"))
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("seller"))
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        verbose_name=_("purchased service"),
    )
    # What the product was when the order was placed: settlement follows the order, not later edits.
    trade_mode = models.CharField(_("trade mode"), max_length=16, choices=TradeMode.choices)
    fee_rate = models.DecimalField(
        _("operations-management fee rate"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Joint-flow products: the product's rate when the order was placed."),
    )
    charging_mode = models.CharField(_("charging mode"), max_length=16, choices=Plan.ChargingMode.choices)
    period_type = models.CharField(_("period"), max_length=8, choices=Plan.PeriodType.choices, blank=True)
    period_count = models.PositiveSmallIntegerField(_("periods"), default=1)
    unit_price = MoneyField(_("unit price"))
    amount = MoneyField(_("amount"))
    payment_method = models.CharField(_("payment method"), max_length=16, choices=PaymentMethod.choices, blank=True)
    refunded = MoneyField(_("refunded"))
    validity_start = models.DateTimeField(_("valid from"), null=True, blank=True)
    validity_end = models.DateTimeField(_("valid until"), null=True, blank=True)
    supervision = models.CharField(
        _("supervision"), max_length=16, choices=Supervision.choices, default=Supervision.NOT_REQUIRED
    )
    supervision_completed_at = models.DateTimeField(_("supervision completed"), null=True, blank=True)
    provisioned_at = models.DateTimeField(
        _("provisioned"), null=True, blank=True, help_text=_("When the buyer got the service (for SaaS: the instance).")
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        permissions = [("close_supervision", _("Can close service supervision"))]
        ordering = ["order", "id"]
        indexes = [
            models.Index(fields=["seller", "supervision"]),
            # The few refunded lines of a seller, for the dashboard's revenue (net of refunds).
            models.Index(fields=["seller"], condition=Q(refunded__gt=0), name="orderline_refunded_by_seller"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="orderline_amount_not_negative"),
            # Refunds never exceed what was paid, whatever races: the database has the last word.
            models.CheckConstraint(
                condition=Q(refunded__gte=0) & Q(refunded__lte=F("amount")), name="orderline_refunded_within_paid"
            ),
            models.CheckConstraint(
                condition=Q(validity_end__isnull=True)
                | Q(validity_start__isnull=True)
                | Q(validity_end__gt=F("validity_start")),
                name="orderline_validity_is_a_range",
            ),
        ]

    def __str__(self):
        return f"{self.order.number}#{self.pk}"

    @property
    def in_guarantee_period(self) -> bool:
        """The transaction guarantee period lasts while supervision is in progress."""
        return self.supervision == self.Supervision.IN_PROGRESS

    def is_effective(self, now=None) -> bool:
        now = now or timezone.now()
        return self.validity_start is not None and self.validity_start <= now

    @property
    def not_yet_effective(self) -> bool:
        return self.validity_start is not None and self.validity_start > timezone.now()


class Payment(models.Model):
    """One attempt to pay an order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("order"))
    method = models.CharField(_("method"), max_length=16, choices=PaymentMethod.choices)
    amount = MoneyField(_("amount"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reference = models.CharField(_("gateway reference"), max_length=64, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    repaid_at = models.DateTimeField(
        _("credit repaid"), null=True, blank=True, help_text=_("Credit-line payments: when the buyer repaid.")
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="succeeded"), name="payment_one_success_per_order"
            )
        ]

    def __str__(self):
        return f"{self.order.number} {self.method} {self.amount}"


class OrderEvent(EventBase):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status_choices = Order.Status

    class Meta(EventBase.Meta):
        verbose_name = _("order event")
        verbose_name_plural = _("order events")


class CreditAccount(models.Model):
    """A buyer's credit granted by operations: a cash-coupon balance and a credit line."""

    buyer = models.OneToOneField(Buyer, on_delete=models.PROTECT, related_name="credit", verbose_name=_("buyer"))
    coupon_balance = MoneyField(_("cash-coupon balance"))
    credit_limit = MoneyField(_("credit limit"))
    credit_used = MoneyField(_("credit used"))

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")
        permissions = [
            ("grant_credit", _("Can grant cash coupons and set credit limits")),
            ("record_repayment", _("Can record credit-line repayments")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(coupon_balance__gte=0), name="credit_coupon_not_negative"),
            models.CheckConstraint(condition=Q(credit_used__gte=0), name="credit_used_not_negative"),
            models.CheckConstraint(condition=Q(credit_used__lte=F("credit_limit")), name="credit_used_within_limit"),
        ]

    def __str__(self):
        return str(self.buyer)

    @property
    def credit_available(self):
        return self.credit_limit - self.credit_used


class CreditTransaction(models.Model):
    """Append-only record of every change to a credit account."""

    class Kind(models.TextChoices):
        COUPON_GRANT = "coupon_grant", _("Coupon granted")
        COUPON_SPEND = "coupon_spend", _("Coupon spent")
        LIMIT_SET = "limit_set", _("Credit limit set")
        CREDIT_SPEND = "credit_spend", _("Credit used")
        CREDIT_REPAY = "credit_repay", _("Credit repaid")
        COUPON_REFUND = "coupon_refund", _("Refunded to the coupon balance")
        CREDIT_REFUND = "credit_refund", _("Refunded to the credit line")

    account = models.ForeignKey(
        CreditAccount, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("account")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = MoneyField(_("amount"))
    balance_after = MoneyField(_("balance after"), help_text=_("Coupon balance, or credit used, after this change."))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("credit transaction")
        verbose_name_plural = _("credit transactions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"
