"""The buyers' invoices REST API (/api/v1/buyer/invoice-profiles/, invoice-requests/,
invoiceable-orders/, explanation-letters/ and /api/v1/seller/invoice-requests/): every endpoint's
happy path, its refused paths (which change nothing), the isolation between parties, the invoice
upload checks, and lists in a fixed number of queries.

The clock is pinned to Monday 9 March 2026, 10:00 Beijing time; a request is due seven days later.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoicing.models import ExplanationLetter, InvoicedOrder, InvoiceProfile, InvoiceRequest, InvoiceRequestEvent
from invoicing.services import buyer_invoices as services
from marketplace.accounts.models import BuyerMembership, User
from marketplace.catalog.models import TradeMode
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from tests.factories import (
    PDF_BYTES,
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
    api,
    bj,
    fresh,
    seller_member,
)

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
R = InvoiceRequest.Status


NOW = bj(2026, 3, 9, 10)  # a Monday
VALID_CODE = "91350100M000100Y43"
OTHER_CODE = "91440300708461136T"
ELECTRONIC = {"medium": "electronic", "recipient_email": "invoices@buyer.test"}
PAPER = {
    "medium": "paper",
    "recipient": "Wang Fang",
    "recipient_phone": "+86 138 0000 0000",
    "mailing_address": "1 Chang'an Avenue, Dongcheng, Beijing",
}
SPECIAL = {
    "vat_kind": "special",
    "address": "8 Gutian Road, Fuzhou",
    "phone": "0591-8888 8888",
    "bank_name": "Bank of China, Fuzhou branch",
    "bank_account": "4070 5800 1234",
}

PROFILES = "/api/v1/buyer/invoice-profiles/"
REQUESTS = "/api/v1/buyer/invoice-requests/"
INVOICEABLE = "/api/v1/buyer/invoiceable-orders/"
LETTERS = "/api/v1/buyer/explanation-letters/"
SELLER = "/api/v1/seller/invoice-requests/"


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- helpers ---------------------------------------------------------------------------------------


def refused(response, status: int, error: str | None = None, field: str | None = None) -> dict:
    """A JSON error body {"error", "detail"[, "fields"]} with this status."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    if error:
        assert body["error"] == error, body
    if field:
        assert field in body["fields"], body
    return body


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def pdf(name: str = "invoice.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def plain_tenant_user(tenant) -> User:
    user = UserFactory()
    BuyerMembership.objects.create(
        buyer=tenant, user=user, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
    )
    return fresh(user)


def product_plan(seller, trade_mode=TradeMode.GENERAL, price="100.00"):
    product = ProductFactory(seller=seller, status="published", trade_mode=trade_mode)
    return PlanFactory(product=product, price=Decimal(price))


def buy(user: User, plan) -> Order:
    order = order_services.order_create(actor=fresh(user), plan_id=plan.pk)
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=fresh(user), order_id=order.pk, method="online")
    return Order.objects.get(pk=order.pk)


def company(user: User, **overrides) -> InvoiceProfile:
    data = {"kind": "company", "title": "Fuzhou Example Software Co., Ltd.", "tax_id": VALID_CODE, **overrides}
    return services.profile_save(actor=fresh(user), data=data)


def submit(user: User, orders, profile, delivery=None) -> InvoiceRequest:
    return services.invoice_request_submit(
        actor=fresh(user), order_ids=[o.pk for o in orders], profile_id=profile.pk, **(delivery or ELECTRONIC)
    )


def issue(seller_user: User, request: InvoiceRequest, number: str = "04400001") -> InvoiceRequest:
    return services.invoice_issue(actor=fresh(seller_user), request_id=request.pk, invoice_number=number, file=pdf())


def reload(request: InvoiceRequest) -> InvoiceRequest:
    return InvoiceRequest.objects.get(pk=request.pk)


def snapshot(request: InvoiceRequest | None = None) -> dict:
    """Everything an invoice action may write; a refused action leaves all of it as it was."""
    return {
        "request": InvoiceRequest.objects.filter(pk=request.pk).values().get() if request else None,
        "requests": InvoiceRequest.objects.count(),
        "lines": list(InvoicedOrder.objects.order_by("pk").values_list("pk", "order_id", "active")),
        "events": InvoiceRequestEvent.objects.count(),
        "letters": list(ExplanationLetter.objects.order_by("pk").values_list("pk", "status")),
        "profiles": list(InvoiceProfile.objects.order_by("pk").values()),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def plan(seller):
    return product_plan(seller)


@pytest.fixture
def joint_plan(seller):
    return product_plan(seller, TradeMode.JOINT, price="300.00")


@pytest.fixture
def profile(buyer_user):
    return company(buyer_user)


@pytest.fixture
def order(buyer_user, plan):
    return buy(buyer_user, plan)


@pytest.fixture
def submitted(buyer_user, order, profile):
    """An electronic invoice request to the seller, just submitted."""
    return submit(buyer_user, [order], profile)


@pytest.fixture
def paper(buyer_user, plan, profile):
    return submit(buyer_user, [buy(buyer_user, plan)], profile, PAPER)


@pytest.fixture
def delivered(seller_user, submitted):
    """Issued and e-mailed."""
    request = issue(seller_user, submitted)
    assert request.status == R.DELIVERED
    return request


@pytest.fixture
def platform_request(buyer_user, joint_plan, profile):
    """A joint-operation order of the same seller: the platform issues, never the seller."""
    return submit(buyer_user, [buy(buyer_user, joint_plan)], profile)


@pytest.fixture
def finance_user(seller):
    return seller_member(seller, "finance")


@pytest.fixture
def support_user(seller):
    return seller_member(seller, "support")


@pytest.fixture
def tenant():
    return EnterpriseFactory()


@pytest.fixture
def tenant_admin(tenant):
    return tenant.memberships.get().user


@pytest.fixture
def tenant_user(tenant):
    return plain_tenant_user(tenant)


# --- everyone --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PROFILES, REQUESTS, INVOICEABLE, LETTERS, SELLER])
def test_anonymous_callers_get_a_json_401(url):
    refused(api().get(url), 401, "not_authenticated")


@pytest.mark.parametrize("url", [PROFILES, REQUESTS, INVOICEABLE, LETTERS])
def test_buyer_endpoints_refuse_seller_accounts(seller_user, url):
    refused(api(seller_user).get(url), 403, "permission_denied")


def test_seller_endpoints_refuse_buyers_and_roles_without_invoices(buyer_user, support_user, submitted):
    before = snapshot(submitted)
    for user in (buyer_user, support_user):
        refused(api(user).get(SELLER), 403, "permission_denied")
        refused(api(user).get(f"{SELLER}{submitted.pk}/"), 403, "permission_denied")
        refused(
            api(user).post(f"{SELLER}{submitted.pk}/reject/", {"reason": "no"}, format="json"),
            403,
            "permission_denied",
        )
    assert snapshot(submitted) == before


# --- buyer: invoice profiles -----------------------------------------------------------------------


def test_buyer_creates_profiles_and_the_first_is_the_default(buyer_user):
    client = api(buyer_user)
    first = ok(
        client.post(PROFILES, {"kind": "company", "title": "Acme Ltd", "tax_id": VALID_CODE.lower()}, format="json"),
        201,
    )
    assert (first["kind"], first["kind_label"], first["tax_id"], first["is_default"]) == (
        "company",
        "Company",
        VALID_CODE,
        True,
    )
    assert (first["vat_kind"], first["vat_kind_label"]) == ("general", "General VAT invoice")
    second = ok(
        client.post(PROFILES, {"kind": "company", "title": "Acme Special", "tax_id": OTHER_CODE, **SPECIAL}), 201
    )
    assert second["is_default"] is False and second["vat_kind"] == "special"
    third = ok(client.post(PROFILES, {"kind": "individual", "title": "Li Lei", "is_default": True}, format="json"), 201)
    assert third["is_default"] is True
    body = ok(client.get(PROFILES))
    assert body["count"] == 3
    assert [(p["title"], p["is_default"]) for p in body["results"]] == [
        ("Li Lei", True),
        ("Acme Ltd", False),
        ("Acme Special", False),
    ]
    assert ok(client.get(f"{PROFILES}{second['id']}/"))["bank_account"] == SPECIAL["bank_account"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "company", "title": "Acme", "tax_id": "91350100M000100Y44"}, "tax_id"),  # wrong check character
        ({"kind": "company", "title": "Acme", "tax_id": "9135010"}, "tax_id"),
        ({"kind": "individual", "title": "Li Lei", "tax_id": VALID_CODE}, "tax_id"),
        ({"kind": "company", "title": "", "tax_id": VALID_CODE}, "title"),
        ({"kind": "alien", "title": "Acme"}, "kind"),
        ({"kind": "company", "title": "Acme", "tax_id": VALID_CODE, "vat_kind": "special"}, "bank_account"),
        ({"kind": "individual", "title": "Li Lei", "vat_kind": "special"}, "vat_kind"),
        ({"title": "Acme"}, "kind"),
    ],
)
def test_invalid_profiles_are_refused_and_nothing_is_saved(buyer_user, body, field):
    before = snapshot()
    refused(api(buyer_user).post(PROFILES, body, format="json"), 400, "invalid", field)
    assert snapshot() == before


def test_buyer_changes_a_profile_in_full_or_in_part(buyer_user, profile):
    client = api(buyer_user)
    url = f"{PROFILES}{profile.pk}/"
    body = ok(client.put(url, {"kind": "company", "title": "Renamed Ltd", "tax_id": OTHER_CODE}, format="json"))
    assert (body["title"], body["tax_id"], body["is_default"]) == ("Renamed Ltd", OTHER_CODE, True)
    body = ok(client.patch(url, SPECIAL, format="json"))
    assert (body["title"], body["vat_kind"], body["bank_name"]) == ("Renamed Ltd", "special", SPECIAL["bank_name"])
    before = snapshot()
    refused(client.patch(url, {"tax_id": "NOPE"}, format="json"), 400, "invalid", "tax_id")
    refused(client.put(url, {"kind": "company", "title": "X"}, format="json"), 400, "invalid", "tax_id")
    assert snapshot() == before


def test_make_default_moves_the_default_and_delete_hands_it_on(buyer_user, profile):
    client = api(buyer_user)
    other = company(buyer_user, title="Second Ltd", tax_id=OTHER_CODE)
    body = ok(client.post(f"{PROFILES}{other.pk}/make-default/"))
    assert body["is_default"] is True
    assert InvoiceProfile.objects.get(pk=profile.pk).is_default is False
    response = client.delete(f"{PROFILES}{other.pk}/")
    assert response.status_code == 204
    assert list(InvoiceProfile.objects.values_list("pk", "is_default")) == [(profile.pk, True)]


def test_a_plain_tenant_user_reads_profiles_but_cannot_change_them(tenant_admin, tenant_user):
    profile = company(tenant_admin)
    client = api(tenant_user)
    assert [p["id"] for p in ok(client.get(PROFILES))["results"]] == [profile.pk]
    assert ok(client.get(f"{PROFILES}{profile.pk}/"))["title"] == profile.title
    before = snapshot()
    url = f"{PROFILES}{profile.pk}/"
    refused(client.post(PROFILES, {"kind": "individual", "title": "Me"}, format="json"), 403, "forbidden")
    refused(client.put(url, {"kind": "individual", "title": "Me"}, format="json"), 403, "forbidden")
    refused(client.patch(url, {"title": "Me"}, format="json"), 403, "forbidden")
    refused(client.delete(url), 403, "forbidden")
    refused(client.post(f"{url}make-default/"), 403, "forbidden")
    assert snapshot() == before


def test_another_buyers_profile_is_not_found_whatever_the_body(buyer_user, other_buyer_user, profile):
    client = api(other_buyer_user)
    url = f"{PROFILES}{profile.pk}/"
    before = snapshot()
    assert ok(client.get(PROFILES))["count"] == 0
    refused(client.get(url), 404, "not_found")
    refused(client.put(url, {"bogus": "x"}, format="json"), 404, "not_found")
    refused(client.patch(url, {"tax_id": "bad"}, format="json"), 404, "not_found")
    refused(client.delete(url), 404, "not_found")
    refused(client.post(f"{url}make-default/"), 404, "not_found")
    refused(client.get(f"{PROFILES}999999999/"), 404, "not_found")
    assert snapshot() == before


# --- buyer: invoiceable orders ---------------------------------------------------------------------


def test_invoiceable_orders_are_the_paid_ones_on_no_live_request(
    buyer_user, other_buyer_user, seller, plan, joint_plan, profile
):
    general = buy(buyer_user, plan)
    joint = buy(buyer_user, joint_plan)
    on_request = buy(buyer_user, plan)
    submit(buyer_user, [on_request], profile)
    order_services.order_create(actor=fresh(buyer_user), plan_id=plan.pk)  # unpaid
    buy(other_buyer_user, plan)  # someone else's
    body = ok(api(buyer_user).get(INVOICEABLE))
    rows = {row["id"]: row for row in body["results"]}
    assert set(rows) == {general.pk, joint.pk}
    assert rows[general.pk] | {"paid_at": None} == {
        "id": general.pk,
        "number": general.number,
        "order_type": "NEW",
        "amount": "100.00",
        "amount_left": "100.00",
        "paid_at": None,
        "seller": seller.pk,
        "seller_name": seller.name,
        "products": [plan.product.name_en],
        "issuer": "seller",
        "issuer_key": f"seller-{seller.pk}",
        "issuer_name": seller.name,
    }
    assert (rows[joint.pk]["issuer"], rows[joint.pk]["issuer_key"], rows[joint.pk]["amount_left"]) == (
        "platform",
        "platform",
        "300.00",
    )


# --- buyer: requests -------------------------------------------------------------------------------


def test_buyer_requests_an_invoice(buyer_user, seller_user, seller, order, profile):
    before_notices, before_emails = Notification.objects.filter(user=seller_user).count(), OutboundEmail.objects.count()
    body = ok(
        api(buyer_user).post(REQUESTS, {"orders": [order.pk], "profile": profile.pk, **ELECTRONIC}, format="json"),
        201,
    )
    assert (body["status"], body["status_label"], body["issuer"], body["seller"], body["seller_name"]) == (
        "submitted",
        "Submitted",
        "seller",
        seller.pk,
        seller.name,
    )
    assert (body["amount"], body["title"], body["tax_id"], body["medium"], body["recipient_email"]) == (
        "100.00",
        profile.title,
        VALID_CODE,
        "electronic",
        ELECTRONIC["recipient_email"],
    )
    assert body["orders"] == [
        {
            "order": order.pk,
            "order_number": order.number,
            "order_amount": "100.00",
            "paid_at": body["orders"][0]["paid_at"],
            "amount": "100.00",
            "active": True,
        }
    ]
    assert [e["to_label"] for e in body["events"]] == ["Submitted"]
    assert body["letters"] == [] and body["file_url"] is None and body["overdue"] is False
    assert datetime.fromisoformat(body["due_at"]) == NOW + timedelta(days=7)
    assert body["profile"] == profile.pk and body["order_count"] == 1
    assert InvoiceRequest.objects.get().requested_by_id == buyer_user.pk
    assert Notification.objects.filter(user=seller_user).count() == before_notices + 1  # the seller is told
    assert OutboundEmail.objects.count() > before_emails  # by e-mail too
    assert ok(api(buyer_user).get(INVOICEABLE))["count"] == 0


def test_buyer_requests_a_paper_invoice_for_two_orders(buyer_user, plan, profile):
    orders = [buy(buyer_user, plan), buy(buyer_user, plan)]
    body = ok(api(buyer_user).post(REQUESTS, {"orders": [o.pk for o in orders], "profile": profile.pk, **PAPER}), 201)
    assert (body["amount"], body["medium"], body["postage_by_seller"], body["recipient"]) == (
        "200.00",
        "paper",
        True,
        PAPER["recipient"],
    )
    assert sorted(o["order"] for o in body["orders"]) == sorted(o.pk for o in orders)


@pytest.mark.parametrize(
    ("case", "status", "field"),
    [
        ("no orders", 400, "orders"),
        ("bad order id", 400, "orders"),
        ("unknown order", 404, None),
        ("another buyer's order", 404, None),
        ("order already requested", 409, None),
        ("unpaid order", 409, None),
        ("two issuers", 400, None),
        ("no e-mail", 400, "recipient_email"),
        ("no address", 400, "mailing_address"),
        ("bad medium", 400, "medium"),
        ("another buyer's profile", 400, "profile"),
    ],
)
def test_refused_requests_create_nothing(
    buyer_user, other_buyer_user, plan, joint_plan, order, profile, submitted, case, status, field
):
    body = {"orders": [buy(buyer_user, plan).pk], "profile": profile.pk, **ELECTRONIC}
    if case == "no orders":
        body["orders"] = []
    elif case == "bad order id":
        body["orders"] = ["abc"]
    elif case == "unknown order":
        body["orders"] = [999999999]
    elif case == "another buyer's order":
        body["orders"] = [buy(other_buyer_user, plan).pk]
    elif case == "order already requested":
        body["orders"] = [order.pk]
    elif case == "unpaid order":
        body["orders"] = [order_services.order_create(actor=fresh(buyer_user), plan_id=plan.pk).pk]
    elif case == "two issuers":
        body["orders"].append(buy(buyer_user, joint_plan).pk)
    elif case == "no e-mail":
        body["recipient_email"] = ""
    elif case == "no address":
        body.update(PAPER, mailing_address="")
    elif case == "bad medium":
        body["medium"] = "pigeon"
    elif case == "another buyer's profile":
        body["profile"] = company(other_buyer_user).pk
    before = snapshot()
    refused(api(buyer_user).post(REQUESTS, body, format="json"), status, field=field)
    assert snapshot() == before


def test_buyer_lists_requests_with_filters(buyer_user, seller_user, plan, profile):
    first = submit(buyer_user, [buy(buyer_user, plan)], profile)
    second = submit(buyer_user, [buy(buyer_user, plan)], profile)
    issue(seller_user, second, number="77001122")
    client = api(buyer_user)
    body = ok(client.get(REQUESTS))
    assert [r["id"] for r in body["results"]] == [second.pk, first.pk]
    assert body["results"][0]["invoice_number"] == "77001122" and body["results"][0]["status"] == "delivered"
    assert [r["id"] for r in ok(client.get(f"{REQUESTS}?status=submitted"))["results"]] == [first.pk]
    assert [r["id"] for r in ok(client.get(f"{REQUESTS}?q=7700112"))["results"]] == [second.pk]
    assert [r["id"] for r in ok(client.get(f"{REQUESTS}?q={first.number}"))["results"]] == [first.pk]
    assert ok(client.get(f"{REQUESTS}?status=issued"))["count"] == 0


@pytest.mark.parametrize("query", ["?status=bogus", f"?q={'x' * 101}"])
def test_buyer_list_with_bad_filters_is_a_400(buyer_user, submitted, query):
    refused(api(buyer_user).get(REQUESTS + query), 400, "invalid")


def test_tenant_admins_see_all_requests_plain_users_their_own(tenant, tenant_admin, tenant_user, plan):
    profile = company(tenant_admin)
    mine = submit(tenant_user, [buy(tenant_user, plan)], profile)
    admins = submit(tenant_admin, [buy(tenant_admin, plan)], profile)
    assert {r["id"] for r in ok(api(tenant_admin).get(REQUESTS))["results"]} == {mine.pk, admins.pk}
    assert [r["id"] for r in ok(api(tenant_user).get(REQUESTS))["results"]] == [mine.pk]
    before = snapshot(admins)
    client = api(tenant_user)
    refused(client.get(f"{REQUESTS}{admins.pk}/"), 404, "not_found")
    refused(client.post(f"{REQUESTS}{admins.pk}/return/", {"reason": ""}, format="json"), 404, "not_found")
    assert snapshot(admins) == before


def test_another_buyer_finds_none_of_my_requests_whatever_the_body(other_buyer_user, delivered):
    client = api(other_buyer_user)
    before = snapshot(delivered)
    assert ok(client.get(REQUESTS))["count"] == 0
    refused(client.get(f"{REQUESTS}{delivered.pk}/"), 404, "not_found")
    refused(client.get(f"{REQUESTS}abc/"), 404)
    refused(client.post(f"{REQUESTS}{delivered.pk}/resubmit/", {"medium": "x"}, format="json"), 404, "not_found")
    refused(client.post(f"{REQUESTS}{delivered.pk}/return/", {}, format="json"), 404, "not_found")
    refused(client.post(f"{REQUESTS}{delivered.pk}/letters/"), 404, "not_found")
    assert snapshot(delivered) == before


def test_buyer_resubmits_a_rejected_request(buyer_user, seller_user, submitted):
    services.invoice_reject(actor=fresh(seller_user), request_id=submitted.pk, reason="Wrong title")
    client = api(buyer_user)
    body = ok(client.get(f"{REQUESTS}{submitted.pk}/"))
    assert (body["status"], body["rejection_reason"]) == ("rejected", "Wrong title")
    assert body["orders"][0]["active"] is False
    fixed = company(buyer_user, title="Corrected Ltd", tax_id=OTHER_CODE)
    body = ok(client.post(f"{REQUESTS}{submitted.pk}/resubmit/", {"profile": fixed.pk, **PAPER}, format="json"))
    assert (body["status"], body["title"], body["medium"], body["rejection_reason"]) == (
        "submitted",
        "Corrected Ltd",
        "paper",
        "",
    )
    assert body["orders"][0]["active"] is True
    assert [e["to_status"] for e in body["events"]] == ["submitted", "rejected", "submitted"]


def test_resubmitting_is_refused_unless_rejected_or_with_bad_details(buyer_user, seller_user, submitted, profile):
    client = api(buyer_user)
    url = f"{REQUESTS}{submitted.pk}/resubmit/"
    before = snapshot(submitted)
    refused(client.post(url, {"profile": profile.pk, **ELECTRONIC}, format="json"), 409, "invalid_transition")
    assert snapshot(submitted) == before
    services.invoice_reject(actor=fresh(seller_user), request_id=submitted.pk, reason="Wrong title")
    before = snapshot(submitted)
    refused(client.post(url, {"profile": profile.pk, "medium": "electronic"}, format="json"), 400, "invalid")
    refused(client.post(url, {"medium": "electronic"}, format="json"), 400, "invalid", "profile")
    assert snapshot(submitted) == before


def test_buyer_sends_an_invoice_back_and_the_seller_confirms(buyer_user, seller_user, delivered):
    body = ok(api(buyer_user).post(f"{REQUESTS}{delivered.pk}/return/", {"reason": "Order refunded"}, format="json"))
    assert (body["status"], body["return_reason"]) == ("return_requested", "Order refunded")
    assert Notification.objects.filter(user=seller_user).exists()
    body = ok(api(seller_user).post(f"{SELLER}{delivered.pk}/confirm-return/"))
    assert body["status"] == "voided"  # an electronic invoice is voided
    assert InvoicedOrder.objects.get().active is False


def test_returning_is_refused_without_a_reason(buyer_user, delivered):
    client = api(buyer_user)
    before = snapshot(delivered)
    refused(client.post(f"{REQUESTS}{delivered.pk}/return/", {"reason": "  "}, format="json"), 400, "invalid", "reason")
    refused(client.post(f"{REQUESTS}{delivered.pk}/return/", {}, format="json"), 400, "invalid", "reason")
    assert snapshot(delivered) == before


def test_returning_a_request_not_issued_is_a_409(buyer_user, submitted):
    before = snapshot(submitted)
    refused(
        api(buyer_user).post(f"{REQUESTS}{submitted.pk}/return/", {"reason": "changed my mind"}, format="json"),
        409,
        "invalid_transition",
    )
    assert snapshot(submitted) == before


# --- buyer: explanation letters --------------------------------------------------------------------


def test_buyer_asks_for_a_letter_and_downloads_it_once_stamped(
    buyer_user, delivered, django_capture_on_commit_callbacks
):
    client = api(buyer_user)
    with django_capture_on_commit_callbacks(execute=False) as stamping:
        body = ok(client.post(f"{REQUESTS}{delivered.pk}/letters/"), 201)
    assert (body["status"], body["request"], body["invoice_number"], body["download_url"]) == (
        "stamping",
        delivered.pk,
        delivered.invoice_number,
        None,
    )
    assert len(body["verification_code"]) == 16 and body["verify_url"].endswith(f"/{body['verification_code']}/")
    assert datetime.fromisoformat(body["expected_at"]) == NOW  # the delay is 0 in tests
    assert ok(client.get(f"{LETTERS}{body['id']}/"))["download_url"] is None
    # one at a time
    before = snapshot(delivered)
    refused(client.post(f"{REQUESTS}{delivered.pk}/letters/"), 409, "conflict")
    assert snapshot(delivered) == before
    # the background task stamps it
    for callback in stamping:
        callback()
    letter = ok(client.get(f"{LETTERS}{body['id']}/"))
    assert (letter["status"], letter["status_label"]) == ("stamped", "Stamped")
    assert letter["download_url"] == reverse("invoicing:letter_file", args=[body["id"]])
    assert letter["stamped_at"] is not None
    listed = ok(client.get(LETTERS))
    assert [(row["id"], row["verification_code"]) for row in listed["results"]] == [
        (body["id"], body["verification_code"])
    ]
    detail = ok(client.get(f"{REQUESTS}{delivered.pk}/"))
    assert [row["id"] for row in detail["letters"]] == [body["id"]]


def test_a_letter_is_only_for_an_issued_invoice(buyer_user, submitted):
    before = snapshot(submitted)
    refused(api(buyer_user).post(f"{REQUESTS}{submitted.pk}/letters/"), 409, "invalid_transition")
    assert snapshot(submitted) == before


def test_another_buyer_finds_none_of_my_letters(buyer_user, other_buyer_user, delivered):
    letter = services.letter_request(actor=fresh(buyer_user), request_id=delivered.pk)
    client = api(other_buyer_user)
    assert ok(client.get(LETTERS))["count"] == 0
    refused(client.get(f"{LETTERS}{letter.pk}/"), 404, "not_found")
    refused(api(buyer_user).get(f"{LETTERS}xyz/"), 404)


# --- seller ----------------------------------------------------------------------------------------


def test_seller_lists_its_requests_with_filters(
    seller_user, buyer_user, other_seller_user, plan, profile, platform_request
):
    old = submit(buyer_user, [buy(buyer_user, plan)], profile)
    InvoiceRequest.objects.filter(pk=old.pk).update(due_at=NOW - timedelta(hours=1))
    new = submit(buyer_user, [buy(buyer_user, plan)], profile)
    theirs = submit(buyer_user, [buy(buyer_user, product_plan(other_seller_user.seller_membership.seller))], profile)
    client = api(seller_user)
    body = ok(client.get(SELLER))
    assert [r["id"] for r in body["results"]] == [new.pk, old.pk]  # never the platform's, nor another seller's
    row = body["results"][1]
    assert (row["overdue"], row["buyer"], row["buyer_name"], row["order_count"]) == (
        True,
        old.buyer_id,
        old.buyer.name,
        1,
    )
    assert [r["id"] for r in ok(client.get(f"{SELLER}?overdue=true"))["results"]] == [old.pk]
    assert [r["id"] for r in ok(client.get(f"{SELLER}?status=submitted&q={new.number}"))["results"]] == [new.pk]
    order_number = old.lines.get().order.number
    assert [r["id"] for r in ok(client.get(f"{SELLER}?q={order_number}"))["results"]] == [old.pk]
    assert ok(client.get(f"{SELLER}?status=delivered"))["count"] == 0
    assert [r["id"] for r in ok(api(other_seller_user).get(SELLER))["results"]] == [theirs.pk]


@pytest.mark.parametrize("query", ["?status=nope", "?overdue=maybe", f"?q={'x' * 101}"])
def test_seller_list_with_bad_filters_is_a_400(seller_user, submitted, query):
    refused(api(seller_user).get(SELLER + query), 400, "invalid")


def test_seller_reads_a_request_in_full(finance_user, submitted, profile):
    body = ok(api(finance_user).get(f"{SELLER}{submitted.pk}/"))  # finance staff manage invoices too
    assert (body["number"], body["title"], body["tax_id"], body["recipient_email"], body["status"]) == (
        submitted.number,
        profile.title,
        VALID_CODE,
        ELECTRONIC["recipient_email"],
        "submitted",
    )
    assert body["orders"][0]["order"] == submitted.lines.get().order_id
    assert "letters" not in body
    assert body["title_details"] == {"address": "", "phone": "", "bank_name": "", "bank_account": ""}


def test_seller_issues_an_electronic_invoice_with_its_pdf(seller_user, buyer_user, submitted, private_media):
    body = ok(
        api(seller_user).post(
            f"{SELLER}{submitted.pk}/issue/",
            {
                "invoice_number": "04400001",
                "invoice_code": "044001900111",
                "issued_on": "2026-03-09",
                "amount": "100.00",
                "tax_rate": "0.06",
                "file": pdf(),
            },
            format="multipart",
        )
    )
    assert (body["status"], body["invoice_number"], body["invoice_code"], body["invoice_amount"], body["tax_rate"]) == (
        "delivered",  # e-mailed at once
        "04400001",
        "044001900111",
        "100.00",
        "0.0600",
    )
    assert body["file_url"] == reverse("invoicing:invoice_file", args=[submitted.pk])
    assert [e["to_status"] for e in body["events"]] == ["submitted", "issued", "delivered"]
    sent = OutboundEmail.objects.get(to=ELECTRONIC["recipient_email"])  # with the PDF attached
    assert sent.attachment == reload(submitted).file.name
    assert reload(submitted).file.read() == PDF_BYTES
    assert ok(api(buyer_user).get(f"{REQUESTS}{submitted.pk}/"))["file_url"] == body["file_url"]


def test_seller_issues_a_paper_invoice_drawn_by_the_platform_then_mails_it(seller_user, paper, private_media):
    client = api(seller_user)
    body = ok(
        client.post(
            f"{SELLER}{paper.pk}/issue/", {"invoice_number": "04400002", "generate": "true"}, format="multipart"
        )
    )
    assert (body["status"], body["issued_on"], body["invoice_amount"], body["postage_by_seller"]) == (
        "issued",
        "2026-03-09",
        "100.00",
        True,
    )
    assert reload(paper).file.read().startswith(b"%PDF")
    before = snapshot(paper)
    refused(client.post(f"{SELLER}{paper.pk}/deliver/", {"courier": "SF Express"}, format="json"), 400, "invalid")
    refused(
        client.post(f"{SELLER}{paper.pk}/deliver/", {"courier": "", "tracking_number": "1"}, format="json"),
        400,
        "invalid",
        "courier",
    )
    assert snapshot(paper) == before
    body = ok(
        client.post(
            f"{SELLER}{paper.pk}/deliver/", {"courier": "SF Express", "tracking_number": "SF1234567890"}, format="json"
        )
    )
    assert (body["status"], body["courier"], body["tracking_number"]) == ("delivered", "SF Express", "SF1234567890")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"invoice_number": "1", "file": SimpleUploadedFile("i.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32)}, "file"),
        ({"invoice_number": "1", "file": SimpleUploadedFile("i.pdf", b"MZ\x90\x00 not a pdf at all")}, "file"),
        ({"invoice_number": "1", "file": SimpleUploadedFile("i.exe", PDF_BYTES)}, "file"),
        ({"invoice_number": "1", "file": SimpleUploadedFile("i.pdf", b"")}, "file"),
        ({"invoice_number": "1"}, "file"),
        ({"invoice_number": "", "file": "pdf"}, "invoice_number"),
        ({"invoice_number": "1", "amount": "99.00", "file": "pdf"}, "amount"),
        ({"invoice_number": "1", "tax_rate": "1.5", "file": "pdf"}, "tax_rate"),
        ({"invoice_number": "1", "issued_on": "2026-03-10", "file": "pdf"}, "issued_on"),
        ({"invoice_number": "1", "issued_on": "yesterday", "file": "pdf"}, "issued_on"),
    ],
)
def test_refused_issues_change_nothing_and_store_no_file(seller_user, submitted, private_media, body, field):
    body = {k: (pdf() if v == "pdf" else v) for k, v in body.items()}
    before, files = snapshot(submitted), stored_files(private_media)
    refused(api(seller_user).post(f"{SELLER}{submitted.pk}/issue/", body, format="multipart"), 400, "invalid", field)
    assert snapshot(submitted) == before
    assert stored_files(private_media) == files


def test_issuing_twice_is_a_409(seller_user, delivered, private_media):
    before = snapshot(delivered)
    refused(
        api(seller_user).post(
            f"{SELLER}{delivered.pk}/issue/", {"invoice_number": "2", "file": pdf()}, format="multipart"
        ),
        409,
        "invalid_transition",
    )
    assert snapshot(delivered) == before


def test_delivering_an_electronic_invoice_is_a_409(seller_user, delivered):
    before = snapshot(delivered)
    refused(
        api(seller_user).post(
            f"{SELLER}{delivered.pk}/deliver/", {"courier": "SF", "tracking_number": "1"}, format="json"
        ),
        409,
        "invalid_transition",
    )
    assert snapshot(delivered) == before


def test_seller_rejects_a_request_with_a_reason(seller_user, buyer_user, submitted):
    client = api(seller_user)
    before = snapshot(submitted)
    refused(client.post(f"{SELLER}{submitted.pk}/reject/", {"reason": " "}, format="json"), 400, "invalid", "reason")
    refused(client.post(f"{SELLER}{submitted.pk}/reject/", {}, format="json"), 400, "invalid", "reason")
    assert snapshot(submitted) == before
    body = ok(client.post(f"{SELLER}{submitted.pk}/reject/", {"reason": "The title is wrong"}, format="json"))
    assert (body["status"], body["rejection_reason"]) == ("rejected", "The title is wrong")
    assert Notification.objects.filter(user=buyer_user).exists()
    before = snapshot(submitted)
    refused(
        client.post(f"{SELLER}{submitted.pk}/reject/", {"reason": "again"}, format="json"), 409, "invalid_transition"
    )
    assert snapshot(submitted) == before


def test_seller_confirms_a_paper_return(seller_user, buyer_user, paper):
    issue(seller_user, paper)
    services.invoice_deliver(actor=fresh(seller_user), request_id=paper.pk, courier="SF", tracking_number="1")
    services.invoice_return_start(actor=fresh(buyer_user), request_id=paper.pk, reason="Refund")
    body = ok(api(seller_user).post(f"{SELLER}{paper.pk}/confirm-return/"))
    assert body["status"] == "returned"
    assert body["orders"][0]["active"] is False


def test_confirming_a_return_nobody_asked_for_is_a_409(seller_user, delivered):
    before = snapshot(delivered)
    refused(api(seller_user).post(f"{SELLER}{delivered.pk}/confirm-return/"), 409, "invalid_transition")
    assert snapshot(delivered) == before


@pytest.mark.parametrize("who", ["other seller", "platform's request"])
def test_requests_the_seller_does_not_issue_are_not_found_whatever_the_body(
    seller_user, other_seller_user, submitted, platform_request, private_media, who
):
    user, request = (other_seller_user, submitted) if who == "other seller" else (seller_user, platform_request)
    client = api(user)
    base = f"{SELLER}{request.pk}/"
    before = snapshot(request)
    refused(client.get(base), 404, "not_found")
    refused(client.post(f"{base}issue/", {"file": SimpleUploadedFile("x.exe", b"MZ")}, format="multipart"), 404)
    refused(client.post(f"{base}issue/", {"invoice_number": "1", "file": pdf()}, format="multipart"), 404)
    refused(client.post(f"{base}deliver/", {}, format="json"), 404, "not_found")
    refused(client.post(f"{base}reject/", {"reason": "x"}, format="json"), 404, "not_found")
    refused(client.post(f"{base}confirm-return/"), 404, "not_found")
    assert snapshot(request) == before
    assert stored_files(private_media) == []


def test_buyers_and_plain_tenant_users_cannot_act_as_the_issuer(buyer_user, tenant_user, submitted):
    before = snapshot(submitted)
    for user in (buyer_user, tenant_user):
        refused(
            api(user).post(f"{SELLER}{submitted.pk}/reject/", {"reason": "x"}, format="json"),
            403,
            "permission_denied",
        )
    assert snapshot(submitted) == before


# --- query counts ----------------------------------------------------------------------------------


def _queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        body = ok(client.get(url))
    return len(ctx.captured_queries), len(body["results"])


def _world(n: int, buyer_user, seller_user, plan) -> None:
    """n profiles, n invoiceable orders, n requests (issued, each with a letter)."""
    for i in range(n):
        profile = company(buyer_user, title=f"Company {i}")
        buy(buyer_user, plan)
        request = submit(buyer_user, [buy(buyer_user, plan)], profile)
        issue(seller_user, request, number=f"0{i:07d}")
        services.letter_request(actor=fresh(buyer_user), request_id=request.pk)


LISTS = [
    f"{PROFILES}?page_size=50",
    f"{REQUESTS}?page_size=50",
    f"{INVOICEABLE}?page_size=50",
    f"{LETTERS}?page_size=50",
]


def test_the_list_endpoints_take_a_fixed_number_of_queries(buyer_user, seller_user, plan, private_media):
    buyer, seller = api(buyer_user), api(seller_user)

    def measure():
        return [_queries(buyer, url) for url in LISTS] + [_queries(seller, f"{SELLER}?page_size=50")]

    _world(3, buyer_user, seller_user, plan)
    few = measure()
    assert [n for _q, n in few] == [3, 3, 3, 3, 3]
    _world(17, buyer_user, seller_user, plan)
    many = measure()
    assert [n for _q, n in many] == [20, 20, 20, 20, 20]
    assert [q for q, _n in few] == [q for q, _n in many]
    assert all(q <= 5 for q, _n in many), many  # token, membership, count, page, prefetch
