"""A buyer pays for SaaS; the seller's server (the sample ISV, over real HTTP) makes the instance; the
buyer opens it from purchased services and reveals the sign-in details after re-entering its password."""

import pytest
from playwright.sync_api import expect

from marketplace.provisioning.models import Instance, ProduceMessage
from tests.factories import PASSWORD, PlanFactory

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
