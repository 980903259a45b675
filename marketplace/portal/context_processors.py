from django.utils.functional import SimpleLazyObject

from marketplace.core.selectors import unread_count

from .navigation import buyer_nav, seller_nav


def portal(request):
    """Navigation and the unread-notice badge, computed only when a template uses them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    path = request.path

    def _seller_nav():
        m = getattr(user, "seller_membership", None)
        return seller_nav(m, path) if m else []

    def _buyer_nav():
        m = getattr(user, "buyer_membership", None)
        return buyer_nav(m, path) if m else []

    return {
        "unread_notifications": SimpleLazyObject(lambda: unread_count(user=user)),
        "seller_nav": SimpleLazyObject(_seller_nav),
        "buyer_nav": SimpleLazyObject(_buyer_nav),
    }
