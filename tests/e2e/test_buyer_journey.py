import pytest
from playwright.sync_api import expect

from marketplace.orders.models import Order, Subscription
from tests.factories import PASSWORD, BuyerFactory, PlanFactory, ProductFactory

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_buyer_finds_buys_and_sees_the_service(page):
    product = ProductFactory(status="published", name_zh="极光协同办公", name_en="Aurora Office")
    PlanFactory(product=product, name_zh="标准版", name_en="Standard", price=88)
    ProductFactory(status="published", name_zh="别的产品", name_en="Something else")
    user = BuyerFactory().memberships.get().user

    login(page, user.email, PASSWORD)
    page.fill("#top-q", "极光")
    page.press("#top-q", "Enter")
    cards = page.locator("[data-testid=product-card]")
    expect(cards).to_have_count(1)
    cards.first.click()
    page.get_by_role("button", name="立即购买").click()
    page.click("[data-testid=place-order]")
    page.click("[data-testid=pay-submit]")  # online payment: on to the sandbox cashier
    page.click("[data-testid=sandbox-pay]")
    expect(page.locator(".badge", has_text="已支付").first).to_be_visible()

    page.goto("/buyer/services/")
    rows = page.locator("[data-testid=service-row]")
    expect(rows).to_have_count(1)
    assert "极光协同办公" in rows.first.inner_text()
    order = Order.objects.get()
    assert order.status == "paid" and order.amount == 88
    assert Subscription.objects.get().product == product


def test_a_declined_payment_can_be_retried(page):
    plan = PlanFactory(product=ProductFactory(status="published"), price=10)
    user = BuyerFactory().memberships.get().user
    login(page, user.email, PASSWORD)
    page.goto(f"/buyer/checkout/?plan={plan.pk}&order_type=NEW")
    page.click("[data-testid=place-order]")
    page.click("[data-testid=pay-submit]")
    page.get_by_role("button", name="模拟支付失败").click()
    expect(page.locator(".messages .error")).to_be_visible()
    assert Order.objects.get().status == "pending_payment"
    page.click("[data-testid=pay-submit]")
    page.click("[data-testid=sandbox-pay]")
    expect(page.locator(".messages .success")).to_be_visible()
    assert Order.objects.get().status == "paid"
