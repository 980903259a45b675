"""The shells of the seller and buyer centers: dashboards, notifications, sections to come."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.catalog.selectors import seller_product_counts, status_rows
from marketplace.core import selectors as core_selectors
from marketplace.core.errors import NotFound, as_id
from marketplace.core.pagecache import page_cache
from marketplace.core.services import notification_mark_read
from marketplace.core.views import paginate
from marketplace.orders import selectors as order_selectors
from tickets import selectors as ticket_selectors

from .access import buyer_required, seller_required


@page_cache
@seller_required("dashboard")
def seller_dashboard(request):
    seller = request.seller
    counts = seller_product_counts(seller_id=seller.pk)
    stats = order_selectors.seller_order_stats(seller_id=seller.pk)
    recent = order_selectors.seller_orders(seller_id=seller.pk)[:5]
    return render(
        request,
        "portal/seller_dashboard.html",
        {
            "seller": seller,
            "product_counts": counts,
            "product_rows": status_rows(counts),
            "stats": stats,
            "supervision": order_selectors.seller_supervision_count(seller_id=seller.pk),
            "recent_orders": recent,
            "tickets": _seller_ticket_counts(request),
        },
    )


def _seller_ticket_counts(request):
    from marketplace.accounts.roles import seller_can
    from tickets.models import Ticket
    from tickets.selectors import status_counts

    if not seller_can(request.seller_membership, "tickets.manage"):
        return None
    return status_counts(Ticket.objects.filter(seller_id=request.seller.pk))


@page_cache
@buyer_required
def buyer_dashboard(request):
    stats = order_selectors.buyer_dashboard_stats(user=request.user)
    recent = order_selectors.buyer_orders(user=request.user)[:5]
    return render(
        request,
        "portal/buyer_dashboard.html",
        {
            "stats": stats,
            "recent_orders": recent,
            "credit": order_selectors.buyer_credit(user=request.user),
            "tickets": ticket_selectors.status_counts(ticket_selectors.buyer_tickets_base(request.buyer_membership)),
        },
    )


@login_required
def notifications(request):
    page = paginate(request, core_selectors.notifications_for(user=request.user))
    return render(request, "portal/notifications.html", {"page": page})


@require_POST
@login_required
def notifications_read(request):
    nid = request.POST.get("id")
    try:
        notification_id = as_id(nid) if nid else None
    except NotFound:
        raise Http404 from None
    changed = notification_mark_read(user=request.user, notification_id=notification_id)
    if not nid:
        messages.success(request, _("%(n)s notices marked as read.") % {"n": changed})
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect("portal:notifications")
