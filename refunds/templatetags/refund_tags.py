"""What the buyer's order page shows about refunds on each line: the open request, or whether a
refund may be asked (the same eligibility rule the "new refund" page explains)."""

from django import template

from ..models import RefundRequest
from ..services import refund_eligibility

register = template.Library()


@register.simple_tag
def line_refund(line) -> dict:
    """``{"open": RefundRequest | None, "eligible": bool}`` for an order line (two or three queries;
    an order has one line today)."""
    if line.order.status != line.order.Status.PAID:
        return {"open": None, "eligible": False}
    open_request = RefundRequest.objects.filter(order_line_id=line.pk, status__in=RefundRequest.OPEN).first()
    if open_request is not None:
        return {"open": open_request, "eligible": False}
    return {"open": None, "eligible": refund_eligibility(line=line).allowed}
