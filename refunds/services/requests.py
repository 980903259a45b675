"""Refund requests (DOMAIN.md section 8): who may be paid back how much, the negotiation with the
seller, escalation to operations, and paying back to the original method.

Eligibility is one function, ``refund_eligibility``: the pages explain its answer before the buyer
asks, and every request is checked against it again. Paying back is a background job: it records
each attempt with the request's idempotency key, so a retry never pays twice, and then records the
refund itself (``records.refund_record``: the line's refunded amount under a row lock and a CHECK
constraint, the ledger, the order's state, a released SaaS instance).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from invoicing.services.buyer_invoices import invoice_blocks_refund
from marketplace.accounts.models import User
from marketplace.accounts.roles import SELLER_CAPABILITIES, seller_can, seller_users
from marketplace.catalog.models import DeliveryKind
from marketplace.core import calendar
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.money import ZERO, quantize
from marketplace.core.resilience import send_after_commit
from marketplace.core.services import notify
from marketplace.core.state import lock, move, record
from marketplace.orders.gateway import gateway
from marketplace.orders.models import CreditAccount, CreditTransaction, Order, OrderLine, OrderType, PaymentMethod
from marketplace.orders.selectors import buyer_scope

from ..models import RefundAttempt, RefundRequest
from .records import refund_record

R = RefundRequest.Status
R_OPEN = RefundRequest.OPEN
K = RefundRequest.Kind
S = OrderLine.Supervision


def _rules() -> dict:
    return settings.MARKETPLACE["REFUNDS"]


@dataclass(frozen=True)
class Eligibility:
    """What the buyer may ask for on an order line: ``kind`` (None when refused), the most that may
    be refunded, whether it is a full refund without approval, why, and the no-reason counter."""

    kind: str | None
    max_amount: Decimal
    reason: str
    full: bool = False
    no_reason_used: int = 0
    no_reason_limit: int = 0

    @property
    def allowed(self) -> bool:
        return self.kind is not None


def no_reason_count(buyer_id: int, now) -> int:
    """No-reason refunds of this buyer account in the calendar year of ``now`` (Beijing time)."""
    year = calendar.beijing(now).year
    start, _end = calendar.month_range(year, 1)
    end, _ = calendar.month_range(year + 1, 1)
    return (
        RefundRequest.objects.filter(
            kind=K.NO_REASON, order_line__order__buyer_id=buyer_id, created_at__gte=start, created_at__lt=end
        )
        .exclude(status__in=[R.REJECTED, R.WITHDRAWN, R.DECLINED])
        .count()
    )


def refund_eligibility(*, line: OrderLine, now=None) -> Eligibility:
    """The rule that applies to this order line now (DOMAIN.md section 8)."""
    now = now or timezone.now()
    order = line.order
    left = quantize(line.amount - line.refunded)
    limit = _rules()["NO_REASON_PER_YEAR"]
    used = no_reason_count(order.buyer_id, now)

    def refused(reason: str) -> Eligibility:
        return Eligibility(None, ZERO, reason, no_reason_used=used, no_reason_limit=limit)

    if order.status != Order.Status.PAID:
        return refused(_("Only paid orders are refunded."))
    if left <= ZERO:
        return refused(_("This line is refunded in full already."))
    if invoice_blocks_refund(order_id=order.pk):
        return refused(_("An invoice of this order is out: return or void it first (My invoices)."))
    if line.supervision in (S.COMPLETED, S.CLOSED):
        return refused(_("The guarantee period is over: delivery was accepted or supervision closed."))
    if line.validity_end and line.validity_end <= now:
        return refused(_("The service is past its validity."))
    if order.order_type == OrderType.RENEW:
        if line.validity_start and line.validity_start <= now:
            return refused(_("This renewal is already in effect."))
        return Eligibility(
            K.RENEWAL_NOT_EFFECTIVE,
            left,
            _("A renewal not yet in effect is refunded in full, without the seller's approval."),
            full=True,
            no_reason_used=used,
            no_reason_limit=limit,
        )
    if line.supervision == S.IN_PROGRESS:
        return Eligibility(
            K.NEGOTIATED,
            left,
            _("Within the guarantee period: ask for any amount up to CNY %(left)s; the seller approves it.")
            % {"left": left},
            no_reason_used=used,
            no_reason_limit=limit,
        )
    # Not supervised: SaaS has a 5-day no-reason refund, a limited number a year.
    if line.product.delivery_kind != DeliveryKind.SAAS:
        return refused(_("This order is not under supervision and has no no-reason refund."))
    if not order.paid_at or now - order.paid_at > timedelta(days=_rules()["NO_REASON_DAYS"]):
        return refused(_("The 5-day no-reason refund period is over."))
    if used >= limit:
        return refused(
            _("You have used your %(n)s no-reason refunds for %(year)s.")
            % {"n": limit, "year": calendar.beijing(now).year}
        )
    return Eligibility(
        K.NO_REASON,
        left,
        _("Within 5 days of payment: a full refund without a reason (%(used)s of %(n)s used this year).")
        % {"used": used, "n": limit},
        full=True,
        no_reason_used=used,
        no_reason_limit=limit,
    )


# --- asking ----------------------------------------------------------------------------------------


def _amount(value, field="amount") -> Decimal:
    try:
        amount = quantize(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationFailed(_("Enter an amount."), field_errors={field: [_("Enter an amount.")]})
    return amount


def _new_number(now) -> str:
    return "R" + timezone.localtime(now).strftime("%Y%m%d") + f"{secrets.randbelow(10**8):08d}"


def refund_request_create(
    *, actor: User, line_id, reason_code: str, reason_text: str = "", amount=None, now: datetime | None = None
) -> RefundRequest:
    """Ask for a refund on an order line, under the rule that applies. Full refunds are approved at
    once; negotiated ones wait for the seller."""
    now = now or timezone.now()
    if reason_code not in RefundRequest.Reason.values:
        raise ValidationFailed(_("Choose a reason."), field_errors={"reason_code": [_("Choose a reason.")]})
    reason_text = (reason_text or "").strip()[:2000]
    with transaction.atomic():
        line = lock(
            OrderLine.objects.select_related("order", "product").filter(
                order__in=Order.objects.filter(buyer_scope(actor))
            ),
            line_id,
            _("No such order line."),
        )
        if RefundRequest.objects.filter(order_line=line, status__in=R_OPEN).exists():
            raise Conflict(_("A refund request for this line is already open."))
        decision = refund_eligibility(line=line, now=now)
        if not decision.allowed:
            raise Conflict(decision.reason)
        if decision.full:
            amount = decision.max_amount
        else:
            amount = _amount(amount)
            if amount <= ZERO or amount > decision.max_amount:
                message = _("Ask for more than 0 and at most CNY %(max)s.") % {"max": decision.max_amount}
                raise ValidationFailed(message, field_errors={"amount": [message]})
        try:
            with transaction.atomic():
                request = RefundRequest.objects.create(
                    number=_new_number(now),
                    order_line=line,
                    requested_by=actor,
                    kind=decision.kind,
                    reason_code=reason_code,
                    reason_text=reason_text,
                    amount_requested=amount,
                    created_at=now,
                    answer_due_at=None if decision.full else now + timedelta(days=_rules()["SELLER_ANSWER_DAYS"]),
                )
        except IntegrityError as exc:
            raise Conflict(_("A refund request for this line is already open.")) from exc
        record(request, actor=actor, from_status="", note=gettext_noop("Refund requested"), message=reason_text, at=now)
        if decision.full:
            _approve(request, actor, amount, now, note=gettext_noop("Approved: a full refund under the rules"))
        else:
            _tell_seller(request, gettext_lazy("Refund request %(number)s"), "notifications/refund_requested.txt")
    return request


def _approve(request: RefundRequest, actor, amount: Decimal, now, *, note) -> None:
    request.amount, request.approved_at = amount, now
    request.pay_by = now + timedelta(hours=_rules()["PAY_WITHIN_HOURS"])
    move(request, R.APPROVED, actor=actor, note=note, fields=("amount", "approved_at", "pay_by"), at=now)
    from ..tasks import pay_refund

    send_after_commit(lambda: pay_refund.delay(request.pk))
    _tell_buyer(request, gettext_lazy("Refund %(number)s is approved"), "notifications/refund_approved.txt")


# --- the seller's answer ---------------------------------------------------------------------------


def _seller_request(actor: User, request_id) -> RefundRequest:
    request = lock(RefundRequest.objects.select_related("order_line__order"), request_id, _("No such refund request."))
    membership = getattr(actor, "seller_membership", None)
    if membership is not None and membership.seller_id == request.order_line.seller_id:
        if seller_can(membership, "refunds.manage"):
            return request
        raise NotAllowed(_("Only the seller's administrators and finance staff answer refund requests."))
    if actor.is_staff and actor.has_perm("refunds.decide_refundrequest"):
        return request
    raise NotFound(_("No such refund request."))


def _buyer_request(actor: User, request_id) -> RefundRequest:
    return lock(
        RefundRequest.objects.select_related("order_line__order").filter(
            order_line__order__in=Order.objects.filter(buyer_scope(actor))
        ),
        request_id,
        _("No such refund request."),
    )


def _fresh_max(request: RefundRequest) -> Decimal:
    line = OrderLine.objects.select_for_update().get(pk=request.order_line_id)
    return quantize(line.amount - line.refunded)


def refund_request_approve(*, actor: User, request_id, now=None) -> RefundRequest:
    """The seller (or operations, once escalated) agrees to the amount asked."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _seller_request(actor, request_id)
        if request.status not in (R.REQUESTED, R.ESCALATED):
            raise InvalidTransition(_("This request is not waiting for your answer."))
        if request.amount_requested > _fresh_max(request):
            raise Conflict(_("Less is left to refund on this line than was asked; propose another amount."))
        _approve(request, actor, request.amount_requested, now, note=gettext_noop("Approved"))
    return request


def refund_request_reject(*, actor: User, request_id, reason: str, now=None) -> RefundRequest:
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why."), field_errors={"reason": [_("Say why.")]})
    with transaction.atomic():
        request = _seller_request(actor, request_id)
        request.rejection_reason = reason[:2000]
        move(
            request,
            R.REJECTED,
            actor=actor,
            note=gettext_noop("Rejected"),
            message=reason,
            fields=("rejection_reason",),
            at=now,
        )
        _tell_buyer(
            request, gettext_lazy("Refund request %(number)s was rejected"), "notifications/refund_rejected.txt"
        )
    return request


def refund_request_propose(*, actor: User, request_id, amount, now=None) -> RefundRequest:
    """The seller offers another amount; the buyer accepts or declines it."""
    now = now or timezone.now()
    amount = _amount(amount)
    with transaction.atomic():
        request = _seller_request(actor, request_id)
        most = _fresh_max(request)
        if amount <= ZERO or amount > most:
            message = _("Propose more than 0 and at most CNY %(max)s.") % {"max": most}
            raise ValidationFailed(message, field_errors={"amount": [message]})
        request.amount_proposed = amount
        move(
            request,
            R.PROPOSED,
            actor=actor,
            note=gettext_noop("Proposed CNY %(amount)s instead"),
            params={"amount": amount},
            fields=("amount_proposed",),
            at=now,
        )
        _tell_buyer(
            request, gettext_lazy("The seller proposes another refund amount"), "notifications/refund_proposed.txt"
        )
    return request


def refund_proposal_accept(*, actor: User, request_id, now=None) -> RefundRequest:
    now = now or timezone.now()
    with transaction.atomic():
        request = _buyer_request(actor, request_id)
        if request.status != R.PROPOSED:
            raise InvalidTransition(_("There is no proposal to accept."))
        if request.amount_proposed > _fresh_max(request):
            raise Conflict(_("Less is left to refund on this line than was proposed."))
        _approve(request, actor, request.amount_proposed, now, note=gettext_noop("The buyer accepted the proposal"))
    return request


def refund_proposal_decline(*, actor: User, request_id, now=None) -> RefundRequest:
    now = now or timezone.now()
    with transaction.atomic():
        request = _buyer_request(actor, request_id)
        move(request, R.DECLINED, actor=actor, note=gettext_noop("The buyer declined the proposal"), at=now)
        _tell_seller(
            request, gettext_lazy("Refund request %(number)s: proposal declined"), "notifications/refund_declined.txt"
        )
    return request


def refund_request_withdraw(*, actor: User, request_id, now=None) -> RefundRequest:
    now = now or timezone.now()
    with transaction.atomic():
        request = _buyer_request(actor, request_id)
        move(request, R.WITHDRAWN, actor=actor, note=gettext_noop("Withdrawn by the buyer"), at=now)
    return request


def refunds_escalate_due(*, now=None) -> int:
    """Requests the seller did not answer in time go to operations."""
    now = now or timezone.now()
    due = list(
        RefundRequest.objects.filter(status=R.REQUESTED, answer_due_at__lte=now).values_list("pk", flat=True)[:1000]
    )
    done = 0
    for pk in due:
        with transaction.atomic():
            request = (
                RefundRequest.objects.select_for_update(skip_locked=True).filter(pk=pk, status=R.REQUESTED).first()
            )
            if request is None:
                continue
            move(
                request,
                R.ESCALATED,
                actor=None,
                note=gettext_noop("The seller did not answer within %(days)s days: escalated to operations"),
                params={"days": _rules()["SELLER_ANSWER_DAYS"]},
                at=now,
            )
            done += 1
    return done


# --- paying back -----------------------------------------------------------------------------------


def refund_pay(*, request_id, now=None) -> bool:
    """Pay an approved refund back to the original method, once. The attempt is recorded with the
    request's idempotency key; only one successful attempt per key can exist (a partial unique
    index), and the gateway is asked with the same key, so a retry never pays twice."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            RefundRequest.objects.select_for_update(skip_locked=True)
            .select_related("order_line__order")
            .filter(pk=request_id, status=R.APPROVED)
            .first()
        )
        if request is None:
            return False
        order = request.order_line.order
        key = f"refund-{request.number}"
        method = order.payment_method or PaymentMethod.ONLINE
        try:
            with transaction.atomic():
                # Recorded first (it may refuse: an invoice out, too little left), then paid: no
                # money leaves for a refund that is not recorded; a failed payment undoes the record.
                refund = refund_record(
                    line_id=request.order_line_id,
                    amount=request.amount,
                    reason=str(request.get_reason_code_display())
                    + (f": {request.reason_text}" if request.reason_text else ""),
                    actor=None,
                    now=now,
                )
                reference = _pay_back(order, request.amount, method, key, now)
                RefundAttempt.objects.create(
                    request=request, idempotency_key=key, method=method, ok=True, reference=reference, created_at=now
                )
        except Exception as exc:
            RefundAttempt.objects.create(
                request=request,
                idempotency_key=key,
                method=method,
                ok=False,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                created_at=now,
            )
            return False
        request.refund, request.paid_at = refund, now
        move(request, R.PAID, actor=None, note=gettext_noop("Paid back"), fields=("refund", "paid_at"), at=now)
        _tell_buyer(request, gettext_lazy("Refund %(number)s is paid back"), "notifications/refund_paid.txt")
    return True


def _pay_back(order: Order, amount: Decimal, method: str, key: str, now) -> str:
    if method == PaymentMethod.ONLINE:
        result = gateway().refund(amount=amount, currency=order.currency, reference=key)
        if not result.ok:
            raise RuntimeError(result.message or "the gateway refused the refund")
        return result.reference
    account = CreditAccount.objects.select_for_update().get(buyer_id=order.buyer_id)
    if method == PaymentMethod.COUPON:
        account.coupon_balance += amount
        kind = CreditTransaction.Kind.COUPON_REFUND
    else:
        account.credit_used = max(ZERO, account.credit_used - amount)
        kind = CreditTransaction.Kind.CREDIT_REFUND
    account.save(update_fields=["coupon_balance", "credit_used"])
    after = account.coupon_balance if method == PaymentMethod.COUPON else account.credit_used
    CreditTransaction.objects.create(
        account=account, kind=kind, amount=amount, balance_after=after, order=order, created_at=now
    )
    return f"credit-{account.pk}"


def refunds_pay_due(*, now=None) -> int:
    """Approved refunds not paid yet (a lost task, a failed attempt): try again."""
    now = now or timezone.now()
    due = RefundRequest.objects.filter(status=R.APPROVED).order_by("approved_at").values_list("pk", flat=True)[:200]
    return sum(refund_pay(request_id=pk, now=now) for pk in list(due))


# --- notices ---------------------------------------------------------------------------------------


def _tell_buyer(request: RefundRequest, subject, template: str) -> None:
    notify(
        users=[request.requested_by],
        subject=subject,
        subject_params={"number": request.number},
        template=template,
        context={"request": request},
        link=reverse("buyer:refund_request", args=[request.pk]),
    )


def _tell_seller(request: RefundRequest, subject, template: str) -> None:
    notify(
        users=seller_users(request.order_line.seller_id, SELLER_CAPABILITIES["refunds.manage"]),
        subject=subject,
        subject_params={"number": request.number},
        template=template,
        context={"request": request},
        link=reverse("seller:refund_request", args=[request.pk]),
    )
