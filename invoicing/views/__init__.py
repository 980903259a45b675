"""Invoice pages: the seller's statement invoice file (``statements``), the buyer center's
invoices, profiles and letters (``buyer``), the seller center's invoice management (``seller``),
and the public verification page of explanation letters (``public``)."""

from .buyer import (
    buyer_invoice_list,
    buyer_invoice_new,
    buyer_invoice_profiles,
    buyer_invoice_request,
    buyer_letters,
)
from .public import invoice_file, letter_file, letter_verify
from .seller import seller_invoice_list, seller_invoice_request
from .statements import seller_invoice_file

__all__ = [
    "buyer_invoice_list",
    "buyer_invoice_new",
    "buyer_invoice_profiles",
    "buyer_invoice_request",
    "buyer_letters",
    "invoice_file",
    "letter_file",
    "letter_verify",
    "seller_invoice_file",
    "seller_invoice_list",
    "seller_invoice_request",
]
