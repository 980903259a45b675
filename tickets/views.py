"""Ticket pages of the seller center, the buyer center and the product page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import SellerMembership
from marketplace.accounts.roles import SELLER_CAPABILITIES
from marketplace.catalog.models import Product
from marketplace.core.errors import ServiceError
from marketplace.core.pagecache import page_cache
from marketplace.core.views import form_error, message_error, paginate, private_download, querystring_without_page
from marketplace.orders.models import Order
from marketplace.portal.access import buyer_required, seller_required

from . import selectors, services
from .forms import (
    ConfirmForm,
    OptionalReasonForm,
    ReasonForm,
    ReceptionForm,
    ReplyForm,
    ResolveForm,
    SellerTicketFilterForm,
    TicketFilterForm,
    TicketOpenForm,
)
from .models import Ticket

# --- seller center ---------------------------------------------------------------------------------


@page_cache
@seller_required("tickets.manage")
def seller_ticket_list(request):
    now = timezone.now()
    products = Product.objects.filter(seller=request.seller).only("pk", "name_zh", "name_en").order_by("pk")
    form = SellerTicketFilterForm(request.GET or None, products=products)
    filters = form.cleaned_data if form.is_valid() else {}
    tickets = selectors.seller_tickets(
        seller_id=request.seller.pk,
        status=filters.get("status") or "",
        product_id=filters.get("product"),
        overdue=bool(filters.get("overdue")),
        q=filters.get("q") or "",
        mine_of=request.user if filters.get("mine") else None,
        now=now,
    )
    page = paginate(request, tickets)
    for ticket in page:
        ticket.overdue = ticket.overdue_at(now)
    return render(
        request,
        "tickets/seller/ticket_list.html",
        {
            "form": form,
            "page": page,
            "qs": querystring_without_page(request),
            "counts": selectors.status_counts(Ticket.objects.filter(seller_id=request.seller.pk), now),
            "accepts_tickets": selectors.accepting_seller_ids([request.seller.pk]),
        },
    )


@seller_required("tickets.manage")
def seller_ticket_detail(request, pk):
    ticket = selectors.ticket_for_seller(seller_id=request.seller.pk, ticket_id=pk)
    if ticket is None:
        raise Http404
    now = timezone.now()
    reply_form, resolve_form = ReplyForm(), ResolveForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "accept":
                services.ticket_accept(actor=request.user, ticket_id=pk)
                messages.success(request, _("Accepted. The customer is told."))
            elif action == "assign":
                services.ticket_assign(actor=request.user, ticket_id=pk, assignee_id=request.POST.get("assignee"))
                messages.success(request, _("Assigned."))
            elif action in ("reply", "feedback"):
                reply_form = ReplyForm(request.POST, request.FILES)
                if not reply_form.is_valid():
                    raise _Invalid
                data = reply_form.cleaned_data
                if action == "feedback" and (data["internal"] or data["files"]):
                    # Asking for feedback writes to the customer and takes no files: refuse rather
                    # than send an internal note to the customer or drop the attachments.
                    if data["internal"]:
                        reply_form.add_error("internal", _("An internal note cannot ask the customer for feedback."))
                    if data["files"]:
                        reply_form.add_error("files", _("Attach files with “Send”; a feedback request is text only."))
                    raise _Invalid
                if action == "feedback":
                    services.ticket_request_feedback(actor=request.user, ticket_id=pk, body=data["body"])
                    messages.success(request, _("The customer is asked for feedback; the clock is paused."))
                else:
                    services.ticket_reply(
                        actor=request.user,
                        ticket_id=pk,
                        body=data["body"],
                        internal=data["internal"],
                        files=request.FILES.getlist("files"),
                    )
                    messages.success(request, _("Internal note saved.") if data["internal"] else _("Reply sent."))
            elif action == "resolve":
                resolve_form = ResolveForm(request.POST)
                if not resolve_form.is_valid():
                    raise _Invalid
                services.ticket_resolve(actor=request.user, ticket_id=pk, **resolve_form.cleaned_data)
                messages.success(request, _("Marked resolved. The customer is asked to confirm."))
            else:
                messages.error(request, _("Unknown action."))
            if action in ("accept", "assign", "reply", "feedback", "resolve"):
                return redirect("seller:ticket_detail", pk=pk)
        except _Invalid:
            pass
        except ServiceError as exc:
            target = resolve_form if action == "resolve" else reply_form if action in ("reply", "feedback") else None
            if target is not None and exc.field_errors:
                form_error(target, exc)
            else:
                message_error(request, exc)
                return redirect("seller:ticket_detail", pk=pk)
    colleagues = (
        SellerMembership.objects.filter(seller=request.seller, role__in=SELLER_CAPABILITIES["tickets.manage"])
        .select_related("user")
        .order_by("user__name")
    )
    return render(
        request,
        "tickets/seller/ticket_detail.html",
        {
            "ticket": ticket,
            "overdue": ticket.overdue_at(now),
            "reply_form": reply_form,
            "resolve_form": resolve_form,
            "colleagues": colleagues,
        },
    )


class _Invalid(Exception):
    """A page form did not validate: show it again with its errors."""


@seller_required("tickets.manage")
def seller_reception(request):
    reception = selectors.reception_of(request.seller.pk)
    form = ReceptionForm(request.POST or None, initial=ReceptionForm.initial_for(reception))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.reception_update(
                actor=request.user,
                accepts_tickets=data["accepts_tickets"],
                windows=data["windows"],
                closed_dates=data["closed_date_list"],
                observe_public_holidays=data["observe_public_holidays"],
                first_response_hours=data["first_response_hours"],
                resolution_hours=data["resolution_hours"],
            )
        except ServiceError as exc:
            if "windows" in exc.field_errors:
                form.add_error(None, str(exc.message))
            else:
                form_error(form, exc)
        else:
            messages.success(request, _("Reception settings saved."))
            return redirect("seller:ticket_settings")
    availability = selectors.availability(request.seller.pk)
    return render(
        request,
        "tickets/seller/reception.html",
        {"form": form, "reception": reception, "availability": availability},
    )


# --- buyer center ----------------------------------------------------------------------------------


@buyer_required
def buyer_ticket_list(request):
    base = selectors.buyer_tickets_base(request.buyer_membership)
    products = Product.objects.filter(pk__in=base.values("product_id")).only("pk", "name_zh", "name_en")
    form = TicketFilterForm(request.GET or None, products=products)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(
        request,
        selectors.buyer_tickets(
            membership=request.buyer_membership,
            status=filters.get("status") or "",
            product_id=filters.get("product"),
            q=filters.get("q") or "",
        ),
    )
    return render(
        request,
        "tickets/buyer/ticket_list.html",
        {"form": form, "page": page, "qs": querystring_without_page(request), "counts": selectors.status_counts(base)},
    )


@buyer_required
def buyer_ticket_open(request, product_id):
    product = get_object_or_404(Product.objects.select_related("seller"), pk=product_id)
    orders = list(
        Order.objects.filter(buyer=request.buyer, lines__product=product).order_by("-created_at").distinct()[:50]
    )
    if product.status != Product.Status.PUBLISHED and not orders:
        raise Http404  # an unpublished product the buyer never ordered does not exist for them
    availability = selectors.availability(product.seller_id)
    form = TicketOpenForm(request.POST or None, request.FILES or None, orders=orders, initial=request.GET)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_open(
                actor=request.user,
                product_id=product.pk,
                order_id=data["order"],
                category=data["category"],
                title=data["title"],
                description=data["description"],
                files=request.FILES.getlist("files"),
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s is open. The seller is told.") % {"number": ticket.number})
            return redirect("buyer:ticket_detail", pk=ticket.pk)
    return render(
        request,
        "tickets/buyer/ticket_open.html",
        {"form": form, "product": product, "availability": availability},
    )


@buyer_required
def buyer_ticket_detail(request, pk):
    ticket = selectors.ticket_for_buyer(membership=request.buyer_membership, ticket_id=pk)
    if ticket is None:
        raise Http404
    reply_form, confirm_form, reject_form, withdraw_form = (
        ReplyForm(),
        ConfirmForm(),
        ReasonForm(),
        OptionalReasonForm(),
    )
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "reply":
                reply_form = ReplyForm(request.POST, request.FILES)
                if not reply_form.is_valid():
                    raise _Invalid
                services.ticket_reply(
                    actor=request.user,
                    ticket_id=pk,
                    body=reply_form.cleaned_data["body"],
                    files=request.FILES.getlist("files"),
                )
                messages.success(request, _("Reply sent."))
            elif action == "confirm":
                confirm_form = ConfirmForm(request.POST)
                if not confirm_form.is_valid():
                    raise _Invalid
                services.ticket_confirm(actor=request.user, ticket_id=pk, **confirm_form.cleaned_data)
                messages.success(request, _("Thank you. The ticket is completed."))
            elif action == "reject":
                reject_form = ReasonForm(request.POST)
                if not reject_form.is_valid():
                    raise _Invalid
                services.ticket_reject(actor=request.user, ticket_id=pk, reason=reject_form.cleaned_data["reason"])
                messages.success(request, _("Sent back to the seller."))
            elif action == "withdraw":
                withdraw_form = OptionalReasonForm(request.POST)
                if not withdraw_form.is_valid():
                    raise _Invalid
                services.ticket_withdraw(actor=request.user, ticket_id=pk, reason=withdraw_form.cleaned_data["reason"])
                messages.success(request, _("The ticket is withdrawn."))
            else:
                messages.error(request, _("Unknown action."))
            return redirect("buyer:ticket_detail", pk=pk)
        except _Invalid:
            pass
        except ServiceError as exc:
            target = {"reply": reply_form, "confirm": confirm_form, "reject": reject_form}.get(action)
            if target is not None and target.is_bound and exc.field_errors:
                form_error(target, exc)
            else:
                message_error(request, exc)
                return redirect("buyer:ticket_detail", pk=pk)
    return render(
        request,
        "tickets/buyer/ticket_detail.html",
        {
            "ticket": ticket,
            "reply_form": reply_form,
            "confirm_form": confirm_form,
            "reject_form": reject_form,
            "withdraw_form": withdraw_form,
        },
    )


# --- files -----------------------------------------------------------------------------------------


@login_required
def attachment_download(request, pk):
    """An attachment, for the parties of its ticket only."""
    attachment = selectors.attachment_for(user=request.user, attachment_id=pk)
    if attachment is None:
        raise Http404
    return private_download(attachment.file, attachment.name)
