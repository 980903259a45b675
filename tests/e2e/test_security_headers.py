"""The Content-Security-Policy in a real browser: the pages that run scripts (Swagger UI, the admin,
the catalog) work under it, and it does block an inline script (the ``page`` fixture fails any
browser test on whose pages the policy blocked something)."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, PlanFactory, ProductFactory, SellerFactory, UserFactory

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_pages_with_scripts_work_under_the_policy(page):
    seller = SellerFactory()
    product = ProductFactory(seller=seller, status="published")
    PlanFactory(product=product)
    ops = UserFactory(is_staff=True, is_superuser=True)

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()  # drawn by Swagger UI's scripts

    page.goto(f"/products/{product.pk}/")
    login(page, ops.email, PASSWORD)
    page.goto("/admin/orders/order/")
    expect(page.locator("#changelist")).to_be_visible()
    page.goto("/admin/catalog/category/add/")
    expect(page.locator("#category_form")).to_be_visible()


def test_the_policy_blocks_an_inline_script(browser, live_server):
    """An injected inline script does not run (its own page: the ``page`` fixture would fail it)."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    seen = []
    page.on("console", lambda m: seen.append(m.text))

    page.goto("/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )

    assert page.evaluate("() => window.ran") is None
    assert any("Content Security Policy" in text for text in seen)
    context.close()
