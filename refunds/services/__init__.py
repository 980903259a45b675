"""Every write about refunds: the record of money paid back (``records``) and buyers' refund
requests with their negotiation and payment (``requests``)."""

from .records import refund_record
from .requests import (
    Eligibility,
    no_reason_count,
    refund_eligibility,
    refund_pay,
    refund_proposal_accept,
    refund_proposal_decline,
    refund_request_approve,
    refund_request_create,
    refund_request_propose,
    refund_request_reject,
    refund_request_withdraw,
    refunds_escalate_due,
    refunds_pay_due,
)

__all__ = [
    "Eligibility",
    "no_reason_count",
    "refund_eligibility",
    "refund_pay",
    "refund_proposal_accept",
    "refund_proposal_decline",
    "refund_record",
    "refund_request_approve",
    "refund_request_create",
    "refund_request_propose",
    "refund_request_reject",
    "refund_request_withdraw",
    "refunds_escalate_due",
    "refunds_pay_due",
]
