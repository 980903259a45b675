"""The tickets REST API (/api/v1/buyer/tickets/, /api/v1/seller/tickets/, the reception settings,
attachment downloads): every endpoint's happy path, its refused paths (which change nothing), the
isolation between parties, internal notes, uploads, and lists in a fixed number of queries.

The clock is pinned to Monday 9 March 2026, 10:00 Beijing time (no public holiday that week). The
seller receives Monday to Friday 09:00-18:00: first response within 4 reception hours (due Monday
14:00), resolution within 16 (due Tuesday 17:00).
"""

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.accounts.models import BuyerMembership, User
from marketplace.core.models import Notification
from tests.factories import (
    PDF_BYTES,
    PNG_BYTES,
    EnterpriseFactory,
    ProductFactory,
    UserFactory,
    api,
    bj,
    fresh,
    seller_member,
)
from tickets import services
from tickets.models import (
    ClosedDate,
    ReceptionSettings,
    ReceptionWindow,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
)

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
S = Ticket.Status


NOW = bj(2026, 3, 9, 10)  # a Monday
WEEKDAYS_9_18 = [(d, time(9), time(18)) for d in range(5)]

BUYER = "/api/v1/buyer/tickets/"
SELLER = "/api/v1/seller/tickets/"
SETTINGS = "/api/v1/seller/ticket-settings/"


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- helpers ---------------------------------------------------------------------------------------


def png(name: str = "screen.png", content: bytes = PNG_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def pdf(name: str = "log.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def take_tickets(seller) -> ReceptionSettings:
    reception = ReceptionSettings.objects.create(
        seller=seller, accepts_tickets=True, observe_public_holidays=True, first_response_hours=4, resolution_hours=16
    )
    ReceptionWindow.objects.bulk_create(
        ReceptionWindow(reception=reception, weekday=d, start=s, end=e) for d, s, e in WEEKDAYS_9_18
    )
    return reception


def open_ticket(user: User, product, **fields) -> Ticket:
    fields = {"category": "fault", "title": "It does not start", "description": "Error 500 on login.", **fields}
    return services.ticket_open(actor=fresh(user), product_id=product.pk, **fields)


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def snapshot(ticket: Ticket) -> dict:
    """Everything a ticket action may write; a refused action leaves all of it as it was."""
    return {
        "ticket": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "events": TicketEvent.objects.filter(ticket=ticket).count(),
        "messages": TicketMessage.objects.filter(ticket=ticket).count(),
        "attachments": TicketAttachment.objects.filter(ticket=ticket).count(),
        "notifications": Notification.objects.count(),
    }


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


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


def drive(ticket: Ticket, status: str, *, seller_actor: User, buyer_actor: User) -> Ticket:
    """Drive ``ticket`` (pending acceptance) to ``status`` through the services."""
    if status != S.PENDING_ACCEPTANCE:
        services.ticket_accept(actor=fresh(seller_actor), ticket_id=ticket.pk)
    if status == S.AWAITING_FEEDBACK:
        services.ticket_request_feedback(actor=fresh(seller_actor), ticket_id=ticket.pk, body="Which browser?")
    elif status in (S.PENDING_CONFIRMATION, S.COMPLETED):
        services.ticket_resolve(actor=fresh(seller_actor), ticket_id=ticket.pk, cause="Cache", solution="Cleared")
        if status == S.COMPLETED:
            services.ticket_confirm(actor=fresh(buyer_actor), ticket_id=ticket.pk, rating=5)
    elif status == S.WITHDRAWN:
        services.ticket_withdraw(actor=fresh(buyer_actor), ticket_id=ticket.pk)
    ticket = reload(ticket)
    assert ticket.status == status
    return ticket


@pytest.fixture
def reception(seller):
    return take_tickets(seller)


@pytest.fixture
def product(published_product, reception):
    return published_product


@pytest.fixture
def support_user(seller):
    return seller_member(seller, "support")


@pytest.fixture
def finance_user(seller):
    return seller_member(seller, "finance")


@pytest.fixture
def ticket(buyer_user, product):
    """Opened now (Monday 10:00) with a PNG."""
    return open_ticket(buyer_user, product, files=[png()])


@pytest.fixture
def other_product(other_seller):
    take_tickets(other_seller)
    return ProductFactory(seller=other_seller, status="published")


# --- buyer: opening --------------------------------------------------------------------------------


def test_buyer_opens_a_ticket_with_files(buyer_user, seller_user, product, private_media):
    response = api(buyer_user).post(
        BUYER,
        {
            "product": product.pk,
            "category": "fault",
            "title": "Login fails",
            "description": "Error 500 since this morning.",
            "files": [png("screen.png"), pdf("log.pdf")],
        },
        format="multipart",
    )
    body = ok(response, 201)
    ticket = Ticket.objects.get()
    assert body["id"] == ticket.pk and body["number"] == ticket.number
    assert (body["status"], body["status_label"]) == ("pending_acceptance", "Pending acceptance")
    assert (body["category"], body["category_label"]) == ("fault", "Fault")
    assert (body["product"], body["product_name"], body["seller"]) == (product.pk, product.name_en, product.seller_id)
    assert body["first_response_due_at"] == bj(2026, 3, 9, 14).isoformat()
    assert body["resolution_due_at"] == bj(2026, 3, 10, 17).isoformat()
    assert (body["overdue"], body["sla_paused"], body["is_open"]) == ("", False, True)
    assert [a["name"] for a in body["attachments"]] == ["screen.png", "log.pdf"]
    assert body["attachments"][0]["download_url"] == f"/api/v1/tickets/attachments/{body['attachments'][0]['id']}/"
    assert [e["to_status"] for e in body["events"]] == ["pending_acceptance"]
    assert body["messages"] == []
    assert "assignee" not in body
    assert len(stored_files(private_media)) == 2
    # the seller's staff are told
    assert Notification.objects.filter(user=seller_user).count() == 1


def test_buyer_opens_a_ticket_with_json(buyer_user, product):
    body = ok(
        api(buyer_user).post(
            BUYER,
            {"product": product.pk, "category": "usage", "title": "How?", "description": "How do I export?"},
            format="json",
        ),
        201,
    )
    assert (body["category"], body["title"], body["attachments"]) == ("usage", "How?", [])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"description": ""}, "description"),
        ({"category": "rant"}, "category"),
        ({"product": "abc"}, "product"),
        ({"title": None}, "title"),
    ],
)
def test_opening_with_bad_input_is_a_400(buyer_user, product, data, field):
    fields = {"product": product.pk, "category": "fault", "title": "T", "description": "D", **data}
    fields = {k: v for k, v in fields.items() if v is not None}
    refused(api(buyer_user).post(BUYER, fields, format="json"), 400, "invalid", field)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "files",
    [
        [png("fake.png", b"GIF89a not a png at all")],  # a .png whose content is not a PNG
        [SimpleUploadedFile("tool.exe", b"MZ\x90\x00", content_type="application/octet-stream")],
        [pdf("renamed.png")],  # a PDF named .png
        [png(f"s{i}.png") for i in range(6)],  # too many
    ],
    ids=["fake-png", "exe", "pdf-as-png", "six-files"],
)
def test_opening_with_a_refused_file_stores_nothing(buyer_user, product, private_media, files):
    response = api(buyer_user).post(
        BUYER,
        {"product": product.pk, "category": "fault", "title": "T", "description": "D", "files": files},
        format="multipart",
    )
    refused(response, 400, "invalid", "files")
    assert not Ticket.objects.exists()
    assert not TicketAttachment.objects.exists()
    assert stored_files(private_media) == []


def test_a_file_over_the_size_limit_is_refused(buyer_user, product, private_media, settings):
    settings.UPLOAD_MAX_BYTES = 100
    big = png("big.png", PNG_BYTES + b"\x00" * 200)
    response = api(buyer_user).post(
        BUYER,
        {"product": product.pk, "category": "fault", "title": "T", "description": "D", "files": [big]},
        format="multipart",
    )
    body = refused(response, 400, "invalid", "files")
    assert "too large" in body["detail"]
    assert not Ticket.objects.exists() and stored_files(private_media) == []


def test_opening_is_refused_for_unknown_products_and_sellers_not_taking_tickets(buyer_user, seller, reception):
    draft = ProductFactory(seller=seller, status="draft")
    elsewhere = ProductFactory(status="published")  # its seller has no reception settings
    client = api(buyer_user)
    base = {"category": "fault", "title": "T", "description": "D"}
    refused(client.post(BUYER, {**base, "product": draft.pk}, format="json"), 404, "not_found")
    refused(client.post(BUYER, {**base, "product": 99999999}, format="json"), 404, "not_found")
    refused(client.post(BUYER, {**base, "product": elsewhere.pk}, format="json"), 400, "invalid")
    published = ProductFactory(seller=seller, status="published")
    refused(client.post(BUYER, {**base, "product": published.pk, "order": 99999999}, format="json"), 404, "not_found")
    assert not Ticket.objects.exists()


def test_only_buyers_use_the_buyer_endpoints(seller_user, product, ticket):
    client = api(seller_user)
    refused(client.get(BUYER), 403, "permission_denied")
    refused(client.get(f"{BUYER}{ticket.pk}/"), 403, "permission_denied")
    before = snapshot(ticket)
    refused(client.post(BUYER, {"product": product.pk, "category": "fault", "title": "T", "description": "D"}), 403)
    refused(client.post(f"{BUYER}{ticket.pk}/withdraw/", {}, format="json"), 403, "permission_denied")
    assert snapshot(ticket) == before
    assert Ticket.objects.count() == 1


def test_anonymous_requests_are_a_401(ticket):
    client = api()
    for url in (BUYER, SELLER, SETTINGS, f"{BUYER}{ticket.pk}/", "/api/v1/tickets/attachments/1/"):
        refused(client.get(url), 401, "not_authenticated")


# --- buyer: lists and details ----------------------------------------------------------------------


def test_buyer_list_filters_searches_and_pages(buyer_user, seller_user, product, seller):
    second = ProductFactory(seller=seller, status="published")
    first = open_ticket(buyer_user, product, title="Login fails")
    accepted = open_ticket(buyer_user, product, title="Export is slow")
    services.ticket_accept(actor=fresh(seller_user), ticket_id=accepted.pk)
    withdrawn = open_ticket(buyer_user, second, title="Wrong invoice", category="billing")
    services.ticket_withdraw(actor=fresh(buyer_user), ticket_id=withdrawn.pk)
    client = api(buyer_user)

    def ids(query=""):
        return [t["id"] for t in ok(client.get(BUYER + query))["results"]]

    assert ids() == [withdrawn.pk, accepted.pk, first.pk]
    assert ids("?status=open") == [accepted.pk, first.pk]
    assert ids("?status=processing") == [accepted.pk]
    assert ids("?status=withdrawn") == [withdrawn.pk]
    assert ids(f"?product={second.pk}") == [withdrawn.pk]
    assert ids("?q=export") == [accepted.pk]
    assert ids(f"?q={first.number}") == [first.pk]
    assert ids("?q=") == [withdrawn.pk, accepted.pk, first.pk]
    page = ok(client.get(BUYER + "?page_size=2"))
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert [t["id"] for t in ok(client.get(BUYER + "?page_size=2&page=2"))["results"]] == [first.pk]
    row = ok(client.get(BUYER + "?status=withdrawn"))["results"][0]
    assert (row["status"], row["status_label"], row["category_label"]) == (
        "withdrawn",
        "Withdrawn",
        "Billing and invoices",
    )
    assert (row["is_open"], row["sla_paused"], row["overdue"]) == (False, False, "")
    assert row["seller_name"] == seller.name
    assert "description" not in row and "messages" not in row


@pytest.mark.parametrize("query", ["?status=bogus", "?product=abc", "?product=0", f"?q={'x' * 101}"])
def test_buyer_list_with_bad_filters_is_a_400(buyer_user, ticket, query):
    refused(api(buyer_user).get(BUYER + query), 400, "invalid")


def test_buyer_detail_has_the_thread_without_internal_notes(buyer_user, seller_user, ticket):
    seller = fresh(seller_user)
    services.ticket_reply(actor=seller, ticket_id=ticket.pk, body="Looking into it", files=[pdf("answer.pdf")])
    services.ticket_reply(
        actor=seller,
        ticket_id=ticket.pk,
        body="SECRET: customer on old plan",
        internal=True,
        files=[pdf("internal.pdf")],
    )
    services.ticket_reply(actor=fresh(buyer_user), ticket_id=ticket.pk, body="Thanks")
    response = api(buyer_user).get(f"{BUYER}{ticket.pk}/")
    body = ok(response)
    assert [(m["side"], m["kind"], m["body"]) for m in body["messages"]] == [
        ("seller", "reply", "Looking into it"),
        ("buyer", "reply", "Thanks"),
    ]
    assert body["messages"][0]["attachments"][0]["name"] == "answer.pdf"
    assert body["messages"][0]["side_label"] == "Seller" and body["messages"][0]["kind_label"] == "Reply"
    assert body["status"] == "processing"  # the seller's reply accepted it
    assert [a["name"] for a in body["attachments"]] == ["screen.png"]
    raw = response.content.decode()
    assert "SECRET" not in raw and "internal.pdf" not in raw and "internal" not in body["messages"][0]
    # nor in the list
    assert "SECRET" not in api(buyer_user).get(BUYER).content.decode()


def test_buyer_detail_of_an_unknown_ticket_is_a_404(buyer_user, ticket):
    refused(api(buyer_user).get(f"{BUYER}99999999/"), 404, "not_found")
    assert api(buyer_user).get(f"{BUYER}abc/").status_code == 404


def test_a_tenants_plain_users_see_their_own_tickets_its_administrators_all(product):
    tenant = EnterpriseFactory()
    admin = tenant.memberships.get().user
    alice, bob = UserFactory(), UserFactory()
    for user in (alice, bob):
        BuyerMembership.objects.create(
            buyer=tenant, user=user, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
        )
    mine = open_ticket(alice, product)
    assert [t["id"] for t in ok(api(alice).get(BUYER))["results"]] == [mine.pk]
    assert ok(api(bob).get(BUYER))["count"] == 0
    refused(api(bob).get(f"{BUYER}{mine.pk}/"), 404, "not_found")
    before = snapshot(mine)
    refused(api(bob).post(f"{BUYER}{mine.pk}/withdraw/", {}, format="json"), 404, "not_found")
    assert snapshot(mine) == before
    assert [t["id"] for t in ok(api(admin).get(BUYER))["results"]] == [mine.pk]
    assert ok(api(admin).get(f"{BUYER}{mine.pk}/"))["opened_by_name"] == alice.name


def test_buyer_counts(buyer_user, seller_user, product, other_buyer_user):
    open_ticket(buyer_user, product)
    services.ticket_accept(actor=fresh(seller_user), ticket_id=open_ticket(buyer_user, product).pk)
    open_ticket(other_buyer_user, product)
    counts = ok(api(buyer_user).get(f"{BUYER}counts/"))
    assert counts["open"] == 2 and counts["pending_acceptance"] == 1 and counts["processing"] == 1
    assert counts["completed"] == 0 and counts["overdue"] == 0
    with time_machine.travel(bj(2026, 3, 9, 15), tick=False):  # the first response was due at 14:00
        assert ok(api(buyer_user).get(f"{BUYER}counts/"))["overdue"] == 1


def test_availability_of_a_products_seller(buyer_user, product, seller):
    body = ok(api(buyer_user).get(f"{BUYER}availability/?product={product.pk}"))
    assert (body["seller"], body["seller_name"], body["accepts"], body["open_now"]) == (
        seller.pk,
        seller.name,
        True,
        True,
    )
    assert body["windows"][0] == {"weekday": 0, "start": "09:00", "end": "18:00"}
    assert (body["first_response_hours"], body["resolution_hours"]) == (4, 16)
    with time_machine.travel(bj(2026, 3, 9, 19), tick=False):
        body = ok(api(buyer_user).get(f"{BUYER}availability/?product={product.pk}"))
        assert body["open_now"] is False and body["next_open"] == bj(2026, 3, 10, 9).isoformat()
    silent = ProductFactory(status="published")
    body = ok(api(buyer_user).get(f"{BUYER}availability/?product={silent.pk}"))
    assert (body["accepts"], body["windows"]) == (False, [])
    draft = ProductFactory(seller=seller, status="draft")
    refused(api(buyer_user).get(f"{BUYER}availability/?product={draft.pk}"), 404, "not_found")
    refused(api(buyer_user).get(f"{BUYER}availability/"), 400, "invalid", "product")


# --- buyer: actions --------------------------------------------------------------------------------


def test_buyer_reply_with_a_file(buyer_user, ticket, private_media):
    body = ok(
        api(buyer_user).post(
            f"{BUYER}{ticket.pk}/reply/", {"body": "More details", "files": [pdf("more.pdf")]}, format="multipart"
        ),
        201,
    )
    assert [(m["side"], m["body"]) for m in body["messages"]] == [("buyer", "More details")]
    assert body["messages"][0]["attachments"][0]["name"] == "more.pdf"
    assert body["status"] == "pending_acceptance"  # the buyer's reply accepts nothing
    assert len(stored_files(private_media)) == 2


def test_the_buyers_reply_to_a_feedback_request_resumes_the_clock(buyer_user, seller_user, ticket):
    drive(ticket, S.AWAITING_FEEDBACK, seller_actor=seller_user, buyer_actor=buyer_user)
    assert ok(api(buyer_user).get(f"{BUYER}{ticket.pk}/"))["sla_paused"] is True
    body = ok(api(buyer_user).post(f"{BUYER}{ticket.pk}/reply/", {"body": "Firefox 140"}, format="json"), 201)
    assert (body["status"], body["sla_paused"]) == ("processing", False)


def test_buyer_reply_refusals_change_nothing(buyer_user, seller_user, ticket, private_media):
    client = api(buyer_user)
    before = snapshot(ticket)
    refused(client.post(f"{BUYER}{ticket.pk}/reply/", {"body": "  "}, format="json"), 400, "invalid", "body")
    refused(client.post(f"{BUYER}{ticket.pk}/reply/", {}, format="json"), 400, "invalid", "body")
    refused(
        client.post(
            f"{BUYER}{ticket.pk}/reply/", {"body": "see", "files": [png("x.png", b"nope")]}, format="multipart"
        ),
        400,
        "invalid",
        "files",
    )
    # the buyer cannot write internal notes: the flag is not even read on their side
    ok(client.post(f"{BUYER}{ticket.pk}/reply/", {"body": "hi", "internal": True}, format="json"), 201)
    assert TicketMessage.objects.get(ticket=ticket).kind == TicketMessage.Kind.REPLY
    before = snapshot(ticket)
    drive(ticket, S.WITHDRAWN, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    body = refused(
        client.post(f"{BUYER}{ticket.pk}/reply/", {"body": "again"}, format="json"), 409, "invalid_transition"
    )
    assert "closed" in body["detail"]
    assert snapshot(ticket) == before
    assert len(stored_files(private_media)) == 1  # the ticket's own PNG


def test_buyer_confirms_with_a_rating(buyer_user, seller_user, ticket):
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    body = ok(
        api(buyer_user).post(f"{BUYER}{ticket.pk}/confirm/", {"rating": 4, "comment": "Quick, thanks"}, format="json")
    )
    assert (body["status"], body["status_label"], body["rating"], body["rating_comment"]) == (
        "completed",
        "Completed",
        4,
        "Quick, thanks",
    )
    assert body["closed_at"] == NOW.isoformat()
    assert (body["cause"], body["solution"]) == ("Cache", "Cleared")
    assert body["events"][-1]["to_status"] == "completed"


def test_buyer_confirms_without_a_rating(buyer_user, seller_user, ticket):
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    body = ok(api(buyer_user).post(f"{BUYER}{ticket.pk}/confirm/", {}, format="json"))
    assert (body["status"], body["rating"]) == ("completed", None)


def test_confirm_refusals_change_nothing(buyer_user, seller_user, ticket):
    client = api(buyer_user)
    before = snapshot(ticket)
    refused(client.post(f"{BUYER}{ticket.pk}/confirm/", {"rating": 5}, format="json"), 409, "invalid_transition")
    assert snapshot(ticket) == before
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    for rating in (0, 6, "great"):
        refused(
            client.post(f"{BUYER}{ticket.pk}/confirm/", {"rating": rating}, format="json"), 400, "invalid", "rating"
        )
    refused(client.post(f"{BUYER}{ticket.pk}/confirm/", {"comment": "x" * 501}, format="json"), 400, "invalid")
    assert snapshot(ticket) == before


def test_buyer_rejects_the_resolution(buyer_user, seller_user, ticket):
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    body = ok(api(buyer_user).post(f"{BUYER}{ticket.pk}/reject/", {"reason": "Still broken"}, format="json"))
    assert (body["status"], body["sla_paused"], body["resolved_at"]) == ("processing", False, None)
    assert (body["messages"][-1]["kind"], body["messages"][-1]["body"]) == ("rejection", "Still broken")
    assert body["events"][-1]["message"].endswith("Still broken")


def test_reject_refusals_change_nothing(buyer_user, seller_user, ticket):
    client = api(buyer_user)
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    refused(client.post(f"{BUYER}{ticket.pk}/reject/", {"reason": " "}, format="json"), 400, "invalid", "reason")
    refused(client.post(f"{BUYER}{ticket.pk}/reject/", {}, format="json"), 400, "invalid", "reason")
    assert snapshot(ticket) == before
    services.ticket_reject(actor=fresh(buyer_user), ticket_id=ticket.pk, reason="no")
    before = snapshot(ticket)
    # not waiting for confirmation any more: a state conflict
    refused(client.post(f"{BUYER}{ticket.pk}/reject/", {"reason": "again"}, format="json"), 409, "invalid_transition")
    assert snapshot(ticket) == before


def test_buyer_withdraws(buyer_user, ticket):
    body = ok(api(buyer_user).post(f"{BUYER}{ticket.pk}/withdraw/", {"reason": "Found it myself"}, format="json"))
    assert (body["status"], body["is_open"], body["closed_at"]) == ("withdrawn", False, NOW.isoformat())
    assert body["events"][-1]["message"].endswith("Found it myself")


def test_buyer_withdraws_without_a_reason(buyer_user, ticket):
    assert ok(api(buyer_user).post(f"{BUYER}{ticket.pk}/withdraw/"))["status"] == "withdrawn"


@pytest.mark.parametrize("status", [S.PENDING_CONFIRMATION, S.COMPLETED, S.WITHDRAWN])
def test_withdrawing_once_resolved_or_closed_is_a_409(buyer_user, seller_user, ticket, status):
    drive(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    refused(api(buyer_user).post(f"{BUYER}{ticket.pk}/withdraw/", {}, format="json"), 409, "invalid_transition")
    assert snapshot(ticket) == before


# --- seller: lists and details ---------------------------------------------------------------------


def test_seller_list_filters_searches_and_pages(
    buyer_user, other_buyer_user, seller_user, support_user, product, seller
):
    second = ProductFactory(seller=seller, status="published")
    first = open_ticket(buyer_user, product, title="Login fails")
    taken = open_ticket(other_buyer_user, product, title="Export is slow")
    services.ticket_accept(actor=fresh(support_user), ticket_id=taken.pk)
    with time_machine.travel(bj(2026, 3, 9, 16), tick=False):
        late = open_ticket(buyer_user, second, title="Wrong invoice", category="billing")
    client = api(seller_user)

    def ids(query=""):
        return [t["id"] for t in ok(client.get(SELLER + query))["results"]]

    assert ids() == [late.pk, taken.pk, first.pk]
    assert ids("?status=open") == [late.pk, taken.pk, first.pk]
    assert ids("?status=processing") == [taken.pk]
    assert ids(f"?product={second.pk}") == [late.pk]
    assert ids("?q=slow") == [taken.pk]
    assert ids(f"?q={late.number}") == [late.pk]
    assert ids("?mine=true") == []
    assert [t["id"] for t in ok(api(support_user).get(SELLER + "?mine=true"))["results"]] == [taken.pk]
    assert ids("?overdue=true") == []
    with time_machine.travel(bj(2026, 3, 9, 15), tick=False):  # first's response was due at 14:00
        assert ids("?overdue=true") == [first.pk]
        row = ok(client.get(SELLER + f"?q={first.number}"))["results"][0]
        assert row["overdue"] == "response"
    with time_machine.travel(bj(2026, 3, 11, 10), tick=False):  # resolution was due Tuesday 17:00
        rows = {t["id"]: t["overdue"] for t in ok(client.get(SELLER))["results"]}
        assert rows == {first.pk: "response", taken.pk: "resolution", late.pk: "response"}
    row = ok(client.get(f"{SELLER}?q={taken.number}"))["results"][0]
    assert (row["status"], row["status_label"], row["assignee"], row["assignee_name"]) == (
        "processing",
        "Processing",
        support_user.pk,
        support_user.name,
    )
    assert (row["buyer"], row["buyer_name"]) == (taken.buyer_id, taken.buyer.name)
    page = ok(client.get(SELLER + "?page_size=1&page=3"))
    assert page["count"] == 3 and [t["id"] for t in page["results"]] == [first.pk] and page["next"] is None


@pytest.mark.parametrize("query", ["?status=nope", "?product=x", "?overdue=maybe", "?mine=perhaps"])
def test_seller_list_with_bad_filters_is_a_400(seller_user, ticket, query):
    refused(api(seller_user).get(SELLER + query), 400, "invalid")


def test_seller_detail_includes_internal_notes(seller_user, buyer_user, ticket):
    services.ticket_reply(
        actor=fresh(seller_user), ticket_id=ticket.pk, body="Customer on old plan", internal=True, files=[pdf("n.pdf")]
    )
    body = ok(api(seller_user).get(f"{SELLER}{ticket.pk}/"))
    message = body["messages"][0]
    assert (message["kind"], message["kind_label"], message["internal"], message["body"]) == (
        "internal",
        "Internal note",
        True,
        "Customer on old plan",
    )
    assert message["attachments"][0]["name"] == "n.pdf"
    assert body["status"] == "pending_acceptance"  # an internal note accepts nothing
    assert (body["buyer"], body["description"], body["opened_by_name"]) == (
        ticket.buyer_id,
        "Error 500 on login.",
        buyer_user.name,
    )


def test_seller_counts_and_assignees(seller_user, support_user, finance_user, buyer_user, product, seller):
    open_ticket(buyer_user, product)
    counts = ok(api(seller_user).get(f"{SELLER}counts/"))
    assert (counts["open"], counts["pending_acceptance"], counts["overdue"]) == (1, 1, 0)
    people = ok(api(seller_user).get(f"{SELLER}assignees/"))
    assert sorted(p["id"] for p in people) == sorted([seller_user.pk, support_user.pk])
    assert {p["role"] for p in people} == {"admin", "support"}


@pytest.mark.parametrize("role", ["finance", "developer"])
def test_seller_roles_without_tickets_get_403_and_change_nothing(seller, role, ticket, seller_user):
    user = seller_member(seller, role)
    client = api(user)
    before = snapshot(ticket)
    for url in (SELLER, f"{SELLER}{ticket.pk}/", f"{SELLER}counts/", f"{SELLER}assignees/", SETTINGS):
        refused(client.get(url), 403, "permission_denied")
    for action, data in [
        ("accept", {}),
        ("assign", {"assignee": seller_user.pk}),
        ("reply", {"body": "hi"}),
        ("request-feedback", {"body": "?"}),
        ("resolve", {"cause": "c", "solution": "s"}),
    ]:
        refused(client.post(f"{SELLER}{ticket.pk}/{action}/", data, format="json"), 403, "permission_denied")
    refused(client.put(SETTINGS, {"accepts_tickets": False, "windows": []}, format="json"), 403)
    assert snapshot(ticket) == before
    # their attachment downloads are "not found"
    attachment = TicketAttachment.objects.get(ticket=ticket)
    refused(client.get(f"/api/v1/tickets/attachments/{attachment.pk}/"), 404, "not_found")


def test_buyers_cannot_use_the_seller_endpoints(buyer_user, ticket):
    client = api(buyer_user)
    before = snapshot(ticket)
    refused(client.get(SELLER), 403, "permission_denied")
    refused(client.get(f"{SELLER}{ticket.pk}/"), 403, "permission_denied")
    refused(client.post(f"{SELLER}{ticket.pk}/accept/"), 403, "permission_denied")
    refused(client.get(SETTINGS), 403, "permission_denied")
    assert snapshot(ticket) == before


# --- seller: actions -------------------------------------------------------------------------------


def test_seller_accepts(seller_user, buyer_user, ticket):
    body = ok(api(seller_user).post(f"{SELLER}{ticket.pk}/accept/"))
    assert (body["status"], body["accepted_at"], body["assignee"]) == ("processing", NOW.isoformat(), seller_user.pk)
    assert [e["to_status"] for e in body["events"]] == ["pending_acceptance", "processing"]
    assert Notification.objects.filter(user=buyer_user).count() == 1


def test_accepting_twice_is_a_409_and_changes_nothing(seller_user, support_user, ticket):
    ok(api(seller_user).post(f"{SELLER}{ticket.pk}/accept/"))
    before = snapshot(ticket)
    refused(api(support_user).post(f"{SELLER}{ticket.pk}/accept/"), 409, "invalid_transition")
    assert snapshot(ticket) == before


def test_seller_assigns_to_a_colleague(seller_user, support_user, ticket):
    body = ok(api(seller_user).post(f"{SELLER}{ticket.pk}/assign/", {"assignee": support_user.pk}, format="json"))
    assert (body["assignee"], body["assignee_name"], body["status"]) == (
        support_user.pk,
        support_user.name,
        "pending_acceptance",
    )
    assert "Assigned to" in body["events"][-1]["message"]
    assert Notification.objects.filter(user=support_user).count() == 2  # the new ticket, the assignment


def test_assign_refusals_change_nothing(seller, seller_user, finance_user, other_seller_user, buyer_user, ticket):
    client = api(seller_user)
    before = snapshot(ticket)
    for assignee in (finance_user.pk, other_seller_user.pk, buyer_user.pk, 99999999):
        refused(client.post(f"{SELLER}{ticket.pk}/assign/", {"assignee": assignee}, format="json"), 404, "not_found")
    refused(client.post(f"{SELLER}{ticket.pk}/assign/", {"assignee": "abc"}, format="json"), 400, "invalid", "assignee")
    refused(client.post(f"{SELLER}{ticket.pk}/assign/", {}, format="json"), 400, "invalid", "assignee")
    assert snapshot(ticket) == before
    drive(ticket, S.WITHDRAWN, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    refused(client.post(f"{SELLER}{ticket.pk}/assign/", {"assignee": seller_user.pk}, format="json"), 409)
    assert snapshot(ticket) == before


def test_seller_reply_accepts_a_pending_ticket(seller_user, buyer_user, ticket, private_media):
    body = ok(
        api(seller_user).post(
            f"{SELLER}{ticket.pk}/reply/",
            {"body": "Please try again", "files": [png("fix.png")]},
            format="multipart",
        ),
        201,
    )
    assert body["status"] == "processing" and body["assignee"] == seller_user.pk
    message = body["messages"][-1]
    assert (message["side"], message["kind"], message["internal"]) == ("seller", "reply", False)
    assert message["attachments"][0]["name"] == "fix.png"
    assert len(stored_files(private_media)) == 2


def test_seller_internal_note_by_multipart(seller_user, ticket):
    body = ok(
        api(seller_user).post(f"{SELLER}{ticket.pk}/reply/", {"body": "note", "internal": "true"}, format="multipart"),
        201,
    )
    assert body["status"] == "pending_acceptance" and body["messages"][-1]["internal"] is True


def test_seller_reply_refusals_change_nothing(seller_user, buyer_user, ticket, private_media):
    client = api(seller_user)
    before = snapshot(ticket)
    refused(client.post(f"{SELLER}{ticket.pk}/reply/", {"body": ""}, format="json"), 400, "invalid", "body")
    refused(client.post(f"{SELLER}{ticket.pk}/reply/", {"body": "x" * 10_001}, format="json"), 400, "invalid", "body")
    refused(client.post(f"{SELLER}{ticket.pk}/reply/", {"body": "x", "internal": "perhaps"}, format="json"), 400)
    refused(
        client.post(
            f"{SELLER}{ticket.pk}/reply/", {"body": "see", "files": [png("fake.png", b"%PDF-1.4")]}, "multipart"
        ),
        400,
        "invalid",
        "files",
    )
    assert snapshot(ticket) == before
    assert len(stored_files(private_media)) == 1
    drive(ticket, S.COMPLETED, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    refused(client.post(f"{SELLER}{ticket.pk}/reply/", {"body": "late"}, format="json"), 409)
    assert snapshot(ticket) == before


def test_seller_requests_feedback_and_the_clock_pauses(seller_user, ticket):
    body = ok(
        api(seller_user).post(f"{SELLER}{ticket.pk}/request-feedback/", {"body": "Which browser?"}, format="json")
    )
    assert (body["status"], body["status_label"], body["sla_paused"]) == (
        "awaiting_feedback",
        "Awaiting feedback",
        True,
    )
    assert (body["messages"][-1]["kind"], body["messages"][-1]["body"]) == ("feedback_request", "Which browser?")
    assert [e["to_status"] for e in body["events"]] == ["pending_acceptance", "processing", "awaiting_feedback"]
    with time_machine.travel(bj(2026, 3, 20, 10), tick=False):  # long after every due time: paused, not late
        assert ok(api(seller_user).get(f"{SELLER}{ticket.pk}/"))["overdue"] == ""


def test_feedback_request_refusals_change_nothing(seller_user, buyer_user, ticket):
    client = api(seller_user)
    before = snapshot(ticket)
    refused(client.post(f"{SELLER}{ticket.pk}/request-feedback/", {"body": " "}, format="json"), 400, "invalid", "body")
    assert snapshot(ticket) == before
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    refused(
        client.post(f"{SELLER}{ticket.pk}/request-feedback/", {"body": "?"}, format="json"), 409, "invalid_transition"
    )
    assert snapshot(ticket) == before


def test_seller_resolves(seller_user, buyer_user, ticket):
    body = ok(
        api(seller_user).post(
            f"{SELLER}{ticket.pk}/resolve/", {"cause": "Expired cache", "solution": "Purged it"}, format="json"
        )
    )
    assert (body["status"], body["cause"], body["solution"], body["resolved_at"]) == (
        "pending_confirmation",
        "Expired cache",
        "Purged it",
        NOW.isoformat(),
    )
    assert body["sla_paused"] is True and body["messages"][-1]["kind"] == "resolution"
    buyer_view = ok(api(buyer_user).get(f"{BUYER}{ticket.pk}/"))
    assert buyer_view["status_label"] == "Pending confirmation" and buyer_view["cause"] == "Expired cache"


def test_resolve_refusals_change_nothing(seller_user, buyer_user, ticket):
    client = api(seller_user)
    before = snapshot(ticket)
    refused(
        client.post(f"{SELLER}{ticket.pk}/resolve/", {"cause": "", "solution": "s"}, format="json"), 400, field="cause"
    )
    refused(client.post(f"{SELLER}{ticket.pk}/resolve/", {"cause": "c"}, format="json"), 400, field="solution")
    assert snapshot(ticket) == before
    drive(ticket, S.COMPLETED, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    refused(
        client.post(f"{SELLER}{ticket.pk}/resolve/", {"cause": "c", "solution": "s"}, format="json"),
        409,
        "invalid_transition",
    )
    assert snapshot(ticket) == before


def test_support_staff_handle_tickets(support_user, ticket):
    client = api(support_user)
    ok(client.post(f"{SELLER}{ticket.pk}/accept/"))
    ok(client.post(f"{SELLER}{ticket.pk}/resolve/", {"cause": "c", "solution": "s"}, format="json"))
    assert reload(ticket).status == S.PENDING_CONFIRMATION


# --- isolation -------------------------------------------------------------------------------------


def test_another_buyer_gets_404_everywhere_and_changes_nothing(other_buyer_user, seller_user, buyer_user, ticket):
    drive(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    attachment = TicketAttachment.objects.get(ticket=ticket)
    client = api(other_buyer_user)
    before = snapshot(ticket)
    assert ok(client.get(BUYER))["count"] == 0
    assert ok(client.get(f"{BUYER}counts/"))["open"] == 0
    refused(client.get(f"{BUYER}{ticket.pk}/"), 404, "not_found")
    for action, data in [
        ("reply", {"body": "hi"}),
        ("reply", {"body": ""}),  # 404 before the body is even read
        ("confirm", {"rating": 5}),
        ("reject", {"reason": "no"}),
        ("withdraw", {"reason": "no"}),
    ]:
        refused(client.post(f"{BUYER}{ticket.pk}/{action}/", data, format="json"), 404, "not_found")
    refused(client.get(f"/api/v1/tickets/attachments/{attachment.pk}/"), 404, "not_found")
    assert snapshot(ticket) == before


def test_another_seller_gets_404_everywhere_and_changes_nothing(other_seller_user, other_product, ticket, buyer_user):
    attachment = TicketAttachment.objects.get(ticket=ticket)
    own = open_ticket(buyer_user, other_product)
    client = api(other_seller_user)
    before = snapshot(ticket)
    assert [t["id"] for t in ok(client.get(SELLER))["results"]] == [own.pk]
    assert ok(client.get(f"{SELLER}counts/"))["open"] == 1
    refused(client.get(f"{SELLER}{ticket.pk}/"), 404, "not_found")
    for action, data in [
        ("accept", {}),
        ("assign", {"assignee": other_seller_user.pk}),
        ("reply", {"body": "hi", "internal": True}),
        ("reply", {}),
        ("request-feedback", {"body": "?"}),
        ("resolve", {"cause": "c", "solution": "s"}),
    ]:
        refused(client.post(f"{SELLER}{ticket.pk}/{action}/", data, format="json"), 404, "not_found")
    refused(client.get(f"/api/v1/tickets/attachments/{attachment.pk}/"), 404, "not_found")
    assert snapshot(ticket) == before


def test_the_buyer_never_sees_internal_notes_or_their_files(buyer_user, seller_user, ticket):
    services.ticket_reply(
        actor=fresh(seller_user), ticket_id=ticket.pk, body="TOP SECRET", internal=True, files=[pdf("secret.pdf")]
    )
    services.ticket_resolve(actor=fresh(seller_user), ticket_id=ticket.pk, cause="c", solution="s")
    secret = TicketAttachment.objects.get(name="secret.pdf")
    client = api(buyer_user)
    for url in (BUYER, f"{BUYER}{ticket.pk}/", f"{BUYER}counts/"):
        raw = client.get(url).content.decode()
        assert "TOP SECRET" not in raw and "secret.pdf" not in raw and f"/attachments/{secret.pk}/" not in raw
    # the action answers carry the detail too
    raw = client.post(f"{BUYER}{ticket.pk}/reject/", {"reason": "no"}, format="json").content.decode()
    assert "TOP SECRET" not in raw
    refused(client.get(f"/api/v1/tickets/attachments/{secret.pk}/"), 404, "not_found")
    # the seller sees and downloads it
    assert "TOP SECRET" in api(seller_user).get(f"{SELLER}{ticket.pk}/").content.decode()
    assert api(seller_user).get(f"/api/v1/tickets/attachments/{secret.pk}/").status_code == 200


# --- attachment downloads --------------------------------------------------------------------------


def test_both_parties_download_an_attachment(buyer_user, seller_user, support_user, ticket):
    attachment = TicketAttachment.objects.get(ticket=ticket)
    url = ok(api(buyer_user).get(f"{BUYER}{ticket.pk}/"))["attachments"][0]["download_url"]
    for user in (buyer_user, seller_user, support_user):
        response = api(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG_BYTES
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"] == 'attachment; filename="screen.png"'
        assert response["X-Content-Type-Options"] == "nosniff"
    assert attachment.file.name.startswith("tickets/") and "screen" not in attachment.file.name


def test_downloading_an_unknown_attachment_is_a_404(buyer_user):
    refused(api(buyer_user).get("/api/v1/tickets/attachments/99999999/"), 404, "not_found")


# --- reception settings ----------------------------------------------------------------------------


def settings_body(**overrides) -> dict:
    return {
        "accepts_tickets": True,
        "observe_public_holidays": False,
        "first_response_hours": 2,
        "resolution_hours": 24,
        "windows": [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)]
        + [{"weekday": 5, "start": "20:00", "end": "24:00"}, {"weekday": 6, "start": "00:00", "end": "00:00"}],
        "closed_dates": ["2026-04-03", "2026-04-03", "2026-05-01"],
        **overrides,
    }


def test_settings_before_any_are_saved(seller_user):
    body = ok(api(seller_user).get(SETTINGS))
    assert body == {
        "accepts_tickets": False,
        "observe_public_holidays": True,
        "first_response_hours": 4,
        "resolution_hours": 40,
        "windows": [],
        "closed_dates": [],
        "weekly_minutes": 0,
        "min_weekly_minutes": 2400,
        "open_now": False,
        "next_open": None,
    }


def test_administrator_saves_the_settings(seller_user, seller):
    body = ok(api(seller_user).put(SETTINGS, settings_body(), format="json"))
    assert body["accepts_tickets"] is True and body["observe_public_holidays"] is False
    assert (body["first_response_hours"], body["resolution_hours"]) == (2, 24)
    assert body["windows"][-2:] == [
        {"weekday": 5, "start": "20:00", "end": "24:00"},
        {"weekday": 6, "start": "00:00", "end": "24:00"},
    ]
    assert body["closed_dates"] == ["2026-04-03", "2026-05-01"]
    assert body["weekly_minutes"] == (45 + 4 + 24) * 60
    assert (body["open_now"], body["next_open"]) == (True, NOW.isoformat())
    reception = ReceptionSettings.objects.get(seller=seller)
    assert reception.windows.filter(weekday=5).get().end == time(0)
    assert list(reception.closed_dates.values_list("day", flat=True)) == [date(2026, 4, 3), date(2026, 5, 1)]
    assert ok(api(seller_user).get(SETTINGS)) == body
    # and taking tickets off
    off = ok(api(seller_user).put(SETTINGS, settings_body(accepts_tickets=False, windows=[]), format="json"))
    assert (off["accepts_tickets"], off["windows"], off["open_now"]) == (False, [], False)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"windows": [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(4)]}, "windows"),  # 36 h
        ({"windows": [{"weekday": 0, "start": "18:00", "end": "09:00"}]}, "windows"),
        ({"windows": [{"weekday": 0, "start": "25:00", "end": "26:00"}]}, "windows"),
        ({"windows": [{"weekday": 0, "start": "24:00", "end": "24:00"}]}, "windows"),
        ({"windows": [{"weekday": 0, "start": "9am", "end": "18:00"}]}, "windows"),
        ({"windows": [{"weekday": 7, "start": "09:00", "end": "18:00"}]}, "windows"),
        ({"windows": [{"weekday": 0, "start": 9, "end": "18:00"}]}, "windows"),
        ({"windows": "all week"}, "windows"),
        ({"first_response_hours": 0}, "first_response_hours"),
        ({"first_response_hours": 30, "resolution_hours": 20}, "first_response_hours"),
        ({"resolution_hours": 401}, "resolution_hours"),
        ({"closed_dates": ["2026-13-01"]}, "closed_dates"),
        ({"accepts_tickets": None}, "accepts_tickets"),
    ],
)
def test_bad_settings_are_a_400_and_change_nothing(seller_user, seller, reception, overrides, field):
    before = ok(api(seller_user).get(SETTINGS))
    data = {k: v for k, v in settings_body(**overrides).items() if v is not None}
    body = refused(api(seller_user).put(SETTINGS, data, format="json"), 400, "invalid", field)
    assert ok(api(seller_user).get(SETTINGS)) == before
    assert body["detail"]


def test_too_few_reception_hours_says_how_many_are_missing(seller_user, reception):
    windows = [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(4)]
    body = refused(api(seller_user).put(SETTINGS, settings_body(windows=windows), format="json"), 400, "invalid")
    assert "40" in body["detail"] and "36 h" in body["detail"] and "4 h" in body["detail"]


def test_support_staff_read_but_do_not_change_the_settings(support_user, reception):
    client = api(support_user)
    before = ok(client.get(SETTINGS))
    assert before["accepts_tickets"] is True and before["weekly_minutes"] == 45 * 60
    refused(client.put(SETTINGS, settings_body(), format="json"), 403, "forbidden")
    assert ok(client.get(SETTINGS)) == before
    assert not ClosedDate.objects.exists()


def test_settings_are_per_seller(seller_user, other_seller_user, reception):
    ok(api(other_seller_user).put(SETTINGS, settings_body(accepts_tickets=False, windows=[]), format="json"))
    assert ok(api(seller_user).get(SETTINGS))["weekly_minutes"] == 45 * 60
    assert ReceptionSettings.objects.get(pk=reception.pk).accepts_tickets is True


# --- queries ---------------------------------------------------------------------------------------


def _tickets(n, *, buyer_user, sellers_users, products):
    membership = BuyerMembership.objects.get(user=buyer_user)
    Ticket.objects.bulk_create(
        Ticket(
            seller_id=products[i % len(products)].seller_id,
            buyer_id=membership.buyer_id,
            opened_by=buyer_user,
            product=products[i % len(products)],
            category="fault",
            title=f"Ticket {i}",
            description="D",
            number=f"T20260309{i:08d}{len(products)}",
            assignee=sellers_users[i % len(sellers_users)],
            first_response_due_at=bj(2026, 3, 9, 14),
            resolution_due_at=bj(2026, 3, 10, 17),
            sla_running_since=NOW,
        )
        for i in range(n)
    )


def _queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        body = ok(client.get(url))
    return len(ctx.captured_queries), len(body["results"])


def test_the_list_endpoints_take_a_fixed_number_of_queries(buyer_user, seller_user, support_user, seller, reception):
    products = [ProductFactory(seller=seller, status="published") for _ in range(3)]
    buyer, seller_client = api(buyer_user), api(seller_user)
    _tickets(3, buyer_user=buyer_user, sellers_users=[seller_user, support_user], products=products)
    few = (_queries(buyer, BUYER + "?page_size=50"), _queries(seller_client, SELLER + "?page_size=50"))
    assert [n for _queries_count, n in few] == [3, 3]
    Ticket.objects.all().delete()
    _tickets(20, buyer_user=buyer_user, sellers_users=[seller_user, support_user], products=products)
    many = (_queries(buyer, BUYER + "?page_size=50"), _queries(seller_client, SELLER + "?page_size=50"))
    assert [n for _queries_count, n in many] == [20, 20]
    assert [q for q, _n in few] == [q for q, _n in many]
    assert all(q <= 5 for q, _n in many), many  # token, membership, count, page (+ a savepoint at most)


def test_the_detail_endpoints_take_a_fixed_number_of_queries(buyer_user, seller_user, ticket):
    def count(user, url):
        client = api(user)
        with CaptureQueriesContext(connection) as ctx:
            ok(client.get(url))
        return len(ctx.captured_queries)

    services.ticket_reply(actor=fresh(seller_user), ticket_id=ticket.pk, body="first", files=[pdf()])
    small = (count(buyer_user, f"{BUYER}{ticket.pk}/"), count(seller_user, f"{SELLER}{ticket.pk}/"))
    for i in range(5):
        services.ticket_reply(actor=fresh(seller_user), ticket_id=ticket.pk, body=f"r{i}", files=[pdf()])
        services.ticket_reply(actor=fresh(buyer_user), ticket_id=ticket.pk, body=f"b{i}", files=[png()])
    assert (count(buyer_user, f"{BUYER}{ticket.pk}/"), count(seller_user, f"{SELLER}{ticket.pk}/")) == small


# --- the schema ------------------------------------------------------------------------------------


def test_the_schema_lists_the_ticket_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/buyer/tickets/",
        "/api/v1/buyer/tickets/{id}/confirm/",
        "/api/v1/seller/tickets/{id}/request-feedback/",
        "/api/v1/seller/ticket-settings/",
        "/api/v1/tickets/attachments/{id}/",
    ):
        assert path in schema, path


def test_other_buyers_and_sellers_are_really_others(other_buyer_user, buyer_user, other_seller_user, seller_user):
    """The isolation tests above only mean something if the fixtures are distinct parties."""
    assert (
        BuyerMembership.objects.get(user=other_buyer_user).buyer_id
        != BuyerMembership.objects.get(user=buyer_user).buyer_id
    )
    assert other_seller_user.seller_membership.seller_id != seller_user.seller_membership.seller_id
