"""Writes for refunds. For now: record money paid back on an order line, with its ledger entry."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing.services.ledger import ledger_post_refund
from invoicing.services.buyer_invoices import invoice_blocks_refund
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, ValidationFailed
from marketplace.core.money import ZERO, quantize
from marketplace.core.state import lock, move, record
from marketplace.orders.models import Order, OrderLine, OrderType, Subscription
from marketplace.provisioning.services import provisioning_on_refunded

from ..models import Refund


def refund_record(
    *,
    line_id,
    amount,
    reason: str,
    actor: User | None = None,
    now: datetime | None = None,
    invoice_check: bool = True,
) -> Refund:
    """Record a refund paid on an order line: never more than was paid, a negative ledger entry
    when the line was already settled, and the order marked refunded once fully paid back.

    An invoice of the order that is out (issued, delivered, being returned) must be returned or
    voided first. ``invoice_check=False`` is for the platform's own automatic refunds (a failed
    delivery), which do not wait for the buyer."""
    now = now or timezone.now()
    try:
        amount = quantize(Decimal(str(amount)))
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ValidationFailed(_("Enter an amount.")) from exc
    if amount <= ZERO:
        raise ValidationFailed(_("A refund is a positive amount."))
    if not (reason or "").strip():
        raise ValidationFailed(_("A refund needs a reason."))
    with transaction.atomic():
        line = lock(OrderLine.objects.select_related("order"), line_id, _("No such order line."))
        if line.order.status not in (Order.Status.PAID, Order.Status.FAILED):
            raise Conflict(_("This order cannot be refunded in its current state."))
        if invoice_check and invoice_blocks_refund(order_id=line.order_id):
            raise Conflict(
                _("Order %(n)s has an invoice out: it must be returned or voided before the refund is paid.")
                % {"n": line.order.number}
            )
        if amount > line.amount - line.refunded:
            raise Conflict(
                _("At most CNY %(left)s of this line is left to refund.") % {"left": line.amount - line.refunded}
            )
        refund = Refund.objects.create(
            order_line=line, amount=amount, reason=reason.strip(), refunded_at=now, actor=actor
        )
        line.refunded += amount  # the row is locked; a CHECK constraint keeps it within what was paid
        line.save(update_fields=["refunded"])
        ledger_post_refund(refund=refund, now=now)
        order = Order.objects.select_for_update().get(pk=line.order_id)
        refunded = Refund.objects.filter(order_line__order=order).aggregate(total=Sum("amount"))["total"] or ZERO
        if refunded >= order.amount:
            move(
                order,
                Order.Status.REFUNDED,
                actor=actor,
                note=gettext_noop("Refunded in full"),
                message=refund.reason,
                at=now,
            )
            provisioning_on_refunded(order=order, now=now)  # a SaaS instance is released
            if order.order_type == OrderType.RENEW:  # a renewal not yet in effect no longer extends the service
                for renewed in order.lines.filter(validity_start__gt=now):
                    Subscription.objects.filter(pk=renewed.subscription_id, expires_at=renewed.validity_end).update(
                        expires_at=renewed.validity_start
                    )
        else:
            record(
                order,
                actor=actor,
                note=gettext_noop("Refunded CNY %(amount)s"),
                params={"amount": amount},
                message=refund.reason,
                at=now,
            )
    return refund
