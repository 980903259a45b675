"""Settlement with sellers: an append-only ledger, monthly statements, their review and payout.

How the pieces fit (docs/settlement.md says more):
- A ``LedgerEntry`` is posted when an order line becomes settleable, a refund is paid, usage is
  consumed or operations correct something. Entries are never edited; corrections are entries.
- Each entry belongs to the statement of its seller, trade mode and ``period`` (the Beijing month
  it was posted in; a refund of an entry whose month is still open joins that month, so the two net
  to zero on one statement). Statements are generated from the entries with one set-based SQL
  statement and never copy them: a statement's lines are found by that key.
- A ``SettlementPeriod`` row is closed when the month's statements are generated; nothing is posted
  into a closed month afterwards.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.accounts.models import Seller
from marketplace.catalog.models import JOINT_FLOW_MODES, TradeMode
from marketplace.core.calendar import BEIJING
from marketplace.core.models import EventBase
from marketplace.core.money import CurrencyField, MoneyField
from marketplace.orders.models import OrderLine, Subscription

RATE = {"max_digits": 5, "decimal_places": 4}
# Statements sent from 2024-12-24 00:00 Beijing on skip the seller's confirmation (DOMAIN.md section 5).
CONFIRMATION_CUTOFF = datetime(2024, 12, 24, tzinfo=BEIJING)


class BillingSettings(models.Model):
    """The settlement rules operations may tune (one row; DOMAIN.md section 5 gives the defaults)."""

    generation_day = models.PositiveSmallIntegerField(
        _("statement generation day"),
        default=3,
        help_text=_("Day of the month on which last month's statements are generated (moved past public holidays)."),
    )
    review_sla_working_days = models.PositiveSmallIntegerField(
        _("review deadline (working days)"), default=3, help_text=_("Operations review and send within this.")
    )
    confirmation_cutoff = models.DateTimeField(
        _("seller confirmation ends"),
        default=CONFIRMATION_CUTOFF,
        help_text=_("Statements sent before this time need the seller's confirmation; later ones go to countersign."),
    )
    minimum_payout = MoneyField(_("minimum payout"), default=Decimal("1000.00"))
    general_fee_rate = models.DecimalField(_("general products' platform fee rate"), default=Decimal("0.0500"), **RATE)
    invoice_months = models.PositiveSmallIntegerField(
        _("months to invoice"),
        default=1,
        help_text=_("Joint statements: the seller invoices the platform within this."),
    )
    invoice_reminder_days = models.PositiveSmallIntegerField(
        _("remind this many days before the invoice deadline"), default=7
    )
    export_ttl_days = models.PositiveSmallIntegerField(_("keep exports for (days)"), default=3)

    class Meta:
        verbose_name = _("settlement settings")
        verbose_name_plural = _("settlement settings")

    def __str__(self):
        return str(_("Settlement settings"))

    @classmethod
    def current(cls) -> "BillingSettings":
        return cls.objects.first() or cls.objects.create()


class FeeTier(models.Model):
    """General products: a seller whose monthly paid amount reaches ``threshold`` receives
    ``extra_share`` on top of (1 - base fee). The tiers effective from the latest
    ``effective_from`` on or before a month's first day apply to that month."""

    effective_from = models.DateField(_("effective from"))
    threshold = MoneyField(_("from a monthly paid amount of"))
    extra_share = models.DecimalField(_("extra share"), help_text=_("e.g. 0.0200 for 2%"), **RATE)

    class Meta:
        verbose_name = _("fee tier")
        verbose_name_plural = _("fee tiers")
        ordering = ["-effective_from", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["effective_from", "threshold"], name="feetier_unique_threshold"),
            models.CheckConstraint(condition=Q(extra_share__gte=0) & Q(extra_share__lt=1), name="feetier_share_range"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="feetier_threshold_not_negative"),
        ]

    def __str__(self):
        return f"{self.effective_from}: ≥ {self.threshold} → +{self.extra_share}"


class SettlementPeriod(models.Model):
    """A calendar month (Beijing). Closed when its statements are generated."""

    period = models.DateField(_("month"), unique=True, help_text=_("First day of the month."))
    closed_at = models.DateTimeField(pgettext_lazy("settlement period", "closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("settlement period")
        verbose_name_plural = _("settlement periods")
        ordering = ["-period"]

    def __str__(self):
        return self.period.strftime("%Y-%m")


class LedgerEntry(models.Model):
    """One settleable amount. Append-only: a database trigger refuses updates and deletes."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        USAGE = "usage", _("Pay-per-use consumption")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    seller = models.ForeignKey(
        Seller, on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("seller")
    )
    trade_mode = models.CharField(_("trade mode"), max_length=16, choices=TradeMode.choices)
    period = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    order_line = models.ForeignKey(
        OrderLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("order line"),
    )
    gross = MoneyField(_("gross"))
    fee_rate = models.DecimalField(_("fee rate"), **RATE)
    fee = MoneyField(_("fee"))
    net = MoneyField(_("net"))
    currency = CurrencyField(_("currency"))
    occurred_at = models.DateTimeField(_("occurred"), help_text=_("When it became settleable (Beijing time)."))
    posted_at = models.DateTimeField(_("posted"), default=timezone.now)
    source = models.CharField(
        _("source"), max_length=64, unique=True, help_text=_("What caused it; the same cause never posts twice.")
    )
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("operator"),
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["period", "posted_at", "id"]
        # A statement's lines are found by this key, in entry order (exports page through it by id).
        indexes = [models.Index(fields=["period", "seller", "trade_mode", "id"], name="ledger_statement_key")]
        constraints = [
            models.CheckConstraint(
                condition=Q(net=models.F("gross") - models.F("fee")), name="ledger_net_is_gross_minus_fee"
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | ~Q(reason=""), name="ledger_adjustment_has_reason"
            ),
        ]
        permissions = [("post_adjustment", _("Can post settlement adjustments"))]

    def __str__(self):
        return f"{self.get_kind_display()} {self.net}"


class Statement(models.Model):
    """对账单: one per seller, trade mode and month."""

    class Status(models.TextChoices):
        GENERATED = "generated", _("Pending review")
        CARRIED_OVER = "carried_over", _("Carried over")
        AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting seller confirmation")
        COUNTERSIGNING = "countersigning", _("Countersigning")
        AWAITING_INVOICE = "awaiting_invoice", _("Awaiting invoice")
        PAYABLE = "payable", pgettext_lazy("statement", "Awaiting payment")
        PAID = "paid", pgettext_lazy("statement", "Paid")

    TRANSITIONS = {
        Status.GENERATED: {Status.AWAITING_CONFIRMATION, Status.COUNTERSIGNING},
        Status.AWAITING_CONFIRMATION: {Status.COUNTERSIGNING},
        Status.COUNTERSIGNING: {Status.AWAITING_INVOICE, Status.PAYABLE},
        Status.AWAITING_INVOICE: {Status.PAYABLE},
        Status.PAYABLE: {Status.PAID},
        Status.CARRIED_OVER: set(),
        Status.PAID: set(),
    }

    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="statements", verbose_name=_("seller"))
    trade_mode = models.CharField(_("trade mode"), max_length=16, choices=TradeMode.choices)
    period = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.GENERATED)
    currency = CurrencyField(_("currency"))
    line_count = models.PositiveIntegerField(_("entries"), default=0)
    gross = MoneyField(_("gross"))
    fee = MoneyField(_("fee"))
    net = MoneyField(_("net"))
    extra_share_rate = models.DecimalField(_("extra share rate"), default=0, **RATE)
    extra_share = MoneyField(_("extra share"))
    carried_in = MoneyField(_("carried in"))
    net_payable = MoneyField(_("net payable"))
    carried_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_from",
        verbose_name=_("carried into"),
    )
    generated_at = models.DateTimeField(_("generated"))
    review_due = models.DateField(_("review due"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    invoice_due = models.DateField(_("invoice due"), null=True, blank=True)
    invoice_reminded_at = models.DateTimeField(_("invoice reminder sent"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    payout_reference = models.CharField(_("payout reference"), max_length=64, blank=True, db_default="")

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period", "seller_id", "trade_mode"]
        constraints = [
            models.UniqueConstraint(fields=["seller", "trade_mode", "period"], name="one_statement_per_key"),
            models.CheckConstraint(
                condition=Q(net_payable=models.F("net") + models.F("extra_share") + models.F("carried_in")),
                name="statement_payable_adds_up",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "review_due"]),
            models.Index(fields=["seller", "trade_mode", "-period"]),
        ]
        permissions = [
            ("send_statement", _("Can review and send statements")),
            ("countersign_statement", _("Can countersign statements")),
            ("pay_statement", _("Can record statement payouts")),
        ]

    def __str__(self):
        return f"{self.seller} {self.get_trade_mode_display()} {self.period:%Y-%m}"

    @property
    def is_joint_flow(self) -> bool:
        return self.trade_mode in JOINT_FLOW_MODES

    def review_overdue(self, today=None) -> bool:
        from marketplace.core import calendar

        return self.status == self.Status.GENERATED and (today or calendar.today()) > self.review_due

    def invoice_overdue(self, today=None) -> bool:
        from marketplace.core import calendar

        return (
            self.status == self.Status.AWAITING_INVOICE
            and self.invoice_due is not None
            and (today or calendar.today()) > self.invoice_due
        )


class StatementEvent(EventBase):
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="events")
    status_choices = Statement.Status

    class Meta(EventBase.Meta):
        verbose_name = _("statement event")
        verbose_name_plural = _("statement events")


class Countersignature(models.Model):
    """会签: one approval of a statement's payment by a finance staff member."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="countersignatures")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("countersignature")
        verbose_name_plural = _("countersignatures")
        constraints = [models.UniqueConstraint(fields=["statement", "approver"], name="countersign_once_per_person")]

    def __str__(self):
        return f"{self.statement}: {self.approver}"


class Dispute(models.Model):
    """A seller's objection to a sent statement; operations answer and correct in the next cycle."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("dispute status", "Open")
        ANSWERED = "answered", _("Answered")

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="disputes")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    adjustment = models.OneToOneField(
        LedgerEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispute",
        verbose_name=_("adjustment"),
    )
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement dispute")
        verbose_name_plural = _("statement disputes")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.statement}: {self.reason[:40]}"


class UsageRecord(models.Model):
    """Pay-per-use consumption reported for a purchased service; settled when consumed."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="usage")
    quantity = models.DecimalField(pgettext_lazy("usage", "quantity"), max_digits=18, decimal_places=4)
    unit_price = MoneyField(_("unit price"))
    amount = MoneyField(_("amount"))
    consumed_at = models.DateTimeField(_("consumed"))
    reference = models.CharField(_("reference"), max_length=64, help_text=_("The reporter's id; reported once."))
    created_at = models.DateTimeField(_("reported"), default=timezone.now)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "reference"], name="usage_reported_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="usage_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.subscription}: {self.quantity}"


class ExportJob(models.Model):
    """A background export of a statement's lines; the file is kept for a few days."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        PENDING = "pending", _("Queued")
        RUNNING = "running", _("In progress")
        DONE = "done", pgettext_lazy("export", "Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="exports")
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file_path = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.statement} {self.format}"

    @property
    def progress(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0
