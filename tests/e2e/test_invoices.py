"""A buyer requests an electronic invoice for a paid order of a general product; the seller issues it
in the seller center with a PDF the platform draws; the invoice reaches the recipient by e-mail with
the PDF attached; the buyer applies for an explanation letter and downloads it (issue 7).

Both parties browse in English (the ``django_language`` cookie) so the assertions can read the
status labels; everything else goes by data-testid. Screenshots of the buyer's pages go to /tmp.
"""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from invoicing.models import ExplanationLetter, InvoiceProfile, InvoiceRequest
from invoicing.services.buyer_invoices import issuer_for
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from tests.factories import PASSWORD, BuyerFactory, PlanFactory, ProductFactory

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp")
CREDIT_CODE = "91350100M000100Y43"


def in_english(context, live_server) -> None:
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"inv-{name}.png"), full_page=True)


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def test_a_buyer_gets_an_electronic_invoice_by_email_and_a_stamped_explanation_letter(
    page, browser, live_server, seller, seller_user
):
    # given a paid order of a general product (so its seller issues the invoice)
    product = ProductFactory(seller=seller, status="published", name_zh="极光协同办公", name_en="Aurora Office")
    plan = PlanFactory(product=product, price=Decimal("260.00"))
    buyer = BuyerFactory().memberships.get().user
    order = order_services.order_create(actor=buyer, plan_id=plan.pk)
    order_services.order_pay(actor=buyer, order_id=order.pk, method="online")
    order = Order.objects.get(pk=order.pk)
    assert order.status == Order.Status.PAID and order.paid_at.year >= 2019
    assert issuer_for(order) == InvoiceRequest.Issuer.SELLER

    in_english(page.context, live_server)
    login(page, buyer.email, PASSWORD)

    # My invoices is empty; "Request an invoice" asks for an invoice profile first
    page.goto("/buyer/invoices/")
    expect(page.locator("aside nav a.active")).to_contain_text("My invoices")
    expect(page.locator(".empty")).to_be_visible()
    shot(page, "list-empty")
    page.get_by_test_id("request-invoice").first.click()
    expect(page.get_by_test_id("no-profiles")).to_be_visible()
    expect(page.get_by_test_id("submit-request")).to_be_disabled()
    page.get_by_test_id("no-profiles").get_by_role("link").click()

    # the buyer adds a company profile; a wrong credit code is shown on its field first
    expect(page).to_have_url(f"{live_server.url}/buyer/invoices/profiles/")
    page.check("input[name=kind][value=company]")
    page.fill("#id_title", "Fuzhou Example Software Co., Ltd.")
    page.fill("#id_tax_id", CREDIT_CODE[:17] + "0")
    page.get_by_test_id("save-profile").click()
    expect(page.locator(".field.has-error")).to_contain_text("unified social credit code")
    page.fill("#id_tax_id", CREDIT_CODE)
    page.get_by_test_id("save-profile").click()
    expect(page.get_by_test_id("profile-row")).to_have_count(1)
    expect(page.get_by_test_id("default-badge")).to_be_visible()
    shot(page, "profiles")
    profile = InvoiceProfile.objects.get()
    assert (profile.tax_id, profile.is_default) == (CREDIT_CODE, True)

    # and requests an electronic invoice for the order
    page.goto("/buyer/invoices/new/")
    row = page.get_by_test_id("order-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(order.number)
    expect(row).to_contain_text("Aurora Office")
    expect(row).to_contain_text("¥260.00")
    expect(row).to_contain_text(seller.name)
    expect(page.locator(f"input[name=profile][value='{profile.pk}']")).to_be_checked()  # the default
    row.locator("input[name=orders]").check()
    page.check("input[name=medium][value=electronic]")
    expect(page.locator("#id_mailing_address")).to_be_hidden()  # paper fields only for paper
    page.fill("#id_recipient_email", "finance@buyer.test")
    shot(page, "new")
    page.get_by_test_id("submit-request").click()

    invoice = InvoiceRequest.objects.get()
    expect(page).to_have_url(f"{live_server.url}/buyer/invoices/{invoice.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Submitted")
    expect(page.get_by_test_id("due")).to_be_visible()
    assert (invoice.issuer, invoice.seller_id, invoice.amount, invoice.medium, invoice.recipient_email) == (
        "seller",
        seller.pk,
        Decimal("260.00"),
        "electronic",
        "finance@buyer.test",
    )
    shot(page, "detail-submitted")

    # the seller issues it in the seller center, the platform drawing the PDF
    mail.outbox.clear()
    seller_context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    try:
        in_english(seller_context, live_server)
        seller_page = seller_context.new_page()
        seller_page.set_default_timeout(15000)
        login(seller_page, seller_user.email, PASSWORD)
        seller_page.goto(f"/seller/invoices/{invoice.pk}/")
        seller_page.fill("#id_invoice_number", "04400261")
        seller_page.fill("#id_invoice_code", "044001900111")
        seller_page.check("#id_generate")
        seller_page.get_by_test_id("issue").click()
        expect(seller_page.locator("h1 .badge")).to_have_text("Delivered")
    finally:
        seller_context.close()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.invoice_number) == (InvoiceRequest.Status.DELIVERED, "04400261")

    # the e-mail with the PDF reaches the recipient
    sent = [m for m in mail.outbox if m.to == ["finance@buyer.test"]]
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    assert "04400261" in sent[0].subject
    [(name, content, mimetype)] = sent[0].attachments
    assert (name, mimetype) == ("invoice-04400261.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert "04400261" in pdf_text(content)

    # the buyer sees the invoice and downloads its PDF
    page.reload()
    expect(page.locator("h1 .badge")).to_have_text("Delivered")
    expect(page.get_by_test_id("invoice")).to_contain_text("04400261")
    expect(page.get_by_test_id("invoice")).to_contain_text("6%")
    with page.expect_download() as download:
        page.get_by_test_id("invoice-pdf").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    shot(page, "detail-delivered")

    # then applies for an explanation letter, stamped at once here (about 5 minutes in production)
    page.locator(".crumbs a").click()
    page.get_by_test_id("tab-letters").click()
    expect(page).to_have_url(f"{live_server.url}/buyer/invoices/letters/")
    candidate = page.get_by_test_id("letter-candidate")
    expect(candidate).to_have_count(1)
    expect(candidate).to_contain_text("04400261")
    candidate.get_by_test_id("submit-letter").click()
    letter = ExplanationLetter.objects.get()
    expect(page.get_by_test_id("letter-row")).to_contain_text(letter.verification_code)
    expect(page.get_by_test_id("letter-row").locator(".badge")).to_have_text("Stamped")
    shot(page, "letters")
    with page.expect_download() as download:
        page.get_by_test_id("download-letter").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    assert letter.verification_code in pdf_text(data).replace(" ", "")
    letter.refresh_from_db()
    assert letter.status == ExplanationLetter.Status.STAMPED

    # the list shows the request delivered, with its invoice number
    page.goto("/buyer/invoices/")
    row = page.get_by_test_id("invoice-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("04400261")
    expect(row.locator(".badge")).to_have_text("Delivered")
    shot(page, "list")
