"""A buyer asks for a partial refund on a supervised order in its guarantee period; the seller
approves it in the browser; the buyer sees it paid back and the order shows what was refunded
(issue 8).

Both parties browse in English (the ``django_language`` cookie) so the assertions can read the
status labels; everything else goes by data-testid. Paying back is a Celery task run after commit
(eager here), so the request may still read "approved" for a moment: the buyer reloads until paid.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import User
from marketplace.orders import services as order_services
from refunds.models import RefundAttempt, RefundRequest
from tests.factories import PASSWORD, BuyerFactory, PlanFactory, ProductFactory

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp")


def in_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"ref-{name}.png"), full_page=True)


def test_a_buyer_asks_for_a_partial_refund_the_seller_approves_and_the_buyer_sees_it_paid(
    page, browser, live_server, seller, seller_user
):
    # given a paid order of a supervised product (manual delivery): its line is in the guarantee period
    product = ProductFactory(
        seller=seller, status="published", delivery_kind="manual", name_zh="极光部署服务", name_en="Aurora Setup"
    )
    plan = PlanFactory(product=product, price=Decimal("300.00"))
    buyer = BuyerFactory().memberships.get().user
    order = order_services.order_create(actor=User.objects.get(pk=buyer.pk), plan_id=plan.pk)
    order_services.order_pay(actor=User.objects.get(pk=buyer.pk), order_id=order.pk, method="online")
    line = order.lines.get()
    assert line.supervision == "in_progress"

    # the buyer opens the order, follows the line's "Refund" link and reads the rule first
    in_english(page.context, live_server)
    login(page, buyer.email, PASSWORD)
    page.goto(f"/buyer/orders/{order.pk}/")
    page.get_by_test_id("line-refund").click()
    expect(page).to_have_url(f"{live_server.url}/buyer/orders/{order.pk}/lines/{line.pk}/refund/")
    expect(page.get_by_test_id("eligibility")).to_contain_text("Within the guarantee period")
    expect(page.get_by_test_id("max-amount")).to_contain_text("300.00")
    expect(page.get_by_test_id("no-reason-counter")).to_contain_text("0 of 10 used this year")
    shot(page, "buyer-new")

    # and asks for part of it
    page.select_option("select[name=reason_code]", "quality")
    page.fill("textarea[name=reason_text]", "Half of the setup steps were never done.")
    page.fill("input[name=amount]", "120.00")
    page.get_by_test_id("submit-refund").click()
    refund = RefundRequest.objects.get()
    expect(page).to_have_url(f"{live_server.url}/buyer/refunds/{refund.pk}/")
    expect(page.get_by_test_id("status")).to_have_text("Waiting for the seller")
    assert (refund.kind, refund.amount_requested) == ("negotiated", Decimal("120.00"))

    # the seller finds it in the list and approves it (the page asks first)
    seller_context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    try:
        in_english(seller_context, live_server)
        seller_page = seller_context.new_page()
        seller_page.set_default_timeout(15000)
        login(seller_page, seller_user.email, PASSWORD)
        seller_page.goto("/seller/")
        seller_page.locator("aside nav").get_by_role("link", name="Refunds").click()
        row = seller_page.get_by_test_id("refund-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(refund.number)
        expect(row).to_contain_text("Aurora Setup")
        expect(row).to_contain_text("120.00")
        shot(seller_page, "seller-list")
        row.get_by_role("link", name=refund.number).click()
        shot(seller_page, "seller-detail")

        dialogs = []
        seller_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
        seller_page.get_by_test_id("approve").click()
        expect(seller_page.get_by_test_id("status")).to_have_text(re.compile("Approved, being paid back|Paid back"))
        assert len(dialogs) == 1 and "120.00" in dialogs[0]
        seller_page.reload()
        expect(seller_page.get_by_test_id("attempt-row")).to_have_count(1)
        shot(seller_page, "seller-approved")
    finally:
        seller_context.close()

    # the buyer sees it paid back (reloading while the payment job finishes)
    page.goto(f"/buyer/refunds/{refund.pk}/")
    for _ in range(20):
        if page.get_by_test_id("status").inner_text().strip() == "Paid back":
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Paid back")
    expect(page.get_by_test_id("paid")).to_contain_text("120.00")
    expect(page.get_by_test_id("paid")).to_contain_text("Online payment")
    expect(page.get_by_test_id("timeline")).to_contain_text("Paid back")
    shot(page, "buyer-paid")

    refund.refresh_from_db()
    line.refresh_from_db()
    assert (refund.status, refund.amount, line.refunded) == ("paid", Decimal("120.00"), Decimal("120.00"))
    assert RefundAttempt.objects.filter(request=refund, ok=True).count() == 1

    # the order shows what was refunded, and the line may still be refunded for the rest
    page.goto(f"/buyer/orders/{order.pk}/")
    expect(page.get_by_test_id("line-refunded")).to_contain_text("120.00")
    expect(page.get_by_test_id("line-refund")).to_be_visible()
    shot(page, "buyer-order")

    # the same "new refund" page in Chinese (the default) now offers at most the rest
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page.goto(f"/buyer/orders/{order.pk}/lines/{line.pk}/refund/")
    expect(page.get_by_test_id("max-amount")).to_contain_text("180.00")
    shot(page, "buyer-new-zh")
