"""A buyer pays for SaaS; the seller's server (the sample ISV, over real HTTP) makes the instance; the
buyer opens it from purchased services and reveals the sign-in details after re-entering its password."""

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import BuyerMembership
from marketplace.orders import services as orders
from marketplace.provisioning.models import Instance, ProduceMessage
from marketplace.sso.services import app_access_set, app_register
from tests.factories import PASSWORD, EnterpriseFactory, PlanFactory, ProductFactory, UserFactory

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_paid_saas_order_gets_its_instance_and_the_buyer_sees_the_sign_in_details(
    page,
    buyer_user,
    integration,
    isv,
    saas_product,
):
    PlanFactory(product=saas_product, name_zh="标准版", name_en="Standard", price=100)

    login(page, buyer_user.email, PASSWORD)
    page.goto(f"/products/{saas_product.pk}/")
    page.get_by_role("button", name="立即购买").click()
    page.click("[data-testid=place-order]")
    page.click("[data-testid=pay-submit]")
    page.click("[data-testid=sandbox-pay]")
    expect(page.locator(".badge", has_text="已支付").first).to_be_visible()

    # the payment queued newInstance; the worker (in-process here) called the ISV and kept its answer
    assert ProduceMessage.objects.get().status == "succeeded"
    instance = Instance.objects.get()
    made = isv.instance(instance.instance_id)
    assert made is not None and made.customer_name

    page.goto("/buyer/services/")
    row = page.locator("[data-testid=instance]")
    expect(row).to_contain_text("运行中")
    assert row.get_by_role("link", name="打开 ↗").get_attribute("href") == instance.front_end_url

    row.get_by_role("link", name="登录信息").click()
    expect(page.locator("[data-testid=password]")).to_have_count(0)  # not before the password
    page.fill("input[name=password]", "not my password")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("[data-testid=password]")).to_have_count(0)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="查看").click()
    expect(page.locator("[data-testid=username]")).to_have_text(made.user_name)
    expect(page.locator("[data-testid=password]")).to_have_text(made.password)


def test_a_tenant_user_opens_the_app_from_the_workbench_and_is_signed_in_to_it(
    page, live_server, integration, isv, seller_user, django_capture_on_commit_callbacks
):
    # given a joint SaaS app registered for single sign-on, held by a tenant, Alice given access
    integration.rsa_public_key = isv.public_key_pem
    integration.save()
    isv.platform_url = live_server.url
    product = ProductFactory(
        seller=integration.seller, status="published", trade_mode="joint", delivery_kind="saas", name_zh="示例客户管理"
    )
    plan = PlanFactory(product=product, price=100)
    app_register(actor=seller_user, product_id=product.pk, redirect_uris=isv.oauth_callback_url)
    admin, alice = UserFactory(), UserFactory(name="Alice")
    tenant = EnterpriseFactory(member=admin)
    order = orders.order_create(actor=admin, plan_id=plan.pk)
    orders.order_pay(actor=admin, order_id=order.pk, method="online")
    membership = BuyerMembership.objects.create(buyer=tenant, user=alice, role="user")
    app_access_set(actor=admin, product_id=product.pk, membership_ids=[membership.pk])
    assert isv.count("applicationSync") == 1 and isv.count("authSync") >= 1

    # when Alice opens it from the enterprise workbench
    login(page, alice.email, PASSWORD)
    page.goto("/buyer/workbench/")
    with page.context.expect_page() as opened:
        page.locator("[data-testid=workbench-app]", has_text="示例客户管理").get_by_test_id("open-app").click()
    app = opened.value
    app.wait_for_load_state()

    # then she lands on the app's callback with a code and her tenant, and the app signed her in
    assert app.url.startswith(isv.oauth_callback_url + "?code=")
    assert f"tenant={tenant.code}" in app.url
    expect(app.locator("body")).to_contain_text(alice.email)
    (callback,) = isv.oauth_callbacks
    assert callback.tenant == tenant.code
    assert callback.exchange_result["userName"] == alice.email
    assert callback.exchange_result["tenant"] == tenant.code
