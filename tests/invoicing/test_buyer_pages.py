"""Buyer center > My invoices through the Django test client (issue 7): the request list (chips,
filters, search, pagination, empty state), a new request, a request's page (the invoice, delivery,
due date, timeline; correct and resend, return or void, ask for a letter), invoice profiles and
explanation letters; refusals shown as form errors; isolation; fixed query counts; CSRF.

Chinese is the default UI language and these strings may be translated at any time, so the tests
assert on status codes, data-testid, numbers, form errors and the database; the few that read
English text set the ``django_language=en`` cookie (pages ignore Accept-Language).
"""

import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoicing.models import ExplanationLetter, InvoicedOrder, InvoiceProfile, InvoiceRequest
from invoicing.services import buyer_invoices as services
from marketplace.accounts.models import BuyerMembership, User
from marketplace.catalog.models import TradeMode
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from refunds.services import refund_record
from tests.factories import EnterpriseFactory, PlanFactory, ProductFactory, fresh, pdf_upload

pytestmark = pytest.mark.django_db

R = InvoiceRequest.Status
VALID_CODE = "91350100M000100Y43"
ELECTRONIC = {"medium": "electronic", "recipient_email": "invoices@buyer.test"}
PAPER = {
    "medium": "paper",
    "recipient": "Wang Fang",
    "recipient_phone": "+86 138 0000 0000",
    "mailing_address": "1 Chang'an Avenue, Dongcheng, Beijing",
}
NUMBERS = itertools.count(1)
LIST, NEW, PROFILES, LETTERS = (
    "/buyer/invoices/",
    "/buyer/invoices/new/",
    "/buyer/invoices/profiles/",
    "/buyer/invoices/letters/",
)


# --- helpers ---------------------------------------------------------------------------------------


def as_user(user: User | None, *, english: bool = False, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    if english:
        client.cookies["django_language"] = "en"
    return client


def html(response) -> str:
    return response.content.decode()


def flashed(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def detail(invoice) -> str:
    return f"/buyer/invoices/{invoice.pk}/"


def plan_of(seller, trade_mode=TradeMode.GENERAL, price="100.00"):
    product = ProductFactory(seller=seller, status="published", trade_mode=trade_mode)
    return PlanFactory(product=product, price=Decimal(price))


def buy(user: User, plan) -> Order:
    user = fresh(user)
    order = order_services.order_create(actor=user, plan_id=plan.pk)
    order_services.order_pay(actor=user, order_id=order.pk, method="online")
    return Order.objects.get(pk=order.pk)


def company(user: User, **overrides) -> InvoiceProfile:
    data = {"kind": "company", "title": "Fuzhou Example Software Co., Ltd.", "tax_id": VALID_CODE, **overrides}
    return services.profile_save(actor=fresh(user), data=data)


def submit(user: User, orders, profile, delivery=None) -> InvoiceRequest:
    return services.invoice_request_submit(
        actor=fresh(user), order_ids=[o.pk for o in orders], profile_id=profile.pk, **(delivery or ELECTRONIC)
    )


def issue(seller_user: User, invoice: InvoiceRequest, **fields) -> InvoiceRequest:
    fields = {"invoice_number": "04400001", "invoice_code": "044001900111", "file": pdf_upload("x.pdf"), **fields}
    return services.invoice_issue(actor=fresh(seller_user), request_id=invoice.pk, **fields)


def reject(seller_user: User, invoice: InvoiceRequest, reason="The taxpayer id does not match the title.") -> None:
    services.invoice_reject(actor=fresh(seller_user), request_id=invoice.pk, reason=reason)


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def post_forms(page: str) -> list[str]:
    return [f for f in re.findall(r"<form\b.*?</form>", page, re.S) if re.search(r'<form\b[^>]*method="post"', f)]


def tenant_user(tenant, role=BuyerMembership.Role.USER) -> User:
    from tests.factories import UserFactory

    user = UserFactory()
    BuyerMembership.objects.create(buyer=tenant, user=user, role=role, org_unit=tenant.org_units.first())
    return fresh(user)


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


def new_form(orders, profile, **delivery) -> dict:
    return {"orders": [o.pk for o in orders], "profile": profile.pk, **(delivery or ELECTRONIC)}


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def buyer(buyer_user):
    return fresh(buyer_user)


@pytest.fixture
def profile(buyer):
    return company(buyer)


@pytest.fixture
def order(buyer, plan):
    return buy(buyer, plan)


@pytest.fixture
def requested(buyer, order, profile):
    return submit(buyer, [order], profile)


@pytest.fixture
def platform_plan(other_seller):
    return plan_of(other_seller, TradeMode.JOINT, "300.00")


# --- the pages render for their owner --------------------------------------------------------------


def test_every_page_renders_for_its_owner_and_the_nav_highlights_my_invoices(buyer, requested):
    client = as_user(buyer)
    for path in (LIST, NEW, detail(requested), PROFILES, LETTERS):
        response = client.get(path)
        assert response.status_code == 200, path
        assert re.search(r'<a href="/buyer/invoices/" class="active">', html(response)), path
        assert 'data-testid="request-invoice"' in html(response) or path in (NEW, detail(requested))


def test_an_anonymous_visitor_is_sent_to_sign_in():
    response = Client().get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("path", [LIST, NEW, PROFILES, LETTERS])
def test_a_seller_user_is_refused(seller_user, path):
    assert as_user(seller_user).get(path).status_code == 403


def test_a_seller_user_cannot_open_a_buyers_request(seller_user, requested):
    # even the seller who issues it: the buyer's page is for the buyer's people
    assert as_user(seller_user).get(detail(requested)).status_code == 403
    assert as_user(seller_user).post(detail(requested), {"action": "letter"}).status_code == 403


# --- the request list ------------------------------------------------------------------------------


def test_the_empty_list_invites_a_first_request(buyer):
    response = as_user(buyer).get(LIST)
    assert response.status_code == 200
    assert 'class="empty"' in html(response)
    assert f'href="{NEW}"' in html(response)
    assert 'data-testid="invoice-row"' not in html(response)


def test_the_list_shows_the_request_with_its_orders_issuer_amount_and_status(buyer, seller, order, requested):
    response = as_user(buyer, english=True).get(LIST)
    page = html(response)
    assert page.count('data-testid="invoice-row"') == 1
    for text in (requested.number, order.number, seller.name, "¥100.00", "Electronic invoice"):
        assert text in page
    assert 'data-status="submitted"' in page
    assert response.context["counts"]["all"] == 1
    assert response.context["counts"]["submitted"] == 1


def test_the_list_filters_by_status_and_finds_request_and_invoice_numbers(buyer, seller_user, plan, profile, requested):
    second = submit(buyer, [buy(buyer, plan)], profile)
    issue(seller_user, second, invoice_number="99887766")
    client = as_user(buyer)

    def listed(path) -> set[str]:
        return {r.number for r in client.get(path).context["page"]}

    assert listed(LIST) == {requested.number, second.number}
    assert listed(f"{LIST}?status=submitted") == {requested.number}
    assert listed(f"{LIST}?status=delivered") == {second.number}  # electronic: e-mailed at once
    assert listed(f"{LIST}?status=rejected") == set()
    assert listed(f"{LIST}?q={requested.number[-6:]}") == {requested.number}
    assert listed(f"{LIST}?q=887766") == {second.number}
    assert listed(f"{LIST}?q=nothing-like-it") == set()
    assert listed(f"{LIST}?status=bogus") == {requested.number, second.number}  # an unknown filter is ignored
    chips = client.get(LIST).context["chips"]
    assert dict((value, n) for value, _label, n in chips) == {
        "submitted": 1,
        "issued": 0,
        "delivered": 1,
        "return_requested": 0,
        "returned": 0,
        "voided": 0,
        "rejected": 0,
    }
    filtered = client.get(f"{LIST}?status=rejected")
    assert 'class="empty"' in html(filtered)
    assert f'href="{NEW}"' not in html(filtered).split('class="empty"')[1]  # "no match", not "start here"


def _many_requests(buyer, n, profile, seller):
    """``n`` requests over fresh paid orders, written straight to the tables (fast)."""
    plan = plan_of(seller)
    now = timezone.now()
    made = []
    for i in range(n):
        order = buy(buyer, plan)
        invoice = InvoiceRequest.objects.create(
            number=f"I2026{next(NUMBERS):012d}",
            buyer_id=order.buyer_id,
            requested_by=buyer,
            issuer="seller",
            seller_id=order.seller_id,
            amount=order.amount,
            title_kind=profile.kind,
            title=profile.title,
            vat_kind=profile.vat_kind,
            medium="electronic",
            recipient_email="x@buyer.test",
            status=[R.SUBMITTED, R.DELIVERED, R.REJECTED][i % 3],
            created_at=now - timedelta(minutes=i),
            due_at=now + timedelta(days=7),
        )
        InvoicedOrder.objects.create(request=invoice, order=order, amount=order.amount)
        made.append(invoice)
    return made


def test_the_list_is_paginated(buyer, profile, seller):
    made = _many_requests(buyer, 23, profile, seller)
    client = as_user(buyer)
    first, second = client.get(LIST), client.get(f"{LIST}?page=2")
    assert html(first).count('data-testid="invoice-row"') == 20
    assert html(second).count('data-testid="invoice-row"') == 3
    assert {r.number for r in first.context["page"]} | {r.number for r in second.context["page"]} == {
        r.number for r in made
    }
    assert 'href="?page=2"' in html(first)
    assert 'href="?status=submitted&amp;page=2"' not in html(client.get(f"{LIST}?status=submitted"))  # 8: one page


@pytest.mark.parametrize("path", [LIST, f"{LIST}?status=submitted&q=I2026"])
def test_the_list_makes_the_same_queries_with_3_and_20_requests(buyer, profile, seller, other_seller, path):
    client = as_user(buyer)
    _many_requests(buyer, 3, profile, seller)
    few = count_queries(client, path)
    _many_requests(buyer, 17, profile, other_seller)
    assert InvoiceRequest.objects.count() == 20
    many = count_queries(client, path)
    assert many == few, f"{path}: {few} queries with 3 requests, {many} with 20"
    assert few <= 12


def test_the_detail_and_letters_pages_make_the_same_queries_however_many_orders_and_letters(
    buyer, seller_user, plan, profile, django_capture_on_commit_callbacks
):
    client = as_user(buyer)
    one = submit(buyer, [buy(buyer, plan)], profile)
    issue(seller_user, one, invoice_number="1001")
    with django_capture_on_commit_callbacks(execute=True):
        services.letter_request(actor=fresh(buyer), request_id=one.pk)
    few = (count_queries(client, detail(one)), count_queries(client, LETTERS))
    many = submit(buyer, [buy(buyer, plan) for _ in range(4)], profile)
    issue(seller_user, many, invoice_number="1002")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            services.letter_request(actor=fresh(buyer), request_id=many.pk)
    assert (count_queries(client, detail(many)), count_queries(client, LETTERS)) == few


# --- a new request ---------------------------------------------------------------------------------


def test_the_new_page_lists_only_paid_orders_not_yet_invoiced_with_what_is_left(
    buyer, seller, plan, platform_plan, profile
):
    invoiced = buy(buyer, plan)
    submit(buyer, [invoiced], profile)
    refunded_in_part, free = buy(buyer, plan), buy(buyer, plan)
    refund_record(line_id=refunded_in_part.lines.get().pk, amount="30.00", reason="Partial refund")
    Order.objects.filter(pk=free.pk).update(amount=0)
    platform_order = buy(buyer, platform_plan)
    unpaid = order_services.order_create(actor=fresh(buyer), plan_id=plan.pk)

    response = as_user(buyer, english=True).get(NEW)
    page = html(response)
    rows = {o.number: o for group in response.context["groups"] for o in group["orders"]}
    assert set(rows) == {refunded_in_part.number, platform_order.number}
    assert not {invoiced.number, free.number, unpaid.number} & set(re.findall(r"\d{10,}", page))
    assert rows[refunded_in_part.number].amount_left == Decimal("70.00")
    assert rows[platform_order.number].amount_left == Decimal("300.00")
    assert "¥70.00" in page and "refunded ¥30.00" in page
    labels = [group["label"] for group in response.context["groups"]]
    assert sorted(labels) == sorted([seller.name, "The platform"])
    assert page.count('data-testid="issuer-group"') == 2
    assert 'data-issuer="platform"' in page and f'data-issuer="seller-{seller.pk}"' in page
    # the default profile is preselected, the user's e-mail proposed
    assert re.search(rf'name="profile" value="{profile.pk}"[^>]*checked', page)
    assert f'value="{buyer.email}"' in page


def test_a_buyer_requests_an_electronic_invoice_through_the_page(buyer, seller, plan, profile):
    first, second = buy(buyer, plan), buy(buyer, plan)
    other_profile = company(buyer, title="Second title Ltd")
    response = as_user(buyer).post(NEW, new_form([first, second], other_profile), follow=True)
    invoice = InvoiceRequest.objects.get()
    assert response.redirect_chain == [(detail(invoice), 302)]
    assert (invoice.status, invoice.issuer, invoice.seller_id, invoice.amount) == (
        R.SUBMITTED,
        "seller",
        seller.pk,
        Decimal("200.00"),
    )
    assert (invoice.title, invoice.medium, invoice.recipient_email) == (
        "Second title Ltd",
        "electronic",
        "invoices@buyer.test",
    )
    assert set(invoice.lines.values_list("order_id", flat=True)) == {first.pk, second.pk}
    assert [level for level, _text in flashed(response)] == ["success"]
    assert 'data-testid="due"' in html(response)


def test_a_paper_request_needs_where_to_mail_it(buyer, order, profile):
    client = as_user(buyer)
    response = client.post(NEW, new_form([order], profile, medium="paper"))
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"recipient", "recipient_phone", "mailing_address"}
    assert 'class="field has-error"' in html(response)
    assert re.search(rf'name="orders" value="{order.pk}"[^>]*checked', html(response))  # still ticked
    assert not InvoiceRequest.objects.exists()

    response = client.post(NEW, new_form([order], profile, **PAPER), follow=True)
    invoice = InvoiceRequest.objects.get()
    assert (invoice.medium, invoice.recipient, invoice.mailing_address) == (
        "paper",
        "Wang Fang",
        PAPER["mailing_address"],
    )
    assert 'data-testid="postage"' in html(response)


def test_an_electronic_request_needs_a_valid_email(buyer, order, profile):
    response = as_user(buyer).post(NEW, new_form([order], profile, medium="digital", recipient_email="not-an-email"))
    assert "recipient_email" in response.context["form"].errors
    assert not InvoiceRequest.objects.exists()


def test_orders_of_different_issuers_are_refused_with_a_clear_message(buyer, plan, platform_plan, profile):
    general, joint = buy(buyer, plan), buy(buyer, platform_plan)
    response = as_user(buyer, english=True).post(NEW, new_form([general, joint], profile))
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "different issuers" in errors[0]
    assert 'class="form-errors"' in html(response) and "different issuers" in html(response)
    assert not InvoiceRequest.objects.exists()


def test_orders_of_two_sellers_are_refused(buyer, plan, other_seller, profile):
    mine, theirs = buy(buyer, plan), buy(buyer, plan_of(other_seller))
    response = as_user(buyer, english=True).post(NEW, new_form([mine, theirs], profile))
    assert "Each seller issues its own invoices" in response.context["form"].non_field_errors()[0]
    assert not InvoiceRequest.objects.exists()


def test_no_order_no_profile_and_foreign_or_taken_orders_are_form_errors(buyer, other_buyer_user, plan, order, profile):
    client = as_user(buyer)
    response = client.post(NEW, {"profile": profile.pk, **ELECTRONIC})
    assert "orders" in response.context["form"].errors
    response = client.post(NEW, {"orders": [order.pk], **ELECTRONIC})
    assert "profile" in response.context["form"].errors
    foreign = buy(other_buyer_user, plan)
    response = client.post(NEW, new_form([foreign], profile))
    assert "orders" in response.context["form"].errors
    submit(buyer, [order], profile)
    response = client.post(NEW, new_form([order], profile))  # already on a live request
    assert "orders" in response.context["form"].errors
    other_profile = company(other_buyer_user)
    response = client.post(NEW, new_form([buy(buyer, plan)], other_profile))
    assert "profile" in response.context["form"].errors
    assert InvoiceRequest.objects.count() == 1


def test_without_a_profile_the_page_says_where_to_add_one(buyer, order):
    response = as_user(buyer).get(NEW)
    page = html(response)
    assert 'data-testid="no-profiles"' in page
    assert f'href="{PROFILES}"' in page
    assert re.search(r'data-testid="submit-request"[^>]*disabled', page)


def test_the_new_page_without_orders_shows_an_empty_state(buyer, profile):
    page = html(as_user(buyer).get(NEW))
    assert 'class="empty"' in page and 'href="/buyer/orders/"' in page
    assert 'data-testid="request-form"' not in page


def test_an_order_can_be_preselected_from_the_link(buyer, order, profile):
    page = html(as_user(buyer).get(f"{NEW}?order={order.pk}"))
    assert re.search(rf'name="orders" value="{order.pk}"[^>]*checked', page)


# --- a request's page ------------------------------------------------------------------------------


def test_a_submitted_request_shows_its_due_date_orders_and_timeline(buyer, order, requested):
    response = as_user(buyer, english=True).get(detail(requested))
    page = html(response)
    assert 'data-testid="due"' in page
    assert timezone.localtime(requested.due_at).strftime("%Y-%m-%d %H:%M") in page
    assert order.number in page and f'href="/buyer/orders/{order.pk}/"' in page
    assert "Invoice requested" in page
    assert 'data-testid="invoice"' not in page
    assert 'data-testid="return"' not in page and 'data-testid="request-letter"' not in page


def test_an_issued_electronic_invoice_shows_its_details_and_pdf(buyer, seller, seller_user, requested):
    issue(seller_user, requested, invoice_number="04400077", tax_rate="0.06")
    response = as_user(buyer, english=True).get(detail(requested))
    page = html(response)
    for text in ("04400077", "044001900111", "6%", "¥100.00", "invoices@buyer.test"):
        assert text in page, text
    assert f'href="/invoicing/requests/{requested.pk}/file/"' in page
    assert 'data-status="delivered"' in page
    assert 'data-testid="due"' not in page
    assert 'data-testid="return"' in page and 'data-testid="request-letter"' in page
    # the issuer's staff appear as the issuer, not by name
    assert seller.name in response.context["invoice"].events.all()[1].who
    assert fresh(seller_user).get_short_name() not in page.split('data-testid="timeline"')[1]


def test_a_mailed_paper_invoice_shows_courier_tracking_and_who_pays_postage(
    buyer, seller_user, plan, profile, platform_plan
):
    paper = submit(buyer, [buy(buyer, plan)], profile, PAPER)  # CNY 100: the issuer pays
    issue(seller_user, paper)
    services.invoice_deliver(
        actor=fresh(seller_user), request_id=paper.pk, courier="SF Express", tracking_number="SF1234567890"
    )
    client = as_user(buyer, english=True)
    page = html(client.get(detail(paper)))
    assert "SF Express" in page and "SF1234567890" in page
    assert "Postage borne by the issuer" in page
    assert "Wang Fang" in page and PAPER["mailing_address"].replace("'", "&#x27;") in page

    cheap_plan = plan_of(plan.product.seller, price="50.00")
    cheap = submit(buyer, [buy(buyer, cheap_plan)], profile, PAPER)
    page = html(client.get(detail(cheap)))
    assert "Postage borne by the issuer" not in page
    assert 'data-testid="postage"' in page


def test_a_rejected_request_is_corrected_and_sent_again_through_the_page(buyer, seller_user, order, requested):
    reject(seller_user, requested)
    better = company(buyer, title="Corrected Title Co., Ltd.")
    client = as_user(buyer)
    page = html(client.get(detail(requested)))
    assert 'data-testid="rejection"' in page and "The taxpayer id does not match the title." in page
    # prefilled: the profile used, the medium, the e-mail
    assert re.search(rf'name="profile" value="{requested.profile_id}"[^>]*checked', page)
    assert re.search(r'value="electronic"[^>]*checked', page)
    assert 'value="invoices@buyer.test"' in page

    response = client.post(detail(requested), {"action": "resubmit", "profile": better.pk, **PAPER}, follow=True)
    assert response.redirect_chain == [(detail(requested), 302)]
    requested = reload(requested)
    assert (requested.status, requested.title, requested.medium, requested.rejection_reason) == (
        R.SUBMITTED,
        "Corrected Title Co., Ltd.",
        "paper",
        "",
    )
    assert requested.lines.filter(active=True).count() == 1
    assert 'data-testid="resubmit-form"' not in html(response)


def test_a_resubmission_with_errors_shows_them_on_the_form(buyer, seller_user, requested):
    reject(seller_user, requested)
    client = as_user(buyer)
    response = client.post(
        detail(requested), {"action": "resubmit", "profile": requested.profile_id, "medium": "paper"}
    )
    assert response.status_code == 200
    assert set(response.context["resubmit_form"].errors) >= {"recipient", "recipient_phone", "mailing_address"}
    assert reload(requested).status == R.REJECTED


def test_resubmitting_when_the_order_was_invoiced_meanwhile_is_a_form_error(
    buyer, seller_user, order, requested, profile
):
    reject(seller_user, requested)
    submit(buyer, [order], profile)  # the freed order went on another request
    response = as_user(buyer, english=True).post(
        detail(requested), {"action": "resubmit", "profile": profile.pk, **ELECTRONIC}
    )
    assert "invoiced on another request" in response.context["resubmit_form"].non_field_errors()[0]
    assert reload(requested).status == R.REJECTED


def test_an_issued_invoice_is_returned_through_the_page_with_a_reason(buyer, seller_user, requested):
    issue(seller_user, requested)
    client = as_user(buyer)
    page = html(client.get(detail(requested)))
    assert re.search(r'<form method="post" data-confirm="[^"]+" data-testid="return-form">', page)

    response = client.post(detail(requested), {"action": "return", "reason": ""})
    assert "reason" in response.context["return_form"].errors
    assert reload(requested).status == R.DELIVERED

    response = client.post(
        detail(requested), {"action": "return", "reason": "The order is being refunded."}, follow=True
    )
    requested = reload(requested)
    assert (requested.status, requested.return_reason) == (R.RETURN_REQUESTED, "The order is being refunded.")
    assert [level for level, _text in flashed(response)] == ["success"]
    assert 'data-testid="return"' not in html(response)
    # asked twice (an old tab): the service refuses, and the page (without the form now) says why
    response = client.post(detail(requested), {"action": "return", "reason": "Again"}, follow=True)
    assert [level for level, _text in flashed(response)] == ["error"]
    assert reload(requested).status == R.RETURN_REQUESTED


def test_a_letter_is_asked_for_from_the_request_page(buyer, seller_user, requested, django_capture_on_commit_callbacks):
    issue(seller_user, requested)
    client = as_user(buyer)
    with django_capture_on_commit_callbacks(execute=True):  # stamped at once in tests, after commit
        response = client.post(detail(requested), {"action": "letter"})
    assert (response.status_code, response["Location"]) == (302, LETTERS)
    response = client.get(LETTERS)
    letter = ExplanationLetter.objects.get()
    assert (letter.request_id, letter.status) == (requested.pk, "stamped")  # stamped at once in tests
    assert f'href="/invoicing/letters/{letter.pk}/file/"' in html(response)
    assert [level for level, _text in flashed(response)] == ["success"]


def test_actions_out_of_turn_are_refused_with_a_message(buyer, requested):
    client = as_user(buyer)
    response = client.post(detail(requested), {"action": "letter"}, follow=True)  # not issued yet
    assert [level for level, _text in flashed(response)] == ["error"]
    assert not ExplanationLetter.objects.exists()
    response = client.post(
        detail(requested), {"action": "resubmit", "profile": requested.profile_id, **ELECTRONIC}, follow=True
    )
    assert [level for level, _text in flashed(response)] == ["error"]  # only a rejected request is resent
    assert reload(requested).status == R.SUBMITTED
    response = client.post(detail(requested), {"action": "bogus"}, follow=True)
    assert [level for level, _text in flashed(response)] == ["error"]


# --- invoice profiles ------------------------------------------------------------------------------


def test_an_admin_adds_edits_sets_default_and_deletes_profiles_through_the_page(buyer):
    client = as_user(buyer)
    assert 'class="empty"' in html(client.get(PROFILES))
    response = client.post(
        PROFILES,
        {"action": "save", "kind": "individual", "title": "Zhang San", "vat_kind": "general"},
        follow=True,
    )
    assert response.redirect_chain == [(PROFILES, 302)]
    person = InvoiceProfile.objects.get()
    assert (person.title, person.kind, person.is_default) == ("Zhang San", "individual", True)  # the first: default

    client.post(
        PROFILES,
        {"action": "save", "kind": "company", "title": "Acme Ltd", "tax_id": VALID_CODE.lower(), "vat_kind": "general"},
    )
    acme = InvoiceProfile.objects.get(title="Acme Ltd")
    assert (acme.tax_id, acme.is_default) == (VALID_CODE, False)

    page = html(client.get(f"{PROFILES}?edit={acme.pk}"))
    assert 'value="Acme Ltd"' in page and f'name="profile_id" value="{acme.pk}"' in page
    client.post(
        PROFILES,
        {
            "action": "save",
            "profile_id": acme.pk,
            "kind": "company",
            "title": "Acme Holdings Ltd",
            "tax_id": VALID_CODE,
            "vat_kind": "special",
            "address": "8 Gutian Road, Fuzhou",
            "phone": "0591-8888 8888",
            "bank_name": "Bank of China",
            "bank_account": "4070 5800 1234",
        },
    )
    acme = reload(acme)
    assert (acme.title, acme.vat_kind, acme.bank_account) == ("Acme Holdings Ltd", "special", "4070 5800 1234")

    client.post(PROFILES, {"action": "default", "profile_id": acme.pk})
    assert reload(acme).is_default and not reload(person).is_default

    page = html(client.get(PROFILES))
    assert page.count('data-testid="profile-row"') == 2
    assert re.search(r'<form method="post" style="display:inline" data-confirm="[^"]+">', page)
    response = client.post(PROFILES, {"action": "delete", "profile_id": acme.pk}, follow=True)
    assert [level for level, _text in flashed(response)] == ["success"]
    assert list(InvoiceProfile.objects.values_list("title", "is_default")) == [("Zhang San", True)]


def test_a_company_needs_a_valid_credit_code_shown_on_the_field(buyer):
    response = as_user(buyer).post(
        PROFILES, {"action": "save", "kind": "company", "title": "Acme Ltd", "tax_id": VALID_CODE[:17] + "0"}
    )
    assert response.status_code == 200
    assert "tax_id" in response.context["form"].errors
    assert 'class="field has-error"' in html(response)
    assert not InvoiceProfile.objects.exists()


def test_a_special_vat_profile_needs_address_phone_bank_and_account(buyer):
    response = as_user(buyer).post(
        PROFILES,
        {"action": "save", "kind": "company", "title": "Acme Ltd", "tax_id": VALID_CODE, "vat_kind": "special"},
    )
    assert set(response.context["form"].errors) == {"address", "phone", "bank_name", "bank_account"}
    assert not InvoiceProfile.objects.exists()


def test_plain_tenant_users_see_profiles_read_only_and_cannot_change_them(plan):
    tenant = EnterpriseFactory()
    admin = fresh(tenant.memberships.get().user)
    profile = company(admin)
    user = tenant_user(tenant)
    client = as_user(user)
    page = html(client.get(PROFILES))
    assert profile.title in page
    assert 'data-testid="read-only"' in page
    assert 'data-testid="profile-form"' not in page and 'data-testid="delete-profile"' not in page
    for data in (
        {"action": "save", "kind": "individual", "title": "Mine"},
        {"action": "delete", "profile_id": profile.pk},
        {"action": "default", "profile_id": profile.pk},
    ):
        assert client.post(PROFILES, data).status_code == 403
    assert list(InvoiceProfile.objects.values_list("title", flat=True)) == [profile.title]
    # but they use the tenant's profiles in their own requests
    order = buy(user, plan)
    page = html(client.get(NEW))
    assert re.search(rf'name="profile" value="{profile.pk}"[^>]*checked', page)
    assert 'data-testid="add-profile"' not in page
    response = client.post(NEW, new_form([order], profile))
    assert response.status_code == 302
    assert InvoiceRequest.objects.get().requested_by_id == user.pk


def test_another_buyers_profile_cannot_be_edited_or_deleted(buyer, other_buyer_user):
    theirs = company(other_buyer_user)
    client = as_user(buyer)
    assert client.get(f"{PROFILES}?edit={theirs.pk}").status_code == 404
    assert client.get(f"{PROFILES}?edit=abc").status_code == 404
    assert client.post(PROFILES, {"action": "delete", "profile_id": theirs.pk}).status_code == 404
    assert reload(theirs).title == "Fuzhou Example Software Co., Ltd."


# --- explanation letters ---------------------------------------------------------------------------


def test_the_letters_page_lists_issued_requests_and_applies_for_a_letter(
    buyer, seller_user, plan, profile, requested, django_capture_on_commit_callbacks
):
    waiting = submit(buyer, [buy(buyer, plan)], profile)  # not issued: not listed
    issue(seller_user, requested, invoice_number="55501")
    client = as_user(buyer)
    response = client.get(LETTERS)
    assert [r.pk for r in response.context["candidates"]] == [requested.pk]
    assert waiting.number not in html(response)
    assert 'class="empty"' in html(response)  # no letters yet

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LETTERS, {"action": "letter", "request": requested.pk})
    assert response["Location"] == LETTERS
    response = client.get(LETTERS)
    letter = ExplanationLetter.objects.get()
    assert letter.status == "stamped"
    page = html(response)
    assert page.count('data-testid="letter-row"') == 1
    assert letter.verification_code in page
    assert f'href="/invoicing/letters/{letter.pk}/file/"' in page
    assert f'href="/verify/{letter.verification_code}/"' in page


def test_a_stamping_letter_shows_when_it_is_expected_and_a_second_application_is_refused(
    buyer, seller_user, requested, monkeypatch
):
    issue(seller_user, requested)
    from invoicing import tasks

    monkeypatch.setattr(tasks.stamp_letter, "apply_async", lambda *a, **k: None)  # the worker is busy
    letter = services.letter_request(actor=fresh(buyer), request_id=requested.pk)
    client = as_user(buyer, english=True)
    page = html(client.get(LETTERS))
    expected = timezone.localtime(letter.expected_at).strftime("%H:%M")
    assert f"expected around {expected}" in page
    assert 'data-status="stamping"' in page
    assert 'data-testid="download-letter"' not in page

    response = client.post(LETTERS, {"action": "letter", "request": requested.pk}, follow=True)
    assert flashed(response) == [("error", "A letter for this request is being stamped; wait for it.")]
    assert ExplanationLetter.objects.count() == 1


def test_a_letter_for_a_request_that_is_not_issued_or_not_mine_is_refused(
    buyer, other_buyer_user, seller_user, plan, profile, requested
):
    theirs = submit(other_buyer_user, [buy(other_buyer_user, plan)], company(other_buyer_user))
    issue(seller_user, theirs)
    client = as_user(buyer)
    for pk in (requested.pk, theirs.pk, "abc", ""):
        response = client.post(LETTERS, {"action": "letter", "request": pk}, follow=True)
        assert [level for level, _text in flashed(response)] == ["error"], pk
    assert not ExplanationLetter.objects.exists()


# --- isolation -------------------------------------------------------------------------------------


def test_another_buyer_gets_404_on_the_page_and_its_actions(buyer, other_buyer_user, seller_user, requested):
    issue(seller_user, requested)
    before = InvoiceRequest.objects.filter(pk=requested.pk).values().get()
    client = as_user(other_buyer_user)
    assert client.get(detail(requested)).status_code == 404
    for data in (
        {"action": "return", "reason": "Mine now"},
        {"action": "letter"},
        {"action": "resubmit", "profile": 1, **ELECTRONIC},
    ):
        assert client.post(detail(requested), data).status_code == 404
    assert requested.number not in html(client.get(LIST))
    assert requested.number not in html(client.get(LETTERS))
    assert InvoiceRequest.objects.filter(pk=requested.pk).values().get() == before
    assert not ExplanationLetter.objects.exists()
    assert as_user(buyer).get("/buyer/invoices/999999/").status_code == 404


def test_inside_a_tenant_admins_see_every_request_plain_users_their_own(seller, plan):
    tenant = EnterpriseFactory()
    admin = fresh(tenant.memberships.get().user)
    profile = company(admin)
    alice, bob = tenant_user(tenant), tenant_user(tenant)
    alices = submit(alice, [buy(alice, plan)], profile)
    client = as_user(bob)
    assert client.get(detail(alices)).status_code == 404
    assert client.post(detail(alices), {"action": "letter"}).status_code == 404
    assert alices.number not in html(client.get(LIST))
    # Bob does not see Alice's order either
    assert client.get(NEW).context["groups"] == []
    assert as_user(alice).get(detail(alices)).status_code == 200
    admin_client = as_user(admin)
    assert admin_client.get(detail(alices)).status_code == 200
    assert alices.number in html(admin_client.get(LIST))


# --- CSRF ------------------------------------------------------------------------------------------


def test_every_post_form_carries_the_csrf_token(buyer, seller_user, plan, profile, requested):
    client = as_user(buyer)
    issued = submit(buyer, [buy(buyer, plan)], profile)
    issue(seller_user, issued, invoice_number="7001")
    rejected = submit(buyer, [buy(buyer, plan)], profile)
    reject(seller_user, rejected)
    buy(buyer, plan)
    pages = {
        "new": client.get(NEW),
        "issued": client.get(detail(issued)),
        "rejected": client.get(detail(rejected)),
        "profiles": client.get(PROFILES),
        "letters": client.get(LETTERS),
    }
    expected_actions = {
        "issued": {"return", "letter"},
        "rejected": {"resubmit"},
        "profiles": {"save", "delete"},
        "letters": {"letter"},
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        forms = post_forms(html(response))
        assert forms, name
        for form in forms:
            assert 'name="csrfmiddlewaretoken"' in form, (name, form[:160])
        actions = {a for f in forms for a in re.findall(r'name="action" value="(\w+)"', f)}
        assert expected_actions.get(name, set()) <= actions, (name, actions)


def test_a_post_without_the_csrf_token_is_refused(buyer, seller_user, plan, profile, requested):
    issue(seller_user, requested)
    client = as_user(buyer, enforce_csrf_checks=True)
    other = buy(buyer, plan)
    assert client.post(NEW, new_form([other], profile)).status_code == 403
    assert client.post(detail(requested), {"action": "return", "reason": "x"}).status_code == 403
    assert client.post(detail(requested), {"action": "letter"}).status_code == 403
    assert client.post(PROFILES, {"action": "delete", "profile_id": profile.pk}).status_code == 403
    assert client.post(LETTERS, {"action": "letter", "request": requested.pk}).status_code == 403
    assert InvoiceRequest.objects.count() == 1
    assert reload(requested).status == R.DELIVERED
    assert InvoiceProfile.objects.filter(pk=profile.pk).exists()
    assert not ExplanationLetter.objects.exists()
