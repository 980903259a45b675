"""The navigation of the seller and buyer centers (DOMAIN.md): one list each, filtered by role."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.roles import buyer_is_admin, seller_can


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: str = ""
    icon: str = ""
    prefix: str = ""


SELLER_NAV = (
    NavItem(_("Dashboard"), "seller:dashboard", "dashboard", "home"),
    NavItem(_("Products"), "seller:products", "products.view", "box", "/seller/products/"),
    NavItem(_("Credit settings"), "seller:credit_settings", "products.credit", "shield", "/seller/credit-settings/"),
    NavItem(_("Orders"), "seller:orders", "orders.view", "list", "/seller/orders/"),
    NavItem(_("Settlement"), "seller:settlement", "settlement.view", "wallet", "/seller/settlement/"),
    NavItem(_("Invoices"), "seller:invoices", "invoices.manage", "receipt", "/seller/invoices/"),
    NavItem(_("Refunds"), "seller:refunds", "refunds.manage", "wallet", "/seller/refunds/"),
    NavItem(_("Tickets"), "seller:tickets", "tickets.manage", "chat", "/seller/tickets/"),
    NavItem(_("Cooperation applications"), "seller:cooperation", "cooperation.manage", "star", "/seller/cooperation/"),
    NavItem(_("Merchant benefits"), "seller:benefits", "cooperation.manage", "star", "/seller/benefits/"),
    NavItem(_("App tools"), "seller:app_tools", "apptools.manage", "tool", "/seller/app-tools/"),
    NavItem(_("Team"), "seller:team", "team.manage", "users", "/seller/team/"),
)

BUYER_NAV = (
    NavItem(_("Dashboard"), "buyer:dashboard", "", "home"),
    NavItem(_("My orders"), "buyer:orders", "", "list", "/buyer/orders/"),
    NavItem(_("Purchased services"), "buyer:services", "", "box", "/buyer/services/"),
    NavItem(_("My invoices"), "buyer:invoices", "", "receipt", "/buyer/invoices/"),
    NavItem(_("Refunds"), "buyer:refunds", "", "wallet", "/buyer/refunds/"),
    NavItem(_("Tickets"), "buyer:tickets", "", "chat", "/buyer/tickets/"),
    NavItem(_("Enterprise workbench"), "buyer:workbench", "", "users", "/buyer/workbench/"),
)


def seller_nav(membership, path: str) -> list[dict]:
    return [
        {"label": i.label, "url": reverse(i.url_name), "icon": i.icon, "active": _active(i, path)}
        for i in SELLER_NAV
        if seller_can(membership, i.capability)
    ]


def buyer_nav(membership, path: str) -> list[dict]:
    return [
        {"label": i.label, "url": reverse(i.url_name), "icon": i.icon, "active": _active(i, path)}
        for i in BUYER_NAV
        if i.url_name != "buyer:workbench" or membership.buyer.is_enterprise or buyer_is_admin(membership)
    ]


def _active(item: NavItem, path: str) -> bool:
    if item.prefix:
        return path.startswith(item.prefix)
    return path == reverse(item.url_name)
