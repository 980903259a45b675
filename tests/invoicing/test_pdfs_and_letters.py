"""Buyers' invoice PDFs and explanation letters (issue 7): the invoice the platform draws, the
stamped letter with its verification code and QR code, who may download which file, and the public
verification page, which shows what a letter certifies and nothing more.

Requests are made through the services: a paid order, an invoice profile, a request, the issuer's
invoice (drawn by the platform), a letter (stamped at once: the delay is 0 in tests and Celery is
eager; the stamping runs after commit, hence ``django_capture_on_commit_callbacks``).
"""

import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse
from pypdf import PdfReader

from invoicing import pdf
from invoicing.models import ExplanationLetter, InvoiceRequest
from invoicing.services import buyer_invoices as services
from invoicing.views.public import VERIFY_MISSES_PER_WINDOW, mask_name, mask_tax_id
from marketplace.accounts.models import BuyerMembership, User
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from tests.factories import (
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    credit_code,
    fresh,
    seller_member,
)

pytestmark = pytest.mark.django_db

TITLE = "深圳市云杉科技有限公司"
TAX_ID = credit_code(4242)
ADDRESS = "深圳市南山区科技园路 1 号"
BANK_ACCOUNT = "6222020200112233445"
EMAIL = "finance@yunshan.test"
INVOICE_NUMBER = "24442000000012345678"
INVOICE_CODE = "044031900111"


def text_of(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def buy(user: User, plan) -> Order:
    order = order_services.order_create(actor=user, plan_id=plan.pk)
    if order.status == Order.Status.PENDING_PAYMENT:
        order = order_services.order_pay(actor=user, order_id=order.pk, method="online")
    assert order.status == Order.Status.PAID
    return order


def plain_user(buyer) -> User:
    user = UserFactory()
    BuyerMembership.objects.create(
        buyer=buyer, user=user, role=BuyerMembership.Role.USER, org_unit=buyer.memberships.first().org_unit
    )
    return user


def issued_request(actor: User, orders, issuer: User, *, vat_kind="general", **profile) -> InvoiceRequest:
    data = {"kind": "company", "title": TITLE, "tax_id": TAX_ID, "vat_kind": vat_kind}
    if vat_kind == "special":
        data |= {"address": ADDRESS, "phone": "0755-12345678", "bank_name": "招商银行", "bank_account": BANK_ACCOUNT}
    data |= profile
    tenant_admin = actor.buyer_membership.buyer.memberships.get(role=BuyerMembership.Role.ADMIN).user
    saved = services.profile_save(actor=tenant_admin, data=data)  # profiles are the administrators'

    request = services.invoice_request_submit(
        actor=actor,
        order_ids=[o.pk for o in orders],
        profile_id=saved.pk,
        medium="electronic",
        recipient_email=EMAIL,
    )
    return services.invoice_issue(
        actor=issuer,
        request_id=request.pk,
        invoice_number=INVOICE_NUMBER,
        invoice_code=INVOICE_CODE,
        tax_rate="0.06",
        generate=True,
    )


@pytest.fixture
def world():
    """An enterprise tenant (administrator, the plain user who requests, another plain user), a
    seller of a general product at CNY 1,060.00, and a paid order."""
    seller = SellerFactory(name="杭州数栈软件有限公司")
    product = ProductFactory(seller=seller, status="published", name_zh="数栈协同办公", name_en="Stack Office")
    plan = PlanFactory(product=product, price=Decimal("1060.00"), name_zh="企业版")
    tenant = EnterpriseFactory()
    admin = tenant.memberships.get().user
    requester = plain_user(tenant)
    order = buy(requester, plan)
    return {
        "seller": seller,
        "seller_admin": seller.memberships.get(role="admin").user,
        "plan": plan,
        "tenant": tenant,
        "admin": admin,
        "requester": requester,
        "order": order,
    }


@pytest.fixture
def issued(world):
    """The requester's invoice, issued by the seller with a PDF the platform drew."""
    return issued_request(world["requester"], [world["order"]], world["seller_admin"])


@pytest.fixture
def letter(world, issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = services.letter_request(actor=world["requester"], request_id=issued.pk)
    created.refresh_from_db()
    assert created.status == ExplanationLetter.Status.STAMPED
    return created


# --- helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, words",
    [
        ("1060.00", "壹仟零陆拾圆整"),
        ("1060.05", "壹仟零陆拾圆零伍分"),
        ("0.50", "伍角"),
        ("100000001.10", "壹亿零壹圆壹角"),
        ("10010.00", "壹万零壹拾圆整"),
        ("2000000.00", "贰佰万圆整"),
        ("0.00", "零圆整"),
    ],
)
def test_amounts_in_chinese_capitals(amount, words):
    assert pdf.rmb_upper(Decimal(amount)) == words


def test_tax_is_split_out_of_the_tax_included_amount():
    assert pdf.split_tax(Decimal("1060.00"), Decimal("0.06")) == (Decimal("1000.00"), Decimal("60.00"))
    assert pdf.split_tax(Decimal("100.00"), Decimal("0.13")) == (Decimal("88.50"), Decimal("11.50"))
    assert pdf.split_tax(Decimal("50.00"), Decimal("0")) == (Decimal("50.00"), Decimal("0.00"))


def test_tax_ids_and_names_are_masked_in_the_middle():
    masked = mask_tax_id(TAX_ID)
    assert len(masked) == 18 and masked[:4] == TAX_ID[:4] and masked[-4:] == TAX_ID[-4:]
    assert masked[4:-4] == "*" * 10
    assert mask_tax_id("") == ""
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李*"


# --- the invoice PDF -------------------------------------------------------------------------------


def test_the_seller_issued_invoice_pdf_carries_number_amounts_and_parties(world, issued):
    issued.refresh_from_db()
    assert issued.status == InvoiceRequest.Status.DELIVERED  # e-mailed at once
    with issued.file.open("rb") as fh:
        text = text_of(fh.read())
    assert "电子发票" in text and "增值税普通发票" in text
    assert INVOICE_NUMBER in text and INVOICE_CODE in text
    assert "1,060.00" in text and "1,000.00" in text and "60.00" in text and "6%" in text
    assert "壹仟零陆拾圆整" in text
    assert TITLE in text and TAX_ID in text
    assert world["seller"].name in text and world["seller"].credit_code in text
    assert world["order"].number in text and "数栈协同办公" in text
    assert issued.number in text
    assert "云商店平台" in text  # drawn by the platform, and says so


def test_the_platform_issues_special_invoices_under_its_own_name(world, ops_user):
    product = ProductFactory(seller=world["seller"], status="published", trade_mode="joint", name_zh="联营数据库")
    plan = PlanFactory(product=product, price=Decimal("530.00"), name_zh="标准版")
    first, second = buy(world["admin"], plan), buy(world["admin"], plan)
    request = issued_request(world["admin"], [first, second], ops_user, vat_kind="special")
    assert request.issuer == InvoiceRequest.Issuer.PLATFORM
    text = text_of(pdf.invoice_pdf(request))
    assert "增值税专用发票" in text
    assert "云商店平台" in text and world["seller"].name not in text
    assert first.number in text and second.number in text
    assert "530.00" in text and "1,060.00" in text and "1,000.00" in text
    assert ADDRESS in text and BANK_ACCOUNT in text  # a special invoice carries the buyer's bank details


# --- the letter ------------------------------------------------------------------------------------


def test_the_stamped_letter_certifies_the_invoice_with_its_verification_code(world, issued, letter):
    assert letter.stamped_at is not None and letter.file
    with letter.file.open("rb") as fh:
        text = text_of(fh.read())
    assert "说明函" in text and "致相关单位" in text
    assert letter.verification_code in text
    assert INVOICE_NUMBER in text and INVOICE_CODE in text
    assert "1,060.00" in text and TITLE in text and TAX_ID in text
    assert world["order"].number in text and issued.number in text
    assert world["seller"].name in text
    assert "/verify/" in text  # the address is printed next to the QR code


def test_the_qr_code_encodes_the_public_verification_address(settings, letter):
    settings.SITE_URL = "https://market.example.cn/"
    url = pdf.verification_url(letter)
    assert url == f"https://market.example.cn/verify/{letter.verification_code}/"
    drawing = pdf.qr_drawing(url)
    assert drawing.contents[0].value == url


def test_a_stamping_letter_has_no_file_yet(world, issued, settings):
    settings.MARKETPLACE = {
        **settings.MARKETPLACE,
        "INVOICES": {**settings.MARKETPLACE["INVOICES"], "LETTER_STAMP_SECONDS": 300},
    }
    # No commit in a test transaction: the stamping task (eager, countdown ignored) never runs.
    pending = services.letter_request(actor=world["requester"], request_id=issued.pk)
    assert pending.status == ExplanationLetter.Status.STAMPING
    assert (pending.expected_at - pending.created_at).total_seconds() == 300

    client = _client(world["requester"])
    assert client.get(reverse("invoicing:letter_file", args=[pending.pk])).status_code == 404

    page = _client(None).get(reverse("verify:letter_verify", args=[pending.verification_code]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-state="stamping"' in html and 'data-testid="verify-stamping"' in html
    assert INVOICE_NUMBER not in html and TITLE not in html


# --- who may download ------------------------------------------------------------------------------


def _client(user):
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _staff(*codenames) -> User:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="invoicing", codename__in=codenames))
    return fresh(user)


def test_the_invoice_file_goes_to_the_buyer_side_and_the_issuer_side(world, issued):
    url = reverse("invoicing:invoice_file", args=[issued.pk])
    allowed = [
        world["requester"],
        world["admin"],
        world["seller_admin"],
        seller_member(world["seller"], "finance"),
        _staff("view_invoicerequest"),
    ]
    for user in allowed:
        response = _client(user).get(url)
        assert response.status_code == 200, user
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("attachment")
        assert INVOICE_NUMBER in response["Content-Disposition"]
        assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_the_invoice_file_is_not_found_for_anyone_else(world, issued):
    url = reverse("invoicing:invoice_file", args=[issued.pk])
    other_tenant = EnterpriseFactory()
    refused = [
        plain_user(world["tenant"]),  # same tenant, did not request it
        other_tenant.memberships.get().user,
        SellerFactory().memberships.get(role="admin").user,
        seller_member(world["seller"], "support"),  # the seller, but not an invoice manager
        seller_member(world["seller"], "developer"),
        _staff(),  # staff without the permission
    ]
    for user in refused:
        assert _client(user).get(url).status_code == 404, user
    anonymous = _client(None).get(url)
    assert anonymous.status_code == 302 and reverse("accounts:login") in anonymous["Location"]
    assert _client(world["admin"]).get(reverse("invoicing:invoice_file", args=[issued.pk + 999])).status_code == 404


def test_a_request_without_an_invoice_has_no_file(world):
    saved = services.profile_save(actor=world["admin"], data={"kind": "company", "title": TITLE, "tax_id": TAX_ID})
    request = services.invoice_request_submit(
        actor=world["admin"],
        order_ids=[world["order"].pk],
        profile_id=saved.pk,
        medium="electronic",
        recipient_email=EMAIL,
    )
    response = _client(world["admin"]).get(reverse("invoicing:invoice_file", args=[request.pk]))
    assert response.status_code == 404


def test_the_letter_file_goes_to_the_buyer_side_only(world, issued, letter):
    url = reverse("invoicing:letter_file", args=[letter.pk])
    for user in (world["requester"], world["admin"]):
        response = _client(user).get(url)
        assert response.status_code == 200
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("attachment")
        assert letter.verification_code in response["Content-Disposition"]
        assert letter.verification_code in text_of(b"".join(response.streaming_content))
    for user in (
        plain_user(world["tenant"]),
        EnterpriseFactory().memberships.get().user,
        world["seller_admin"],  # the issuer has the invoice, not the buyer's letter
        _staff(),
    ):
        assert _client(user).get(url).status_code == 404, user
    assert _client(None).get(url).status_code == 302


# --- the public verification page ------------------------------------------------------------------


def test_the_verification_page_shows_what_the_letter_certifies_and_nothing_more(world, issued, letter):
    response = _client(None).get(reverse("verify:letter_verify", args=[letter.verification_code]))
    assert response.status_code == 200
    assert "noindex" in response["X-Robots-Tag"]
    html = response.content.decode()
    assert 'data-state="authentic"' in html
    assert INVOICE_NUMBER in html and "1,060.00" in html and TITLE in html
    assert world["seller"].name in html
    assert issued.issued_on.strftime("%Y-%m-%d") in html
    assert mask_tax_id(TAX_ID) in html and TAX_ID not in html
    for secret in (EMAIL, world["order"].number, issued.number, world["requester"].email, INVOICE_CODE):
        assert secret not in html, secret


def test_the_verification_page_hides_a_special_invoice_buyers_bank_and_address(
    world, ops_user, django_capture_on_commit_callbacks
):
    product = ProductFactory(seller=world["seller"], status="published", trade_mode="joint")
    order = buy(world["admin"], PlanFactory(product=product, price=Decimal("212.00")))
    request = issued_request(world["admin"], [order], ops_user, vat_kind="special")
    with django_capture_on_commit_callbacks(execute=True):
        made = services.letter_request(actor=world["admin"], request_id=request.pk)
    html = _client(None).get(reverse("verify:letter_verify", args=[made.verification_code])).content.decode()
    assert "212.00" in html and "云商店平台" in html
    for secret in (ADDRESS, BANK_ACCOUNT, "0755-12345678", TAX_ID, order.number):
        assert secret not in html, secret


def test_codes_are_case_insensitive_and_trimmed(letter):
    code = letter.verification_code.lower()
    for given in (code, f" {code} "):
        response = _client(None).get(reverse("verify:letter_verify", args=[given]))
        assert response.status_code == 200
        assert 'data-state="authentic"' in response.content.decode()


def test_an_unknown_or_malformed_code_is_simply_not_found(letter):
    pages = [
        _client(None).get(reverse("verify:letter_verify", args=[code]))
        for code in ("0123456789ABCDEF", "nope", "x" * 200, "<script>")
    ]
    for page in pages:
        assert page.status_code == 404
        assert "noindex" in page["X-Robots-Tag"]
        html = page.content.decode()
        assert 'data-testid="verify-unknown"' in html
        assert letter.verification_code not in html and INVOICE_NUMBER not in html
    # The same answer whatever was asked: no hint about what a valid code looks like.
    cards = {re.search(r'data-testid="letter-verify".*?</main>', p.content.decode(), re.S).group(0) for p in pages}
    assert len(cards) == 1


def test_an_individual_buyers_name_is_masked(world, django_capture_on_commit_callbacks):
    request = issued_request(
        world["requester"], [world["order"]], world["seller_admin"], kind="individual", title="王小明", tax_id=""
    )
    with django_capture_on_commit_callbacks(execute=True):
        made = services.letter_request(actor=world["requester"], request_id=request.pk)
    html = _client(None).get(reverse("verify:letter_verify", args=[made.verification_code])).content.decode()
    assert "王**" in html and "王小明" not in html
    assert 'data-testid="verify-tax-id"' not in html


def test_a_returned_or_voided_invoice_is_flagged_on_the_page(world, issued, letter):
    url = reverse("verify:letter_verify", args=[letter.verification_code])
    assert 'data-testid="verify-cancelled"' not in _client(None).get(url).content.decode()
    services.invoice_return_start(actor=world["requester"], request_id=issued.pk, reason="订单退款")
    services.invoice_return_confirm(actor=world["seller_admin"], request_id=issued.pk)
    assert InvoiceRequest.objects.get(pk=issued.pk).status == InvoiceRequest.Status.VOIDED
    html = _client(None).get(url).content.decode()
    assert 'data-state="authentic"' in html and 'data-testid="verify-cancelled"' in html


def test_an_address_that_keeps_guessing_is_slowed_down_without_a_hint(letter):
    cache.clear()
    client = _client(None)
    for n in range(VERIFY_MISSES_PER_WINDOW):
        assert client.get(reverse("verify:letter_verify", args=[f"{n:016X}"])).status_code == 404
    # Now even a valid code gets the same refusal, so the limit cannot be used as an oracle.
    for code in (letter.verification_code, "FFFFFFFFFFFFFFFF"):
        response = client.get(reverse("verify:letter_verify", args=[code]))
        assert response.status_code == 429
        assert "Retry-After" in response
        assert INVOICE_NUMBER not in response.content.decode()
    # Another address is unaffected.
    other = _client(None).get(reverse("verify:letter_verify", args=[letter.verification_code]), REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200
