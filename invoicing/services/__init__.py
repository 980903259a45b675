"""Every write about invoices: the seller's invoice for a statement (``seller_invoices``) and
buyers' invoices (``buyer_invoices``: profiles, requests, issuing, delivery, returns, letters)."""

from .buyer_invoices import (
    invoice_blocks_refund,
    invoice_deliver,
    invoice_issue,
    invoice_reject,
    invoice_request_resubmit,
    invoice_request_submit,
    invoice_return_confirm,
    invoice_return_start,
    invoices_remind_due,
    issuer_for,
    letter_request,
    letter_stamp,
    profile_delete,
    profile_save,
)
from .seller_invoices import seller_invoice_reject, seller_invoice_submit, seller_invoice_verify

__all__ = [
    "invoice_blocks_refund",
    "invoice_deliver",
    "invoice_issue",
    "invoice_reject",
    "invoice_request_resubmit",
    "invoice_request_submit",
    "invoice_return_confirm",
    "invoice_return_start",
    "invoices_remind_due",
    "issuer_for",
    "letter_request",
    "letter_stamp",
    "profile_delete",
    "profile_save",
    "seller_invoice_reject",
    "seller_invoice_submit",
    "seller_invoice_verify",
]
