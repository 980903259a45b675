"""Catalog services: drafting, plans, the publishing review, delisting, credit control, fee rates."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone, translation

from marketplace.accounts.models import User
from marketplace.catalog import services
from marketplace.catalog.models import DeliveryKind, Plan, Product, ProductEvent, TradeMode
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders import services as order_services
from tests.factories import CategoryFactory, PlanFactory, ProductFactory, UserFactory, seller_member

pytestmark = pytest.mark.django_db


def snapshot(product: Product) -> dict:
    """Everything a refused action must leave as it was."""
    fresh = Product.objects.get(pk=product.pk)
    return {
        "status": fresh.status,
        "events": list(ProductEvent.objects.filter(product=product).values_list("pk", flat=True)),
        "rejection_reason": fresh.rejection_reason,
        "delist_reason": fresh.delist_reason,
        "delisted_by_platform": fresh.delisted_by_platform,
        "coupon": fresh.credit_coupon_enabled,
        "credit_line": fresh.credit_line_enabled,
        "ops_fee_rate": fresh.ops_fee_rate,
        "submitted_at": fresh.submitted_at,
        "published_at": fresh.published_at,
        "name_en": fresh.name_en,
        "trade_mode": fresh.trade_mode,
        "plans": list(fresh.plans.order_by("pk").values_list("pk", "sku_code", "price", "is_active")),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def ops(group: str = "operations") -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)


def product_data(**overrides) -> dict:
    data = {
        "category": CategoryFactory().pk,
        "trade_mode": TradeMode.GENERAL,
        "delivery_kind": DeliveryKind.SAAS,
        "name_zh": "协同办公",
        "name_en": "Teamwork Suite",
        "summary_zh": "简介",
        "summary_en": "Summary",
        "description_zh": "描述",
        "description_en": "Description",
    }
    data.update(overrides)
    return data


def plan_data(**overrides) -> dict:
    data = {
        "sku_code": "std-month",
        "name_zh": "标准版",
        "name_en": "Standard",
        "charging_mode": Plan.ChargingMode.PERIOD,
        "period_type": Plan.PeriodType.MONTH,
        "price": "99.90",
        "trial_days": 0,
        "is_active": True,
        "position": 0,
    }
    data.update(overrides)
    return data


def draft_with_plan(seller, **fields) -> Product:
    product = ProductFactory(seller=seller, **fields)
    PlanFactory(product=product)
    return product


def pending(seller, **fields) -> Product:
    product = draft_with_plan(seller, status=Product.Status.PENDING_REVIEW, submitted_at=timezone.now(), **fields)
    return product


# --- create and update ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "developer"])
def test_a_seller_admin_or_developer_creates_a_draft(seller, role):
    user = seller_member(seller, role)

    product = services.product_create(actor=user, data=product_data(status="published", ops_fee_rate="0.5"))

    product.refresh_from_db()
    assert (product.seller, product.status, product.name_en, product.trade_mode) == (
        seller,
        "draft",
        "Teamwork Suite",
        "general",
    )
    assert product.ops_fee_rate is None
    event = product.events.get()
    assert (event.actor, event.from_status, event.to_status) == (user, "", "draft")


def test_a_license_product_is_always_supervised_and_only_license_products_auto_deploy(seller_user):
    license_product = services.product_create(
        actor=seller_user, data=product_data(delivery_kind="license", supervised=False, auto_deploy=True)
    )
    saas = services.product_create(actor=seller_user, data=product_data(delivery_kind="saas", auto_deploy=True))

    assert (license_product.supervised, license_product.auto_deploy) == (True, True)
    assert (saas.supervised, saas.auto_deploy) == (False, False)


@pytest.mark.parametrize("role", ["finance", "support"])
def test_finance_and_support_cannot_create_products(seller, role):
    user = seller_member(seller, role)

    with pytest.raises(NotAllowed):
        services.product_create(actor=user, data=product_data())

    assert Product.objects.count() == 0


def test_a_buyer_cannot_create_products(buyer_user):
    with pytest.raises(NotAllowed):
        services.product_create(actor=buyer_user, data=product_data())

    assert Product.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"name_en": "  "}, {"name_en"}),
        ({"trade_mode": "barter"}, {"trade_mode"}),
        ({"delivery_kind": "pigeon"}, {"delivery_kind"}),
        ({"category": 987654321}, {"category"}),
    ],
)
def test_creating_with_invalid_fields_is_refused(seller_user, overrides, fields):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=seller_user, data=product_data(**overrides))

    assert set(exc.value.field_errors) == fields
    assert Product.objects.count() == 0
    assert ProductEvent.objects.count() == 0


def test_creating_without_required_fields_is_refused(seller_user):
    with pytest.raises(ValidationFailed) as exc:
        services.product_create(actor=seller_user, data={"name_zh": "只有中文名"})

    assert set(exc.value.field_errors) == {"category", "trade_mode", "delivery_kind", "name_en"}
    assert Product.objects.count() == 0


@pytest.mark.parametrize("status", ["draft", "rejected"])
def test_a_draft_or_rejected_product_can_be_edited_and_keeps_its_status(seller, seller_user, status):
    product = ProductFactory(seller=seller, status=status)

    services.product_update(actor=seller_user, product_id=product.pk, data={"name_en": "Renamed"})

    product.refresh_from_db()
    assert (product.status, product.name_en) == (status, "Renamed")
    assert product.events.count() == 0


def test_editing_a_delisted_product_returns_it_to_draft(seller, seller_user):
    product = ProductFactory(seller=seller, status="delisted")

    services.product_update(actor=seller_user, product_id=product.pk, data={"summary_en": "New summary"})

    product.refresh_from_db()
    assert (product.status, product.summary_en) == ("draft", "New summary")
    event = product.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("delisted", "draft", seller_user)


@pytest.mark.parametrize("status", ["pending_review", "published"])
def test_a_product_under_review_or_on_sale_cannot_be_edited(seller, seller_user, status):
    product = draft_with_plan(seller, status=status)
    before = snapshot(product)

    with pytest.raises(Conflict):
        services.product_update(actor=seller_user, product_id=product.pk, data={"name_en": "Sneaky"})

    assert snapshot(product) == before


def test_another_sellers_product_cannot_be_edited(seller, other_seller_user):
    product = ProductFactory(seller=seller)
    before = snapshot(product)

    with pytest.raises(NotFound):
        services.product_update(actor=other_seller_user, product_id=product.pk, data={"name_en": "Mine"})

    assert snapshot(product) == before


@pytest.mark.parametrize("bad_id", ["abc", 0, -1, 99999999999999999999, None])
def test_a_bad_product_id_is_not_found(seller_user, bad_id):
    with pytest.raises(NotFound):
        services.product_update(actor=seller_user, product_id=bad_id, data={"name_en": "X"})


# --- plans --------------------------------------------------------------------------------------------


def test_a_periodic_plan_is_added_to_a_draft(seller, seller_user):
    product = ProductFactory(seller=seller)

    plan = services.plan_save(actor=seller_user, product_id=product.pk, data=plan_data(price="99.905"))

    plan.refresh_from_db()
    assert (plan.product, plan.sku_code, plan.charging_mode, plan.period_type, plan.price) == (
        product,
        "std-month",
        "PERIOD",
        "month",
        Decimal("99.91"),
    )


@pytest.mark.parametrize("mode", ["ONE_TIME", "ON_DEMAND"])
def test_a_non_periodic_plan_drops_the_period(seller, seller_user, mode):
    product = ProductFactory(seller=seller)

    plan = services.plan_save(
        actor=seller_user, product_id=product.pk, data=plan_data(charging_mode=mode, period_type="year")
    )

    assert Plan.objects.get(pk=plan.pk).period_type == ""


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"charging_mode": "WEEKLY"}, "charging_mode"),
        ({"period_type": ""}, "period_type"),
        ({"period_type": "week"}, "period_type"),
        ({"price": "-0.01"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"price": None}, "price"),
        ({"trial_days": 91}, "trial_days"),
        ({"trial_days": -1}, "trial_days"),
        ({"trial_days": "x"}, "trial_days"),
        ({"sku_code": " "}, "sku_code"),
        ({"name_zh": ""}, "name_zh"),
    ],
)
def test_an_invalid_plan_is_refused(seller, seller_user, overrides, field):
    product = ProductFactory(seller=seller)

    with pytest.raises(ValidationFailed) as exc:
        services.plan_save(actor=seller_user, product_id=product.pk, data=plan_data(**overrides))

    assert set(exc.value.field_errors) == {field}
    assert Plan.objects.count() == 0


def test_a_duplicate_sku_is_refused(seller, seller_user):
    product = ProductFactory(seller=seller)
    PlanFactory(product=product, sku_code="std-month")
    before = snapshot(product)

    with pytest.raises(Conflict) as exc:
        services.plan_save(actor=seller_user, product_id=product.pk, data=plan_data(sku_code="std-month"))

    assert set(exc.value.field_errors) == {"sku_code"}
    assert snapshot(product) == before


def test_the_same_sku_is_fine_on_another_product_and_when_editing_the_plan_itself(seller, seller_user):
    first = ProductFactory(seller=seller)
    second = ProductFactory(seller=seller)
    plan = PlanFactory(product=first, sku_code="std-month")

    services.plan_save(actor=seller_user, product_id=second.pk, data=plan_data(sku_code="std-month"))
    services.plan_save(
        actor=seller_user, product_id=first.pk, data=plan_data(sku_code="std-month", price="120"), plan_id=plan.pk
    )

    plan.refresh_from_db()
    assert plan.price == Decimal("120.00")
    assert Plan.objects.filter(sku_code="std-month").count() == 2


@pytest.mark.parametrize("status", ["pending_review", "published"])
def test_plans_of_a_product_under_review_or_on_sale_cannot_change(seller, seller_user, status):
    product = draft_with_plan(seller, status=status)
    plan = product.plans.get()
    before = snapshot(product)

    with pytest.raises(Conflict):
        services.plan_save(actor=seller_user, product_id=product.pk, data=plan_data(sku_code="new"))
    with pytest.raises(Conflict):
        services.plan_save(
            actor=seller_user, product_id=product.pk, data=plan_data(sku_code=plan.sku_code), plan_id=plan.pk
        )
    with pytest.raises(Conflict):
        services.plan_delete(actor=seller_user, product_id=product.pk, plan_id=plan.pk)

    assert snapshot(product) == before


def test_editing_a_plan_of_a_delisted_product_returns_it_to_draft(seller, seller_user):
    product = draft_with_plan(seller, status="delisted")
    plan = product.plans.get()

    services.plan_save(
        actor=seller_user, product_id=product.pk, data=plan_data(sku_code=plan.sku_code, price="1"), plan_id=plan.pk
    )

    product.refresh_from_db()
    assert product.status == "draft"
    assert product.events.get().to_status == "draft"


def test_a_plan_of_another_product_cannot_be_edited_through_mine(seller, seller_user):
    mine = ProductFactory(seller=seller)
    theirs = PlanFactory(product=ProductFactory(seller=seller))

    with pytest.raises(NotFound):
        services.plan_save(actor=seller_user, product_id=mine.pk, data=plan_data(sku_code="zzz"), plan_id=theirs.pk)
    with pytest.raises(NotFound):
        services.plan_delete(actor=seller_user, product_id=mine.pk, plan_id=theirs.pk)

    theirs.refresh_from_db()
    assert theirs.sku_code != "zzz"
    assert Plan.objects.filter(pk=theirs.pk).exists()
    assert mine.plans.count() == 0


def test_a_plan_without_orders_is_deleted(seller, seller_user):
    product = draft_with_plan(seller)

    services.plan_delete(actor=seller_user, product_id=product.pk, plan_id=product.plans.get().pk)

    assert product.plans.count() == 0


def test_a_plan_with_orders_cannot_be_deleted(seller, seller_user, published_product, plan, buyer_user):
    order_services.order_create(actor=buyer_user, plan_id=plan.pk)
    services.product_delist(actor=seller_user, product_id=published_product.pk)
    before = snapshot(published_product)

    with pytest.raises(Conflict):
        services.plan_delete(actor=seller_user, product_id=published_product.pk, plan_id=plan.pk)

    assert snapshot(published_product) == before


# --- submit and withdraw -------------------------------------------------------------------------------


def test_submitting_a_complete_draft_puts_it_in_the_review_queue(seller, seller_user):
    product = draft_with_plan(seller, rejection_reason="")
    now = timezone.now()

    services.product_submit(actor=seller_user, product_id=product.pk, now=now)

    product.refresh_from_db()
    assert (product.status, product.submitted_at) == ("pending_review", now)
    event = product.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("draft", "pending_review", seller_user)


def test_a_rejected_product_can_be_resubmitted_and_the_old_reason_is_cleared(seller, seller_user):
    product = draft_with_plan(seller, status="rejected", rejection_reason="Screenshots missing")

    services.product_submit(actor=seller_user, product_id=product.pk)

    product.refresh_from_db()
    assert (product.status, product.rejection_reason) == ("pending_review", "")


@pytest.mark.parametrize(
    "incomplete",
    [
        {"plan_active": False},
        {"name_en": " "},
        {"name_zh": ""},
        {"description_zh": "", "description_en": "  "},
    ],
)
def test_submitting_without_a_prerequisite_is_refused(seller, seller_user, incomplete):
    plan_active = incomplete.pop("plan_active", True)
    product = ProductFactory(seller=seller, **incomplete)
    PlanFactory(product=product, is_active=plan_active)
    before = snapshot(product)

    with pytest.raises(ValidationFailed):
        services.product_submit(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


def test_submitting_without_any_plan_is_refused(seller, seller_user):
    product = ProductFactory(seller=seller)
    before = snapshot(product)

    with pytest.raises(ValidationFailed):
        services.product_submit(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


@pytest.mark.parametrize("status", ["pending_review", "published", "delisted"])
def test_submitting_from_a_state_that_does_not_allow_it_is_refused(seller, seller_user, status):
    product = draft_with_plan(seller, status=status)
    before = snapshot(product)

    with pytest.raises(InvalidTransition):
        services.product_submit(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


@pytest.mark.parametrize("role", ["finance", "support"])
def test_finance_and_support_cannot_submit(seller, role):
    product = draft_with_plan(seller)
    before = snapshot(product)

    with pytest.raises(NotAllowed):
        services.product_submit(actor=seller_member(seller, role), product_id=product.pk)

    assert snapshot(product) == before


def test_another_seller_cannot_submit_my_product(seller, other_seller_user):
    product = draft_with_plan(seller)
    before = snapshot(product)

    with pytest.raises(NotFound):
        services.product_submit(actor=other_seller_user, product_id=product.pk)

    assert snapshot(product) == before


def test_withdrawing_takes_a_product_back_to_draft(seller, seller_user):
    product = pending(seller)

    services.product_withdraw(actor=seller_user, product_id=product.pk)

    product.refresh_from_db()
    assert product.status == "draft"
    event = product.events.get()
    assert (event.from_status, event.to_status) == ("pending_review", "draft")


@pytest.mark.parametrize("status", ["draft", "published", "rejected", "delisted"])
def test_only_a_product_under_review_can_be_withdrawn(seller, seller_user, status):
    product = draft_with_plan(seller, status=status)
    before = snapshot(product)

    with pytest.raises(Conflict):
        services.product_withdraw(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


# --- the review by operations ---------------------------------------------------------------------------


def test_operations_approve_a_general_product_and_the_seller_is_told(
    seller, seller_user, django_capture_on_commit_callbacks, mailoutbox
):
    product = pending(seller)
    staff = ops()
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        services.product_approve(actor=staff, product_id=product.pk, now=now)

    product.refresh_from_db()
    assert (product.status, product.published_at) == ("published", now)
    event = product.events.get()
    assert (event.actor, event.from_status, event.to_status) == (staff, "pending_review", "published")
    notice = Notification.objects.get()
    assert (notice.user, notice.link) == (seller_user, f"/seller/products/{product.pk}/")
    assert sorted(m.to[0] for m in mailoutbox) == sorted([seller_user.email, seller.bound_email])


@pytest.mark.parametrize("mode", ["joint", "strict", "strict_self", "platform"])
def test_a_joint_flow_product_needs_a_fee_rate_before_approval(seller, mode):
    product = pending(seller, trade_mode=mode)
    staff = ops()
    before = snapshot(product)

    with pytest.raises(ValidationFailed):
        services.product_approve(actor=staff, product_id=product.pk)

    assert snapshot(product) == before

    services.product_set_fee_rate(actor=staff, product_id=product.pk, rate="0.2")
    services.product_approve(actor=staff, product_id=product.pk)

    product.refresh_from_db()
    assert (product.status, product.ops_fee_rate) == ("published", Decimal("0.2000"))


@pytest.mark.parametrize("group", ["finance", "support"])
def test_staff_without_the_review_permission_cannot_approve(seller, group):
    product = pending(seller)
    staff = ops(group)
    before = snapshot(product)

    with pytest.raises(NotAllowed):
        services.product_approve(actor=staff, product_id=product.pk)

    assert snapshot(product) == before


def test_a_seller_cannot_approve_its_own_product(seller, seller_user):
    product = pending(seller)
    before = snapshot(product)

    with pytest.raises(NotAllowed):
        services.product_approve(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


@pytest.mark.parametrize("status", ["draft", "rejected", "published", "delisted"])
def test_only_a_product_under_review_can_be_approved(seller, status):
    product = draft_with_plan(seller, status=status)
    staff = ops()
    before = snapshot(product)

    with pytest.raises(Conflict):  # InvalidTransition or the explicit "only under review" refusal
        services.product_approve(actor=staff, product_id=product.pk)

    assert snapshot(product) == before


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_rejection_needs_a_reason(seller, reason):
    product = pending(seller)
    staff = ops()
    before = snapshot(product)

    with pytest.raises(ValidationFailed) as exc:
        services.product_reject(actor=staff, product_id=product.pk, reason=reason)

    assert set(exc.value.field_errors) == {"reason"}
    assert snapshot(product) == before


def test_operations_reject_with_a_reason_and_the_seller_is_told(seller, seller_user):
    product = pending(seller)
    staff = ops()

    services.product_reject(actor=staff, product_id=product.pk, reason=" Screenshots missing ")

    product.refresh_from_db()
    assert (product.status, product.rejection_reason) == ("rejected", "Screenshots missing")
    event = product.events.get()
    assert (event.from_status, event.to_status, event.message) == ("pending_review", "rejected", "Screenshots missing")
    assert Notification.objects.get().user == seller_user
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == sorted([seller_user.email, seller.bound_email])


@pytest.mark.parametrize("status", ["draft", "published", "delisted", "rejected"])
def test_only_a_product_under_review_can_be_rejected(seller, status):
    product = draft_with_plan(seller, status=status)
    staff = ops()
    before = snapshot(product)

    with pytest.raises(InvalidTransition):
        services.product_reject(actor=staff, product_id=product.pk, reason="No")

    assert snapshot(product) == before


# --- delisting and relisting -------------------------------------------------------------------------------


def test_the_seller_delists_and_relists_its_product(seller, seller_user, published_product):
    services.product_delist(actor=seller_user, product_id=published_product.pk, reason=" Reworking pricing ")

    published_product.refresh_from_db()
    assert (published_product.status, published_product.delist_reason, published_product.delisted_by_platform) == (
        "delisted",
        "Reworking pricing",
        False,
    )
    assert Notification.objects.count() == 0

    services.product_relist(actor=seller_user, product_id=published_product.pk)

    published_product.refresh_from_db()
    assert (published_product.status, published_product.delist_reason) == ("published", "")
    assert list(published_product.events.values_list("from_status", "to_status")) == [
        ("published", "delisted"),
        ("delisted", "published"),
    ]


@pytest.mark.parametrize("status", ["draft", "pending_review", "rejected", "delisted"])
def test_only_a_published_product_can_be_delisted(seller, seller_user, status):
    product = draft_with_plan(seller, status=status)
    before = snapshot(product)

    with pytest.raises(InvalidTransition):
        services.product_delist(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


@pytest.mark.parametrize("status", ["draft", "pending_review", "rejected", "published"])
def test_only_a_delisted_product_can_be_relisted(seller, seller_user, status):
    product = draft_with_plan(seller, status=status)
    before = snapshot(product)

    with pytest.raises(Conflict):
        services.product_relist(actor=seller_user, product_id=product.pk)

    assert snapshot(product) == before


def test_operations_delist_with_a_reason_and_the_seller_is_told(seller, seller_user, published_product):
    staff = ops()

    services.product_platform_delist(actor=staff, product_id=published_product.pk, reason="Complaints")

    published_product.refresh_from_db()
    assert (published_product.status, published_product.delisted_by_platform, published_product.delist_reason) == (
        "delisted",
        True,
        "Complaints",
    )
    assert Notification.objects.get().user == seller_user


@pytest.mark.parametrize("reason", ["", "  "])
def test_a_platform_delisting_needs_a_reason(published_product, reason):
    staff = ops()
    before = snapshot(published_product)

    with pytest.raises(ValidationFailed):
        services.product_platform_delist(actor=staff, product_id=published_product.pk, reason=reason)

    assert snapshot(published_product) == before


def test_after_a_platform_delisting_only_operations_can_relist(seller_user, published_product):
    staff = ops()
    services.product_platform_delist(actor=staff, product_id=published_product.pk, reason="Complaints")
    before = snapshot(published_product)

    with pytest.raises(NotAllowed):
        services.product_relist(actor=seller_user, product_id=published_product.pk)

    assert snapshot(published_product) == before

    services.product_platform_relist(actor=staff, product_id=published_product.pk)

    published_product.refresh_from_db()
    assert (published_product.status, published_product.delisted_by_platform) == ("published", False)


def test_a_seller_cannot_use_the_platform_delisting(seller_user, published_product):
    before = snapshot(published_product)

    with pytest.raises(NotAllowed):
        services.product_platform_delist(actor=seller_user, product_id=published_product.pk, reason="Mine")

    assert snapshot(published_product) == before


def test_another_seller_cannot_delist_my_product(other_seller_user, published_product):
    before = snapshot(published_product)

    with pytest.raises(NotFound):
        services.product_delist(actor=other_seller_user, product_id=published_product.pk)

    assert snapshot(published_product) == before


# --- credit-control settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["joint", "platform"])
def test_the_seller_admin_switches_credit_control_for_joint_and_platform_products(seller, seller_user, mode):
    product = draft_with_plan(seller, trade_mode=mode, status="published")

    services.product_set_credit_control(actor=seller_user, product_id=product.pk, coupon=True)
    services.product_set_credit_control(actor=seller_user, product_id=product.pk, credit_line=True)
    services.product_set_credit_control(actor=seller_user, product_id=product.pk, coupon=False)

    product.refresh_from_db()
    assert (product.credit_coupon_enabled, product.credit_line_enabled, product.status) == (False, True, "published")
    assert product.events.count() == 3
    assert all(e.from_status == e.to_status == "published" for e in product.events.all())


def test_switching_to_the_current_value_records_nothing(seller, seller_user):
    product = draft_with_plan(seller, trade_mode="joint", credit_coupon_enabled=True)

    services.product_set_credit_control(actor=seller_user, product_id=product.pk, coupon=True, credit_line=False)

    assert product.events.count() == 0


@pytest.mark.parametrize(
    ("mode", "label"),
    [("general", "General"), ("strict", "Strict selection"), ("strict_self", "Strict selection, self-operated")],
)
def test_credit_control_is_refused_for_other_trade_modes_with_a_clear_message(seller, seller_user, mode, label):
    product = draft_with_plan(seller, trade_mode=mode, name_zh="慢跑", name_en="Jogger")
    before = snapshot(product)

    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        services.product_set_credit_control(actor=seller_user, product_id=product.pk, coupon=True, credit_line=True)

    assert str(exc.value.message) == (
        "Credit-control settings apply only to joint-operation and platform self-service products; "
        f"“Jogger” is a {label} product."
    )
    assert snapshot(product) == before


@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_only_the_seller_admin_may_change_credit_control(seller, role):
    product = draft_with_plan(seller, trade_mode="joint")
    before = snapshot(product)

    with pytest.raises(NotAllowed):
        services.product_set_credit_control(actor=seller_member(seller, role), product_id=product.pk, coupon=True)

    assert snapshot(product) == before


def test_credit_control_of_another_sellers_product_is_not_found(seller, other_seller_user):
    product = draft_with_plan(seller, trade_mode="joint")
    before = snapshot(product)

    with pytest.raises(NotFound):
        services.product_set_credit_control(actor=other_seller_user, product_id=product.pk, coupon=True)

    assert snapshot(product) == before


# --- the operations-management fee rate ------------------------------------------------------------------------


def test_operations_set_the_fee_rate_of_a_joint_product(seller):
    product = draft_with_plan(seller, trade_mode="joint", status="published")
    staff = ops()

    with translation.override("en"):
        services.product_set_fee_rate(actor=staff, product_id=product.pk, rate="0.15")
        services.product_set_fee_rate(actor=staff, product_id=product.pk, rate=Decimal("1"))

    product.refresh_from_db()
    assert product.ops_fee_rate == Decimal("1.0000")
    assert list(product.events.values_list("actor", flat=True)) == [staff.pk, staff.pk]
    last = product.events.last()
    assert (last.note, last.params) == ("Fee rate %(old)s → %(new)s", {"old": "0.1500", "new": "1.0000"})


@pytest.mark.parametrize("rate", ["1.0001", "-0.01", "abc", "", None, "NaN", "Infinity", "sNaN"])
def test_an_invalid_fee_rate_is_refused(seller, rate):
    product = draft_with_plan(seller, trade_mode="joint")
    staff = ops()
    before = snapshot(product)

    with pytest.raises(ValidationFailed):
        services.product_set_fee_rate(actor=staff, product_id=product.pk, rate=rate)

    assert snapshot(product) == before


def test_a_general_product_takes_no_fee_rate(seller):
    product = draft_with_plan(seller, trade_mode="general")
    staff = ops()
    before = snapshot(product)

    with pytest.raises(ValidationFailed):
        services.product_set_fee_rate(actor=staff, product_id=product.pk, rate="0.1")

    assert snapshot(product) == before


def test_the_fee_rate_is_for_operations_only(seller, seller_user):
    product = draft_with_plan(seller, trade_mode="joint")
    staff = ops("finance")
    before = snapshot(product)

    for actor in (seller_user, staff):
        with pytest.raises(NotAllowed):
            services.product_set_fee_rate(actor=actor, product_id=product.pk, rate="0.1")

    assert snapshot(product) == before
