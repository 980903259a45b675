import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_language_switch_changes_the_ui(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("link", name="登录").is_visible()

    page.get_by_role("button", name="EN").click()

    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Sign in").is_visible()
    page.goto("/products/")
    assert page.get_by_role("heading", name="Catalog").is_visible()

    page.get_by_role("button", name="中文").click()
    assert page.get_by_role("link", name="登录").is_visible()
