"""Seller center > Invoice management through the Django test client: the list of requests with
its filters, counts and 7-day deadline, the request page and its actions (issue, mail, reject,
confirm a return or void), roles, isolation between sellers and from the platform's requests
(issue 7).

Data is made with the services: paid orders (general products -> the seller issues; joint ones ->
the platform), a profile, a request. Chinese is the default UI language, so the tests assert on
status codes, data-testid, numbers, form errors and the database.
"""

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from invoicing import services
from invoicing.models import InvoiceRequest, InvoiceRequestEvent
from marketplace.accounts.models import User
from marketplace.core import calendar
from marketplace.core.models import OutboundEmail
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from tests.factories import PDF_BYTES, BuyerFactory, PlanFactory, ProductFactory, bj, credit_code, fresh, seller_member

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
R = InvoiceRequest.Status


# --- helpers ---------------------------------------------------------------------------------------


def as_user(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def buy(user: User, plan) -> Order:
    order = order_services.order_create(actor=fresh(user), plan_id=plan.pk, now=bj(2026, 3, 2, 10))
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=fresh(user), order_id=order.pk, method="online", now=bj(2026, 3, 2, 10))
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def company_profile(user: User, n: int = 4200001):
    return services.profile_save(
        actor=fresh(user),
        data={
            "kind": "company",
            "title": "Acme Cloud Ltd",
            "tax_id": credit_code(n),
            "vat_kind": "special",
            "address": "1 Keji Road, Shenzhen",
            "phone": "0755-12345678",
            "bank_name": "Bank of Shenzhen",
            "bank_account": "6222020200112233",
        },
    )


def request_invoice(user: User, orders, *, medium: str = "electronic", profile=None, now=None) -> InvoiceRequest:
    profile = profile or company_profile(user)
    delivery = (
        {"recipient": "Li Lei", "recipient_phone": "13800000000", "mailing_address": "2 Nanshan Road, Shenzhen"}
        if medium == "paper"
        else {"recipient_email": "finance@acme.test"}
    )
    return services.invoice_request_submit(
        actor=fresh(user),
        order_ids=[o.pk for o in orders],
        profile_id=profile.pk,
        medium=medium,
        now=now,
        **delivery,
    )


def reload(invoice_request: InvoiceRequest) -> InvoiceRequest:
    return InvoiceRequest.objects.get(pk=invoice_request.pk)


def snapshot(invoice_request: InvoiceRequest) -> dict:
    """Everything an action on a request writes; a refused action leaves all of it as it was."""
    return {
        "request": InvoiceRequest.objects.filter(pk=invoice_request.pk).values().get(),
        "events": InvoiceRequestEvent.objects.filter(request=invoice_request).count(),
        "emails": OutboundEmail.objects.count(),
    }


def pdf(name: str = "invoice.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def issue_data(invoice_request: InvoiceRequest, **overrides) -> dict:
    data = {
        "action": "issue",
        "invoice_number": "04401234",
        "invoice_code": "044001900111",
        "issued_on": "2026-03-03",
        "amount": str(invoice_request.amount),
        "tax_rate": "0.06",
        "file": pdf(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def detail_url(invoice_request: InvoiceRequest) -> str:
    return f"/seller/invoices/{invoice_request.pk}/"


def listed(response) -> set[str]:
    numbers = {r.number for r in response.context["page"]}
    assert html(response).count('data-testid="invoice-row"') == len(numbers)
    return numbers


def flashed(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def post_forms(page: str) -> list[str]:
    return [f for f in re.findall(r"<form\b.*?</form>", page, re.S) if re.match(r'<form\b[^>]*method="post"', f)]


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def plan(seller):
    """A general product at CNY 100: the seller issues, a paper invoice is posted at its cost."""
    product = ProductFactory(seller=seller, status="published")
    return PlanFactory(product=product, price=Decimal("100.00"))


@pytest.fixture
def cheap_plan(seller):
    product = ProductFactory(seller=seller, status="published")
    return PlanFactory(product=product, price=Decimal("50.00"))


@pytest.fixture
def joint_plan(seller):
    """A joint-operation product of the same seller: the platform issues."""
    product = ProductFactory(seller=seller, status="published", trade_mode="joint")
    return PlanFactory(product=product, price=Decimal("300.00"))


@pytest.fixture
def finance_user(seller):
    return seller_member(seller, "finance")


@pytest.fixture
def electronic(buyer_user, plan):
    return request_invoice(buyer_user, [buy(buyer_user, plan)], medium="electronic")


@pytest.fixture
def paper(buyer_user, plan):
    return request_invoice(buyer_user, [buy(buyer_user, plan)], medium="paper")


def issued(invoice_request: InvoiceRequest, actor: User, **kwargs) -> InvoiceRequest:
    services.invoice_issue(
        actor=fresh(actor),
        request_id=invoice_request.pk,
        invoice_number=kwargs.pop("invoice_number", "04400001"),
        file=pdf(),
        **kwargs,
    )
    return reload(invoice_request)


# --- who may open the pages -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_list_and_detail_render_for_the_sellers_admins_and_finance(role, seller, seller_user, finance_user, paper):
    user = seller_user if role == "admin" else finance_user
    client = as_user(user)
    response = client.get("/seller/invoices/")
    assert response.status_code == 200
    assert listed(response) == {paper.number}
    assert response.context["counts"]["submitted"] == 1
    response = client.get(detail_url(paper))
    assert response.status_code == 200
    page = html(response)
    assert paper.number in page
    # the title with its tax id, address and bank (a special VAT invoice)
    assert "Acme Cloud Ltd" in page and paper.tax_id in page
    assert "1 Keji Road, Shenzhen" in page and "Bank of Shenzhen" in page and "6222020200112233" in page
    # the orders with their amounts, the delivery, the postage
    assert page.count('data-testid="invoice-order"') == 1
    assert paper.lines.get().order.number in page
    assert "¥100.00" in page
    assert "2 Nanshan Road, Shenzhen" in page and "13800000000" in page
    assert 'data-testid="postage-by-seller"' in page
    assert 'data-testid="issue-form"' in page and 'enctype="multipart/form-data"' in page
    # the amount is prefilled with the request's, the tax rate with 0.06
    form = response.context["issue_form"]
    assert form["amount"].value() == Decimal("100.00") and form["tax_rate"].value() == Decimal("0.06")
    # the invoice date is today, in the ISO shape a date input takes
    assert f'name="issued_on" value="{calendar.today().isoformat()}"' in page
    # the timeline shows the request
    assert 'class="timeline"' in page and page.count("<li>", page.index('class="timeline"')) >= 1


def test_postage_is_the_buyers_below_cny_100_and_for_electronic_invoices(buyer_user, seller_user, cheap_plan, plan):
    cheap = request_invoice(buyer_user, [buy(buyer_user, cheap_plan)], medium="paper")
    e_invoice = request_invoice(buyer_user, [buy(buyer_user, plan)], medium="electronic")
    client = as_user(seller_user)
    assert 'data-testid="postage-by-seller"' not in html(client.get(detail_url(cheap)))
    page = html(client.get(detail_url(e_invoice)))
    assert 'data-testid="postage-by-seller"' not in page and "finance@acme.test" in page


@pytest.mark.parametrize("role", ["support", "developer"])
def test_support_and_developer_roles_are_refused(role, seller, paper):
    user = seller_member(seller, role)
    client = as_user(user)
    before = snapshot(paper)
    assert client.get("/seller/invoices/").status_code == 403
    assert client.get(detail_url(paper)).status_code == 403
    assert client.post(detail_url(paper), {"action": "reject", "reason": "No"}).status_code == 403
    assert client.post(detail_url(paper), issue_data(paper)).status_code == 403
    assert snapshot(paper) == before


def test_anonymous_users_are_sent_to_sign_in(paper):
    response = Client().get(detail_url(paper))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_another_seller_sees_nothing_of_these_requests(other_seller_user, seller_user, paper, electronic):
    client = as_user(other_seller_user)
    response = client.get("/seller/invoices/")
    assert response.status_code == 200
    assert listed(response) == set()
    assert response.context["counts"]["all"] == 0
    assert listed(client.get("/seller/invoices/", {"q": paper.number})) == set()
    before = snapshot(paper)
    assert client.get(detail_url(paper)).status_code == 404
    for data in (
        issue_data(paper),
        {"action": "reject", "reason": "Wrong title"},
        {"action": "deliver", "courier": "SF", "tracking_number": "SF1"},
        {"action": "confirm_return"},
    ):
        assert client.post(detail_url(paper), data).status_code == 404
    assert snapshot(paper) == before
    # the owner still sees both
    assert listed(as_user(seller_user).get("/seller/invoices/")) == {paper.number, electronic.number}


def test_an_unknown_or_malformed_id_is_not_found(seller_user):
    client = as_user(seller_user)
    assert client.get("/seller/invoices/999999/").status_code == 404
    assert client.get("/seller/invoices/abc/").status_code == 404


def test_a_platform_issued_request_is_never_the_sellers(buyer_user, seller_user, joint_plan, plan):
    platform = request_invoice(buyer_user, [buy(buyer_user, joint_plan)])
    own = request_invoice(buyer_user, [buy(buyer_user, plan)])
    assert platform.issuer == "platform" and own.issuer == "seller"
    assert platform.lines.get().order.seller_id == own.seller_id  # the seller's own product, joint
    client = as_user(seller_user)
    response = client.get("/seller/invoices/")
    assert listed(response) == {own.number}
    assert response.context["counts"]["all"] == 1 and response.context["counts"]["submitted"] == 1
    assert platform.number not in html(response)
    assert listed(client.get("/seller/invoices/", {"q": platform.number})) == set()
    before = snapshot(platform)
    assert client.get(detail_url(platform)).status_code == 404
    assert client.post(detail_url(platform), issue_data(platform)).status_code == 404
    assert client.post(detail_url(platform), {"action": "reject", "reason": "Not mine"}).status_code == 404
    assert snapshot(platform) == before


# --- actions ---------------------------------------------------------------------------------------


def test_issuing_an_electronic_invoice_with_an_uploaded_pdf_emails_it(seller_user, electronic, private_media):
    client = as_user(seller_user)
    events = electronic.events.count()
    response = client.post(detail_url(electronic), issue_data(electronic, invoice_code="", tax_rate="0.13"))
    assert response.status_code == 302 and response["Location"] == detail_url(electronic)
    done = reload(electronic)
    assert done.status == R.DELIVERED  # e-mailed at once
    assert (done.invoice_number, done.invoice_amount, done.tax_rate) == ("04401234", Decimal("100.00"), Decimal("0.13"))
    assert str(done.issued_on) == "2026-03-03" and done.delivered_at is not None
    assert done.file and done.file.open("rb").read() == PDF_BYTES
    assert done.events.count() == events + 2  # issued, then e-mailed
    email = OutboundEmail.objects.get(to="finance@acme.test")
    assert email.attachment == done.file.name
    page = html(client.get(detail_url(electronic)))
    assert 'data-testid="invoice-number"' in page and "04401234" in page
    assert 'data-testid="issue-form"' not in page  # nothing left to do


def test_issuing_a_paper_invoice_with_a_generated_pdf_then_mailing_it(seller_user, finance_user, paper):
    client = as_user(finance_user)
    response = client.post(detail_url(paper), issue_data(paper, file=None, generate="on"))
    assert response.status_code == 302
    done = reload(paper)
    assert done.status == R.ISSUED and done.file
    assert done.file.open("rb").read().startswith(b"%PDF")
    assert not OutboundEmail.objects.filter(to="finance@acme.test").exists()
    page = html(client.get(detail_url(paper)))
    assert 'data-testid="deliver"' in page and 'data-testid="issue-form"' not in page

    before = snapshot(paper)
    response = client.post(detail_url(paper), {"action": "deliver", "courier": "SF Express", "tracking_number": ""})
    assert response.status_code == 200 and response.context["mail_form"].errors["tracking_number"]
    assert snapshot(paper) == before

    response = client.post(detail_url(paper), {"action": "deliver", "courier": "SF Express", "tracking_number": "SF1"})
    assert response.status_code == 302
    done = reload(paper)
    assert (done.status, done.courier, done.tracking_number) == (R.DELIVERED, "SF Express", "SF1")
    assert done.events.count() == before["events"] + 1
    page = html(client.get(detail_url(paper)))
    assert "SF1" in page and 'data-testid="deliver"' not in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "99.99"}, "amount"),  # not the amount requested (the service's rule)
        ({"issued_on": "2099-01-01"}, "issued_on"),  # in the future (the service's rule)
        ({"invoice_number": ""}, "invoice_number"),
        ({"tax_rate": "1.5"}, "tax_rate"),
        ({"file": None}, "file"),  # neither a PDF nor "let the platform draw it"
        ({"file": pdf("fake.pdf", b"MZ\x90\x00 not a pdf")}, "file"),  # the service checks the content
        ({"generate": "on"}, "generate"),  # a PDF and "draw it" at once
    ],
)
def test_a_refused_issue_shows_the_error_on_the_form_and_changes_nothing(seller_user, electronic, overrides, field):
    before = snapshot(electronic)
    response = as_user(seller_user).post(detail_url(electronic), issue_data(electronic, **overrides))
    assert response.status_code == 200
    assert response.context["issue_form"].errors[field]
    assert 'class="errors"' in html(response)
    assert snapshot(electronic) == before


def test_rejecting_with_a_reason(seller_user, paper):
    client = as_user(seller_user)
    page = html(client.get(detail_url(paper)))
    reject = next(f for f in post_forms(page) if 'value="reject"' in f)
    assert "data-confirm=" in reject

    before = snapshot(paper)
    response = client.post(detail_url(paper), {"action": "reject", "reason": "  "})
    assert response.status_code == 200 and response.context["reject_form"].errors["reason"]
    assert snapshot(paper) == before

    response = client.post(detail_url(paper), {"action": "reject", "reason": "The taxpayer id is wrong."})
    assert response.status_code == 302
    done = reload(paper)
    assert (done.status, done.rejection_reason) == (R.REJECTED, "The taxpayer id is wrong.")
    assert done.events.count() == before["events"] + 1
    assert not done.lines.filter(active=True).exists()  # the orders are free again
    page = html(client.get(detail_url(paper)))
    assert "The taxpayer id is wrong." in page and 'data-testid="reject"' not in page


@pytest.mark.parametrize("medium", ["paper", "electronic"])
def test_confirming_a_return_or_void(medium, buyer_user, seller_user, plan):
    invoice_request = request_invoice(buyer_user, [buy(buyer_user, plan)], medium=medium)
    issued(invoice_request, seller_user)
    services.invoice_return_start(actor=fresh(buyer_user), request_id=invoice_request.pk, reason="A refund")
    client = as_user(seller_user)
    page = html(client.get(detail_url(invoice_request)))
    confirm = next(f for f in post_forms(page) if 'value="confirm_return"' in f)
    assert "data-confirm=" in confirm
    events = invoice_request.events.count()
    response = client.post(detail_url(invoice_request), {"action": "confirm_return"}, follow=True)
    assert response.status_code == 200 and flashed(response)[0][0] == "success"
    done = reload(invoice_request)
    assert done.status == (R.RETURNED if medium == "paper" else R.VOIDED)
    assert done.events.count() == events + 1
    assert not done.lines.filter(active=True).exists()
    assert 'data-testid="confirm-return"' not in html(response)


def test_actions_out_of_turn_are_refused_and_change_nothing(seller_user, paper, electronic):
    client = as_user(seller_user)
    # a submitted request cannot be mailed or confirmed returned
    for data in ({"action": "deliver", "courier": "SF", "tracking_number": "SF1"}, {"action": "confirm_return"}):
        before = snapshot(paper)
        response = client.post(detail_url(paper), data, follow=True)
        assert response.status_code == 200
        assert [level for level, _text in flashed(response)] == ["error"]
        assert snapshot(paper) == before
    # an issued one cannot be issued again nor rejected; an electronic one is never "mailed"
    issued(electronic, seller_user)
    for data in (
        issue_data(electronic, invoice_number="04409999"),
        {"action": "reject", "reason": "Too late"},
        {"action": "deliver", "courier": "SF", "tracking_number": "SF1"},
        {"action": "confirm_return"},
        {"action": "nonsense"},
    ):
        before = snapshot(electronic)
        response = client.post(detail_url(electronic), data, follow=True)
        assert response.status_code == 200
        assert [level for level, _text in flashed(response)] == ["error"], data["action"]
        assert snapshot(electronic) == before


def test_each_state_offers_its_own_actions(buyer_user, seller_user, plan, paper):
    client = as_user(seller_user)

    def actions() -> set[str]:
        page = html(client.get(detail_url(paper)))
        return set(re.findall(r'name="action" value="([a-z_]+)"', page))

    assert actions() == {"issue", "reject"}
    issued(paper, seller_user)
    assert actions() == {"deliver"}
    services.invoice_deliver(actor=fresh(seller_user), request_id=paper.pk, courier="EMS", tracking_number="E1")
    assert actions() == set()
    services.invoice_return_start(actor=fresh(buyer_user), request_id=paper.pk, reason="Wrong title")
    assert actions() == {"confirm_return"}


# --- the list: filters, counts, the deadline -------------------------------------------------------


def test_filters_search_and_counts(buyer_user, seller_user, plan, paper, electronic):
    other_buyer = BuyerFactory().memberships.get().user
    third = request_invoice(other_buyer, [buy(other_buyer, plan)], profile=company_profile(other_buyer, 4200002))
    issued(electronic, seller_user)
    client = as_user(seller_user)

    response = client.get("/seller/invoices/")
    assert listed(response) == {paper.number, electronic.number, third.number}
    counts = response.context["counts"]
    assert (counts["all"], counts["submitted"], counts["delivered"], counts["overdue"]) == (3, 2, 1, 0)
    assert 'data-testid="chip-submitted"' in html(response)

    assert listed(client.get("/seller/invoices/", {"status": "submitted"})) == {paper.number, third.number}
    assert listed(client.get("/seller/invoices/", {"status": "delivered"})) == {electronic.number}
    assert listed(client.get("/seller/invoices/", {"q": electronic.number})) == {electronic.number}
    assert listed(client.get("/seller/invoices/", {"q": "04400001"})) == {electronic.number}  # invoice number
    order_number = paper.lines.get().order.number
    assert listed(client.get("/seller/invoices/", {"q": order_number})) == {paper.number}
    assert listed(client.get("/seller/invoices/", {"q": third.buyer.name})) == {third.number}
    assert listed(client.get("/seller/invoices/", {"overdue": "on"})) == set()
    # an unknown status is ignored rather than an error
    assert client.get("/seller/invoices/", {"status": "bogus"}).status_code == 200


def test_the_seven_day_deadline_flags_due_tomorrow_then_overdue(buyer_user, seller_user, plan):
    with time_machine.travel(bj(2026, 3, 10, 10), tick=False):
        late = request_invoice(buyer_user, [buy(buyer_user, plan)])
        on_time = request_invoice(buyer_user, [buy(buyer_user, plan)], medium="paper")
    assert late.due_at == bj(2026, 3, 17, 10)
    client = as_user(seller_user)

    with time_machine.travel(bj(2026, 3, 16, 12), tick=False):  # 22 hours left
        response = client.get("/seller/invoices/")
        page = html(response)
        assert page.count('data-testid="due-soon-flag"') == 2 and 'data-testid="overdue-flag"' not in page
        assert response.context["counts"]["due_soon"] == 2 and response.context["counts"]["overdue"] == 0
        assert 'data-testid="due-soon-notice"' in page
        assert client.get(detail_url(late)).context["due"] == "due_soon"

    issued(on_time, seller_user)  # issued in time: never overdue
    with time_machine.travel(bj(2026, 3, 17, 10, 1), tick=False):
        response = client.get("/seller/invoices/")
        page = html(response)
        rows = {r.number: r.due for r in response.context["page"]}
        assert rows == {late.number: "overdue", on_time.number: ""}
        assert page.count('data-testid="overdue-flag"') == 1 and 'class="due late"' in page
        assert response.context["counts"]["overdue"] == 1
        assert 'data-testid="overdue-notice"' in page
        assert listed(client.get("/seller/invoices/", {"overdue": "on"})) == {late.number}
        detail = client.get(detail_url(late))
        assert detail.context["due"] == "overdue" and 'data-testid="overdue-flag"' in html(detail)
        # an overdue request may still be issued
        response = client.post(detail_url(late), issue_data(late, issued_on="2026-03-17"))
        assert response.status_code == 302 and reload(late).status == R.DELIVERED
        assert client.get("/seller/invoices/").context["counts"]["overdue"] == 0


def test_pagination(buyer_user, seller_user, plan):
    profile = company_profile(buyer_user)
    numbers = {request_invoice(buyer_user, [buy(buyer_user, plan)], profile=profile).number for _ in range(23)}
    client = as_user(seller_user)
    first, second = client.get("/seller/invoices/"), client.get("/seller/invoices/", {"page": 2})
    assert len(listed(first)) == 20 and len(listed(second)) == 3
    assert listed(first) | listed(second) == numbers


def test_the_list_runs_a_fixed_number_of_queries(buyer_user, seller_user, plan):
    profile = company_profile(buyer_user)
    client = as_user(seller_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/seller/invoices/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        request_invoice(buyer_user, [buy(buyer_user, plan)], profile=profile, medium="paper")
    three = queries()
    for _ in range(17):
        request_invoice(buyer_user, [buy(buyer_user, plan)], profile=profile)
    assert InvoiceRequest.objects.count() == 20
    assert queries() == three


def test_the_detail_runs_a_fixed_number_of_queries(buyer_user, seller_user, plan):
    profile = company_profile(buyer_user)
    client = as_user(seller_user)

    def queries(invoice_request) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(detail_url(invoice_request))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    one = request_invoice(buyer_user, [buy(buyer_user, plan)], profile=profile)
    many = request_invoice(buyer_user, [buy(buyer_user, plan) for _ in range(6)], profile=profile)
    assert queries(one) == queries(many)


def test_the_navigation_shows_invoices_to_finance_only_among_non_admins(seller, finance_user):
    response = as_user(finance_user).get("/seller/invoices/")
    assert 'href="/seller/invoices/"' in html(response)
    support = seller_member(seller, "support")
    assert 'href="/seller/invoices/"' not in html(as_user(support).get("/seller/"))
