"""Template helpers for every page: icons, status badges, money, query strings."""

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Simple line icons (24x24, stroke), drawn for this project.
# ruff: noqa: E501
ICONS = {
    "home": '<path d="M3 11l9-7 9 7"/><path d="M5 10v10h5v-6h4v6h5V10"/>',
    "box": '<path d="M3 7l9-4 9 4-9 4-9-4z"/><path d="M3 7v10l9 4 9-4V7"/><path d="M12 11v10"/>',
    "shield": '<path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6l8-3z"/><path d="M9 12l2 2 4-4"/>',
    "list": '<path d="M8 6h13M8 12h13M8 18h13"/><circle cx="4" cy="6" r="1"/><circle cx="4" cy="12" r="1"/><circle cx="4" cy="18" r="1"/>',
    "wallet": '<rect x="3" y="6" width="18" height="14" rx="2"/><path d="M3 10h18"/><path d="M16 15h2"/><path d="M6 6l10-3 1 3"/>',
    "receipt": '<path d="M6 3h12v18l-3-2-3 2-3-2-3 2V3z"/><path d="M9 8h6M9 12h6"/>',
    "chat": '<path d="M4 5h16v11H9l-5 4V5z"/><path d="M8 9h8M8 12h5"/>',
    "star": '<path d="M12 3l2.8 5.8 6.2.9-4.5 4.4 1 6.3L12 17.5 6.5 20.4l1-6.3L3 9.7l6.2-.9L12 3z"/>',
    "tool": '<path d="M14 6a4 4 0 005 5l-8 8a2.1 2.1 0 01-3-3l8-8"/><path d="M14 6l3-3 4 4-3 3"/>',
    "users": '<circle cx="9" cy="8" r="3"/><path d="M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6"/><circle cx="17" cy="9" r="2.5"/><path d="M16 14c3 0 5 2.2 5 5"/>',
    "bell": '<path d="M6 16V11a6 6 0 1112 0v5l2 2H4l2-2z"/><path d="M10 20a2 2 0 004 0"/>',
    "check": '<path d="M4 12l5 5L20 6"/>',
    "cross": '<path d="M6 6l12 12M18 6L6 18"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3.5 3 14.5 0 18M12 3c-3 3.5-3 14.5 0 18"/>',
}


@register.simple_tag
def icon(name: str, size: int = 18):
    paths = ICONS.get(name, "")
    # Only our own constant paths and integers go in: nothing from users.
    return mark_safe(  # noqa: S308
        f'<svg viewBox="0 0 24 24" width="{size}" height="{size}" fill="none" stroke="currentColor" '
        f'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{paths}</svg>'
    )


# Which colour each status wears, whatever the model.
TONES = {
    "ok": {"published", "paid", "active", "approved", "succeeded", "completed", "sent", "done", "accepted"},
    "warn": {
        "pending_review",
        "pending_payment",
        "submitted",
        "in_progress",
        "pending",
        "generated",
        "awaiting_confirmation",
        "countersigning",
        "awaiting_invoice",
        "payable",
        "running",
        "open",
        "parked",
        "pending_acceptance",
        "awaiting_feedback",
        "pending_confirmation",
        "changes",
        "acceptance",
        "returned",
    },
    "danger": {"rejected", "failed", "cancelled", "closed", "suspended"},
    "info": {"processing", "draft", "refunded", "expired", "frozen", "carried_over", "answered", "verified"},
    "": {"delisted", "released", "not_required", "withdrawn"},
}
TONE_OF = {status: tone for tone, statuses in TONES.items() for status in statuses}


@register.simple_tag
def badge(value, label=None):
    tone = TONE_OF.get(str(value), "")
    return format_html('<span class="badge {}">{}</span>', tone, label if label is not None else value)


@register.filter
def money(value):
    """CNY amounts with thousands separators: 12,345.60."""
    if value in (None, ""):
        value = Decimal("0")
    return f"{Decimal(value):,.2f}"


@register.filter
def initial(value):
    text = str(value or "?").strip()
    return text[:1].upper() if text else "?"


@register.filter
def colour(value):
    return f"c{int(value or 0) % 6}"


@register.simple_tag(takes_context=True)
def page_url(context, number):
    qs = context.get("qs", "")
    return f"?{qs}&page={number}" if qs else f"?page={number}"


@register.simple_tag
def review_queues():
    """What operations should look at first, with links to the filtered admin lists."""
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from marketplace.accounts.models import SellerApplication
    from marketplace.catalog.models import Product
    from marketplace.core.models import OutboundEmail
    from marketplace.orders.models import OrderLine

    stale = timezone.now() - timezone.timedelta(days=3)
    apps = SellerApplication.objects.filter(status=SellerApplication.Status.SUBMITTED)
    products = Product.objects.filter(status=Product.Status.PENDING_REVIEW)
    return [
        {
            "label": _("Seller applications to review"),
            "url": reverse("admin:accounts_sellerapplication_changelist") + "?status__exact=submitted",
            "count": apps.count(),
            "overdue": apps.filter(submitted_at__lt=stale).count(),
        },
        {
            "label": _("Products to review"),
            "url": reverse("admin:catalog_product_changelist") + "?status__exact=pending_review",
            "count": products.count(),
            "overdue": products.filter(submitted_at__lt=stale).count(),
        },
        {
            "label": _("Order lines under supervision"),
            "url": reverse("admin:orders_orderline_changelist") + "?supervision__exact=in_progress",
            "count": OrderLine.objects.filter(supervision=OrderLine.Supervision.IN_PROGRESS).count(),
            "overdue": 0,
        },
        {
            "label": _("E-mails that could not be delivered"),
            "url": reverse("admin:core_outboundemail_changelist") + "?status__exact=failed",
            "count": OutboundEmail.objects.filter(status=OutboundEmail.Status.FAILED).count(),
            "overdue": 0,
        },
    ]


@register.filter
def translated(message_id):
    """Translate a message id stored in data (marked with gettext_noop where it was written)."""
    from django.utils.translation import gettext

    return gettext(message_id) if message_id else ""


@register.filter
def dictget(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def split(value, sep=" "):
    return str(value).split(sep)


@register.filter
def pretty_json(value):
    """JSON (a dict, or text holding JSON) indented for reading; other text as it is."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, indent=2)
