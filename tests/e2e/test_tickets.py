"""A buyer opens a ticket from the product page with a screenshot attached; the seller's support
user accepts it, replies and confirms it resolved; the buyer rates it and confirms (issue 6).

Both parties browse in English (the ``django_language`` cookie) so the assertions can read the
status labels; everything else goes by data-testid.
"""

import struct
import zlib
from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import User
from tests.factories import PASSWORD, BuyerFactory, PlanFactory, ProductFactory, seller_member
from tickets import services
from tickets.models import Ticket

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path("/tmp/e2e-ticket.png")


def png_bytes(width: int = 8, height: int = 8, rgb=(220, 38, 38)) -> bytes:
    """A real (decodable) PNG: one colour, 8-bit RGB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def in_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def test_a_buyer_opens_a_ticket_the_seller_resolves_it_and_the_buyer_confirms(
    page, browser, live_server, seller, seller_user
):
    # given a seller taking tickets every day 08:00-22:00, one of its products and its support user
    admin = User.objects.get(pk=seller_user.pk)
    services.reception_update(
        actor=admin,
        accepts_tickets=True,
        windows=[(d, time(8), time(22)) for d in range(7)],
        first_response_hours=4,
        resolution_hours=24,
    )
    product = ProductFactory(seller=seller, status="published", name_zh="极光协同办公", name_en="Aurora Office")
    PlanFactory(product=product, price=88)
    support = seller_member(seller, "support")
    buyer = BuyerFactory().memberships.get().user
    screenshot = png_bytes()

    # the buyer opens a ticket from the product page, a screenshot attached
    in_english(page.context, live_server)
    login(page, buyer.email, PASSWORD)
    page.goto(f"/products/{product.pk}/")
    page.click("[data-testid=submit-ticket-link]")
    expect(page).to_have_url(f"{live_server.url}/buyer/tickets/new/{product.pk}/")
    page.select_option("select[name=category]", "fault")
    page.fill("input[name=title]", "Sign-in page shows error 500")
    page.fill("textarea[name=description]", "Since this morning every sign-in ends with error 500.")
    page.set_input_files(
        "input[name=files]", files=[{"name": "error-500.png", "mimeType": "image/png", "buffer": screenshot}]
    )
    page.click("[data-testid=submit-ticket]")

    expect(page.locator("h1 .badge")).to_have_text("Pending acceptance")
    ticket = Ticket.objects.get()
    assert page.url == f"{live_server.url}/buyer/tickets/{ticket.pk}/"
    assert (ticket.buyer_id, ticket.product_id, ticket.status) == (
        buyer.buyer_membership.buyer_id,
        product.pk,
        Ticket.Status.PENDING_ACCEPTANCE,
    )
    assert ticket.attachments.get().name == "error-500.png"
    expect(page.get_by_test_id("attachment")).to_contain_text("error-500.png")

    # the seller's support user finds it in the list, accepts it and replies
    seller_context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    try:
        in_english(seller_context, live_server)
        seller_page = seller_context.new_page()
        seller_page.set_default_timeout(15000)
        login(seller_page, support.email, PASSWORD)
        seller_page.goto("/seller/tickets/")
        row = seller_page.get_by_test_id("ticket-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(ticket.number)
        expect(row).to_contain_text("Aurora Office")
        row.get_by_role("link", name=ticket.number).click()

        with seller_page.expect_download() as download:
            seller_page.get_by_test_id("attachment").click()
        assert Path(download.value.path()).read_bytes() == screenshot

        seller_page.get_by_test_id("accept").click()
        expect(seller_page.locator("h1 .badge")).to_have_text("Processing")
        seller_page.fill("#id_body", "Thanks, we can see it. A certificate expired overnight; renewing it now.")
        seller_page.get_by_test_id("reply").click()
        expect(seller_page.get_by_test_id("message")).to_have_count(1)

        # "Confirm resolved" asks window.confirm first
        dialogs = []
        seller_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
        seller_page.fill("#id_cause", "The TLS certificate of the sign-in service expired.")
        seller_page.fill("#id_solution", "Renewed the certificate and restarted the service.")
        seller_page.get_by_test_id("resolve").click()
        expect(seller_page.locator("h1 .badge")).to_have_text("Pending confirmation")
        assert len(dialogs) == 1
    finally:
        seller_context.close()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id) == (Ticket.Status.PENDING_CONFIRMATION, support.pk)

    # the buyer sees it pending confirmation, rates it 5 and confirms
    page.goto(f"/buyer/tickets/{ticket.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Pending confirmation")
    expect(page.locator("#confirm")).to_contain_text("The TLS certificate of the sign-in service expired.")
    expect(page.get_by_test_id("message")).to_have_count(2)  # the reply and the resolution
    page.select_option("select[name=rating]", "5")
    page.fill("input[name=comment]", "Fixed within the hour, thank you.")
    page.get_by_test_id("confirm").click()

    expect(page.locator("h1 .badge")).to_have_text("Completed")
    expect(page.locator("dd[title='5/5']")).to_contain_text("★★★★★")
    expect(page.get_by_test_id("confirm")).to_have_count(0)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating, ticket.rating_comment) == (
        Ticket.Status.COMPLETED,
        5,
        "Fixed within the hour, thank you.",
    )
    assert ticket.closed_at is not None
    page.screenshot(path=str(SCREENSHOT), full_page=True)
