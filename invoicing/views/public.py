"""Invoice and letter files for their parties, and the public page that verifies an explanation
letter.

Files are "not found" (404) for anyone who is not a party, so their existence does not leak. The
verification page answers the same "not found" for a malformed code as for an unknown one, and an
address that keeps guessing is slowed down (a fixed window of misses in the cache): codes are 64
random bits, so the limit is there to keep scanners cheap to serve, not to make guessing hard.
"""

import re
import time

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from marketplace.accounts.roles import buyer_is_admin, seller_can
from marketplace.core.money import ZERO
from marketplace.core.views import private_download

from ..models import ExplanationLetter, InvoiceRequest
from ..pdf import issuer_name

# Misses (unknown codes) allowed per client address and window before the page answers 429.
VERIFY_MISSES_PER_WINDOW = 20
VERIFY_WINDOW_SECONDS = 600
CODE_SHAPE = re.compile(r"[0-9A-Z]{6,32}")


def _buyer_scope(user) -> Q:
    """The invoice requests of the user's buyer side: all the tenant's for its administrators,
    their own for plain users (as ``services.buyer_invoices._buyer_request``)."""
    membership = getattr(user, "buyer_membership", None)
    if membership is None:
        return Q(pk__in=[])
    scope = Q(buyer_id=membership.buyer_id)
    if not buyer_is_admin(membership):
        scope &= Q(requested_by_id=user.pk)
    return scope


def _is_issuer_side(user, invoice: InvoiceRequest) -> bool:
    if user.is_staff and user.has_perm("invoicing.view_invoicerequest"):
        return True
    if invoice.issuer != InvoiceRequest.Issuer.SELLER:
        return False
    membership = getattr(user, "seller_membership", None)
    return (
        membership is not None
        and membership.seller_id == invoice.seller_id
        and seller_can(membership, "invoices.manage")
    )


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "-", text).strip("-") or "file"


@login_required
@require_safe
def invoice_file(request, pk):
    """The invoice PDF: for the buyer side (the tenant's administrators and whoever requested it)
    and the issuer side (the seller's invoice managers; operations staff)."""
    invoice = InvoiceRequest.objects.filter(pk=pk).first()
    if invoice is None or not invoice.file:
        raise Http404
    own = InvoiceRequest.objects.filter(_buyer_scope(request.user), pk=invoice.pk).exists()
    if not (own or _is_issuer_side(request.user, invoice)):
        raise Http404
    return private_download(invoice.file, f"invoice-{_safe(invoice.invoice_number or invoice.number)}.pdf")


@login_required
@require_safe
def letter_file(request, pk):
    """A stamped explanation letter, for the buyer side only."""
    letter = ExplanationLetter.objects.filter(pk=pk, status=ExplanationLetter.Status.STAMPED).first()
    if letter is None or not letter.file:
        raise Http404
    if not InvoiceRequest.objects.filter(_buyer_scope(request.user), pk=letter.request_id).exists():
        raise Http404
    return private_download(letter.file, f"letter-{_safe(letter.verification_code)}.pdf")


def mask_tax_id(value: str) -> str:
    """The taxpayer id with its middle hidden: 91440300MA5XXXXXXX -> 9144**********XXXX."""
    value = (value or "").strip()
    if not value:
        return ""
    keep = max(1, min(4, len(value) // 4))
    return value[:keep] + "*" * max(len(value) - 2 * keep, 1) + value[-keep:]


def mask_name(value: str) -> str:
    """A person's name with all but its first character hidden: 张三丰 -> 张**."""
    value = (value or "").strip()
    return value[:1] + "*" * max(len(value) - 1, 1) if value else ""


def _misses_key(request) -> str:
    window = int(time.time() // VERIFY_WINDOW_SECONDS)
    return f"verify-misses:{request.META.get('REMOTE_ADDR', '')}:{window}"


def _count_miss(request) -> None:
    key = _misses_key(request)
    if not cache.add(key, 1, timeout=VERIFY_WINDOW_SECONDS + 1):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=VERIFY_WINDOW_SECONDS + 1)


def _verify_page(request, context: dict, status: int = 200):
    response = render(request, "invoicing/verify.html", context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
def letter_verify(request, code):
    """Anyone holding a letter checks it here: what it certifies and nothing more — the invoice's
    number, date and amount, its issuer and the title it was made out to (a company's tax id
    masked, a person's name masked)."""
    if (cache.get(_misses_key(request)) or 0) >= VERIFY_MISSES_PER_WINDOW:
        # Every answer is the same while limited, so a valid code cannot be told from an invalid one.
        response = _verify_page(request, {"state": "limited"}, status=429)
        response["Retry-After"] = str(VERIFY_WINDOW_SECONDS)
        return response
    code = (code or "").strip().upper()
    letter = None
    if CODE_SHAPE.fullmatch(code):
        letter = ExplanationLetter.objects.select_related("request__seller").filter(verification_code=code).first()
    if letter is None:
        _count_miss(request)
        return _verify_page(request, {"state": "unknown"}, status=404)
    if letter.status == ExplanationLetter.Status.STAMPING:
        return _verify_page(request, {"state": "stamping", "code": letter.verification_code})
    invoice = letter.request
    company = invoice.title_kind == "company"
    amount = invoice.invoice_amount if invoice.invoice_amount is not None else invoice.amount
    certified = {
        "invoice_number": invoice.invoice_number,
        "issued_on": invoice.issued_on,
        "amount": amount if amount is not None else ZERO,
        "issuer": issuer_name(invoice),
        "title": invoice.title if company else mask_name(invoice.title),
        "tax_id": mask_tax_id(invoice.tax_id),
        "cancelled": invoice.status in (InvoiceRequest.Status.RETURNED, InvoiceRequest.Status.VOIDED),
    }
    return _verify_page(
        request,
        {"state": "authentic", "code": letter.verification_code, "stamped_at": letter.stamped_at, **certified},
    )
