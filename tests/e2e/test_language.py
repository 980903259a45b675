import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_language_switch_changes_the_ui(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.get_by_role("link", name="登录")).to_be_visible()

    page.get_by_role("button", name="EN").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/products/")
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("link", name="登录")).to_be_visible()
