"""Writes for the catalog: drafting, plans, the publishing review, delisting, credit control."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.models import Seller, User
from marketplace.accounts.roles import seller_can
from marketplace.core.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
    as_id,
    require_perm,
)
from marketplace.core.money import quantize
from marketplace.core.services import notify
from marketplace.core.state import check_transition, lock, move, record

from .models import ALWAYS_SUPERVISED, Category, DeliveryKind, Plan, Product, TradeMode

ON, OFF = gettext_noop("on"), gettext_noop("off")

PRODUCT_FIELDS = (
    "category",
    "trade_mode",
    "delivery_kind",
    "supervised",
    "auto_deploy",
    "name_zh",
    "name_en",
    "summary_zh",
    "summary_en",
    "description_zh",
    "description_en",
)
PLAN_FIELDS = (
    "sku_code",
    "name_zh",
    "name_en",
    "charging_mode",
    "period_type",
    "price",
    "usage_unit",
    "trial_days",
    "is_active",
    "position",
)


def _seller_of(actor: User, capability: str = "products.manage") -> Seller:
    membership = getattr(actor, "seller_membership", None)
    if membership is None:
        raise NotAllowed(_("Only seller staff can manage products."))
    if not seller_can(membership, capability):
        raise NotAllowed(_("Your role does not allow this."))
    return membership.seller


def _own_product(actor: User, product_id: int, capability: str = "products.manage") -> Product:
    """The actor's seller's product, locked."""
    seller = _seller_of(actor, capability)
    return lock(Product.objects.filter(seller=seller), product_id, _("No such product."))


def _clean_product_data(data: dict) -> dict:
    data = {k: data[k] for k in PRODUCT_FIELDS if k in data}
    errors: dict[str, list[str]] = {}
    if "trade_mode" in data and data["trade_mode"] not in TradeMode.values:
        errors["trade_mode"] = [_("Unknown trade mode.")]
    if "delivery_kind" in data and data["delivery_kind"] not in DeliveryKind.values:
        errors["delivery_kind"] = [_("Unknown delivery kind.")]
    if "category" in data and not isinstance(data["category"], Category):
        try:
            category = Category.objects.filter(pk=as_id(data["category"])).first()
        except NotFound:
            category = None
        if category is None:
            errors["category"] = [_("Unknown category.")]
        data["category"] = category
    for key in ("name_zh", "name_en"):
        if key in data and not str(data[key]).strip():
            errors[key] = [_("Required.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    if data.get("delivery_kind") in ALWAYS_SUPERVISED:
        data["supervised"] = True
    if "delivery_kind" in data and data["delivery_kind"] != DeliveryKind.LICENSE:
        data["auto_deploy"] = False
    return data


def product_create(*, actor: User, data: dict) -> Product:
    seller = _seller_of(actor)
    data = _clean_product_data(data)
    missing = [k for k in ("category", "trade_mode", "delivery_kind", "name_zh", "name_en") if not data.get(k)]
    if missing:
        raise ValidationFailed(
            _("Please fill in the required fields."), field_errors={k: [_("Required.")] for k in missing}
        )
    with transaction.atomic():
        product = Product.objects.create(seller=seller, **data)
        record(product, actor=actor, from_status="", note=gettext_noop("Draft created"))
    return product


def product_update(*, actor: User, product_id: int, data: dict) -> Product:
    """Edit a draft, rejected or delisted product. Editing a delisted product returns it to draft."""
    data = _clean_product_data(data)
    with transaction.atomic():
        product = _own_product(actor, product_id)
        if product.status not in Product.EDITABLE:
            raise Conflict(_("Only draft, rejected or delisted products can be edited. Delist it first."))
        for key, value in data.items():
            setattr(product, key, value)
        if product.delivery_kind in ALWAYS_SUPERVISED:
            product.supervised = True
        product.save()
        if product.status == Product.Status.DELISTED:
            move(
                product,
                Product.Status.DRAFT,
                actor=actor,
                note=gettext_noop("Edited after delisting: needs review again"),
            )
    return product


def _clean_plan_data(data: dict) -> dict:
    data = {k: data[k] for k in PLAN_FIELDS if k in data}
    errors: dict[str, list[str]] = {}
    mode = data.get("charging_mode")
    if mode not in Plan.ChargingMode.values:
        errors["charging_mode"] = [_("Unknown charging mode.")]
    if mode == Plan.ChargingMode.PERIOD:
        if data.get("period_type") not in Plan.PeriodType.values:
            errors["period_type"] = [_("A periodic plan needs a period: month or year.")]
    else:
        data["period_type"] = ""
    try:
        price = quantize(Decimal(str(data.get("price", ""))))
        if price < 0:
            raise InvalidOperation
        data["price"] = price
    except (InvalidOperation, ValueError, TypeError):
        errors["price"] = [_("Enter a price of 0 or more.")]
    trial = data.get("trial_days") or 0
    try:
        data["trial_days"] = int(trial)
        if not 0 <= data["trial_days"] <= 90:
            raise ValueError
    except (TypeError, ValueError):
        errors["trial_days"] = [_("Between 0 and 90 days.")]
    for key in ("sku_code", "name_zh", "name_en"):
        if not str(data.get(key, "")).strip():
            errors[key] = [_("Required.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return data


def plan_save(*, actor: User, product_id: int, data: dict, plan_id: int | None = None) -> Plan:
    data = _clean_plan_data(data)
    with transaction.atomic():
        product = _own_product(actor, product_id)
        if product.status not in Product.EDITABLE:
            raise Conflict(_("Plans of a product under review or on sale cannot be changed. Delist it first."))
        duplicate = product.plans.filter(sku_code=data["sku_code"])
        if plan_id is not None:
            duplicate = duplicate.exclude(pk=plan_id)
        if duplicate.exists():
            raise Conflict(
                _("Another plan already has this SKU code."), field_errors={"sku_code": [_("Already used.")]}
            )
        if plan_id is None:
            plan = Plan.objects.create(product=product, **data)
        else:
            plan = product.plans.filter(pk=as_id(plan_id, _("No such plan."))).first()
            if plan is None:
                raise NotFound(_("No such plan."))
            for key, value in data.items():
                setattr(plan, key, value)
            plan.save()
        if product.status == Product.Status.DELISTED:
            move(
                product,
                Product.Status.DRAFT,
                actor=actor,
                note=gettext_noop("Plans edited after delisting: needs review again"),
            )
    return plan


def plan_delete(*, actor: User, product_id: int, plan_id: int) -> None:
    with transaction.atomic():
        product = _own_product(actor, product_id)
        if product.status not in Product.EDITABLE:
            raise Conflict(_("Plans of a product under review or on sale cannot be changed. Delist it first."))
        plan = product.plans.filter(pk=as_id(plan_id, _("No such plan."))).first()
        if plan is None:
            raise NotFound(_("No such plan."))
        if plan.order_lines.exists():
            raise Conflict(_("This plan has orders: take it off sale instead of deleting it."))
        plan.delete()


def publish_prerequisites(product: Product) -> list[str]:
    """What must be true before a product can be submitted for review."""
    problems = []
    if not product.plans.filter(is_active=True).exists():
        problems.append(_("Add at least one plan on sale."))
    if not product.name_zh.strip() or not product.name_en.strip():
        problems.append(_("Give the product a name in Chinese and in English."))
    if not (product.description_zh.strip() or product.description_en.strip()):
        problems.append(_("Describe the product."))
    if product.trade_mode == TradeMode.JOINT and product.delivery_kind == DeliveryKind.SAAS:
        from marketplace.provisioning.debugging import conformance_passed

        if not conformance_passed(product.seller_id):
            problems.append(_("Pass the conformance run of your produce interface (App tools > Interface debugging)."))
        from marketplace.sso.selectors import login_test_passed

        if not login_test_passed(product):
            problems.append(_("Register the app for single sign-on and pass its login test (App tools > SSO)."))
    return problems


def product_submit(*, actor: User, product_id: int, now=None) -> Product:
    now = now or timezone.now()
    with transaction.atomic():
        product = _own_product(actor, product_id)
        check_transition(Product.TRANSITIONS, product.status, Product.Status.PENDING_REVIEW, choices=Product.Status)
        problems = publish_prerequisites(product)
        if problems:
            raise ValidationFailed(_("The product cannot be submitted yet: ") + " ".join(problems))
        product.submitted_at = now
        product.rejection_reason = ""
        move(product, Product.Status.PENDING_REVIEW, actor=actor, fields=["submitted_at", "rejection_reason"])
    return product


def product_withdraw(*, actor: User, product_id: int) -> Product:
    """The seller takes a product back from the review queue."""
    with transaction.atomic():
        product = _own_product(actor, product_id)
        if product.status != Product.Status.PENDING_REVIEW:
            raise Conflict(_("Only a product under review can be withdrawn."))
        move(product, Product.Status.DRAFT, actor=actor, note=gettext_noop("Withdrawn from review"))
    return product


def _staff_product(actor: User, product_id: int) -> Product:
    require_perm(actor, "catalog.review_product")
    return lock(Product.objects.select_related("seller"), product_id, _("No such product."))


def _tell_seller(product: Product, subject, template: str, context: dict | None = None) -> None:
    admins = [m.user for m in product.seller.memberships.select_related("user").filter(role="admin")]
    notify(
        users=admins,
        subject=subject,
        template=template,
        context={"product": product, **(context or {})},
        link=reverse("seller:product_detail", args=[product.pk]),
        extra_emails=[product.seller.bound_email],
    )


def product_approve(*, actor: User, product_id: int, now=None) -> Product:
    now = now or timezone.now()
    with transaction.atomic():
        product = _staff_product(actor, product_id)
        if product.status != Product.Status.PENDING_REVIEW:
            raise InvalidTransition(_("Only a product under review can be approved."))
        if product.is_joint_flow and product.ops_fee_rate is None:
            raise ValidationFailed(
                _("Set the operations-management fee rate of this joint-flow product before approving it.")
            )
        product.published_at = now
        move(product, Product.Status.PUBLISHED, actor=actor, fields=["published_at"])
        _tell_seller(product, gettext_lazy("Your product is published"), "notifications/product_approved.txt")
    return product


def product_reject(*, actor: User, product_id: int, reason: str) -> Product:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("A rejection needs a reason."), field_errors={"reason": [_("Required.")]})
    with transaction.atomic():
        product = _staff_product(actor, product_id)
        check_transition(Product.TRANSITIONS, product.status, Product.Status.REJECTED, choices=Product.Status)
        product.rejection_reason = reason
        move(product, Product.Status.REJECTED, actor=actor, message=reason, fields=["rejection_reason"])
        _tell_seller(product, gettext_lazy("Your product was not approved"), "notifications/product_rejected.txt")
    return product


def product_delist(*, actor: User, product_id: int, reason: str = "") -> Product:
    """The seller takes its product off sale."""
    with transaction.atomic():
        product = _own_product(actor, product_id)
        return _delist(product, actor=actor, reason=reason.strip(), by_platform=False)


def product_platform_delist(*, actor: User, product_id: int, reason: str) -> Product:
    """Operations take a product off sale; then only operations can relist it."""
    if not (reason or "").strip():
        raise ValidationFailed(
            _("Tell the seller why the product is delisted."), field_errors={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        product = _staff_product(actor, product_id)
        return _delist(product, actor=actor, reason=reason.strip(), by_platform=True)


def _delist(product: Product, *, actor: User | None, reason: str, by_platform: bool) -> Product:
    check_transition(Product.TRANSITIONS, product.status, Product.Status.DELISTED, choices=Product.Status)
    product.delist_reason = reason
    product.delisted_by_platform = by_platform
    move(
        product, Product.Status.DELISTED, actor=actor, message=reason, fields=["delist_reason", "delisted_by_platform"]
    )
    if by_platform:
        _tell_seller(product, gettext_lazy("Your product was delisted"), "notifications/product_delisted.txt")
    return product


def product_auto_delist(*, product_id: int, reason: str) -> Product | None:
    """The platform takes a product off sale by rule (too many failed orders); operations relist."""
    with transaction.atomic():
        product = Product.objects.select_for_update().select_related("seller").filter(pk=product_id).first()
        if product is None or product.status != Product.Status.PUBLISHED:
            return product
        return _delist(product, actor=None, reason=reason, by_platform=True)


def _relist(product: Product, *, actor: User) -> Product:
    if product.status != Product.Status.DELISTED:
        raise InvalidTransition(_("Only a delisted product can be relisted."))
    product.delist_reason = ""
    product.delisted_by_platform = False
    move(
        product,
        Product.Status.PUBLISHED,
        actor=actor,
        note=gettext_noop("Relisted"),
        fields=["delist_reason", "delisted_by_platform"],
    )
    return product


def product_relist(*, actor: User, product_id: int) -> Product:
    """The seller puts its delisted, unchanged product back on sale."""
    with transaction.atomic():
        product = _own_product(actor, product_id)
        if product.status == Product.Status.DELISTED and product.delisted_by_platform:
            raise NotAllowed(_("Operations delisted this product; only they can relist it. Open a ticket."))
        return _relist(product, actor=actor)


def product_platform_relist(*, actor: User, product_id: int) -> Product:
    with transaction.atomic():
        return _relist(_staff_product(actor, product_id), actor=actor)


def product_set_credit_control(
    *, actor: User, product_id: int, coupon: bool | None = None, credit_line: bool | None = None
) -> Product:
    """信控设置: switch credit cash-coupon and credit-line payment for a joint or platform product."""
    with transaction.atomic():
        product = _own_product(actor, product_id, capability="products.credit")
        if not product.has_credit_control:
            raise ValidationFailed(
                _(
                    "Credit-control settings apply only to joint-operation and platform self-service products; "
                    "“%(name)s” is a %(mode)s product."
                )
                % {"name": product.name, "mode": product.get_trade_mode_display()}
            )
        changed = []
        if coupon is not None and coupon != product.credit_coupon_enabled:
            product.credit_coupon_enabled = coupon
            changed.append("credit_coupon_enabled")
        if credit_line is not None and credit_line != product.credit_line_enabled:
            product.credit_line_enabled = credit_line
            changed.append("credit_line_enabled")
        if changed:
            product.save(update_fields=[*changed, "updated_at"])
            record(
                product,
                actor=actor,
                note=gettext_noop("Credit control: coupon %(coupon)s, credit line %(line)s"),
                params={
                    "coupon": ON if product.credit_coupon_enabled else OFF,
                    "line": ON if product.credit_line_enabled else OFF,
                },
            )
    return product


def product_set_fee_rate(*, actor: User, product_id: int, rate) -> Product:
    """Operations set the operations-management fee rate of a joint-flow product."""
    try:
        rate = Decimal(str(rate)).quantize(Decimal("0.0001"))
    except InvalidOperation as exc:
        raise ValidationFailed(_("Enter a rate between 0 and 1.")) from exc
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
        raise ValidationFailed(_("Enter a rate between 0 and 1."))
    with transaction.atomic():
        product = _staff_product(actor, product_id)
        if not product.is_joint_flow:
            raise ValidationFailed(
                _("General products pay the platform fee from the tier table, not a per-product rate.")
            )
        old = product.ops_fee_rate
        product.ops_fee_rate = rate
        product.save(update_fields=["ops_fee_rate", "updated_at"])
        record(product, actor=actor, note=gettext_noop("Fee rate %(old)s → %(new)s"), params={"old": old, "new": rate})
    return product
