"""Buyer center > My invoices: the requests, a new request, a request's page (correct and resend,
return or void, ask for a letter), invoice profiles and explanation letters. The pages parse input,
call one service or selector, and show a service's refusal as a form error or a message."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.roles import buyer_is_admin
from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.portal.access import buyer_required

from .. import selectors
from ..forms import (
    BuyerInvoiceFilterForm,
    InvoiceDeliveryForm,
    InvoiceProfileForm,
    InvoiceRequestForm,
    InvoiceReturnForm,
)
from ..models import InvoiceRequest
from ..services import buyer_invoices as services

R = InvoiceRequest.Status


class _Invalid(Exception):
    """A page form did not validate: show it again with its errors."""


def _tax_percent(rate) -> str:
    return "" if rate is None else f"{(rate * 100).normalize():f}%"


@buyer_required
def buyer_invoice_list(request):
    form = BuyerInvoiceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    counts = selectors.buyer_request_counts(user=request.user)
    page = paginate(
        request,
        selectors.buyer_requests(user=request.user, status=filters.get("status") or "", q=filters.get("q") or ""),
    )
    return render(
        request,
        "invoicing/buyer/request_list.html",
        {
            "tab": "requests",
            "form": form,
            "page": page,
            "qs": querystring_without_page(request),
            "counts": counts,
            "chips": [(value, label, counts[value]) for value, label in R.choices],
            "now": timezone.now(),
        },
    )


@buyer_required
def buyer_invoice_new(request):
    orders = selectors.invoiceable_orders(user=request.user)
    profiles = list(selectors.buyer_profiles(user=request.user))
    initial = {"recipient_email": request.user.email}
    if request.GET.get("order"):
        initial["orders"] = request.GET.getlist("order")
    form = InvoiceRequestForm(request.POST or None, orders=orders, profiles=profiles, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            invoice = services.invoice_request_submit(
                actor=request.user, order_ids=form.cleaned_data["orders"], **form.delivery()
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(
                request,
                _("Invoice request %(number)s is submitted. The issuer has %(days)s days to issue it.")
                % {"number": invoice.number, "days": settings.MARKETPLACE["INVOICES"]["ISSUE_WITHIN_DAYS"]},
            )
            return redirect("buyer:invoice_request", pk=invoice.pk)
    return render(
        request,
        "invoicing/buyer/request_new.html",
        {
            "tab": "requests",
            "form": form,
            "groups": selectors.group_by_issuer(orders),
            "chosen": form.chosen(),
            "profiles": profiles,
            "can_manage_profiles": buyer_is_admin(request.buyer_membership),
        },
    )


def _resubmit_initial(invoice: InvoiceRequest, profiles) -> dict:
    initial = {
        "medium": invoice.medium,
        "recipient": invoice.recipient,
        "recipient_phone": invoice.recipient_phone,
        "mailing_address": invoice.mailing_address,
        "recipient_email": invoice.recipient_email,
    }
    if any(p.pk == invoice.profile_id for p in profiles):
        initial["profile"] = invoice.profile_id
    return initial


@buyer_required
def buyer_invoice_request(request, pk):
    invoice = selectors.buyer_request_detail(user=request.user, request_id=pk)
    if invoice is None:
        raise Http404
    # Which forms the page shows: a refusal of another (an old tab) is told in a message.
    shown = {"resubmit": invoice.status == R.REJECTED, "return": invoice.status in (R.ISSUED, R.DELIVERED)}
    wants_profiles = shown["resubmit"] or request.POST.get("action") == "resubmit"
    profiles = list(selectors.buyer_profiles(user=request.user)) if wants_profiles else []
    resubmit_form = InvoiceDeliveryForm(profiles=profiles, initial=_resubmit_initial(invoice, profiles))
    return_form = InvoiceReturnForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "resubmit":
                resubmit_form = InvoiceDeliveryForm(request.POST, profiles=profiles)
                if not resubmit_form.is_valid():
                    raise _Invalid
                services.invoice_request_resubmit(actor=request.user, request_id=pk, **resubmit_form.delivery())
                messages.success(request, _("The corrected request is sent to the issuer again."))
            elif action == "return":
                return_form = InvoiceReturnForm(request.POST)
                if not return_form.is_valid():
                    raise _Invalid
                services.invoice_return_start(actor=request.user, request_id=pk, **return_form.cleaned_data)
                messages.success(
                    request,
                    _("The issuer is asked to take the invoice back.")
                    if invoice.medium == InvoiceRequest.Medium.PAPER
                    else _("The issuer is asked to void the invoice."),
                )
            elif action == "letter":
                letter = services.letter_request(actor=request.user, request_id=pk)
                messages.success(request, _letter_submitted(letter))
                return redirect("buyer:invoice_letters")
            else:
                messages.error(request, _("Unknown action."))
            return redirect("buyer:invoice_request", pk=pk)
        except _Invalid:
            if not shown[action]:
                messages.error(request, _("This request has changed meanwhile: here is where it stands."))
                return redirect("buyer:invoice_request", pk=pk)
        except ServiceError as exc:
            target = {"resubmit": resubmit_form, "return": return_form}.get(action)
            if target is not None and target.is_bound and shown[action]:
                form_error(target, exc)
            else:
                message_error(request, exc)
                return redirect("buyer:invoice_request", pk=pk)
    invoice.tax_percent = _tax_percent(invoice.tax_rate)
    _name_actors(invoice)
    now = timezone.now()
    return render(
        request,
        "invoicing/buyer/request_detail.html",
        {
            "tab": "requests",
            "invoice": invoice,
            "overdue": invoice.overdue(now),
            "resubmit_form": resubmit_form,
            "return_form": return_form,
            "profiles": profiles,
            "can_manage_profiles": buyer_is_admin(request.buyer_membership),
            "may_return": shown["return"],
            "stamping": any(letter.status == letter.Status.STAMPING for letter in invoice.letters.all()),
        },
    )


def _name_actors(invoice: InvoiceRequest) -> None:
    """Who did what, as the buyer may know it: people of the buyer's tenant by name, the issuer's
    staff as the issuer (the seller's name, or the platform), the system as such."""
    issuer = invoice.seller.name if invoice.issuer == InvoiceRequest.Issuer.SELLER else _("The platform")
    for event in invoice.events.all():
        actor = event.actor
        if actor is None:
            event.who = _("system")
            continue
        membership = getattr(actor, "buyer_membership", None)
        event.who = actor.get_short_name() if membership and membership.buyer_id == invoice.buyer_id else issuer


def _letter_submitted(letter) -> str:
    letter.refresh_from_db(fields=["status"])  # stamped already when there is no delay
    if letter.status == letter.Status.STAMPED:
        return _("Your explanation letter is stamped and ready to download.")
    return _("Your application is submitted. The letter is being stamped, expected around %(time)s.") % {
        "time": timezone.localtime(letter.expected_at).strftime("%H:%M")
    }


@buyer_required
def buyer_invoice_profiles(request):
    can_manage = buyer_is_admin(request.buyer_membership)
    profiles = list(selectors.buyer_profiles(user=request.user))
    by_id = {str(p.pk): p for p in profiles}
    edit_id = request.POST.get("profile_id") or request.GET.get("edit") or ""
    editing = by_id.get(edit_id) if edit_id else None
    if edit_id and editing is None:
        raise Http404
    form = InvoiceProfileForm(initial=InvoiceProfileForm.initial_for(editing))
    if request.method == "POST":
        if not can_manage:
            return render(
                request,
                "portal/forbidden.html",
                {"message": _("Only the tenant's administrators manage invoice profiles.")},
                status=403,
            )
        action = request.POST.get("action", "")
        try:
            if action == "save":
                form = InvoiceProfileForm(request.POST)
                if not form.is_valid():
                    raise _Invalid
                data = dict(form.cleaned_data)
                is_default = data.pop("is_default")
                profile = services.profile_save(
                    actor=request.user, data=data, profile_id=editing.pk if editing else None, is_default=is_default
                )
                messages.success(request, _("Invoice profile “%(title)s” is saved.") % {"title": profile.title})
            elif action == "default" and editing is not None:
                data = {field: getattr(editing, field) for field in services.PROFILE_FIELDS}
                services.profile_save(actor=request.user, data=data, profile_id=editing.pk, is_default=True)
                messages.success(request, _("“%(title)s” is now the default title.") % {"title": editing.title})
            elif action == "delete" and editing is not None:
                services.profile_delete(actor=request.user, profile_id=editing.pk)
                messages.success(request, _("Invoice profile “%(title)s” is deleted.") % {"title": editing.title})
            else:
                messages.error(request, _("Unknown action."))
            return redirect("buyer:invoice_profiles")
        except _Invalid:
            pass
        except ServiceError as exc:
            if action == "save":
                form_error(form, exc)
            else:
                message_error(request, exc)
                return redirect("buyer:invoice_profiles")
    return render(
        request,
        "invoicing/buyer/profiles.html",
        {
            "tab": "profiles",
            "profiles": profiles,
            "form": form,
            "editing": editing,
            "can_manage": can_manage,
        },
    )


@buyer_required
def buyer_letters(request):
    if request.method == "POST":
        try:
            letter = services.letter_request(actor=request.user, request_id=request.POST.get("request"))
        except ServiceError as exc:
            message_error(request, exc)
        else:
            messages.success(request, _letter_submitted(letter))
        return redirect("buyer:invoice_letters")
    candidates = list(selectors.buyer_letter_candidates(user=request.user))
    page = paginate(request, selectors.buyer_letters(user=request.user))
    return render(
        request,
        "invoicing/buyer/letters.html",
        {"tab": "letters", "candidates": candidates, "page": page, "qs": querystring_without_page(request)},
    )
