from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Statement
from billing.services import period_of, statement_send, statements_generate
from marketplace.orders import services as orders
from tests.factories import (
    PASSWORD,
    BuyerFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    seller_member,
)

from .conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_finance_user_exports_a_statement_and_downloads_it(page, private_media):
    seller = SellerFactory()
    finance = seller_member(seller, "finance")
    plan = PlanFactory(product=ProductFactory(seller=seller, status="published", trade_mode="general"), price=2400)
    buyer = BuyerFactory().memberships.get().user
    last_month = timezone.now() - timedelta(days=40)
    order = orders.order_create(actor=buyer, plan_id=plan.pk, now=last_month)
    orders.order_pay(actor=buyer, order_id=order.pk, method="online", now=last_month)
    statements_generate(period=period_of(last_month))
    ops = UserFactory(is_staff=True, is_superuser=True)
    for statement in Statement.objects.filter(seller=seller):
        statement_send(actor=ops, statement_id=statement.pk)  # sellers see statements once sent

    login(page, finance.email, PASSWORD)
    page.goto("/seller/settlement/?mode=general")
    page.locator("[data-testid=statement-row] a").first.click()
    expect(page.locator("[data-testid=statement-line]")).to_have_count(1)
    expect(page.locator("[data-testid=net-payable]")).to_have_text("¥2,280.00")
    page.click("[data-testid=export-csv]")

    link = page.locator("[data-testid=download]").first
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    with open(download_info.value.path(), encoding="utf-8-sig") as f:
        content = f.read()
    assert order.number in content
    assert "2400.00" in content and "2280.00" in content
