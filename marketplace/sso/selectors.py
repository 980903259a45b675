"""Reads for single sign-on pages: a seller's apps and tests, a tenant's apps and who may open them."""

from django.db.models import F, Prefetch, QuerySet

from marketplace.accounts.models import BuyerMembership
from marketplace.catalog.models import DeliveryKind, Product, TradeMode
from marketplace.provisioning.models import Instance

from .models import AppAccess, AppRegistration, LoginTest, TestTenant


def seller_sso_products(*, seller_id: int) -> QuerySet[Product]:
    """The seller's joint-operation SaaS products, each with its registration (or none) and latest login tests."""
    return (
        Product.objects.filter(seller_id=seller_id, trade_mode=TradeMode.JOINT, delivery_kind=DeliveryKind.SAAS)
        .select_related("sso_app__application")
        .prefetch_related(
            Prefetch(
                "sso_app__login_tests", queryset=LoginTest.objects.select_related("user").order_by("-code_issued_at")
            )
        )
        .order_by("pk")
    )


def login_test_passed(product: Product) -> bool:
    registration = AppRegistration.objects.filter(product=product).first()
    return registration is not None and any(t.passed for t in registration.login_tests.all())


def seller_test_tenant(*, seller_id: int) -> TestTenant | None:
    return (
        TestTenant.objects.filter(seller_id=seller_id)
        .select_related("buyer")
        .prefetch_related(Prefetch("buyer__memberships", queryset=BuyerMembership.objects.select_related("user")))
        .first()
    )


def workbench_apps(*, membership: BuyerMembership) -> list[dict]:
    """One tile per SaaS app the tenant holds (active), with its running instance if it has one, and
    whether this user may open it: there must be a running instance, and for single sign-on apps the
    user must be an administrator or have been given access. A few queries whatever the count."""
    from marketplace.orders.models import Subscription

    held = (
        Subscription.objects.filter(
            buyer_id=membership.buyer_id, status=Subscription.Status.ACTIVE, product__delivery_kind=DeliveryKind.SAAS
        )
        .select_related("product__seller", "product__sso_app__application", "plan")
        .order_by("product_id", F("expires_at").desc(nulls_first=True))
    )
    running = {
        i.subscription_id: i
        for i in Instance.objects.filter(subscription__buyer_id=membership.buyer_id, status=Instance.Status.ACTIVE)
    }
    granted = set(AppAccess.objects.filter(membership=membership).values_list("product_id", flat=True))
    is_admin = membership.role == BuyerMembership.Role.ADMIN
    apps: dict[int, dict] = {}
    for subscription in held:
        product, instance = subscription.product, running.get(subscription.pk)
        if product.pk in apps and (apps[product.pk]["instance"] or not instance):
            continue  # one tile per app: the subscription with a running instance, else the longest
        registration = getattr(product, "sso_app", None)
        apps[product.pk] = {
            "product": product,
            "subscription": subscription,
            "instance": instance,
            "sso": registration is not None,
            "may_open": instance is not None and (registration is None or is_admin or product.pk in granted),
        }
    return list(apps.values())


def app_members(*, tenant_id: int, product_id: int) -> list[tuple[BuyerMembership, bool]]:
    """The tenant's users and whether each may use the app (administrators always may)."""
    granted = set(
        AppAccess.objects.filter(membership__buyer_id=tenant_id, product_id=product_id).values_list(
            "membership_id", flat=True
        )
    )
    members = BuyerMembership.objects.filter(buyer_id=tenant_id).select_related("user", "org_unit")
    return [
        (m, m.role == BuyerMembership.Role.ADMIN or m.pk in granted) for m in members.order_by("-role", "user__email")
    ]
