"""What each seller role may do in the seller center (inferred: DOMAIN.md leaves it open).

Views and API endpoints ask ``seller_can(membership, capability)``; the navigation hides what a
role cannot open. One table, so the rule is read in one place.
"""

from .models import BuyerMembership, SellerMembership, User

R = SellerMembership.Role

SELLER_CAPABILITIES: dict[str, set[str]] = {
    "dashboard": {R.ADMIN, R.FINANCE, R.SUPPORT, R.DEVELOPER},
    "products.view": {R.ADMIN, R.DEVELOPER, R.SUPPORT, R.FINANCE},
    "products.manage": {R.ADMIN, R.DEVELOPER},
    "products.credit": {R.ADMIN},
    "orders.view": {R.ADMIN, R.FINANCE, R.SUPPORT, R.DEVELOPER},
    "settlement.view": {R.ADMIN, R.FINANCE},
    "invoices.manage": {R.ADMIN, R.FINANCE},
    "refunds.manage": {R.ADMIN, R.FINANCE},
    "tickets.manage": {R.ADMIN, R.SUPPORT},
    "cooperation.manage": {R.ADMIN},
    "apptools.manage": {R.ADMIN, R.DEVELOPER},
    "team.manage": {R.ADMIN},
}


def seller_can(membership: SellerMembership | None, capability: str) -> bool:
    if membership is None:
        return False
    return membership.role in SELLER_CAPABILITIES[capability]


def buyer_is_admin(membership: BuyerMembership | None) -> bool:
    return membership is not None and membership.role == BuyerMembership.Role.ADMIN


def seller_users(seller_id: int, roles) -> list[User]:
    """The seller's people in these roles (a capability's set, or roles named): whom a notice goes to."""
    return list(User.objects.filter(seller_membership__seller_id=seller_id, seller_membership__role__in=list(roles)))
