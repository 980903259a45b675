"""Writes for orders: checkout, payment, cancellation, supervision, credit.

Every transition locks its order (``select_for_update``), checks the move against
``Order.TRANSITIONS``, saves with ``update_fields`` and writes an ``OrderEvent``.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from billing.services.ledger import ledger_settle_line
from marketplace.accounts.models import Buyer, BuyerMembership, Seller, User
from marketplace.accounts.roles import seller_users
from marketplace.catalog.models import Plan, Product
from marketplace.core import audit, calendar
from marketplace.core.errors import (
    Conflict,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
    as_id,
    require_perm,
)
from marketplace.core.money import ZERO, quantize
from marketplace.core.services import notify
from marketplace.core.state import check_transition, lock, move, record
from marketplace.provisioning.services import provisioning_on_expired, provisioning_on_paid

from .gateway import gateway
from .models import (
    CreditAccount,
    CreditTransaction,
    Order,
    OrderLine,
    OrderType,
    Payment,
    PaymentMethod,
    Subscription,
)

PAID_NOTES = {
    PaymentMethod.ONLINE: gettext_noop("Paid online"),
    PaymentMethod.COUPON: gettext_noop("Paid with a credit cash coupon"),
    PaymentMethod.CREDIT_LINE: gettext_noop("Paid on the credit line"),
    PaymentMethod.FREE: gettext_noop("Completed: nothing to pay"),
}
MAX_PERIODS = {Plan.PeriodType.MONTH: 36, Plan.PeriodType.YEAR: 5}
CREATABLE_TYPES = (
    OrderType.NEW,
    OrderType.TRIAL,
    OrderType.TRIAL_TO_FORMAL,
    OrderType.RENEW,
    OrderType.CHANGE,
)


class PaymentFailed(ServiceError):
    status = 402
    code = "payment_failed"
    default_message = gettext_lazy("The payment was declined.")


def _buyer_of(actor: User) -> BuyerMembership:
    membership = getattr(actor, "buyer_membership", None)
    if membership is None:
        raise NotAllowed(_("Only buyer accounts can place orders."))
    return membership


def _own_subscription(buyer: Buyer, subscription_id) -> Subscription:
    if not subscription_id:
        raise ValidationFailed(
            _("Choose the purchased service this order is for."), field_errors={"subscription": [_("Required.")]}
        )
    sub = (
        Subscription.objects.select_related("plan", "product")
        .filter(pk=as_id(subscription_id, _("No such purchased service.")), buyer=buyer)
        .first()
    )
    if sub is None:
        raise NotFound(_("No such purchased service."))
    if sub.status == Subscription.Status.RELEASED:
        raise Conflict(_("This service was released and can no longer be changed."))
    return sub


def _period_count(plan: Plan, count) -> int:
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if plan.charging_mode != Plan.ChargingMode.PERIOD:
        return 1
    limit = MAX_PERIODS[plan.period_type]
    if not 1 <= count <= limit:
        raise ValidationFailed(
            _("Choose between 1 and %(n)s periods.") % {"n": limit}, field_errors={"period_count": [_("Out of range.")]}
        )
    return count


def change_price(*, subscription: Subscription, target: Plan, now) -> Decimal:
    """Upgrade price: the price difference for the time left of the current term, pro rata."""
    period_end = calendar.add_period(now, subscription.plan.period_type, 1)
    remaining = (subscription.expires_at - now) / (period_end - now)
    return quantize((target.price - subscription.plan.price) * Decimal(str(round(remaining, 6))))


def order_create(
    *,
    actor: User,
    plan_id,
    order_type: str = OrderType.NEW,
    period_count=1,
    subscription_id=None,
    now=None,
) -> Order:
    """Place an order. Free orders (trials, pay-per-use sign-ups) are completed at once."""
    now = now or timezone.now()
    membership = _buyer_of(actor)
    buyer = membership.buyer
    if order_type not in CREATABLE_TYPES:
        raise ValidationFailed(
            _("Unknown order type."),
            field_errors={
                "order_type": [_("One of: %s.") % ", ".join(str(OrderType(t).label) for t in CREATABLE_TYPES)]
            },
        )
    plan = Plan.objects.select_related("product__seller").filter(pk=as_id(plan_id, _("No such plan."))).first()
    if plan is None:
        raise NotFound(_("No such plan."))
    product = plan.product
    seller_membership = getattr(actor, "seller_membership", None)
    if seller_membership is not None and seller_membership.seller_id == product.seller_id:
        raise NotAllowed(_("You cannot buy your own seller's product."))
    if not plan.is_active:
        raise Conflict(_("This plan is no longer on sale."))

    if product.seller.status != Seller.Status.ACTIVE:
        raise Conflict(_("This seller is not selling at the moment."))
    subscription = None
    # Anything that picks a plan (not a renewal of the plan held) needs the product on sale, so a
    # plan added while the product is back in draft is never sold unreviewed.
    if order_type != OrderType.RENEW and product.status != Product.Status.PUBLISHED:
        raise Conflict(_("This product is not on sale."))
    if order_type == OrderType.NEW:
        count = _period_count(plan, period_count)
        amount = ZERO if plan.charging_mode == Plan.ChargingMode.ON_DEMAND else quantize(plan.price * count)
    elif order_type == OrderType.TRIAL:
        if plan.trial_days <= 0:
            raise ValidationFailed(_("This plan has no free trial."))
        count, amount = 1, ZERO  # once per buyer and product: checked under a lock below
    else:
        subscription = _own_subscription(buyer, subscription_id)
        if subscription.product_id != product.pk:
            raise ValidationFailed(_("The plan belongs to another product than the purchased service."))
        if order_type == OrderType.TRIAL_TO_FORMAL:
            if not subscription.is_trial:
                raise Conflict(_("This service is not a trial."))
            if plan.charging_mode == Plan.ChargingMode.ON_DEMAND:
                raise ValidationFailed(_("Convert a trial to a periodic or one-time plan."))
            count = _period_count(plan, period_count)
            amount = quantize(plan.price * count)
        elif order_type == OrderType.RENEW:
            if subscription.is_trial:
                raise Conflict(_("A trial cannot be renewed: convert it to a paid plan."))
            if plan.pk != subscription.plan_id or plan.charging_mode != Plan.ChargingMode.PERIOD:
                raise ValidationFailed(_("Only periodic services are renewed, on their current plan."))
            count = _period_count(plan, period_count)
            amount = quantize(plan.price * count)
        else:  # CHANGE
            current = subscription.plan
            if subscription.is_trial or subscription.status != Subscription.Status.ACTIVE:
                raise Conflict(_("Only an active paid service can be upgraded."))
            if (
                plan.charging_mode != Plan.ChargingMode.PERIOD
                or current.charging_mode != Plan.ChargingMode.PERIOD
                or plan.period_type != current.period_type
            ):
                raise ValidationFailed(_("Upgrade to a plan with the same billing period."))
            if plan.price <= current.price:
                raise ValidationFailed(_("Choose a plan priced above the current one."))
            if not subscription.expires_at or subscription.expires_at <= now:
                raise Conflict(_("The service has expired: renew it first."))
            count = 1
            amount = change_price(subscription=subscription, target=plan, now=now)

    with transaction.atomic():
        if order_type == OrderType.TRIAL:
            Buyer.objects.select_for_update().filter(pk=buyer.pk).first()  # one trial request at a time
            if OrderLine.objects.filter(
                order__buyer=buyer, product=product, order__order_type=OrderType.TRIAL
            ).exists():
                raise Conflict(_("You have already tried this product."))
        order = Order.objects.create(
            buyer=buyer,
            placed_by=actor,
            seller=product.seller,
            order_type=order_type,
            amount=amount,
            currency=plan.currency,
            created_at=now,
        )
        OrderLine.objects.create(
            order=order,
            product=product,
            plan=plan,
            seller=product.seller,
            subscription=subscription,
            trade_mode=product.trade_mode,
            fee_rate=product.ops_fee_rate if product.is_joint_flow else None,
            charging_mode=plan.charging_mode,
            period_type=plan.period_type,
            period_count=count,
            unit_price=plan.price,
            amount=amount,
        )
        record(order, actor=actor, from_status="", note=gettext_noop("Order placed"), at=now)
        if amount == ZERO:
            _complete_payment(order, actor=actor, method=PaymentMethod.FREE, reference="", now=now)
    return order


def available_payment_methods(order: Order) -> list[str]:
    """Payment methods the checkout offers for this order."""
    if order.amount == ZERO:
        return [PaymentMethod.FREE]
    product = order.lines.all()[0].product
    methods = [PaymentMethod.ONLINE]
    if product.has_credit_control and product.credit_coupon_enabled:
        methods.append(PaymentMethod.COUPON)
    if product.has_credit_control and product.credit_line_enabled:
        methods.append(PaymentMethod.CREDIT_LINE)
    return methods


def _locked_own_order(actor: User, order_id) -> Order:
    membership = _buyer_of(actor)
    orders = Order.objects.filter(buyer_id=membership.buyer_id)
    if membership.role != BuyerMembership.Role.ADMIN:  # a tenant's plain user: own orders only
        orders = orders.filter(placed_by=actor)
    return lock(orders, order_id, _("No such order."))


@dataclass
class _PayOutcome:
    order: Order
    error: str = ""


def order_pay(*, actor: User, order_id, method: str, sandbox_outcome: str = "succeed", now=None) -> Order:
    """Pay an order. A declined payment is recorded and raises ``PaymentFailed``; the order stays payable."""
    now = now or timezone.now()
    with transaction.atomic():
        outcome = _pay(actor=actor, order_id=order_id, method=method, sandbox_outcome=sandbox_outcome, now=now)
    if outcome.error:
        raise PaymentFailed(outcome.error)
    return outcome.order


def _pay(*, actor, order_id, method, sandbox_outcome, now) -> _PayOutcome:
    order = _locked_own_order(actor, order_id)
    check_transition(Order.TRANSITIONS, order.status, Order.Status.PAID, choices=Order.Status)
    if method not in PaymentMethod.values:
        raise ValidationFailed(_("Unknown payment method."), field_errors={"method": [_("Unknown payment method.")]})
    if method not in available_payment_methods(order):
        raise ValidationFailed(
            _("“%(method)s” is not available for this product.") % {"method": PaymentMethod(method).label},
            field_errors={"method": [_("Not available for this product.")]},
        )
    _check_still_applicable(order, now=now)
    reference = ""
    if method == PaymentMethod.ONLINE:
        result = gateway().charge(
            amount=order.amount, currency=order.currency, order_number=order.number, outcome=sandbox_outcome
        )
        if not result.ok:
            Payment.objects.create(
                order=order,
                method=method,
                amount=order.amount,
                status=Payment.Status.FAILED,
                failure_reason=result.message,
                created_at=now,
                completed_at=now,
            )
            record(
                order, actor=actor, note=gettext_noop("Payment declined by the gateway"), message=result.message, at=now
            )
            return _PayOutcome(
                order,
                error=_("The payment was declined: %(reason)s. Nothing was charged; try again.")
                % {"reason": result.message},
            )
        reference = result.reference
    elif method in (PaymentMethod.COUPON, PaymentMethod.CREDIT_LINE):
        _spend_credit(order, actor=actor, method=method, now=now)
    _complete_payment(order, actor=actor, method=method, reference=reference, now=now)
    return _PayOutcome(order)


def _check_still_applicable(order: Order, *, now) -> None:
    """An order on a purchased service was priced for the service as it was when it was placed."""
    if order.order_type not in (OrderType.TRIAL_TO_FORMAL, OrderType.RENEW, OrderType.CHANGE):
        return
    line = order.lines.get()
    sub = Subscription.objects.select_for_update().get(pk=line.subscription_id)
    if sub.status == Subscription.Status.RELEASED:
        raise Conflict(_("This service was released and can no longer be changed."))
    if order.order_type == OrderType.TRIAL_TO_FORMAL and not sub.is_trial:
        raise Conflict(_("This trial was converted already."))
    if order.order_type == OrderType.RENEW and line.plan_id != sub.plan_id:
        raise Conflict(_("The service's plan changed since this renewal was ordered: cancel it and order again."))
    if order.order_type == OrderType.CHANGE:
        # Priced on the plan and expiry of the moment: any change or renewal paid since then voids it.
        changed_since = (
            OrderLine.objects.filter(
                subscription=sub,
                order__order_type__in=(OrderType.CHANGE, OrderType.TRIAL_TO_FORMAL, OrderType.RENEW),
                order__status=Order.Status.PAID,
                order__paid_at__gte=order.created_at,
            )
            .exclude(order=order)
            .exists()
        )
        if changed_since or sub.is_trial or not sub.expires_at or sub.expires_at <= now:
            raise Conflict(
                _("The service changed or expired since this upgrade was ordered: cancel it and order again.")
            )


def _spend_credit(order: Order, *, actor: User, method: str, now) -> None:
    account = CreditAccount.objects.select_for_update().filter(buyer_id=order.buyer_id).first()
    if method == PaymentMethod.COUPON:
        if account is None or account.coupon_balance < order.amount:
            balance = account.coupon_balance if account else ZERO
            raise ValidationFailed(
                _("Your cash-coupon balance (CNY %(balance)s) does not cover CNY %(amount)s.")
                % {"balance": balance, "amount": order.amount}
            )
        account.coupon_balance -= order.amount
        account.save(update_fields=["coupon_balance"])
        kind, after = CreditTransaction.Kind.COUPON_SPEND, account.coupon_balance
    else:
        if account is None or account.credit_available < order.amount:
            available = account.credit_available if account else ZERO
            raise ValidationFailed(
                _("Your available credit (CNY %(available)s) does not cover CNY %(amount)s.")
                % {"available": available, "amount": order.amount}
            )
        account.credit_used += order.amount
        account.save(update_fields=["credit_used"])
        kind, after = CreditTransaction.Kind.CREDIT_SPEND, account.credit_used
    CreditTransaction.objects.create(
        account=account, kind=kind, amount=order.amount, balance_after=after, order=order, actor=actor, created_at=now
    )


def _complete_payment(order: Order, *, actor: User, method: str, reference: str, now) -> None:
    Payment.objects.create(
        order=order,
        method=method,
        amount=order.amount,
        status=Payment.Status.SUCCEEDED,
        reference=reference,
        created_at=now,
        completed_at=now,
    )
    order.paid_at = now
    order.payment_method = method
    move(
        order,
        Order.Status.PAID,
        actor=actor,
        note=PAID_NOTES[method],
        fields=["paid_at", "payment_method"],
        at=now,
    )
    for line in order.lines.select_related("product", "plan", "subscription").select_for_update(of=("self",)):
        _fulfil_line(order, line, now=now)
        ledger_settle_line(line_id=line.pk, now=now)
    _notify_paid(order)


def _fulfil_line(order: Order, line: OrderLine, *, now) -> None:
    """Give the buyer what the line bought: validity, the purchased service, supervision."""
    plan, product = line.plan, line.product
    sub = line.subscription
    was_expired = sub is not None and sub.status == Subscription.Status.EXPIRED

    def term_end(start):
        if line.charging_mode == Plan.ChargingMode.PERIOD:
            return calendar.add_period(start, line.period_type, line.period_count)
        return None

    if order.order_type == OrderType.NEW:
        start, end = now, term_end(now)
        sub = Subscription.objects.create(
            buyer=order.buyer, product=product, plan=plan, seller=line.seller, starts_at=start, expires_at=end
        )
    elif order.order_type == OrderType.TRIAL:
        start, end = now, now + timezone.timedelta(days=plan.trial_days)
        sub = Subscription.objects.create(
            buyer=order.buyer,
            product=product,
            plan=plan,
            seller=line.seller,
            starts_at=start,
            expires_at=end,
            is_trial=True,
        )
    elif order.order_type == OrderType.TRIAL_TO_FORMAL:
        start, end = now, term_end(now)
        sub.is_trial, sub.plan, sub.starts_at, sub.expires_at = False, plan, now, end
        sub.status = Subscription.Status.ACTIVE
        sub.save(update_fields=["is_trial", "plan", "starts_at", "expires_at", "status"])
    elif order.order_type == OrderType.RENEW:
        start = max(now, sub.expires_at) if sub.expires_at else now
        end = term_end(start)
        sub.expires_at = end
        sub.status = Subscription.Status.ACTIVE
        sub.save(update_fields=["expires_at", "status"])
    else:  # CHANGE
        start, end = now, sub.expires_at
        sub.plan = plan
        sub.save(update_fields=["plan"])
    line.subscription = sub
    line.validity_start, line.validity_end = start, end
    line.payment_method = order.payment_method
    supervised = product.is_supervised and order.order_type != OrderType.TRIAL and line.amount > ZERO
    line.supervision = OrderLine.Supervision.IN_PROGRESS if supervised else OrderLine.Supervision.NOT_REQUIRED
    # SaaS sold through a produce interface is provisioned when the seller's server made the instance.
    waits = provisioning_on_paid(line=line, order=order, was_expired=was_expired, now=now)
    line.provisioned_at = None if waits else now
    line.save(
        update_fields=[
            "subscription",
            "validity_start",
            "validity_end",
            "payment_method",
            "supervision",
            "provisioned_at",
        ]
    )


def _notify_paid(order: Order) -> None:
    notify(
        users=[order.placed_by],
        subject=gettext_lazy("Order %(number)s is paid"),
        subject_params={"number": order.number},
        template="notifications/order_paid_buyer.txt",
        context={"order": order},
        link=reverse("buyer:order_detail", args=[order.pk]),
    )
    notify(
        users=seller_users(order.seller_id, ["admin"]),
        subject=gettext_lazy("New paid order %(number)s"),
        subject_params={"number": order.number},
        template="notifications/order_paid_seller.txt",
        context={"order": order},
        link=reverse("seller:order_detail", args=[order.pk]),
        email=False,
    )


def order_cancel(*, actor: User, order_id, now=None) -> Order:
    now = now or timezone.now()
    with transaction.atomic():
        order = _locked_own_order(actor, order_id)
        order.closed_at = now
        move(
            order,
            Order.Status.CANCELLED,
            actor=actor,
            note=gettext_noop("Cancelled by the buyer"),
            fields=["closed_at"],
            at=now,
        )
    return order


def orders_close_unpaid(*, now=None) -> int:
    """Close orders left unpaid longer than ``UNPAID_ORDER_TTL_MINUTES``. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(minutes=settings.MARKETPLACE["UNPAID_ORDER_TTL_MINUTES"])
    closed = 0
    ids = list(
        Order.objects.filter(status=Order.Status.PENDING_PAYMENT, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Order.Status.PENDING_PAYMENT)
                .first()
            )
            if order is None:
                continue
            order.closed_at = now
            move(
                order,
                Order.Status.CLOSED,
                actor=None,
                note=gettext_noop("Closed: not paid in time"),
                fields=["closed_at"],
                at=now,
            )
            closed += 1
    return closed


def subscriptions_expire(*, now=None) -> int:
    """Mark services past their validity as expired and freeze their instances. Idempotent."""
    now = now or timezone.now()
    expired = 0
    for pk in list(
        Subscription.objects.filter(status=Subscription.Status.ACTIVE, expires_at__lte=now).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            updated = Subscription.objects.filter(pk=pk, status=Subscription.Status.ACTIVE).update(
                status=Subscription.Status.EXPIRED
            )
            if updated:
                provisioning_on_expired(subscription_id=pk, now=now)
                expired += updated
    return expired


# --- supervision ---------------------------------------------------------------------------


def _end_supervision(line: OrderLine, *, actor: User, to: str, now, note: str, message: str = "") -> OrderLine:
    if line.supervision != OrderLine.Supervision.IN_PROGRESS:
        raise Conflict(_("This order line is not under supervision."))
    line.supervision = to
    line.supervision_completed_at = now
    line.save(update_fields=["supervision", "supervision_completed_at"])
    record(line.order, actor=actor, note=note, params={"line": line.pk}, message=message, at=now)
    ledger_settle_line(line_id=line.pk, now=now)  # supervised lines settle when supervision ends
    return line


def supervision_accept(*, actor: User, line_id, now=None) -> OrderLine:
    """The buyer accepts delivery: supervision completes and the guarantee period ends."""
    now = now or timezone.now()
    membership = _buyer_of(actor)
    with transaction.atomic():
        lines = OrderLine.objects.select_for_update(of=("self",)).filter(
            pk=as_id(line_id, _("No such order line.")), order__buyer_id=membership.buyer_id
        )
        if membership.role != BuyerMembership.Role.ADMIN:  # a tenant's plain user: own orders only
            lines = lines.filter(order__placed_by=actor)
        line = lines.select_related("order", "product").first()
        if line is None:
            raise NotFound(_("No such order line."))
        _end_supervision(
            line,
            actor=actor,
            to=OrderLine.Supervision.COMPLETED,
            now=now,
            note=gettext_noop("Delivery accepted by the buyer (line %(line)s)"),
        )
        notify(
            users=seller_users(line.seller_id, ["admin"]),
            subject=gettext_lazy("Delivery accepted for order %(number)s"),
            subject_params={"number": line.order.number},
            template="notifications/supervision_completed.txt",
            context={"line": line},
            link=reverse("seller:order_detail", args=[line.order_id]),
        )
    return line


def supervision_close(*, actor: User, line_id, reason: str, now=None) -> OrderLine:
    """Operations close supervision (for example when the buyer does not answer)."""
    now = now or timezone.now()
    require_perm(actor, "orders.close_supervision")
    if not (reason or "").strip():
        raise ValidationFailed(_("Closing supervision needs a reason."))
    with transaction.atomic():
        line = (
            OrderLine.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(pk=as_id(line_id, _("No such order line.")))
            .first()
        )
        if line is None:
            raise NotFound(_("No such order line."))
        return _end_supervision(
            line,
            actor=actor,
            to=OrderLine.Supervision.CLOSED,
            now=now,
            note=gettext_noop("Supervision closed by operations (line %(line)s)"),
            message=reason.strip(),
        )


# --- credit granted by operations ------------------------------------------------------------


def _money(value, field: str) -> Decimal:
    try:
        amount = quantize(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationFailed(_("Enter an amount."), field_errors={field: [_("Enter an amount.")]}) from exc
    return amount


def _staff_only(actor: User, perm: str = "orders.grant_credit") -> None:
    require_perm(actor, perm)


def credit_grant_coupon(*, actor: User, buyer_id, amount, reason: str) -> CreditAccount:
    _staff_only(actor)
    amount = _money(amount, "amount")
    if amount <= ZERO:
        raise ValidationFailed(_("Grant a positive amount."))
    if not reason.strip():
        raise ValidationFailed(_("Say why the coupon is granted."))
    with transaction.atomic():
        account = _locked_account(buyer_id)
        before = account.coupon_balance
        account.coupon_balance += amount
        account.save(update_fields=["coupon_balance"])
        CreditTransaction.objects.create(
            account=account,
            kind=CreditTransaction.Kind.COUPON_GRANT,
            amount=amount,
            balance_after=account.coupon_balance,
            actor=actor,
            reason=reason.strip(),
        )
        audit.money(
            "credit.coupon_granted",
            account,
            actor=actor,
            changes={"coupon_balance": [before, account.coupon_balance], "reason": reason.strip()},
        )
    return account


def credit_set_limit(*, actor: User, buyer_id, limit, reason: str) -> CreditAccount:
    _staff_only(actor)
    limit = _money(limit, "limit")
    if limit < ZERO:
        raise ValidationFailed(_("A credit limit cannot be negative."))
    if not reason.strip():
        raise ValidationFailed(_("Say why the limit changes."))
    with transaction.atomic():
        account = _locked_account(buyer_id)
        if limit < account.credit_used:
            raise Conflict(
                _("The buyer has used CNY %(used)s: the limit cannot go below that.") % {"used": account.credit_used}
            )
        audit.money(
            "credit.limit_set",
            account,
            actor=actor,
            changes={"credit_limit": [account.credit_limit, limit], "reason": reason.strip()},
        )
        account.credit_limit = limit
        account.save(update_fields=["credit_limit"])
        CreditTransaction.objects.create(
            account=account,
            kind=CreditTransaction.Kind.LIMIT_SET,
            amount=limit,
            balance_after=account.credit_used,
            actor=actor,
            reason=reason.strip(),
        )
    return account


def _locked_account(buyer_id) -> CreditAccount:
    if not Buyer.objects.filter(pk=as_id(buyer_id, _("No such buyer."))).exists():
        raise NotFound(_("No such buyer."))
    CreditAccount.objects.get_or_create(buyer_id=buyer_id)
    return CreditAccount.objects.select_for_update().get(buyer_id=buyer_id)


def credit_record_repayment(*, actor: User, payment_id, now=None) -> Payment:
    """Operations record that the buyer repaid a credit-line payment; the order becomes settleable."""
    _staff_only(actor, "orders.record_repayment")
    now = now or timezone.now()
    with transaction.atomic():
        payment = lock(Payment.objects.select_related("order"), payment_id, _("No such payment."))
        if payment.method != PaymentMethod.CREDIT_LINE or payment.status != Payment.Status.SUCCEEDED:
            raise Conflict(_("Only a successful credit-line payment can be repaid."))
        if payment.repaid_at is not None:
            raise Conflict(_("This payment was repaid already."))
        account = CreditAccount.objects.select_for_update().get(buyer_id=payment.order.buyer_id)
        account.credit_used -= payment.amount
        account.save(update_fields=["credit_used"])
        CreditTransaction.objects.create(
            account=account,
            kind=CreditTransaction.Kind.CREDIT_REPAY,
            amount=payment.amount,
            balance_after=account.credit_used,
            order=payment.order,
            actor=actor,
            created_at=now,
        )
        payment.repaid_at = now
        payment.save(update_fields=["repaid_at"])
        record(payment.order, actor=actor, note=gettext_noop("Credit-line payment repaid"), at=now)
        for line_id in payment.order.lines.values_list("pk", flat=True):
            ledger_settle_line(line_id=line_id, now=now)  # credit-line orders settle once repaid
    return payment
