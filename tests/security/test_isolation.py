"""Isolation: nobody reaches another party's orders, products, documents or members.

For every page, download and API endpoint that names an object, another buyer, another seller,
an anonymous visitor and a seller user whose role lacks the capability get 404, 403 or a redirect
to the sign-in page, never the data; lists never include other parties' rows; refused writes
change nothing.
"""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client

from marketplace.accounts import services as account_services
from marketplace.accounts.models import (
    BuyerMembership,
    Invitation,
    OrgUnit,
    SellerApplication,
    SellerMembership,
    User,
)
from marketplace.catalog.models import Plan, Product, ProductEvent
from marketplace.core.models import Notification
from marketplace.orders import services as order_services
from marketplace.orders.models import Order, OrderEvent, OrderLine, Payment, Subscription
from tests.factories import (
    BuyerFactory,
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    application_data,
    pdf_upload,
    seller_member,
)

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "0", "-1", "99999999999999999999"]


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def body(response) -> str:
    return response.content.decode()


@dataclass
class World:
    """Seller A and its buyer X; seller B and its buyer Y."""

    seller_a: object
    seller_a_admin: User
    product_a: Product
    plan_a: Plan
    draft_a: Product
    draft_plan_a: Plan
    seller_b: object
    seller_b_admin: User
    product_b: Product
    plan_b: Plan
    buyer_x: User
    order_x: Order  # pending payment, seller A
    supervised_x: Order  # paid, License, under supervision, seller A
    sub_x: Subscription
    buyer_y: User
    order_y: Order  # pending payment, seller B
    sub_y: Subscription


@pytest.fixture
def world(seller, seller_user, other_seller, other_seller_user, buyer_user, other_buyer_user):
    product_a = ProductFactory(
        seller=seller, status="published", name_zh="阿尔法私密套件", name_en="Alpha Private Suite"
    )
    plan_a = PlanFactory(product=product_a, sku_code="alpha-m")
    license_a = ProductFactory(seller=seller, status="published", delivery_kind="license", name_en="Alpha License")
    license_plan = PlanFactory(product=license_a, sku_code="alpha-lic", price=Decimal("800.00"))
    draft_a = ProductFactory(seller=seller, name_zh="阿尔法草稿", name_en="Alpha Draft Secret")
    draft_plan_a = PlanFactory(product=draft_a, sku_code="alpha-draft")
    product_b = ProductFactory(
        seller=other_seller, status="published", name_zh="布拉沃机密", name_en="Bravo Confidential"
    )
    plan_b = PlanFactory(product=product_b, sku_code="bravo-m")

    order_x = order_services.order_create(actor=buyer_user, plan_id=plan_a.pk)
    supervised_x = order_services.order_create(actor=buyer_user, plan_id=license_plan.pk)
    order_services.order_pay(actor=buyer_user, order_id=supervised_x.pk, method="online")
    supervised_x.refresh_from_db()
    order_y = order_services.order_create(actor=other_buyer_user, plan_id=plan_b.pk)
    paid_y = order_services.order_create(actor=other_buyer_user, plan_id=plan_b.pk)
    order_services.order_pay(actor=other_buyer_user, order_id=paid_y.pk, method="online")
    return World(
        seller_a=seller,
        seller_a_admin=seller_user,
        product_a=product_a,
        plan_a=plan_a,
        draft_a=draft_a,
        draft_plan_a=draft_plan_a,
        seller_b=other_seller,
        seller_b_admin=other_seller_user,
        product_b=product_b,
        plan_b=plan_b,
        buyer_x=buyer_user,
        order_x=order_x,
        supervised_x=supervised_x,
        sub_x=supervised_x.lines.get().subscription,
        buyer_y=other_buyer_user,
        order_y=order_y,
        sub_y=paid_y.lines.get().subscription,
    )


def snapshot() -> dict:
    """The rows the endpoints under test could write."""
    return {
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "paid_at", "closed_at")),
        "lines": list(OrderLine.objects.order_by("pk").values_list("pk", "supervision", "supervision_completed_at")),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "status")),
        "order_events": OrderEvent.objects.count(),
        "subscriptions": list(Subscription.objects.order_by("pk").values_list("pk", "status", "plan", "expires_at")),
        "products": list(
            Product.objects.order_by("pk").values_list(
                "pk", "status", "name_en", "credit_coupon_enabled", "credit_line_enabled", "delist_reason"
            )
        ),
        "plans": list(Plan.objects.order_by("pk").values_list("pk", "sku_code", "price", "is_active")),
        "product_events": ProductEvent.objects.count(),
        "buyer_memberships": list(BuyerMembership.objects.order_by("pk").values_list("pk", "role", "org_unit")),
        "seller_memberships": list(SellerMembership.objects.order_by("pk").values_list("pk", "role")),
        "org_units": list(OrgUnit.objects.order_by("pk").values_list("pk", "parent", "code")),
        "invitations": list(Invitation.objects.order_by("pk").values_list("pk", "revoked_at", "accepted_at")),
        "notifications_read": Notification.objects.filter(read_at__isnull=False).count(),
    }


def assert_hidden(response, *secrets: str) -> None:
    text = body(response)
    for secret in secrets:
        assert secret not in text


def product_secrets(product: Product) -> tuple[str, str]:
    return product.name_zh, product.name_en


# --- buyer center: one order ---------------------------------------------------------------------------


def buyer_order_pages(order: Order) -> list[str]:
    return [
        f"/buyer/orders/{order.pk}/",
        f"/buyer/orders/{order.pk}/pay/",
        f"/buyer/orders/{order.pk}/pay/sandbox/",
    ]


def test_the_buyer_sees_its_own_order_pages(world):
    client = client_for(world.buyer_x)

    for url in buyer_order_pages(world.order_x):
        response = client.get(url)
        assert response.status_code == 200, url
        assert world.order_x.number in body(response), url


@pytest.mark.parametrize("who", ["other_buyer", "tenant_colleague"])
def test_another_buyer_gets_404_on_every_order_page_and_action(world, who):
    if who == "other_buyer":
        intruder = world.buyer_y
    else:
        # A plain user of an enterprise tenant cannot open a colleague's order either.
        tenant = EnterpriseFactory()
        placer = UserFactory()
        BuyerMembership.objects.create(buyer=tenant, user=placer, role="user")
        intruder = UserFactory()
        BuyerMembership.objects.create(buyer=tenant, user=intruder, role="user")
        world.order_x = order_services.order_create(actor=User.objects.get(pk=placer.pk), plan_id=world.plan_a.pk)
    client = client_for(intruder)
    order = world.order_x
    before = snapshot()

    for url in buyer_order_pages(order):
        for response in (client.get(url), client.post(url, {"method": "online", "outcome": "succeed"})):
            assert response.status_code == 404, url
            assert_hidden(response, order.number, *product_secrets(world.product_a))
    for url in (f"/buyer/orders/{order.pk}/cancel/", f"/buyer/orders/{order.pk}/lines/{order.lines.get().pk}/accept/"):
        response = client.post(url)
        assert response.status_code == 404, url
        assert_hidden(response, order.number)

    assert snapshot() == before


def test_another_buyer_cannot_accept_delivery_of_my_supervised_line(world):
    line = world.supervised_x.lines.get()
    assert line.supervision == "in_progress"
    before = snapshot()

    response = client_for(world.buyer_y).post(f"/buyer/orders/{world.supervised_x.pk}/lines/{line.pk}/accept/")

    assert response.status_code == 404
    assert snapshot() == before


def test_a_line_of_another_order_cannot_be_accepted_through_mine(world):
    mine = world.order_y
    theirs = world.supervised_x.lines.get()
    before = snapshot()

    response = client_for(world.buyer_y).post(f"/buyer/orders/{mine.pk}/lines/{theirs.pk}/accept/")

    assert response.status_code == 404
    assert snapshot() == before


def test_the_owner_accepts_delivery(world):
    line = world.supervised_x.lines.get()

    response = client_for(world.buyer_x).post(f"/buyer/orders/{world.supervised_x.pk}/lines/{line.pk}/accept/")

    assert response.status_code == 302
    assert OrderLine.objects.get(pk=line.pk).supervision == "completed"


def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_buyer_page(world):
    client = client_for(None)
    order = world.order_x
    line = order.lines.get()
    before = snapshot()

    urls = [*buyer_order_pages(order), "/buyer/orders/", "/buyer/services/", "/buyer/", "/buyer/workbench/"]
    for url in urls:
        response = client.get(url)
        assert is_login_redirect(response), url
    for url in (f"/buyer/orders/{order.pk}/cancel/", f"/buyer/orders/{order.pk}/lines/{line.pk}/accept/"):
        assert is_login_redirect(client.post(url)), url
    assert is_login_redirect(client.post(f"/buyer/orders/{order.pk}/pay/sandbox/", {"outcome": "succeed"}))

    assert snapshot() == before


def test_a_seller_user_without_a_buyer_account_is_refused_on_buyer_pages(world):
    client = client_for(world.seller_a_admin)  # the order's seller, but not its buyer
    order = world.order_x
    before = snapshot()

    for url in buyer_order_pages(order):
        response = client.get(url)
        assert response.status_code == 403, url
        assert_hidden(response, order.number)
    response = client.post(f"/buyer/orders/{order.pk}/cancel/")
    assert response.status_code == 403

    assert snapshot() == before


def test_the_buyer_order_list_shows_only_my_orders(world):
    response = client_for(world.buyer_x).get("/buyer/orders/")

    assert response.status_code == 200
    assert world.order_x.number in body(response)
    assert world.supervised_x.number in body(response)
    assert_hidden(response, world.order_y.number, *product_secrets(world.product_b))


def test_the_buyer_dashboard_and_services_show_only_my_rows(world):
    client = client_for(world.buyer_y)

    dashboard = client.get("/buyer/")
    services_page = client.get("/buyer/services/")

    assert world.order_y.number in body(dashboard)
    assert_hidden(dashboard, world.order_x.number, world.supervised_x.number)
    assert world.product_b.name_zh in body(services_page)
    assert_hidden(services_page, "Alpha License", *product_secrets(world.product_a))


def test_checkout_for_another_buyers_service_is_not_found(world):
    client = client_for(world.buyer_y)

    response = client.get(
        "/buyer/checkout/", {"plan": world.sub_x.plan_id, "order_type": "RENEW", "subscription": world.sub_x.pk}
    )

    assert response.status_code == 404
    assert Order.objects.filter(buyer__memberships__user=world.buyer_y).count() == 2


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_ids_on_buyer_pages_are_not_found(world, bad_id):
    client = client_for(world.buyer_x)

    for url in (f"/buyer/orders/{bad_id}/", f"/buyer/orders/{bad_id}/pay/", f"/buyer/orders/{bad_id}/pay/sandbox/"):
        assert client.get(url).status_code == 404, url
    for url in (f"/buyer/orders/{bad_id}/cancel/", f"/buyer/orders/{world.order_x.pk}/lines/{bad_id}/accept/"):
        assert client.post(url).status_code == 404, url


# --- seller center: orders --------------------------------------------------------------------------------


def test_the_seller_sees_its_order_and_list(world):
    client = client_for(world.seller_a_admin)

    detail = client.get(f"/seller/orders/{world.order_x.pk}/")
    listing = client.get("/seller/orders/")

    assert detail.status_code == 200
    assert world.order_x.number in body(detail)
    assert world.order_x.number in body(listing)
    assert_hidden(listing, world.order_y.number, *product_secrets(world.product_b))


@pytest.mark.parametrize("role", ["admin", "finance", "support", "developer"])
def test_another_sellers_staff_get_404_on_my_order(world, role):
    intruder = world.seller_b_admin if role == "admin" else seller_member(world.seller_b, role)

    response = client_for(intruder).get(f"/seller/orders/{world.order_x.pk}/")

    assert response.status_code == 404
    assert_hidden(response, world.order_x.number, *product_secrets(world.product_a))


def test_anonymous_and_buyers_never_see_a_seller_order(world):
    url = f"/seller/orders/{world.order_x.pk}/"

    assert is_login_redirect(client_for(None).get(url))
    response = client_for(world.buyer_x).get(url)  # the order's own buyer, but not seller staff
    assert response.status_code == 302
    assert response["Location"] == "/accounts/seller-apply/"


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_ids_on_seller_order_pages_are_not_found(world, bad_id):
    assert client_for(world.seller_a_admin).get(f"/seller/orders/{bad_id}/").status_code == 404


# --- seller center: products ---------------------------------------------------------------------------


def product_pages(product: Product, plan: Plan) -> list[str]:
    return [
        f"/seller/products/{product.pk}/",
        f"/seller/products/{product.pk}/edit/",
        f"/seller/products/{product.pk}/plans/new/",
        f"/seller/products/{product.pk}/plans/{plan.pk}/",
    ]


def product_posts(product: Product, plan: Plan) -> list[tuple[str, dict]]:
    edit = {
        "name_zh": "篡改",
        "name_en": "Hijacked",
        "category": product.category_id,
        "trade_mode": "general",
        "delivery_kind": "saas",
        "description_en": "x",
    }
    plan_form = {
        "sku_code": "hijack",
        "name_zh": "x",
        "name_en": "x",
        "charging_mode": "PERIOD",
        "period_type": "month",
        "price": "0.01",
        "trial_days": 0,
        "position": 0,
        "is_active": "on",
    }
    return [
        (f"/seller/products/{product.pk}/edit/", edit),
        (f"/seller/products/{product.pk}/plans/new/", plan_form),
        (f"/seller/products/{product.pk}/plans/{plan.pk}/", {**plan_form, "sku_code": plan.sku_code}),
        (f"/seller/products/{product.pk}/plans/{plan.pk}/delete/", {}),
        *[
            (f"/seller/products/{product.pk}/{action}/", {"reason": "x"})
            for action in ("submit", "withdraw", "delist", "relist")
        ],
    ]


def test_the_seller_sees_its_product_pages(world):
    client = client_for(world.seller_a_admin)

    for url in product_pages(world.draft_a, world.draft_plan_a):
        response = client.get(url)
        assert response.status_code == 200, url
        assert world.draft_a.name_zh in body(response) or world.draft_a.name_en in body(response), url


@pytest.mark.parametrize("role", ["admin", "developer", "finance", "support"])
def test_another_sellers_staff_get_404_on_every_product_page_and_action(world, role):
    intruder = world.seller_b_admin if role == "admin" else seller_member(world.seller_b, role)
    client = client_for(intruder)
    before = snapshot()

    for product, plan in ((world.draft_a, world.draft_plan_a), (world.product_a, world.plan_a)):
        for url in product_pages(product, plan):
            response = client.get(url)
            assert response.status_code in (403, 404), url
            assert_hidden(response, *product_secrets(product))
        for url, data in product_posts(product, plan):
            response = client.post(url, data)
            assert response.status_code in (403, 404), url
            assert_hidden(response, *product_secrets(product))

    assert snapshot() == before


def test_a_plan_of_another_sellers_product_cannot_be_reached_through_my_product(world):
    client = client_for(world.seller_b_admin)
    mine = world.product_b
    before = snapshot()

    assert client.get(f"/seller/products/{mine.pk}/plans/{world.draft_plan_a.pk}/").status_code == 404
    response = client.post(f"/seller/products/{mine.pk}/plans/{world.draft_plan_a.pk}/delete/")

    assert response.status_code in (302, 404)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["finance", "support"])
def test_roles_without_product_management_cannot_change_products(world, role):
    member = seller_member(world.seller_a, role)
    client = client_for(member)
    before = snapshot()

    assert client.get(f"/seller/products/{world.draft_a.pk}/").status_code == 200  # products.view
    for url in product_pages(world.draft_a, world.draft_plan_a)[1:]:
        assert client.get(url).status_code == 403, url
    for url, data in product_posts(world.draft_a, world.draft_plan_a):
        assert client.post(url, data).status_code == 403, url
    assert client.get("/seller/products/new/").status_code == 403

    assert snapshot() == before


def test_anonymous_and_buyers_never_reach_seller_product_pages(world):
    before = snapshot()

    for url in product_pages(world.draft_a, world.draft_plan_a):
        assert is_login_redirect(client_for(None).get(url)), url
        response = client_for(world.buyer_x).get(url)
        assert (response.status_code, response["Location"]) == (302, "/accounts/seller-apply/"), url
    for url, data in product_posts(world.draft_a, world.draft_plan_a):
        assert is_login_redirect(client_for(None).post(url, data)), url

    assert snapshot() == before


def test_the_seller_product_list_shows_only_my_products(world):
    response = client_for(world.seller_a_admin).get("/seller/products/")

    assert world.draft_a.name_zh in body(response)
    assert_hidden(response, *product_secrets(world.product_b))


def test_a_draft_is_not_on_the_public_catalog(world):
    for user in (None, world.buyer_x, world.seller_b_admin):
        response = client_for(user).get(f"/products/{world.draft_a.pk}/")
        assert response.status_code == 404
        assert_hidden(response, *product_secrets(world.draft_a))


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_ids_on_seller_product_pages_are_not_found(world, bad_id):
    client = client_for(world.seller_a_admin)
    before = snapshot()

    for url in (f"/seller/products/{bad_id}/", f"/seller/products/{bad_id}/edit/"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/seller/products/{world.draft_a.pk}/plans/{bad_id}/").status_code == 404
    assert client.post(f"/seller/products/{bad_id}/submit/").status_code == 404
    assert client.post(f"/seller/products/{world.draft_a.pk}/plans/{bad_id}/delete/").status_code == 404

    assert snapshot() == before


# --- seller center: credit-control settings ---------------------------------------------------------------


@pytest.fixture
def joint_b(world):
    return ProductFactory(seller=world.seller_b, status="published", trade_mode="joint", name_en="Bravo Joint")


def test_credit_settings_of_another_sellers_product_cannot_be_changed(world, joint_b):
    client = client_for(world.seller_a_admin)
    before = snapshot()

    response = client.post("/seller/credit-settings/", {"product": joint_b.pk, "field": "coupon", "value": "on"})

    assert (response.status_code, response["Location"]) == (302, "/seller/credit-settings/")
    assert snapshot() == before
    page = client.get("/seller/credit-settings/")
    assert_hidden(page, "Bravo Joint", *product_secrets(world.product_b))


def test_the_owner_changes_credit_settings(world, joint_b):
    client = client_for(world.seller_b_admin)

    client.post("/seller/credit-settings/", {"product": joint_b.pk, "field": "coupon", "value": "on"})

    assert Product.objects.get(pk=joint_b.pk).credit_coupon_enabled is True


@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_roles_other_than_admin_cannot_change_credit_settings(world, joint_b, role):
    client = client_for(seller_member(world.seller_b, role))
    before = snapshot()

    assert client.get("/seller/credit-settings/").status_code == 403
    response = client.post("/seller/credit-settings/", {"product": joint_b.pk, "field": "coupon", "value": "on"})

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("product", ["abc", "0", "99999999999999999999", ""])
def test_credit_settings_with_a_bad_product_id_change_nothing(world, product):
    before = snapshot()

    response = client_for(world.seller_a_admin).post(
        "/seller/credit-settings/", {"product": product, "field": "coupon", "value": "on"}
    )

    assert response.status_code == 302
    assert snapshot() == before


# --- onboarding documents --------------------------------------------------------------------------------


@pytest.fixture
def application_document(private_media):
    applicant = UserFactory()
    application = account_services.seller_application_save(
        actor=applicant, data=application_data(), documents={"business_license": pdf_upload()}
    )
    return applicant, application.documents.get()


def test_the_applicant_and_staff_download_an_onboarding_document(application_document, ops_user):
    applicant, document = application_document

    for user in (applicant, ops_user):
        response = client_for(user).get(f"/accounts/seller-apply/documents/{document.pk}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_nobody_else_downloads_an_onboarding_document(application_document, buyer_user, seller_user):
    _applicant, document = application_document
    url = f"/accounts/seller-apply/documents/{document.pk}/"
    other_applicant = UserFactory()
    account_services.seller_application_save(actor=other_applicant, data=application_data(9000002))

    assert is_login_redirect(client_for(None).get(url))
    for user in (buyer_user, seller_user, other_applicant):
        response = client_for(user).get(url)
        assert response.status_code == 404
        assert not response.has_header("Content-Disposition")


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_document_ids_are_not_found(ops_user, bad_id):
    assert client_for(ops_user).get(f"/accounts/seller-apply/documents/{bad_id}/").status_code == 404


def test_the_application_page_shows_only_my_application(application_document, buyer_user):
    _applicant, document = application_document

    response = client_for(buyer_user).get("/accounts/seller-apply/")

    assert response.status_code == 200
    assert_hidden(response, document.application.company_name, f"/documents/{document.pk}/")
    assert SellerApplication.objects.count() == 1


# --- enterprise workbench and seller team --------------------------------------------------------------------


@pytest.fixture
def tenants():
    first, second = EnterpriseFactory(), EnterpriseFactory()
    first_admin = first.memberships.get().user
    second_root = second.org_units.get(code="root")
    second_unit = OrgUnit.objects.create(buyer=second, parent=second_root, name="Second Sales", code="sales")
    second_user = BuyerMembership.objects.create(buyer=second, user=UserFactory(), role="user", org_unit=second_root)
    return first_admin, second, second_unit, second_user


def test_a_tenant_admin_cannot_change_or_remove_another_tenants_members(tenants):
    first_admin, _second, _unit, second_user = tenants
    client = client_for(first_admin)
    before = snapshot()

    update = client.post(f"/buyer/workbench/members/{second_user.pk}/", {"role": "admin", "org_unit": ""})
    remove = client.post(f"/buyer/workbench/members/{second_user.pk}/", {"remove": "1"})

    assert (update.status_code, update["Location"]) == (302, "/buyer/workbench/")
    assert (remove.status_code, remove["Location"]) == (302, "/buyer/workbench/")
    assert snapshot() == before


def test_a_tenant_admin_cannot_move_a_member_into_another_tenants_unit(tenants):
    first_admin, _second, second_unit, _second_user = tenants
    own_member = first_admin.buyer_membership
    before = snapshot()

    client_for(first_admin).post(
        f"/buyer/workbench/members/{own_member.pk}/", {"role": "admin", "org_unit": second_unit.pk}
    )

    assert snapshot() == before


def test_a_tenant_admin_cannot_delete_or_build_under_another_tenants_units(tenants):
    first_admin, second, second_unit, _second_user = tenants
    client = client_for(first_admin)
    before = snapshot()

    delete = client.post(f"/buyer/workbench/units/{second_unit.pk}/delete/")
    create = client.post("/buyer/workbench/units/", {"name": "Intruder", "code": "intruder", "parent": second_unit.pk})

    assert delete.status_code == 302
    assert create.status_code == 302
    assert snapshot() == before
    assert OrgUnit.objects.filter(buyer=second).count() == 2


def test_the_workbench_lists_only_my_tenants_members(tenants):
    first_admin, second, second_unit, second_user = tenants

    response = client_for(first_admin).get("/buyer/workbench/")

    assert response.status_code == 200
    assert first_admin.email in body(response)
    assert_hidden(response, second_user.user.email, second_unit.name, second.name)


def test_plain_tenant_users_and_anonymous_visitors_cannot_use_the_workbench_posts(tenants):
    first_admin, _second, _unit, _second_user = tenants
    tenant = first_admin.buyer_membership.buyer
    plain = UserFactory()
    BuyerMembership.objects.create(buyer=tenant, user=plain, role="user")
    target = first_admin.buyer_membership
    before = snapshot()

    for client, expected in ((client_for(plain), 403), (client_for(None), None)):
        for url, data in (
            (f"/buyer/workbench/members/{target.pk}/", {"role": "user"}),
            (f"/buyer/workbench/members/{target.pk}/", {"remove": "1"}),
            ("/buyer/workbench/units/", {"name": "X", "code": "x"}),
            (f"/buyer/workbench/units/{tenant.org_units.get().pk}/delete/", {}),
            ("/buyer/workbench/invite/", {"email": "x@example.test", "role": "user"}),
        ):
            response = client.post(url, data)
            if expected is None:
                assert is_login_redirect(response), url
            else:
                assert response.status_code == expected, url

    assert snapshot() == before


def test_an_invitation_of_another_tenant_or_seller_cannot_be_revoked(world, tenants):
    first_admin, _second, _unit, _second_user = tenants
    issued = account_services.invitation_create(
        actor=world.seller_a_admin, email="dev@alpha.test", role="developer", seller=world.seller_a
    )
    before = snapshot()

    for user in (first_admin, world.seller_b_admin, world.buyer_x):
        client_for(user).post(f"/accounts/invitations/{issued.invitation.pk}/revoke/")

    assert snapshot() == before
    assert Invitation.objects.get().revoked_at is None


def test_a_seller_admin_cannot_change_another_sellers_team(world):
    victim = seller_member(world.seller_b, "developer").seller_membership
    client = client_for(world.seller_a_admin)
    before = snapshot()

    client.post(f"/seller/team/{victim.pk}/", {"role": "admin"})
    client.post(f"/seller/team/{victim.pk}/", {"remove": "1"})

    assert snapshot() == before
    assert_hidden(client.get("/seller/team/"), victim.user.email, world.seller_b_admin.email)


@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_only_seller_admins_manage_the_team(world, role):
    member = seller_member(world.seller_a, role)
    client = client_for(member)
    before = snapshot()

    assert client.get("/seller/team/").status_code == 403
    assert (
        client.post(f"/seller/team/{world.seller_a_admin.seller_membership.pk}/", {"role": "finance"}).status_code
        == 403
    )

    assert snapshot() == before


# --- notifications ------------------------------------------------------------------------------------------


def test_marking_another_users_notification_read_changes_nothing(world):
    notice = Notification.objects.filter(user=world.buyer_x).first()
    assert notice is not None and notice.read_at is None
    before = snapshot()

    response = client_for(world.buyer_y).post("/notifications/read/", {"id": notice.pk})

    assert response.status_code == 302
    assert snapshot() == before


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_a_bad_notification_id_is_not_found(world, bad_id):
    response = client_for(world.buyer_x).post("/notifications/read/", {"id": bad_id})

    assert response.status_code == 404


# --- API: buyer ---------------------------------------------------------------------------------------------


def api_get(user, url, **params):
    return client_for(user).get(url, params)


def api_post(user, url, data=None):
    return client_for(user).post(url, data or {}, content_type="application/json")


def assert_api_error(response, status: int | tuple[int, ...]) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content
    assert response["Content-Type"].startswith("application/json")
    payload = response.json()
    assert set(payload) >= {"error", "detail"}
    assert isinstance(payload["error"], str) and payload["error"]
    assert isinstance(payload["detail"], str) and payload["detail"]


def test_the_buyer_api_lists_only_my_orders_and_services(world):
    orders = api_get(world.buyer_x, "/api/v1/buyer/orders/").json()
    services_ = api_get(world.buyer_x, "/api/v1/buyer/services/").json()

    assert {o["number"] for o in orders["results"]} == {world.order_x.number, world.supervised_x.number}
    assert [s["id"] for s in services_["results"]] == [world.sub_x.pk]
    other = api_get(world.buyer_y, "/api/v1/buyer/orders/").json()
    assert world.order_x.number not in {o["number"] for o in other["results"]}
    assert world.order_y.number in {o["number"] for o in other["results"]}


def test_the_buyer_api_list_search_does_not_reach_other_buyers(world):
    response = api_get(world.buyer_y, "/api/v1/buyer/orders/", search=world.order_x.number)

    assert response.json()["count"] == 0


def test_another_buyer_gets_404_from_every_order_endpoint(world):
    order = world.supervised_x
    line = order.lines.get()
    before = snapshot()

    assert_api_error(api_get(world.buyer_y, f"/api/v1/buyer/orders/{order.pk}/"), 404)
    assert_api_error(api_get(world.buyer_y, f"/api/v1/buyer/services/{world.sub_x.pk}/"), 404)
    for url, data in (
        (f"/api/v1/buyer/orders/{world.order_x.pk}/pay/", {"method": "online"}),
        (f"/api/v1/buyer/orders/{world.order_x.pk}/cancel/", {}),
        (f"/api/v1/buyer/orders/{order.pk}/lines/{line.pk}/accept/", {}),
    ):
        response = api_post(world.buyer_y, url, data)
        assert_api_error(response, 404)
        assert world.order_x.number not in body(response)

    assert snapshot() == before


def test_sellers_and_anonymous_clients_are_refused_by_the_buyer_api(world):
    before = snapshot()

    for user, status in ((world.seller_a_admin, 403), (None, 401)):
        for url in (
            "/api/v1/buyer/orders/",
            f"/api/v1/buyer/orders/{world.order_x.pk}/",
            "/api/v1/buyer/services/",
            f"/api/v1/buyer/services/{world.sub_x.pk}/",
            "/api/v1/buyer/credit/",
        ):
            response = api_get(user, url)
            assert_api_error(response, status)
            assert world.order_x.number not in body(response)
        assert_api_error(api_post(user, f"/api/v1/buyer/orders/{world.order_x.pk}/pay/", {"method": "online"}), status)
        assert_api_error(api_post(user, f"/api/v1/buyer/orders/{world.order_x.pk}/cancel/"), status)
        assert_api_error(api_post(user, "/api/v1/buyer/orders/", {"plan": world.plan_a.pk}), status)

    assert snapshot() == before


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_ids_on_the_buyer_api_give_404_json(world, bad_id):
    for url in (f"/api/v1/buyer/orders/{bad_id}/", f"/api/v1/buyer/services/{bad_id}/"):
        assert_api_error(api_get(world.buyer_x, url), 404)
    for url in (f"/api/v1/buyer/orders/{bad_id}/pay/", f"/api/v1/buyer/orders/{bad_id}/cancel/"):
        assert_api_error(api_post(world.buyer_x, url, {"method": "online"}), 404)
    response = api_post(world.buyer_x, f"/api/v1/buyer/orders/{world.supervised_x.pk}/lines/{bad_id}/accept/")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("bad_id", [*BAD_IDS, None, ""])
def test_bad_plan_or_service_ids_when_ordering_give_4xx_json(world, bad_id):
    before = snapshot()

    for payload in ({"plan": bad_id}, {"plan": world.plan_a.pk, "order_type": "RENEW", "subscription": bad_id}):
        response = api_post(world.buyer_x, "/api/v1/buyer/orders/", payload)
        assert_api_error(response, (400, 404))

    assert snapshot() == before


def test_the_buyer_api_cannot_renew_another_buyers_service(world):
    before = snapshot()

    response = api_post(
        world.buyer_x,
        "/api/v1/buyer/orders/",
        {"plan": world.sub_y.plan_id, "order_type": "RENEW", "subscription": world.sub_y.pk},
    )

    assert_api_error(response, 404)
    assert snapshot() == before


# --- API: seller --------------------------------------------------------------------------------------------


def test_the_seller_api_lists_only_my_products_and_orders(world):
    products = api_get(world.seller_a_admin, "/api/v1/seller/products/").json()
    orders = api_get(world.seller_a_admin, "/api/v1/seller/orders/").json()

    product_ids = {p["id"] for p in products["results"]}
    assert world.product_a.pk in product_ids and world.draft_a.pk in product_ids
    assert world.product_b.pk not in product_ids
    numbers = {o["number"] for o in orders["results"]}
    assert numbers == {world.order_x.number, world.supervised_x.number}
    for search in (world.product_b.name_en, world.order_y.number):
        assert api_get(world.seller_a_admin, "/api/v1/seller/orders/", search=search).json()["count"] == 0


@pytest.mark.parametrize("role", ["admin", "developer", "finance", "support"])
def test_another_sellers_staff_get_404_from_every_product_and_order_endpoint(world, role):
    intruder = world.seller_b_admin if role == "admin" else seller_member(world.seller_b, role)
    client = client_for(intruder)
    product, plan = world.draft_a, world.draft_plan_a
    before = snapshot()

    for url in (
        f"/api/v1/seller/products/{product.pk}/",
        f"/api/v1/seller/products/{product.pk}/plans/",
        f"/api/v1/seller/products/{product.pk}/plans/{plan.pk}/",
        f"/api/v1/seller/orders/{world.order_x.pk}/",
    ):
        response = client.get(url)
        assert_api_error(response, 404)
        assert_hidden(response, *product_secrets(product), world.order_x.number)

    writes = [
        ("patch", f"/api/v1/seller/products/{product.pk}/", {"name_en": "Hijacked"}),
        ("put", f"/api/v1/seller/products/{product.pk}/", {"name_en": "Hijacked"}),
        ("post", f"/api/v1/seller/products/{product.pk}/plans/", {"sku_code": "x"}),
        ("patch", f"/api/v1/seller/products/{product.pk}/plans/{plan.pk}/", {"price": "0.01"}),
        ("delete", f"/api/v1/seller/products/{product.pk}/plans/{plan.pk}/", None),
        ("patch", f"/api/v1/seller/products/{product.pk}/credit-control/", {"credit_coupon_enabled": True}),
        *[
            ("post", f"/api/v1/seller/products/{product.pk}/{a}/", {})
            for a in ("submit", "withdraw", "delist", "relist")
        ],
    ]
    for method, url, data in writes:
        response = getattr(client, method)(url, data, content_type="application/json")
        # 404 for another seller's object; 403 first where the role lacks the capability.
        assert_api_error(response, (403, 404))
        assert_hidden(response, *product_secrets(product))

    assert snapshot() == before


def test_a_plan_of_another_sellers_product_is_not_reachable_through_mine(world):
    client = client_for(world.seller_b_admin)
    before = snapshot()

    url = f"/api/v1/seller/products/{world.product_b.pk}/plans/{world.draft_plan_a.pk}/"
    assert_api_error(client.get(url), 404)
    assert_api_error(client.patch(url, {"price": "0.01"}, content_type="application/json"), 404)
    assert_api_error(client.delete(url), 404)

    assert snapshot() == before


@pytest.mark.parametrize("role", ["finance", "support"])
def test_roles_without_product_management_are_refused_by_the_product_api(world, role):
    client = client_for(seller_member(world.seller_a, role))
    product, plan = world.draft_a, world.draft_plan_a
    before = snapshot()

    assert client.get(f"/api/v1/seller/products/{product.pk}/").status_code == 200
    for method, url, data in (
        ("post", "/api/v1/seller/products/", {"name_en": "New"}),
        ("patch", f"/api/v1/seller/products/{product.pk}/", {"name_en": "Hijacked"}),
        ("post", f"/api/v1/seller/products/{product.pk}/submit/", {}),
        ("post", f"/api/v1/seller/products/{product.pk}/plans/", {"sku_code": "x"}),
        ("patch", f"/api/v1/seller/products/{product.pk}/plans/{plan.pk}/", {"price": "0.01"}),
        ("delete", f"/api/v1/seller/products/{product.pk}/plans/{plan.pk}/", None),
        ("patch", f"/api/v1/seller/products/{product.pk}/credit-control/", {"credit_coupon_enabled": True}),
    ):
        assert_api_error(getattr(client, method)(url, data, content_type="application/json"), 403)

    assert snapshot() == before


def test_developers_manage_products_but_not_credit_control(world):
    joint = ProductFactory(seller=world.seller_a, trade_mode="joint", status="published")
    client = client_for(seller_member(world.seller_a, "developer"))
    before = snapshot()

    response = client.patch(
        f"/api/v1/seller/products/{joint.pk}/credit-control/",
        {"credit_coupon_enabled": True},
        content_type="application/json",
    )

    assert_api_error(response, 403)
    assert snapshot() == before


def test_buyers_and_anonymous_clients_are_refused_by_the_seller_api(world):
    before = snapshot()

    for user, status in ((world.buyer_x, 403), (None, 401)):
        for url in (
            "/api/v1/seller/products/",
            f"/api/v1/seller/products/{world.product_a.pk}/",
            f"/api/v1/seller/products/{world.product_a.pk}/plans/",
            "/api/v1/seller/orders/",
            f"/api/v1/seller/orders/{world.order_x.pk}/",
        ):
            response = api_get(user, url)
            assert_api_error(response, status)
            assert world.order_x.number not in body(response)
        assert_api_error(api_post(user, f"/api/v1/seller/products/{world.draft_a.pk}/submit/"), status)

    assert snapshot() == before


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_bad_ids_on_the_seller_api_give_4xx(world, bad_id):
    client = client_for(world.seller_a_admin)
    before = snapshot()

    for url in (f"/api/v1/seller/products/{bad_id}/", f"/api/v1/seller/orders/{bad_id}/"):
        assert_api_error(client.get(url), 404)
    assert_api_error(api_post(world.seller_a_admin, f"/api/v1/seller/products/{bad_id}/submit/"), 404)
    assert_api_error(
        client.patch(
            f"/api/v1/seller/products/{bad_id}/credit-control/",
            {"credit_coupon_enabled": True},
            content_type="application/json",
        ),
        404,
    )
    # Plan routes take integers only: a non-number does not even match the route.
    for url in (
        f"/api/v1/seller/products/{bad_id}/plans/",
        f"/api/v1/seller/products/{world.draft_a.pk}/plans/{bad_id}/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url

    assert snapshot() == before


def test_api_filters_with_bad_values_give_4xx_not_500(world):
    for user, url in (
        (world.buyer_x, "/api/v1/buyer/orders/"),
        (world.seller_a_admin, "/api/v1/seller/orders/"),
    ):
        for params in ({"product": "abc"}, {"product": "99999999999999999999"}, {"status": "nope"}, {"page": "9999"}):
            response = api_get(user, url, **params)
            assert response.status_code in (200, 400, 404), (url, params, response.status_code)


def test_a_seller_and_a_buyer_on_one_login_see_each_side_only(world):
    # The buyer of order Y also works for seller A: the seller API shows seller A's orders, not Y's own.
    SellerMembership.objects.create(seller=world.seller_a, user=world.buyer_y, role="support")

    seller_side = {o["number"] for o in api_get(world.buyer_y, "/api/v1/seller/orders/").json()["results"]}
    buyer_side = {o["number"] for o in api_get(world.buyer_y, "/api/v1/buyer/orders/").json()["results"]}

    assert seller_side == {world.order_x.number, world.supervised_x.number}
    assert world.order_y.number in buyer_side
    assert world.order_x.number not in buyer_side


def test_another_individual_buyer_never_sees_my_services_in_the_api(world):
    stranger = BuyerFactory().memberships.get().user

    response = api_get(stranger, "/api/v1/buyer/services/")

    assert response.json()["count"] == 0


def test_an_unrelated_seller_is_empty_handed(world):
    lonely = SellerFactory()
    admin = lonely.memberships.get().user

    assert api_get(admin, "/api/v1/seller/products/").json()["count"] == 0
    assert api_get(admin, "/api/v1/seller/orders/").json()["count"] == 0
