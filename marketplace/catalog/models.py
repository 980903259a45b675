"""The catalog: products with their trade mode and delivery kind, plans, publishing."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Seller
from marketplace.core.i18n import localized
from marketplace.core.models import EventBase
from marketplace.core.money import CurrencyField, MoneyField


class TradeMode(models.TextChoices):
    """商品类型: drives settlement and invoicing (DOMAIN.md section 2)."""

    GENERAL = "general", _("General")
    JOINT = "joint", _("Joint operation")
    STRICT = "strict", _("Strict selection")
    STRICT_SELF = "strict_self", _("Strict selection, self-operated")
    PLATFORM = "platform", _("Platform self-service")


# Every trade mode but general follows the joint settlement flow.
JOINT_FLOW_MODES = frozenset({TradeMode.JOINT, TradeMode.STRICT, TradeMode.STRICT_SELF, TradeMode.PLATFORM})
# Credit-control settings (信控设置) exist for joint-operation and platform products only.
CREDIT_CONTROL_MODES = frozenset({TradeMode.JOINT, TradeMode.PLATFORM})


class DeliveryKind(models.TextChoices):
    SAAS = "saas", _("SaaS")
    LICENSE = "license", _("License")
    MANUAL = "manual", _("Manual service")
    API = "api", _("API")


# Delivery kinds whose money is always held under service supervision.
ALWAYS_SUPERVISED = frozenset({DeliveryKind.LICENSE, DeliveryKind.MANUAL})


class Category(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]

    def __str__(self):
        return self.name

    @property
    def name(self):
        return localized(self, "name")


class Product(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING_REVIEW = "pending_review", _("Pending review")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")
        DELISTED = "delisted", _("Delisted")

    TRANSITIONS = {
        Status.DRAFT: {Status.PENDING_REVIEW},
        Status.PENDING_REVIEW: {Status.PUBLISHED, Status.REJECTED, Status.DRAFT},
        Status.REJECTED: {Status.PENDING_REVIEW, Status.DRAFT},
        Status.PUBLISHED: {Status.DELISTED},
        Status.DELISTED: {Status.PUBLISHED, Status.DRAFT},
    }
    EDITABLE = frozenset({Status.DRAFT, Status.REJECTED, Status.DELISTED})

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="products", verbose_name=_("seller"))
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    trade_mode = models.CharField(_("trade mode"), max_length=16, choices=TradeMode.choices)
    delivery_kind = models.CharField(_("delivery kind"), max_length=16, choices=DeliveryKind.choices)
    supervised = models.BooleanField(
        _("service supervision"),
        default=False,
        help_text=_("Money is held until the buyer accepts delivery. Always on for License and manual service."),
    )
    auto_deploy = models.BooleanField(
        _("auto-deployment"), default=False, help_text=_("License products: buyers can start deployment themselves.")
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    summary_zh = models.CharField(_("summary (Chinese)"), max_length=300, blank=True)
    summary_en = models.CharField(_("summary (English)"), max_length=300, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    delist_reason = models.TextField(_("delisting reason"), blank=True)
    delisted_by_platform = models.BooleanField(_("delisted by the platform"), default=False)
    deploy_parameters = models.JSONField(
        _("deployment parameters"),
        default=list,
        blank=True,
        help_text=_(
            'License auto-deployment: what the buyer fills in, e.g. [{"name": "host", "label": "Server address"}].'
        ),
    )
    credit_coupon_enabled = models.BooleanField(_("credit cash-coupon payment"), default=False)
    credit_line_enabled = models.BooleanField(_("credit-line payment"), default=False)
    ops_fee_rate = models.DecimalField(
        _("operations-management fee rate"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Joint-flow products: the platform's share of each order, e.g. 0.2000 for 20%. Set by operations."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        permissions = [("review_product", _("Can review, delist and relist products and set fee rates"))]
        ordering = ["-published_at", "-created_at"]
        indexes = [
            models.Index(fields=["status", "trade_mode", "delivery_kind"]),
            models.Index(fields=["seller", "status"]),
            models.Index(fields=["status", "submitted_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ops_fee_rate__isnull=True)
                | (models.Q(ops_fee_rate__gte=0) & models.Q(ops_fee_rate__lte=1)),
                name="product_ops_fee_rate_between_0_and_1",
            )
        ]

    def __str__(self):
        return self.name

    name = property(lambda self: localized(self, "name"))
    summary = property(lambda self: localized(self, "summary"))
    description = property(lambda self: localized(self, "description"))

    @property
    def is_joint_flow(self) -> bool:
        return self.trade_mode in JOINT_FLOW_MODES

    @property
    def has_credit_control(self) -> bool:
        return self.trade_mode in CREDIT_CONTROL_MODES

    @property
    def is_supervised(self) -> bool:
        """Whether paid lines of this product enter service supervision."""
        return self.delivery_kind in ALWAYS_SUPERVISED or (self.delivery_kind == DeliveryKind.SAAS and self.supervised)


class Plan(models.Model):
    """A SKU: how the product is priced."""

    class ChargingMode(models.TextChoices):
        PERIOD = "PERIOD", _("Per period")
        ONE_TIME = "ONE_TIME", _("One-time")
        ON_DEMAND = "ON_DEMAND", _("Pay per use")

    class PeriodType(models.TextChoices):
        MONTH = "month", _("Month")
        YEAR = "year", _("Year")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="plans", verbose_name=_("product"))
    sku_code = models.CharField(_("SKU code"), max_length=64)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    charging_mode = models.CharField(_("charging mode"), max_length=16, choices=ChargingMode.choices)
    period_type = models.CharField(_("period"), max_length=8, choices=PeriodType.choices, blank=True)
    price = MoneyField(_("price"))
    currency = CurrencyField(_("currency"))
    usage_unit = models.CharField(_("usage unit"), max_length=32, blank=True, help_text=_("Pay-per-use plans."))
    trial_days = models.PositiveSmallIntegerField(_("free trial days"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["product", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "sku_code"], name="plan_sku_unique_per_product"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(
                condition=(models.Q(charging_mode="PERIOD") & ~models.Q(period_type=""))
                | (~models.Q(charging_mode="PERIOD") & models.Q(period_type="")),
                name="plan_period_type_iff_periodic",
            ),
        ]

    def __str__(self):
        return f"{self.product} / {self.name}"

    name = property(lambda self: localized(self, "name"))

    @property
    def price_label(self):
        from .selectors import plan_price_label

        return plan_price_label(self)


class ProductEvent(EventBase):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="events")
    status_choices = Product.Status

    class Meta(EventBase.Meta):
        verbose_name = _("product event")
        verbose_name_plural = _("product events")
