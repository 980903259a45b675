"""Statements: generation (set-based, idempotent) and their lifecycle to payout."""

from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.models import User
from marketplace.accounts.roles import seller_users
from marketplace.core import calendar
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, require_perm
from marketplace.core.services import notify
from marketplace.core.state import check_transition, lock, move, record

from ..models import BillingSettings, Countersignature, Dispute, LedgerEntry, SettlementPeriod, Statement
from .ledger import ledger_adjust, period_of

# One statement per seller, trade mode and month, from that month's ledger entries plus what
# earlier statements carried over; general statements get the fee-tier extra share.
GENERATE_SQL = """
WITH agg AS (
    SELECT seller_id, trade_mode, COUNT(*) AS line_count, SUM(gross) AS gross, SUM(fee) AS fee, SUM(net) AS net
    FROM billing_ledgerentry WHERE period = %(period)s GROUP BY seller_id, trade_mode
), carry AS (
    SELECT seller_id, trade_mode, SUM(net_payable) AS carried_in
    FROM billing_statement
    WHERE status = 'carried_over' AND carried_into_id IS NULL AND period < %(period)s
    GROUP BY seller_id, trade_mode
), tiers AS (
    SELECT threshold, extra_share FROM billing_feetier
    WHERE effective_from = (SELECT MAX(effective_from) FROM billing_feetier WHERE effective_from <= %(period)s)
), keyed AS (
    SELECT a.seller_id, a.trade_mode, a.line_count, a.gross, a.fee, a.net, COALESCE(c.carried_in, 0) AS carried_in
    FROM agg a LEFT JOIN carry c ON c.seller_id = a.seller_id AND c.trade_mode = a.trade_mode
    UNION ALL
    SELECT c.seller_id, c.trade_mode, 0, 0, 0, 0, c.carried_in FROM carry c
    WHERE NOT EXISTS (SELECT 1 FROM agg a WHERE a.seller_id = c.seller_id AND a.trade_mode = c.trade_mode)
), rated AS (
    SELECT keyed.*, CASE WHEN trade_mode = 'general' THEN COALESCE(
               (SELECT t.extra_share FROM tiers t WHERE t.threshold <= keyed.gross ORDER BY t.threshold DESC LIMIT 1),
               0) ELSE 0 END AS rate
    FROM keyed
), shared AS (
    SELECT rated.*, ROUND(gross * rate, 2) AS extra_share FROM rated
)
INSERT INTO billing_statement (
    seller_id, trade_mode, period, status, currency, line_count, gross, fee, net,
    extra_share_rate, extra_share, carried_in, net_payable, generated_at, review_due
)
SELECT seller_id, trade_mode, %(period)s,
       CASE WHEN net + extra_share + carried_in < CAST(%(minimum)s AS DECIMAL) THEN 'carried_over' ELSE 'generated' END,
       'CNY', line_count, gross, fee, net, rate, extra_share, carried_in, net + extra_share + carried_in,
       %(now)s, %(review_due)s
FROM shared WHERE true
ON CONFLICT (seller_id, trade_mode, period) DO NOTHING
"""

LINK_CARRIED_SQL = """
UPDATE billing_statement SET carried_into_id = (
    SELECT n.id FROM billing_statement n
    WHERE n.seller_id = billing_statement.seller_id AND n.trade_mode = billing_statement.trade_mode
      AND n.period = %(period)s
)
WHERE status = 'carried_over' AND carried_into_id IS NULL AND period < %(period)s
  AND EXISTS (
    SELECT 1 FROM billing_statement n
    WHERE n.seller_id = billing_statement.seller_id AND n.trade_mode = billing_statement.trade_mode
      AND n.period = %(period)s AND n.generated_at = %(now)s
  )
"""


def parse_period(text: str) -> date:
    try:
        year, month = (int(p) for p in text.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(_("A period is written YYYY-MM.")) from exc


def statements_generate(*, period: date, now: datetime | None = None, dry_run: bool = False) -> dict:
    """Generate the statements of a finished month. Idempotent: a second run, a retry or a run
    after a crash leaves exactly one statement per seller, trade mode and month."""
    now = now or timezone.now()
    period = period.replace(day=1)
    if period >= period_of(now):
        raise ValidationFailed(_("Only finished months can be settled."))
    rules = BillingSettings.current()
    with transaction.atomic():
        SettlementPeriod.objects.get_or_create(period=period)
        period_row = SettlementPeriod.objects.select_for_update().get(period=period)  # posting into it waits
        earlier_open = (
            LedgerEntry.objects.filter(period__lt=period)
            .exclude(period__in=SettlementPeriod.objects.filter(closed_at__isnull=False).values("period"))
            .values_list("period", flat=True)
            .first()
        )
        if earlier_open is not None:
            raise Conflict(_("Generate %(month)s first.") % {"month": earlier_open.strftime("%Y-%m")})
        existing = Statement.objects.filter(period=period).count()
        review_due = calendar.add_working_days(calendar.today(now), rules.review_sla_working_days)
        params = {
            "period": period,
            "now": now,
            "review_due": review_due,
            "minimum": rules.minimum_payout,
        }
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The plan is a simple scan and aggregate; compiling it (JIT) costs more than it saves.
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(GENERATE_SQL, params)
            created = cursor.rowcount
            cursor.execute(LINK_CARRIED_SQL, params)
            # No event row per statement: its generated_at is the first line of its timeline.
        if period_row.closed_at is None:
            period_row.closed_at = now
            period_row.save(update_fields=["closed_at"])
        lines = Statement.objects.filter(period=period).aggregate(n=Sum("line_count"))["n"] or 0
        if dry_run:
            transaction.set_rollback(True)
    return {"period": period.strftime("%Y-%m"), "created": created, "existing": existing, "lines": lines}


def generation_date(year: int, month: int, *, day: int | None = None) -> date:
    """When a month's statements for the previous month are due: the generation day, or the next
    working day when that day is a public holiday."""
    day = day or BillingSettings.current().generation_day
    when = date(year, month, min(day, 28))
    if calendar.is_holiday(when):
        when = calendar.next_working_day(when)
    return when


def statements_generate_due(*, now: datetime | None = None) -> dict | None:
    """The scheduled job: on (or after) this month's generation date, settle last month once, after
    any earlier month a missed run left open. Returns last month's result."""
    now = now or timezone.now()
    today = calendar.today(now)
    if today < generation_date(today.year, today.month):
        return None
    previous = (today.replace(day=1) - relativedelta(months=1)).replace(day=1)
    if SettlementPeriod.objects.filter(period=previous, closed_at__isnull=False).exists():
        return None
    closed = SettlementPeriod.objects.filter(closed_at__isnull=False).values("period")
    behind = (
        LedgerEntry.objects.filter(period__lt=previous)
        .exclude(period__in=closed)
        .order_by()
        .values_list("period", flat=True)
        .distinct()
    )
    for period in sorted(behind):
        statements_generate(period=period, now=now)
    return statements_generate(period=previous, now=now)


# --- lifecycle ---------------------------------------------------------------------------------


def _locked(statement_id) -> Statement:
    return lock(Statement.objects.select_related("seller"), statement_id, _("No such statement."))


def _seller_people(statement: Statement) -> list[User]:
    return seller_users(statement.seller_id, ["admin", "finance"])


def _tell_seller(statement: Statement, subject, template: str, **context) -> None:
    notify(
        users=_seller_people(statement),
        subject=subject,
        subject_params={"period": statement.period.strftime("%Y-%m")},
        template=template,
        context={"statement": statement, **context},
        link=reverse("seller:statement", args=[statement.pk]),
        extra_emails=[statement.seller.bound_email],
    )


def statement_send(*, actor: User, statement_id, now: datetime | None = None) -> Statement:
    """Operations reviewed the statement and send it to the seller. Sent before the confirmation
    cut-off, it waits for the seller's confirmation; later, it goes straight to countersign."""
    require_perm(actor, "billing.send_statement")
    now = now or timezone.now()
    with transaction.atomic():
        statement = _locked(statement_id)
        needs_confirmation = now < BillingSettings.current().confirmation_cutoff
        target = Statement.Status.AWAITING_CONFIRMATION if needs_confirmation else Statement.Status.COUNTERSIGNING
        statement.sent_at = now
        move(statement, target, actor=actor, note=gettext_noop("Sent to the seller"), fields=["sent_at"], at=now)
        _tell_seller(
            statement, gettext_lazy("Your statement for %(period)s is ready"), "notifications/statement_sent.txt"
        )
    return statement


def _seller_of(actor: User, statement: Statement):
    membership = getattr(actor, "seller_membership", None)
    if membership is None or membership.seller_id != statement.seller_id:
        raise NotFound(_("No such statement."))
    if membership.role not in ("admin", "finance"):
        raise NotAllowed(_("Only the seller's administrators and finance staff can do this."))
    return membership


def statement_confirm(*, actor: User, statement_id, now: datetime | None = None) -> Statement:
    """The seller confirms a statement (statements sent before the confirmation cut-off)."""
    now = now or timezone.now()
    with transaction.atomic():
        statement = _locked(statement_id)
        _seller_of(actor, statement)
        # The table also lets operations send a statement straight to countersign: a seller may only
        # confirm one that waits for it, never skip the review of one not sent yet.
        check_transition(
            {Statement.Status.AWAITING_CONFIRMATION: {Statement.Status.COUNTERSIGNING}},
            statement.status,
            Statement.Status.COUNTERSIGNING,
            choices=Statement.Status,
        )
        if statement.disputes.filter(status=Dispute.Status.OPEN).exists():
            raise Conflict(_("Wait for the answer to your dispute before confirming."))
        statement.confirmed_at = now
        move(
            statement,
            Statement.Status.COUNTERSIGNING,
            actor=actor,
            note=gettext_noop("Confirmed by the seller"),
            fields=["confirmed_at"],
            at=now,
        )
    return statement


def statement_dispute(*, actor: User, statement_id, reason: str, now: datetime | None = None) -> Dispute:
    """The seller disputes a sent statement; operations answer and correct in the next cycle."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say what is wrong."), field_errors={"reason": [_("Required.")]})
    with transaction.atomic():
        statement = _locked(statement_id)
        _seller_of(actor, statement)
        if statement.status in (Statement.Status.GENERATED, Statement.Status.CARRIED_OVER):
            raise Conflict(_("Only a statement that was sent to you can be disputed."))
        if statement.disputes.filter(status=Dispute.Status.OPEN).exists():
            raise Conflict(_("This statement already has an open dispute."))
        dispute = Dispute.objects.create(statement=statement, raised_by=actor, reason=reason, created_at=now)
        record(statement, actor=actor, note=gettext_noop("Disputed"), message=reason, at=now)
        staff = User.objects.filter(is_staff=True, groups__name__in=["finance", "operations"]).distinct()
        notify(
            users=staff,
            subject=gettext_lazy("A seller disputes statement %(period)s"),
            subject_params={"period": statement.period.strftime("%Y-%m")},
            template="notifications/statement_disputed.txt",
            context={"statement": statement, "dispute": dispute},
            link=reverse("admin:billing_dispute_change", args=[dispute.pk]),
            email=False,
        )
    return dispute


def dispute_answer(*, actor: User, dispute_id, answer: str, adjustment=None, now: datetime | None = None) -> Dispute:
    """Operations answer a dispute, optionally with a correcting entry in the open month."""
    require_perm(actor, "billing.send_statement")
    now = now or timezone.now()
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed(_("Write the answer."), field_errors={"answer": [_("Required.")]})
    with transaction.atomic():
        dispute = lock(Dispute.objects.select_related("statement__seller"), dispute_id, _("No such dispute."))
        if dispute.status != Dispute.Status.OPEN:
            raise Conflict(_("This dispute was answered already."))
        statement = dispute.statement
        if adjustment not in (None, ""):
            dispute.adjustment = ledger_adjust(
                actor=actor,
                seller_id=statement.seller_id,
                trade_mode=statement.trade_mode,
                amount=adjustment,
                reason=_("Correction of statement %(period)s: %(answer)s")
                % {"period": statement.period.strftime("%Y-%m"), "answer": answer},
                now=now,
            )
        dispute.status = Dispute.Status.ANSWERED
        dispute.answer = answer
        dispute.answered_by = actor
        dispute.answered_at = now
        dispute.save(update_fields=["status", "answer", "answered_by", "answered_at", "adjustment"])
        record(statement, actor=actor, note=gettext_noop("Dispute answered"), message=answer, at=now)
        _tell_seller(
            statement,
            gettext_lazy("Your dispute of statement %(period)s was answered"),
            "notifications/statement_dispute_answered.txt",
            dispute=dispute,
        )
    return dispute


def statement_countersign(*, actor: User, statement_id, now: datetime | None = None) -> Statement:
    """会签: two different finance staff approve the payment."""
    require_perm(actor, "billing.countersign_statement")
    now = now or timezone.now()
    with transaction.atomic():
        statement = _locked(statement_id)
        if statement.status != Statement.Status.COUNTERSIGNING:
            raise Conflict(_("This statement is not waiting for countersignature."))
        if statement.countersignatures.filter(approver=actor).exists():
            raise Conflict(_("You approved this statement already: a second, different person must countersign."))
        Countersignature.objects.create(statement=statement, approver=actor, created_at=now)
        if statement.countersignatures.count() < 2:
            record(statement, actor=actor, note=gettext_noop("First approval"), at=now)
            return statement
        if statement.is_joint_flow:
            months = BillingSettings.current().invoice_months
            statement.invoice_due = calendar.today(now) + relativedelta(months=months)
            move(
                statement,
                Statement.Status.AWAITING_INVOICE,
                actor=actor,
                note=gettext_noop("Countersigned"),
                fields=["invoice_due"],
                at=now,
            )
            _tell_seller(
                statement,
                gettext_lazy("Please invoice statement %(period)s"),
                "notifications/statement_invoice_requested.txt",
            )
        else:
            move(statement, Statement.Status.PAYABLE, actor=actor, note=gettext_noop("Countersigned"), at=now)
    return statement


def statement_invoice_verified(*, statement: Statement, actor: User, now: datetime) -> None:
    """Called when operations verify the seller's invoice (invoicing app)."""
    move(statement, Statement.Status.PAYABLE, actor=actor, note=gettext_noop("Invoice verified"), at=now)


def statement_pay(*, actor: User, statement_id, payout_reference: str, now: datetime | None = None) -> Statement:
    """The platform paid the statement: record the payout reference."""
    require_perm(actor, "billing.pay_statement")
    now = now or timezone.now()
    reference = (payout_reference or "").strip()
    if not reference:
        raise ValidationFailed(_("Enter the payout reference."), field_errors={"payout_reference": [_("Required.")]})
    with transaction.atomic():
        statement = _locked(statement_id)
        statement.paid_at = now
        statement.payout_reference = reference[:64]
        move(
            statement,
            Statement.Status.PAID,
            actor=actor,
            note=gettext_noop("Paid out, reference %(reference)s"),
            params={"reference": reference[:64]},
            fields=["paid_at", "payout_reference"],
            at=now,
        )
        _tell_seller(statement, gettext_lazy("Statement %(period)s is paid"), "notifications/statement_paid.txt")
    return statement


def statements_remind_invoices(*, now: datetime | None = None) -> int:
    """Remind sellers whose invoice deadline is near (once per statement)."""
    now = now or timezone.now()
    rules = BillingSettings.current()
    horizon = calendar.today(now) + timedelta(days=rules.invoice_reminder_days)
    reminded = 0
    due = Statement.objects.filter(
        status=Statement.Status.AWAITING_INVOICE, invoice_due__lte=horizon, invoice_reminded_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            statement = (
                Statement.objects.select_for_update()
                .select_related("seller")
                .filter(Q(pk=pk) & Q(invoice_reminded_at__isnull=True))
                .first()
            )
            if statement is None:
                continue
            statement.invoice_reminded_at = now
            statement.save(update_fields=["invoice_reminded_at"])
            _tell_seller(
                statement,
                gettext_lazy("Reminder: invoice statement %(period)s"),
                "notifications/statement_invoice_reminder.txt",
            )
            reminded += 1
    return reminded
