"""Refund pages of the seller center and the buyer center (DOMAIN.md section 8)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.orders.models import PaymentMethod
from marketplace.portal.access import buyer_required, seller_required

from . import selectors, services
from .forms import ProposeForm, ReasonForm, RefundFilterForm, RefundRequestForm
from .models import RefundRequest

R = RefundRequest.Status


class _Invalid(Exception):
    """A page form did not validate: show it again with its errors."""


def _method_label(method: str) -> str:
    return str(PaymentMethod(method).label) if method in PaymentMethod.values else method


def _label_attempts(refund: RefundRequest):
    """Label each payment attempt's method; return the successful attempt, if any."""
    paid = None
    for attempt in refund.attempts.all():
        attempt.method_label = _method_label(attempt.method)
        if attempt.ok:
            paid = attempt
    return paid


# --- seller center ---------------------------------------------------------------------------------


@seller_required("refunds.manage")
def seller_refund_list(request):
    form = RefundFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(
        request,
        selectors.seller_refund_requests(
            seller_id=request.seller.pk, status=filters.get("status") or "", q=filters.get("q") or ""
        ),
    )
    now = timezone.now()
    for r in page:
        r.overdue = r.status == R.REQUESTED and r.answer_due_at is not None and r.answer_due_at < now
    return render(
        request,
        "refunds/seller/refund_list.html",
        {
            "form": form,
            "page": page,
            "qs": querystring_without_page(request),
            "counts": selectors.status_counts(selectors.seller_requests_base(request.seller.pk)),
        },
    )


@seller_required("refunds.manage")
def seller_refund_request(request, pk):
    refund = selectors.refund_request_for_seller(seller_id=request.seller.pk, request_id=pk)
    if refund is None:
        raise Http404
    reject_form, propose_form = ReasonForm(), ProposeForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "approve":
                services.refund_request_approve(actor=request.user, request_id=pk)
                messages.success(request, _("Approved. The refund is paid back to the buyer shortly."))
            elif action == "reject":
                reject_form = ReasonForm(request.POST)
                if not reject_form.is_valid():
                    raise _Invalid
                services.refund_request_reject(
                    actor=request.user, request_id=pk, reason=reject_form.cleaned_data["reason"]
                )
                messages.success(request, _("Rejected. The buyer is told why."))
            elif action == "propose":
                propose_form = ProposeForm(request.POST)
                if not propose_form.is_valid():
                    raise _Invalid
                services.refund_request_propose(
                    actor=request.user, request_id=pk, amount=propose_form.cleaned_data["amount"]
                )
                messages.success(request, _("Proposal sent. The buyer accepts or declines it."))
            else:
                messages.error(request, _("Unknown action."))
            return redirect("seller:refund_request", pk=pk)
        except _Invalid:
            pass
        except ServiceError as exc:
            target = {"reject": reject_form, "propose": propose_form}.get(action)
            if target is not None and target.is_bound:
                form_error(target, exc)
            else:
                message_error(request, exc)
                return redirect("seller:refund_request", pk=pk)
    _label_attempts(refund)
    return render(
        request,
        "refunds/seller/refund_detail.html",
        {
            "refund": refund,
            "answerable": refund.status in (R.REQUESTED, R.ESCALATED),
            "overdue": refund.status == R.REQUESTED
            and refund.answer_due_at is not None
            and refund.answer_due_at < timezone.now(),
            "reject_form": reject_form,
            "propose_form": propose_form,
        },
    )


# --- buyer center ----------------------------------------------------------------------------------


@buyer_required
def buyer_refund_list(request):
    form = RefundFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(
        request,
        selectors.buyer_refund_requests(
            user=request.user, status=filters.get("status") or "", q=filters.get("q") or ""
        ),
    )
    return render(
        request,
        "refunds/buyer/refund_list.html",
        {
            "form": form,
            "page": page,
            "qs": querystring_without_page(request),
            "counts": selectors.status_counts(selectors.buyer_requests_base(request.user)),
        },
    )


@buyer_required
def buyer_refund_request(request, pk):
    refund = selectors.refund_request_for_buyer(user=request.user, request_id=pk)
    if refund is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "accept":
                services.refund_proposal_accept(actor=request.user, request_id=pk)
                messages.success(request, _("Proposal accepted. The refund is paid back shortly."))
            elif action == "decline":
                services.refund_proposal_decline(actor=request.user, request_id=pk)
                messages.success(request, _("Proposal declined. The request is closed."))
            elif action == "withdraw":
                services.refund_request_withdraw(actor=request.user, request_id=pk)
                messages.success(request, _("The refund request is withdrawn."))
            else:
                messages.error(request, _("Unknown action."))
        except ServiceError as exc:
            message_error(request, exc)
        return redirect("buyer:refund_request", pk=pk)
    paid = _label_attempts(refund)
    return render(
        request,
        "refunds/buyer/refund_detail.html",
        {
            "refund": refund,
            "withdrawable": refund.status in (R.REQUESTED, R.PROPOSED, R.ESCALATED),
            "payment_method": paid.method_label
            if paid
            else _method_label(refund.order_line.order.payment_method or PaymentMethod.ONLINE),
            "paid_reference": paid.reference if paid else "",
        },
    )


@buyer_required
def buyer_refund_new(request, order_id, line_id):
    line = selectors.buyer_line(user=request.user, order_id=order_id, line_id=line_id)
    if line is None:
        raise Http404
    existing = selectors.open_request_for_line(line.pk)
    if existing is not None:
        messages.info(request, _("A refund request for this line is already open."))
        return redirect("buyer:refund_request", pk=existing.pk)
    eligibility = services.refund_eligibility(line=line)
    form = RefundRequestForm(
        request.POST or None, full=eligibility.full, max_amount=eligibility.max_amount if eligibility.allowed else None
    )
    if request.method == "POST" and eligibility.allowed and form.is_valid():
        data = form.cleaned_data
        try:
            refund = services.refund_request_create(
                actor=request.user,
                line_id=line.pk,
                reason_code=data["reason_code"],
                reason_text=data["reason_text"],
                amount=data.get("amount"),
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            if refund.status == R.REQUESTED:
                messages.success(
                    request, _("Refund request %(number)s is sent. The seller is told.") % {"number": refund.number}
                )
            else:
                messages.success(
                    request,
                    _("Refund %(number)s is approved and paid back shortly.") % {"number": refund.number},
                )
            return redirect("buyer:refund_request", pk=refund.pk)
    return render(
        request,
        "refunds/buyer/refund_new.html",
        {"line": line, "order": line.order, "eligibility": eligibility, "form": form},
    )
