"""Operations issue the platform's invoices in the admin (joint, strict-selection, self-operated and
platform products): the queue, the issuing page (number, code, date, tax rate, PDF uploaded or
drawn by the platform), the actions (mailed, reject, confirm a return or void), the permission
``invoicing.issue_invoicerequest`` of the operations and finance groups, and the read-only admins of
profiles and letters (issue 7).
"""

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from invoicing import services
from invoicing.models import ExplanationLetter, InvoiceRequest, InvoiceRequestEvent
from marketplace.accounts.models import User
from marketplace.core.models import OutboundEmail
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from tests.factories import PDF_BYTES, PlanFactory, ProductFactory, UserFactory, bj, credit_code, fresh

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
R = InvoiceRequest.Status
CHANGELIST = "/admin/invoicing/invoicerequest/"


# --- helpers ---------------------------------------------------------------------------------------


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def staff_in(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return fresh(user)


def buy(user: User, plan) -> Order:
    order = order_services.order_create(actor=fresh(user), plan_id=plan.pk, now=bj(2026, 3, 2, 10))
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=fresh(user), order_id=order.pk, method="online", now=bj(2026, 3, 2, 10))
    return order


def request_invoice(user: User, plan, *, medium: str = "electronic", n: int = 4300001) -> InvoiceRequest:
    profile = services.profile_save(
        actor=fresh(user),
        data={"kind": "company", "title": "Acme Cloud Ltd", "tax_id": credit_code(n), "vat_kind": "general"},
    )
    delivery = (
        {"recipient": "Li Lei", "recipient_phone": "13800000000", "mailing_address": "2 Nanshan Road, Shenzhen"}
        if medium == "paper"
        else {"recipient_email": "finance@acme.test"}
    )
    return services.invoice_request_submit(
        actor=fresh(user), order_ids=[buy(user, plan).pk], profile_id=profile.pk, medium=medium, **delivery
    )


def reload(invoice_request: InvoiceRequest) -> InvoiceRequest:
    return InvoiceRequest.objects.get(pk=invoice_request.pk)


def snapshot(invoice_request: InvoiceRequest) -> dict:
    return {
        "request": InvoiceRequest.objects.filter(pk=invoice_request.pk).values().get(),
        "events": InvoiceRequestEvent.objects.filter(request=invoice_request).count(),
        "emails": OutboundEmail.objects.count(),
    }


def pdf(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def issue_url(invoice_request: InvoiceRequest) -> str:
    return f"{CHANGELIST}{invoice_request.pk}/issue/"


def issue_data(invoice_request: InvoiceRequest, **overrides) -> dict:
    data = {
        "invoice_number": "31440001",
        "invoice_code": "144031900111",
        "issued_on": "2026-03-03",
        "amount": str(invoice_request.amount),
        "tax_rate": "0.06",
        "file": pdf(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def run_action(client: Client, action: str, invoice_requests, **form) -> object:
    data = {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in invoice_requests], **form}
    if form:
        data["apply"] = "1"
    return client.post(CHANGELIST, data, follow=True)


def flashed(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def joint_plan(seller):
    product = ProductFactory(seller=seller, status="published", trade_mode="joint")
    return PlanFactory(product=product, price=Decimal("300.00"))


@pytest.fixture
def general_plan(seller):
    product = ProductFactory(seller=seller, status="published")
    return PlanFactory(product=product, price=Decimal("100.00"))


@pytest.fixture
def platform_request(buyer_user, joint_plan):
    invoice_request = request_invoice(buyer_user, joint_plan)
    assert invoice_request.issuer == "platform" and invoice_request.seller_id is None
    return invoice_request


@pytest.fixture
def platform_paper(buyer_user, joint_plan):
    return request_invoice(buyer_user, joint_plan, medium="paper")


@pytest.fixture
def operations():
    return staff_in("operations")


# --- the groups ------------------------------------------------------------------------------------


def test_operations_and_finance_may_issue_support_may_only_look():
    for group, may_issue in (("operations", True), ("finance", True), ("support", False)):
        user = staff_in(group)
        assert user.has_perm("invoicing.issue_invoicerequest") is may_issue, group
        for perm in ("view_invoicerequest", "view_explanationletter", "view_invoiceprofile"):
            assert user.has_perm(f"invoicing.{perm}"), (group, perm)


# --- the queue -------------------------------------------------------------------------------------


def test_the_queue_lists_requests_by_deadline_with_filters(buyer_user, seller_user, joint_plan, general_plan):
    with time_machine.travel(bj(2026, 3, 10, 10), tick=False):
        first = request_invoice(buyer_user, joint_plan)
    with time_machine.travel(bj(2026, 3, 12, 10), tick=False):
        second = request_invoice(buyer_user, joint_plan, medium="paper")
        sellers = request_invoice(buyer_user, general_plan)
    client = as_user(staff_in("operations"))
    with time_machine.travel(bj(2026, 3, 18, 10), tick=False):  # the first is a day late
        response = client.get(CHANGELIST)
        assert response.status_code == 200
        shown = [r.number for r in response.context["cl"].result_list]
        assert shown[:2] == [first.number, second.number]  # by the deadline
        assert set(shown) == {first.number, second.number, sellers.number}
        page = html(response)
        assert issue_url(first) in page and issue_url(second) in page
        assert issue_url(sellers) not in page  # the seller issues that one

        platform = client.get(CHANGELIST, {"issuer__exact": "platform", "status__exact": "submitted"})
        assert [r.number for r in platform.context["cl"].result_list] == [first.number, second.number]
        overdue = client.get(CHANGELIST, {"deadline": "overdue"})
        assert [r.number for r in overdue.context["cl"].result_list] == [first.number]
        found = client.get(CHANGELIST, {"q": second.lines.get().order.number})
        assert [r.number for r in found.context["cl"].result_list] == [second.number]

        change = client.get(f"{CHANGELIST}{first.pk}/change/")
        assert change.status_code == 200
        page = html(change)
        assert issue_url(first) in page and first.lines.get().order.number in page
        assert "Acme Cloud Ltd" in page


def test_the_request_page_is_read_only(platform_request, operations):
    client = as_user(operations)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    before = snapshot(platform_request)
    client.post(f"{CHANGELIST}{platform_request.pk}/change/", {"status": "issued", "title": "Hacked"})
    client.post(f"{CHANGELIST}{platform_request.pk}/delete/", {"post": "yes"})
    assert snapshot(platform_request) == before


# --- issuing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["operations", "finance"])
def test_issuing_a_platform_invoice_with_an_uploaded_pdf(group, platform_request):
    client = as_user(staff_in(group))
    response = client.get(issue_url(platform_request))
    assert response.status_code == 200
    page = html(response)
    assert 'enctype="multipart/form-data"' in page and platform_request.number in page
    assert response.context["form"]["amount"].value() == Decimal("300.00")
    response = client.post(issue_url(platform_request), issue_data(platform_request))
    assert response.status_code == 302 and response["Location"] == f"{CHANGELIST}{platform_request.pk}/change/"
    done = reload(platform_request)
    assert done.status == R.DELIVERED  # electronic: e-mailed at once
    assert (done.invoice_number, done.invoice_code, str(done.issued_on)) == ("31440001", "144031900111", "2026-03-03")
    assert done.file.open("rb").read() == PDF_BYTES
    assert OutboundEmail.objects.filter(to="finance@acme.test").exists()
    assert done.events.filter(actor__is_staff=True).count() == 2


def test_issuing_with_a_platform_drawn_pdf_then_mailing_through_the_action(platform_paper, operations):
    client = as_user(operations)
    response = client.post(issue_url(platform_paper), issue_data(platform_paper, file=None, generate="on"))
    assert response.status_code == 302
    done = reload(platform_paper)
    assert done.status == R.ISSUED and done.file.open("rb").read().startswith(b"%PDF")

    # the action asks for the courier and tracking number first
    response = client.post(CHANGELIST, {"action": "deliver", ACTION_CHECKBOX_NAME: [platform_paper.pk]})
    assert response.status_code == 200 and "tracking_number" in html(response)
    assert reload(platform_paper).status == R.ISSUED
    response = run_action(client, "deliver", [platform_paper], courier="EMS", tracking_number="EMS-001")
    assert ("success", "1 done.") in flashed(response) or any(level == "success" for level, _t in flashed(response))
    done = reload(platform_paper)
    assert (done.status, done.courier, done.tracking_number) == (R.DELIVERED, "EMS", "EMS-001")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "1.00"}, "amount"),
        ({"issued_on": "2099-01-01"}, "issued_on"),
        ({"file": None}, "file"),
        ({"tax_rate": "-0.1"}, "tax_rate"),
    ],
)
def test_a_refused_issue_changes_nothing(platform_request, operations, overrides, field):
    before = snapshot(platform_request)
    response = as_user(operations).post(issue_url(platform_request), issue_data(platform_request, **overrides))
    assert response.status_code == 200 and response.context["form"].errors[field]
    assert snapshot(platform_request) == before


def test_staff_without_the_permission_are_refused(platform_request, platform_paper):
    support = staff_in("support")  # may look, may not issue
    client = as_user(support)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action offered
    before, before_paper = snapshot(platform_request), snapshot(platform_paper)
    assert client.get(issue_url(platform_request)).status_code == 403
    assert client.post(issue_url(platform_request), issue_data(platform_request)).status_code == 403
    run_action(client, "reject", [platform_request], reason="No")
    run_action(client, "confirm_return", [platform_request])
    run_action(client, "issue", [platform_request])
    assert snapshot(platform_request) == before and snapshot(platform_paper) == before_paper
    # a staff user with no invoicing permission at all does not even see the queue
    bare = as_user(fresh(UserFactory(is_staff=True)))
    assert bare.get(CHANGELIST).status_code == 403
    assert bare.get(issue_url(platform_request)).status_code == 403


def test_operations_cannot_issue_a_sellers_invoice(buyer_user, general_plan, operations):
    sellers = request_invoice(buyer_user, general_plan)
    client = as_user(operations)
    before = snapshot(sellers)
    response = client.post(issue_url(sellers), issue_data(sellers))
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    response = run_action(client, "reject", [sellers], reason="No")
    assert [level for level, _t in flashed(response)] == ["error"]
    assert snapshot(sellers) == before


def test_the_issue_action_opens_the_page_for_one_request(platform_request, platform_paper, operations):
    client = as_user(operations)
    response = client.post(CHANGELIST, {"action": "issue", ACTION_CHECKBOX_NAME: [platform_request.pk]})
    assert response.status_code == 302 and response["Location"] == issue_url(platform_request)
    response = run_action(client, "issue", [platform_request, platform_paper])
    assert [level for level, _t in flashed(response)] == ["error"]
    assert reload(platform_request).status == reload(platform_paper).status == R.SUBMITTED


def test_rejecting_through_the_action(platform_request, operations):
    client = as_user(operations)
    response = client.post(CHANGELIST, {"action": "reject", ACTION_CHECKBOX_NAME: [platform_request.pk]})
    assert response.status_code == 200 and "reason" in html(response)
    assert reload(platform_request).status == R.SUBMITTED
    response = run_action(client, "reject", [platform_request], reason="The title is not the payer.")
    assert any(level == "success" for level, _t in flashed(response))
    done = reload(platform_request)
    assert (done.status, done.rejection_reason) == (R.REJECTED, "The title is not the payer.")
    # once rejected, it cannot be mailed
    before = snapshot(platform_request)
    response = run_action(client, "deliver", [platform_request], courier="EMS", tracking_number="1")
    assert [level for level, _t in flashed(response)] == ["error"]
    assert snapshot(platform_request) == before


@pytest.mark.parametrize(("fixture", "target"), [("platform_paper", R.RETURNED), ("platform_request", R.VOIDED)])
def test_confirming_a_return_or_void_through_the_action(request, fixture, target, buyer_user, operations):
    invoice_request = request.getfixturevalue(fixture)
    services.invoice_issue(
        actor=operations, request_id=invoice_request.pk, invoice_number="3144", generate=False, file=pdf()
    )
    client = as_user(operations)
    before = snapshot(invoice_request)
    response = run_action(client, "confirm_return", [invoice_request])  # nothing asked back yet
    assert [level for level, _t in flashed(response)] == ["error"]
    assert snapshot(invoice_request) == before
    services.invoice_return_start(actor=fresh(buyer_user), request_id=invoice_request.pk, reason="Refund")
    response = run_action(client, "confirm_return", [invoice_request])
    assert any(level == "success" for level, _t in flashed(response))
    assert reload(invoice_request).status == target


# --- profiles and letters --------------------------------------------------------------------------


def test_profiles_and_letters_are_read_only(buyer_user, platform_request, operations):
    services.invoice_issue(actor=operations, request_id=platform_request.pk, invoice_number="3145", file=pdf())
    letter = services.letter_request(actor=fresh(buyer_user), request_id=platform_request.pk)
    services.letter_stamp(letter_id=letter.pk)
    letter.refresh_from_db()
    assert letter.status == ExplanationLetter.Status.STAMPED
    client = as_user(staff_in("support"))
    response = client.get("/admin/invoicing/invoiceprofile/")
    assert response.status_code == 200 and "Acme Cloud Ltd" in html(response)
    assert client.get("/admin/invoicing/invoiceprofile/add/").status_code == 403
    response = client.get("/admin/invoicing/explanationletter/")
    assert response.status_code == 200 and letter.verification_code in html(response)
    page = html(client.get(f"/admin/invoicing/explanationletter/{letter.pk}/change/"))
    assert f"/invoicing/letters/{letter.pk}/file/" in page
    assert client.get("/admin/invoicing/explanationletter/add/").status_code == 403
