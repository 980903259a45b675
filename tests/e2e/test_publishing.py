import pytest
from playwright.sync_api import expect

from marketplace.catalog.models import Product
from tests.factories import PASSWORD, CategoryFactory, SellerFactory, UserFactory

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_seller_submits_a_product_and_an_operator_approves_it_in_the_admin(page, browser, live_server):
    CategoryFactory()
    seller = SellerFactory()
    seller_user = seller.memberships.get().user
    operator = UserFactory(email="operator-e2e@example.com", is_staff=True)
    from django.contrib.auth.models import Group

    operator.groups.add(Group.objects.get(name="operations"))

    # The seller drafts a product, adds a plan and submits it.
    login(page, seller_user.email, PASSWORD)
    page.goto("/seller/products/new/")
    page.fill("#id_name_zh", "星河数据平台")
    page.fill("#id_name_en", "Galaxy Data")
    page.select_option("#id_category", label="软件")
    page.select_option("#id_trade_mode", value="general")
    page.select_option("#id_delivery_kind", value="saas")
    page.fill("#id_description_zh", "一站式数据平台")
    page.click("main form button[type=submit]")
    page.get_by_role("link", name="添加规格").click()
    page.fill("#id_sku_code", "galaxy-m")
    page.fill("#id_name_zh", "月度版")
    page.fill("#id_name_en", "Monthly")
    page.select_option("#id_charging_mode", value="PERIOD")
    page.select_option("#id_period_type", value="month")
    page.fill("#id_price", "199")
    page.click("main form button[type=submit]")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".messages .success")).to_be_visible()
    product = Product.objects.get(name_en="Galaxy Data")
    assert product.status == "pending_review"

    # An operator approves it from the review queue in the admin.
    ops_context = browser.new_context(base_url=live_server.url)
    ops = ops_context.new_page()
    ops.goto("/admin/login/")
    ops.fill("#id_username", operator.email)
    ops.fill("#id_password", PASSWORD)
    ops.click("input[type=submit]")
    ops.click("#review-queues a[href*='catalog/product']")
    ops.check(f"input[name=_selected_action][value='{product.pk}']")
    ops.select_option("select[name=action]", value="approve")
    ops.click("button[name=index]")
    expect(ops.locator(".messagelist .success")).to_be_visible()
    ops_context.close()

    product.refresh_from_db()
    assert product.status == "published"
    page.goto("/products/")
    expect(page.get_by_text("星河数据平台")).to_be_visible()
    page.goto("/notifications/")
    expect(page.locator("table.list tr")).to_have_count(1)
