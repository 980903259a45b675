"""Who may sign in to which seller's app (read-only: no writes here)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from marketplace.accounts.models import Buyer, BuyerMembership
from marketplace.provisioning.models import Instance

from .models import AppAccess, AppRegistration, TestTenant


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # why not, for the person refused
    registration: AppRegistration | None = None
    tenant: Buyer | None = None
    test: bool = False  # a user of the seller's test tenant (the login test)


def registration_of(application) -> AppRegistration | None:
    return AppRegistration.objects.select_related("product__seller").filter(application=application).first()


def may_sign_in(user, application) -> Decision:
    """A code goes only to a user of a tenant holding an active instance of the app — an
    administrator of the tenant, or a user the administrators gave access — or to a user of the
    seller's own test tenant."""
    registration = registration_of(application)
    if registration is None:
        return Decision(False, _("This app does not use single sign-on here."))
    product = registration.product
    membership = getattr(user, "buyer_membership", None) if user.is_authenticated else None
    if membership is None:
        return Decision(False, _("Only buyer accounts sign in to sellers' apps."), registration)
    tenant = membership.buyer
    if TestTenant.objects.filter(buyer=tenant, seller_id=product.seller_id).exists():
        return Decision(True, registration=registration, tenant=tenant, test=True)
    held = Instance.objects.filter(
        status=Instance.Status.ACTIVE, subscription__buyer=tenant, subscription__product=product
    ).exists()
    if not held:
        return Decision(
            False,
            _("%(tenant)s does not hold an active subscription of %(app)s.")
            % {"tenant": tenant.name, "app": product.name},
            registration,
            tenant,
        )
    if (
        membership.role != BuyerMembership.Role.ADMIN
        and not AppAccess.objects.filter(membership=membership, product=product).exists()
    ):
        return Decision(
            False,
            _("Your administrator has not given you access to %(app)s.") % {"app": product.name},
            registration,
            tenant,
        )
    return Decision(True, registration=registration, tenant=tenant)
