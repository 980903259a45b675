"""Seller center > Invoice management: buyers' invoice requests this seller issues (general
products), with the 7-day deadline; the request page records the invoice, its mailing, a rejection,
or a confirmed return or void. The rules are the services'; refusals show on the forms."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.core import calendar
from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.portal.access import seller_required

from .. import selectors, services
from ..forms import InvoiceIssueForm, InvoiceMailForm, InvoiceRejectForm, SellerInvoiceFilterForm
from ..models import InvoiceRequest

R = InvoiceRequest.Status

# The colour each request status wears (the values the ``badge`` tag knows).
STATUS_TONE = {
    R.SUBMITTED: "submitted",  # warn: to be issued
    R.ISSUED: "processing",  # info: issued, not yet delivered
    R.DELIVERED: "completed",  # ok
    R.RETURN_REQUESTED: "pending",  # warn: the buyer sends it back
    R.RETURNED: "withdrawn",
    R.VOIDED: "withdrawn",
    R.REJECTED: "rejected",  # danger
}


def _tone(request: InvoiceRequest) -> InvoiceRequest:
    request.tone = STATUS_TONE.get(request.status, "")
    return request


@seller_required("invoices.manage")
def seller_invoice_list(request):
    now = timezone.now()
    form = SellerInvoiceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(
        request,
        selectors.seller_invoice_requests(
            seller_id=request.seller.pk,
            status=filters.get("status") or "",
            q=filters.get("q") or "",
            overdue=bool(filters.get("overdue")),
            now=now,
        ),
    )
    for invoice_request in page:
        _tone(invoice_request).due = selectors.due_state(invoice_request, now)
    counts = selectors.seller_invoice_counts(request.seller.pk, now)
    return render(
        request,
        "invoicing/seller/request_list.html",
        {
            "form": form,
            "page": page,
            "qs": querystring_without_page(request),
            "counts": counts,
            "chips": [(value, label, counts[value]) for value, label in R.choices],
        },
    )


class _Invalid(Exception):
    """A page form did not validate: show it again with its errors."""


@seller_required("invoices.manage")
def seller_invoice_request(request, pk):
    invoice_request = selectors.seller_invoice_request(seller_id=request.seller.pk, request_id=pk)
    if invoice_request is None:
        raise Http404
    now = timezone.now()
    today = calendar.today(now)
    issue_form = InvoiceIssueForm(request=invoice_request, today=today)
    mail_form, reject_form = InvoiceMailForm(), InvoiceRejectForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "issue":
                issue_form = InvoiceIssueForm(request.POST, request.FILES, request=invoice_request, today=today)
                if not issue_form.is_valid():
                    raise _Invalid
                data = issue_form.cleaned_data
                done = services.invoice_issue(
                    actor=request.user,
                    request_id=pk,
                    invoice_number=data["invoice_number"],
                    invoice_code=data["invoice_code"],
                    issued_on=data["issued_on"],
                    amount=data["amount"],
                    tax_rate=data["tax_rate"],
                    file=data["file"] or None,
                    generate=data["generate"],
                )
                if done.medium == InvoiceRequest.Medium.PAPER:
                    messages.success(request, _("Invoice recorded. Mail it and enter the tracking number."))
                else:
                    messages.success(
                        request, _("Invoice recorded and e-mailed to %(email)s.") % {"email": done.recipient_email}
                    )
            elif action == "deliver":
                mail_form = InvoiceMailForm(request.POST)
                if not mail_form.is_valid():
                    raise _Invalid
                services.invoice_deliver(actor=request.user, request_id=pk, **mail_form.cleaned_data)
                messages.success(request, _("Marked as mailed. The buyer is told."))
            elif action == "reject":
                reject_form = InvoiceRejectForm(request.POST)
                if not reject_form.is_valid():
                    raise _Invalid
                services.invoice_reject(actor=request.user, request_id=pk, reason=reject_form.cleaned_data["reason"])
                messages.success(request, _("Request rejected. The buyer may correct it and submit it again."))
            elif action == "confirm_return":
                done = services.invoice_return_confirm(actor=request.user, request_id=pk)
                if done.status == R.RETURNED:
                    messages.success(request, _("Return confirmed. A refund of these orders may now be paid."))
                else:
                    messages.success(request, _("Void confirmed. A refund of these orders may now be paid."))
            else:
                messages.error(request, _("Unknown action."))
            return redirect("seller:invoice_request", pk=pk)
        except _Invalid:
            pass
        except ServiceError as exc:
            target = {"issue": issue_form, "deliver": mail_form, "reject": reject_form}.get(action)
            if target is not None and target.is_bound and exc.field_errors:
                form_error(target, exc)
            else:
                message_error(request, exc)
                return redirect("seller:invoice_request", pk=pk)
    for event in invoice_request.events.all():
        event.tone = STATUS_TONE.get(event.to_status, "")
    rate = invoice_request.tax_rate
    return render(
        request,
        "invoicing/seller/request_detail.html",
        {
            "ir": _tone(invoice_request),
            "tax_percent": f"{(rate * 100).normalize():f}" if rate is not None else "",
            "due": selectors.due_state(invoice_request, now),
            "issue_form": issue_form,
            "mail_form": mail_form,
            "reject_form": reject_form,
            "details": invoice_request.title_details or {},
        },
    )
