"""Writes for settlement: the ledger (``ledger``) and statements (``statements``)."""

from .ledger import (
    fee_rate_for,
    ledger_adjust,
    ledger_post_refund,
    ledger_settle_due,
    ledger_settle_line,
    period_of,
    settle_point,
    usage_record,
)
from .statements import (
    dispute_answer,
    generation_date,
    parse_period,
    statement_confirm,
    statement_countersign,
    statement_dispute,
    statement_invoice_verified,
    statement_pay,
    statement_send,
    statements_generate,
    statements_generate_due,
    statements_remind_invoices,
)

__all__ = [
    "dispute_answer",
    "fee_rate_for",
    "generation_date",
    "ledger_adjust",
    "ledger_post_refund",
    "ledger_settle_due",
    "ledger_settle_line",
    "parse_period",
    "period_of",
    "settle_point",
    "statement_confirm",
    "statement_countersign",
    "statement_dispute",
    "statement_invoice_verified",
    "statement_pay",
    "statement_send",
    "statements_generate",
    "statements_generate_due",
    "statements_remind_invoices",
    "usage_record",
]
