"""Ticket pages through the Django test client: the seller's list, detail and reception settings,
the buyer's list, detail and open page, attachment downloads, the product page's "Submit ticket"
link and the dashboards (issue 6).

Chinese is the default UI language and the ticket strings may be translated at any time, so the
tests assert on status codes, data-testid, ticket numbers, form errors and the database; the few
that read English text set the ``django_language=en`` cookie (pages ignore Accept-Language).
"""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.accounts.models import BuyerMembership, User
from marketplace.core.models import Notification
from tests.factories import PNG_BYTES, EnterpriseFactory, PlanFactory, ProductFactory, UserFactory, fresh, seller_member
from tickets import services
from tickets.models import ReceptionSettings, Ticket, TicketAttachment, TicketEvent, TicketMessage

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
S = Ticket.Status
WEEKDAYS_9_18 = [(d, time(9), time(18)) for d in range(5)]


# --- helpers ---------------------------------------------------------------------------------------


def png(name: str = "screen.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def not_a_png(name: str = "fake.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"MZ\x90\x00 this is an executable", content_type="image/png")


def as_user(user: User | None, *, english: bool = False, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    if english:
        client.cookies["django_language"] = "en"
    return client


def take_tickets(seller_admin: User, windows=WEEKDAYS_9_18, **fields) -> ReceptionSettings:
    fields = {"first_response_hours": 4, "resolution_hours": 16, **fields}
    return services.reception_update(actor=fresh(seller_admin), accepts_tickets=True, windows=windows, **fields)


def open_ticket(user: User, product, **fields) -> Ticket:
    fields = {"category": "fault", "title": "It does not start", "description": "Error 500 on login.", **fields}
    return services.ticket_open(actor=fresh(user), product_id=product.pk, **fields)


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def snapshot(ticket: Ticket) -> dict:
    """Everything a ticket action writes; a refused action leaves all of it as it was."""
    return {
        "ticket": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "events": TicketEvent.objects.filter(ticket=ticket).count(),
        "messages": TicketMessage.objects.filter(ticket=ticket).count(),
        "attachments": TicketAttachment.objects.filter(ticket=ticket).count(),
        "notifications": Notification.objects.count(),
    }


def html(response) -> str:
    return response.content.decode()


def flashed(response) -> list[tuple[str, str]]:
    """The messages a (followed) response showed, as (level tag, text)."""
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def listed(response) -> set[str]:
    """The ticket numbers on a list page, checked against its rows."""
    numbers = {t.number for t in response.context["page"]}
    assert html(response).count('data-testid="ticket-row"') == len(numbers)
    for number in numbers:
        assert number in html(response)
    return numbers


def post_forms(page: str) -> list[str]:
    return [f for f in re.findall(r"<form\b.*?</form>", page, re.S) if re.match(r'<form\b[^>]*method="post"', f)]


def in_state(ticket: Ticket, status: str, *, seller_actor: User, buyer_actor: User) -> Ticket:
    """Drive a ticket pending acceptance to ``status`` through the services."""
    seller_actor, buyer_actor = fresh(seller_actor), fresh(buyer_actor)
    if status == S.PENDING_ACCEPTANCE:
        return reload(ticket)
    services.ticket_accept(actor=seller_actor, ticket_id=ticket.pk)
    if status == S.AWAITING_FEEDBACK:
        services.ticket_request_feedback(actor=seller_actor, ticket_id=ticket.pk, body="Which browser?")
    elif status in (S.PENDING_CONFIRMATION, S.COMPLETED):
        services.ticket_resolve(actor=seller_actor, ticket_id=ticket.pk, cause="Cache", solution="Cleared it")
        if status == S.COMPLETED:
            services.ticket_confirm(actor=buyer_actor, ticket_id=ticket.pk, rating=4)
    elif status == S.WITHDRAWN:
        services.ticket_withdraw(actor=buyer_actor, ticket_id=ticket.pk)
    ticket = reload(ticket)
    assert ticket.status == status
    return ticket


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def reception(seller_user):
    return take_tickets(seller_user)


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
def ticket(buyer_user, product, private_media):
    """Pending acceptance, with a PNG attached by the buyer."""
    return open_ticket(buyer_user, product, files=[png("login-error.png")])


@pytest.fixture
def attachment(ticket):
    return ticket.attachments.get()


def seller_detail(ticket) -> str:
    return f"/seller/tickets/{ticket.pk}/"


def buyer_detail(ticket) -> str:
    return f"/buyer/tickets/{ticket.pk}/"


# --- every page renders for its owner --------------------------------------------------------------


def test_the_sellers_list_detail_and_settings_render(seller_user, support_user, ticket, attachment):
    for user in (seller_user, support_user):
        client = as_user(user)

        response = client.get("/seller/tickets/")
        assert response.status_code == 200
        assert listed(response) == {ticket.number}
        assert response.context["counts"]["pending_acceptance"] == 1

        response = client.get(seller_detail(ticket))
        assert response.status_code == 200
        page = html(response)
        for text in (ticket.number, ticket.title, ticket.description, 'data-testid="accept"', 'data-testid="resolve"'):
            assert text in page
        assert f'href="/tickets/attachments/{attachment.pk}/"' in page and "login-error.png" in page
        assert 'data-testid="reply"' in page and 'data-testid="ask-feedback"' in page
        assert 'name="internal"' in page  # the seller may write internal notes

    response = as_user(seller_user).get("/seller/tickets/settings/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form["windows_0"].value() == "09:00-18:00" and form["windows_5"].value() == ""
    assert form["accepts_tickets"].value() is True and form["resolution_hours"].value() == 16
    assert 'name="windows_6"' in html(response)


def test_the_buyers_list_detail_and_open_page_render(buyer_user, product, ticket, attachment):
    client = as_user(buyer_user)

    response = client.get("/buyer/tickets/")
    assert response.status_code == 200
    assert listed(response) == {ticket.number}
    assert response.context["counts"]["open"] == 1

    response = client.get(buyer_detail(ticket))
    assert response.status_code == 200
    page = html(response)
    for text in (ticket.number, ticket.title, ticket.description, 'data-testid="withdraw"', 'data-testid="reply"'):
        assert text in page
    assert f'href="/tickets/attachments/{attachment.pk}/"' in page
    assert 'name="internal"' not in page
    assert 'data-testid="confirm"' not in page  # nothing to confirm yet

    response = client.get(f"/buyer/tickets/new/{product.pk}/")
    assert response.status_code == 200
    page = html(response)
    for name in ("category", "order", "title", "description", "files"):
        assert f'name="{name}"' in page
    assert 'data-testid="submit-ticket"' in page and 'enctype="multipart/form-data"' in page


def test_the_parties_download_an_attachment(buyer_user, seller_user, support_user, attachment):
    for user in (buyer_user, seller_user, support_user):
        response = as_user(user).get(f"/tickets/attachments/{attachment.pk}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG_BYTES
        assert response["Content-Type"] == "image/png"
        assert (
            response["Content-Disposition"].startswith("attachment")
            and "login-error.png" in response["Content-Disposition"]
        )
        assert response["X-Content-Type-Options"] == "nosniff"

    response = Client().get(f"/tickets/attachments/{attachment.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert as_user(buyer_user).get("/tickets/attachments/999999/").status_code == 404


def test_what_people_type_is_escaped_and_file_names_keep_their_characters(
    seller_user, buyer_user, product, private_media
):
    ticket = open_ticket(
        buyer_user,
        product,
        title="<script>alert(1)</script>",
        description="<img src=x onerror=alert(2)>",
        files=[png("截图 1.png")],
    )
    for client, url in ((as_user(seller_user), seller_detail(ticket)), (as_user(buyer_user), buyer_detail(ticket))):
        page = html(client.get(url))
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page
        assert "截图 1.png" in page
    page = html(as_user(seller_user).get("/seller/tickets/"))
    assert "<script>alert(1)</script>" not in page
    response = as_user(buyer_user).get(f"/tickets/attachments/{ticket.attachments.get().pk}/")
    assert response.status_code == 200
    assert "filename*=utf-8''%E6%88%AA%E5%9B%BE%201.png" in response["Content-Disposition"]


def test_the_dashboards_show_ticket_counts(seller_user, finance_user, buyer_user, product, ticket):
    open_ticket(buyer_user, product, title="Second")

    page = html(as_user(seller_user).get("/seller/"))
    assert re.search(r'data-testid="tickets-pending">\s*2\s*<', page)
    page = html(as_user(buyer_user).get("/buyer/"))
    assert re.search(r'data-testid="tickets-open">\s*2\s*<', page)
    # a role that does not handle tickets sees no ticket counts
    response = as_user(finance_user).get("/seller/")
    assert response.status_code == 200 and 'data-testid="tickets-pending"' not in html(response)


# --- the seller's actions --------------------------------------------------------------------------


def test_the_seller_handles_a_ticket_through_the_page(seller_user, support_user, buyer_user, ticket, private_media):
    client = as_user(seller_user)
    url = seller_detail(ticket)

    response = client.post(url, {"action": "accept"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert flashed(response)[0][0] == "success"
    ticket = reload(ticket)
    assert (ticket.status, ticket.assignee_id) == (S.PROCESSING, seller_user.pk)

    response = client.post(url, {"action": "assign", "assignee": support_user.pk})
    assert response.status_code == 302
    assert reload(ticket).assignee_id == support_user.pk

    response = client.post(url, {"action": "reply", "body": "Please clear the cache.", "files": [png("steps.png")]})
    assert response.status_code == 302
    reply = TicketMessage.objects.get(ticket=ticket, kind="reply")
    assert (reply.body, reply.side, reply.author_id) == ("Please clear the cache.", "seller", seller_user.pk)
    assert reply.attachments.get().name == "steps.png"

    response = client.post(url, {"action": "reply", "body": "Old plan customer", "internal": "on"})
    assert response.status_code == 302
    assert TicketMessage.objects.get(ticket=ticket, kind="internal").body == "Old plan customer"

    response = client.post(url, {"action": "feedback", "body": "Which browser do you use?"})
    assert response.status_code == 302
    assert reload(ticket).status == S.AWAITING_FEEDBACK

    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "reply", "body": "Firefox"})
    assert response.status_code == 302
    assert reload(ticket).status == S.PROCESSING

    response = client.post(url, {"action": "resolve", "cause": "Stale cache", "solution": "Cleared it"}, follow=True)
    assert response.status_code == 200
    ticket = reload(ticket)
    assert (ticket.status, ticket.cause, ticket.solution) == (S.PENDING_CONFIRMATION, "Stale cache", "Cleared it")
    page = html(response)
    assert 'data-testid="resolve"' not in page and 'data-testid="reply"' not in page
    assert "Stale cache" in page
    assert [e.to_status for e in ticket.events.all() if e.moved] == [
        S.PENDING_ACCEPTANCE,
        S.PROCESSING,
        S.AWAITING_FEEDBACK,
        S.PROCESSING,
        S.PENDING_CONFIRMATION,
    ]


def test_resolving_without_a_cause_re_renders_the_form_with_the_error(seller_user, ticket):
    before = snapshot(ticket)

    response = as_user(seller_user).post(seller_detail(ticket), {"action": "resolve", "solution": "Restarted it"})

    assert response.status_code == 200
    form = response.context["resolve_form"]
    assert list(form.errors) == ["cause"]
    page = html(response)
    assert "has-error" in page and "Restarted it" in page  # what was typed is kept
    assert snapshot(ticket) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({"body": "See the file", "files": "BAD"}, "files"),
        ({"body": "Many files", "files": "SIX"}, "files"),
    ],
)
def test_a_refused_reply_shows_the_error_on_the_reply_form(seller_user, ticket, private_media, data, field):
    if data.get("files") == "BAD":
        data["files"] = [not_a_png()]
    elif data.get("files") == "SIX":
        data["files"] = [png(f"s{n}.png") for n in range(6)]
    before = snapshot(ticket)

    response = as_user(seller_user).post(seller_detail(ticket), {"action": "reply", **data})

    assert response.status_code == 200
    assert field in response.context["reply_form"].errors
    assert snapshot(ticket) == before


def test_asking_for_feedback_with_an_internal_note_or_files_is_refused_on_the_form(seller_user, buyer_user, ticket):
    """The body of an internal note must not reach the customer, and no file is silently dropped."""
    before = snapshot(ticket)
    client = as_user(seller_user)

    response = client.post(
        seller_detail(ticket), {"action": "feedback", "body": "SECRET-NOTE-1 not for the customer", "internal": "on"}
    )
    assert response.status_code == 200
    assert response.context["reply_form"].errors
    response = client.post(seller_detail(ticket), {"action": "feedback", "body": "See this", "files": [png()]})
    assert response.status_code == 200
    assert "files" in response.context["reply_form"].errors

    assert snapshot(ticket) == before
    assert "SECRET-NOTE-1" not in html(as_user(buyer_user).get(buyer_detail(ticket)))


def test_refused_state_changes_come_back_as_a_message(seller_user, finance_user, ticket):
    client = as_user(seller_user, english=True)
    client.post(seller_detail(ticket), {"action": "accept"}, follow=True)
    before = snapshot(ticket)

    response = client.post(seller_detail(ticket), {"action": "accept"}, follow=True)
    assert response.redirect_chain == [(seller_detail(ticket), 302)]
    assert [level for level, _text in flashed(response)] == ["error"]

    # someone who does not handle tickets cannot be given one
    response = client.post(seller_detail(ticket), {"action": "assign", "assignee": finance_user.pk}, follow=True)
    assert flashed(response) == [("error", "No such colleague.")]
    response = client.post(seller_detail(ticket), {"action": "assign", "assignee": "abc"}, follow=True)
    assert flashed(response) == [("error", "No such colleague.")]

    response = client.post(seller_detail(ticket), {"action": "explode"})
    assert response.status_code == 200 and [level for level, _t in flashed(response)] == ["error"]
    assert snapshot(ticket) == before


def test_a_state_error_on_a_form_that_is_no_longer_shown_is_a_message(seller_user, buyer_user, ticket):
    """Two tabs: the ticket was completed meanwhile; the refusal must be visible."""
    ticket = in_state(ticket, S.COMPLETED, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)

    response = as_user(seller_user).post(
        seller_detail(ticket), {"action": "resolve", "cause": "a", "solution": "b"}, follow=True
    )
    assert response.status_code == 200
    assert [level for level, _t in flashed(response)] == ["error"]
    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "reply", "body": "Hello?"}, follow=True)
    assert response.status_code == 200
    assert [level for level, _t in flashed(response)] == ["error"]
    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "confirm", "rating": "5"}, follow=True)
    assert [level for level, _t in flashed(response)] == ["error"]
    assert snapshot(ticket) == before


# --- reception settings ----------------------------------------------------------------------------


def settings_form(**overrides) -> dict:
    data = {
        "accepts_tickets": "on",
        "observe_public_holidays": "on",
        "first_response_hours": "4",
        "resolution_hours": "24",
        "closed_dates": "2026-12-31\n2027-01-04",
        **{f"windows_{d}": "09:00-12:00, 13:00-18:00" for d in range(5)},
        "windows_5": "",
        "windows_6": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_reception_settings_are_saved_through_the_page(seller_user):
    client = as_user(seller_user)

    response = client.post("/seller/tickets/settings/", settings_form(windows_5="10:00-14:00"), follow=True)

    assert response.redirect_chain == [("/seller/tickets/settings/", 302)]
    assert flashed(response)[0][0] == "success"
    reception = ReceptionSettings.objects.get(seller=seller_user.seller_membership.seller)
    assert reception.accepts_tickets and reception.resolution_hours == 24
    assert [(w.weekday, w.start, w.end) for w in reception.windows.all()][:2] == [
        (0, time(9), time(12)),
        (0, time(13), time(18)),
    ]
    assert reception.windows.filter(weekday=5).get().start == time(10)
    assert [str(c) for c in reception.closed_dates.all()] == ["2026-12-31", "2027-01-04"]
    # shown again as typed
    assert response.context["form"]["windows_0"].value() == "09:00-12:00, 13:00-18:00"


def test_fewer_than_40_hours_a_week_re_render_saying_how_much_is_missing(seller_user, reception):
    """Monday to Friday 09:00-16:30 is 37 h 30 min: 2 h 30 min short."""
    before = [(w.weekday, w.start, w.end) for w in reception.windows.all()]
    client = as_user(seller_user, english=True)

    response = client.post(
        "/seller/tickets/settings/", settings_form(**{f"windows_{d}": "09:00-16:30" for d in range(5)})
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "37 h 30 min" in errors[0] and "2 h 30 min short" in errors[0]
    assert "2 h 30 min short" in html(response)
    reception.refresh_from_db()
    assert [(w.weekday, w.start, w.end) for w in reception.windows.all()] == before
    assert reception.resolution_hours == 16


def test_fewer_than_40_hours_a_week_are_refused_in_chinese_too(seller_user):
    response = as_user(seller_user).post(
        "/seller/tickets/settings/", settings_form(**{f"windows_{d}": "09:00-16:30" for d in range(5)})
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not ReceptionSettings.objects.exists()


@pytest.mark.parametrize("text", ["9-", "9:00", "09:00-25:00", "nine-five", "12:00-09:00"])
def test_a_bad_window_is_an_error_and_nothing_is_saved(seller_user, text):
    response = as_user(seller_user).post("/seller/tickets/settings/", settings_form(windows_0=text))

    assert response.status_code == 200
    form = response.context["form"]
    if text == "12:00-09:00":  # well-formed, but ends before it starts: the service says so
        assert form.non_field_errors()
    else:
        assert "windows_0" in form.errors
        assert "has-error" in html(response) or 'class="errors"' in html(response)
    assert not ReceptionSettings.objects.exists()


def test_other_bad_settings_are_field_errors(seller_user):
    client = as_user(seller_user)
    response = client.post("/seller/tickets/settings/", settings_form(closed_dates="2026-13-40"))
    assert response.status_code == 200 and "closed_dates" in response.context["form"].errors
    response = client.post("/seller/tickets/settings/", settings_form(first_response_hours="30", resolution_hours="8"))
    assert response.status_code == 200 and "first_response_hours" in response.context["form"].errors
    response = client.post("/seller/tickets/settings/", settings_form(resolution_hours=None))
    assert response.status_code == 200 and "resolution_hours" in response.context["form"].errors
    assert not ReceptionSettings.objects.exists()


def test_support_staff_see_the_settings_but_only_administrators_change_them(support_user, reception):
    client = as_user(support_user)
    assert client.get("/seller/tickets/settings/").status_code == 200

    response = client.post("/seller/tickets/settings/", settings_form(accepts_tickets=None))

    assert response.status_code == 200 and response.context["form"].non_field_errors()
    reception.refresh_from_db()
    assert reception.accepts_tickets


def test_the_seller_stops_taking_tickets(seller_user, product):
    response = as_user(seller_user).post(
        "/seller/tickets/settings/", settings_form(accepts_tickets=None, **{f"windows_{d}": "" for d in range(5)})
    )
    assert response.status_code == 302
    assert not ReceptionSettings.objects.get().accepts_tickets
    assert 'data-testid="submit-ticket-link"' not in html(Client().get(f"/products/{product.pk}/"))


# --- the buyer's actions ---------------------------------------------------------------------------


def test_the_buyer_opens_a_ticket_with_an_attachment_through_the_page(
    buyer_user, seller_user, product, plan, private_media
):
    from marketplace.orders import services as order_services

    order = order_services.order_create(actor=fresh(buyer_user), plan_id=plan.pk)
    client = as_user(buyer_user)
    page = html(client.get(f"/buyer/tickets/new/{product.pk}/?category=billing"))
    assert f'value="{order.pk}"' in page  # the buyer's orders of the product are offered

    response = client.post(
        f"/buyer/tickets/new/{product.pk}/",
        {
            "category": "billing",
            "order": order.pk,
            "title": "Invoice missing",
            "description": "No invoice for my order.",
            "files": [png("invoice.png")],
        },
        follow=True,
    )

    ticket = Ticket.objects.get()
    assert response.redirect_chain == [(buyer_detail(ticket), 302)]
    assert flashed(response)[0][0] == "success" and ticket.number in flashed(response)[0][1]
    assert (ticket.buyer_id, ticket.opened_by_id, ticket.order_id, ticket.category, ticket.status) == (
        buyer_user.buyer_membership.buyer_id,
        buyer_user.pk,
        order.pk,
        "billing",
        S.PENDING_ACCEPTANCE,
    )
    assert ticket.attachments.get().name == "invoice.png"
    assert "invoice.png" in html(response)
    assert Notification.objects.filter(user=seller_user).count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"category": "nonsense"}, "category"),
        ({"order": "999999"}, "order"),
        ({"files": "BAD"}, "files"),
    ],
)
def test_a_refused_ticket_shows_the_errors_on_the_form(buyer_user, product, private_media, data, field):
    if data.get("files") == "BAD":
        data["files"] = [not_a_png()]
    form = {"category": "fault", "title": "Broken", "description": "It is broken", **data}

    response = as_user(buyer_user).post(f"/buyer/tickets/new/{product.pk}/", form)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "Broken" in html(response) or field == "title"  # what was typed is kept
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()


def test_an_order_of_another_buyer_is_refused(buyer_user, other_buyer_user, product, plan):
    from marketplace.orders import services as order_services

    theirs = order_services.order_create(actor=fresh(other_buyer_user), plan_id=plan.pk)
    form = {"category": "fault", "title": "Broken", "description": "It is broken", "order": theirs.pk}
    response = as_user(buyer_user).post(f"/buyer/tickets/new/{product.pk}/", form)
    assert response.status_code == 200 and "order" in response.context["form"].errors
    assert f'value="{theirs.pk}"' not in html(response)
    assert not Ticket.objects.exists()


def test_a_seller_that_does_not_take_tickets_has_no_form(buyer_user, published_product):
    url = f"/buyer/tickets/new/{published_product.pk}/"
    response = as_user(buyer_user).get(url)
    assert response.status_code == 200 and 'data-testid="submit-ticket"' not in html(response)

    response = as_user(buyer_user).post(url, {"category": "fault", "title": "Hello", "description": "Anyone?"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert not Ticket.objects.exists()


def test_the_open_page_of_a_draft_or_missing_product_is_not_found(buyer_user, seller, reception):
    draft = ProductFactory(seller=seller, status="draft", name_en="Secret unreleased thing")
    client = as_user(buyer_user, english=True)
    response = client.get(f"/buyer/tickets/new/{draft.pk}/")
    assert response.status_code == 404 and "Secret unreleased thing" not in html(response)
    response = client.post(f"/buyer/tickets/new/{draft.pk}/", {"category": "fault", "title": "x", "description": "y"})
    assert response.status_code == 404
    assert client.get("/buyer/tickets/new/999999/").status_code == 404
    assert not Ticket.objects.exists()


def test_the_buyer_confirms_with_a_rating(seller_user, buyer_user, ticket):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    client = as_user(buyer_user)
    page = html(client.get(buyer_detail(ticket)))
    assert 'data-testid="confirm"' in page and 'data-testid="reject"' in page and "Cleared it" in page
    assert 'data-testid="withdraw"' not in page  # not once the seller asked for confirmation

    response = client.post(buyer_detail(ticket), {"action": "confirm", "rating": "5", "comment": "Quick"}, follow=True)

    assert response.redirect_chain == [(buyer_detail(ticket), 302)]
    ticket = reload(ticket)
    assert (ticket.status, ticket.rating, ticket.rating_comment) == (S.COMPLETED, 5, "Quick")
    assert ticket.closed_at is not None
    page = html(response)
    assert 'title="5/5"' in page and "★★★★★" in page
    assert 'data-testid="confirm"' not in page and 'data-testid="reply"' not in page


def test_a_bad_rating_is_a_form_error(seller_user, buyer_user, ticket):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "confirm", "rating": "9"})
    assert response.status_code == 200 and "rating" in response.context["confirm_form"].errors
    assert snapshot(ticket) == before


def test_the_buyer_rejects_the_resolution_with_a_reason(seller_user, buyer_user, ticket):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    client = as_user(buyer_user)
    before = snapshot(ticket)

    response = client.post(buyer_detail(ticket), {"action": "reject", "reason": "  "})
    assert response.status_code == 200 and "reason" in response.context["reject_form"].errors
    assert snapshot(ticket) == before

    response = client.post(buyer_detail(ticket), {"action": "reject", "reason": "Still failing"})
    assert response.status_code == 302
    ticket = reload(ticket)
    assert ticket.status == S.PROCESSING and ticket.resolved_at is None
    assert TicketMessage.objects.get(ticket=ticket, kind="rejection").body == "Still failing"


def test_the_buyer_withdraws_a_ticket(buyer_user, seller_user, ticket):
    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "withdraw", "reason": "Found it"})
    assert response.status_code == 302
    ticket = reload(ticket)
    assert ticket.status == S.WITHDRAWN and ticket.closed_at is not None
    assert ticket.events.get(to_status=S.WITHDRAWN).message == "Found it"
    page = html(as_user(buyer_user).get(buyer_detail(ticket)))
    assert page.count("Found it") == 1  # the timeline shows the reason once
    assert 'data-testid="withdraw"' not in page and 'data-testid="reply"' not in page
    # the seller's page offers no more actions either
    page = html(as_user(seller_user).get(seller_detail(ticket)))
    assert 'data-testid="accept"' not in page and 'data-testid="resolve"' not in page


def test_the_buyer_replies_with_a_file(buyer_user, ticket, private_media):
    response = as_user(buyer_user).post(
        buyer_detail(ticket), {"action": "reply", "body": "More detail", "files": [png("more.png")]}
    )
    assert response.status_code == 302
    message = TicketMessage.objects.get(ticket=ticket)
    assert (message.side, message.body, message.attachments.get().name) == ("buyer", "More detail", "more.png")

    before = snapshot(ticket)
    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "reply", "body": ""})
    assert response.status_code == 200 and "body" in response.context["reply_form"].errors
    # a buyer cannot write an internal note, whatever the form says
    response = as_user(buyer_user).post(buyer_detail(ticket), {"action": "reply", "body": "Hi", "internal": "on"})
    assert response.status_code == 302
    assert TicketMessage.objects.filter(ticket=ticket, kind="internal").count() == 0
    assert snapshot(ticket)["messages"] == before["messages"] + 1


# --- isolation -------------------------------------------------------------------------------------

SELLER_ACTIONS = {
    "accept": {},
    "assign": {"assignee": "SUPPORT"},
    "reply": {"body": "Hello from elsewhere"},
    "feedback": {"body": "Tell me more"},
    "resolve": {"cause": "x", "solution": "y"},
}


@pytest.fixture
def outsiders(other_buyer_user, other_seller_user, finance_user, buyer_user, seller_user):
    return {
        "other_buyer": other_buyer_user,
        "other_seller": other_seller_user,
        "finance": finance_user,
        "buyer": buyer_user,
        "seller": seller_user,
    }


@pytest.mark.parametrize(
    ("who", "refused"), [("other_seller", 404), ("finance", 403), ("other_buyer", 302), ("buyer", 302)]
)
def test_outsiders_cannot_open_or_act_on_the_sellers_ticket(outsiders, ticket, support_user, who, refused):
    client = as_user(outsiders[who])
    before = snapshot(ticket)

    response = client.get("/seller/tickets/")
    if refused == 404:  # another seller: its own (empty) list
        assert response.status_code == 200 and listed(response) == set()
        assert ticket.number not in html(response)
        assert response.context["counts"]["open"] == 0
    else:
        assert response.status_code == refused
    response = client.get(seller_detail(ticket))
    assert response.status_code == refused and ticket.title not in html(response)
    if refused == 403:
        assert "portal/forbidden.html" in [t.name for t in response.templates]
    for action, data in SELLER_ACTIONS.items():
        data = {k: (support_user.pk if v == "SUPPORT" else v) for k, v in data.items()}
        response = client.post(seller_detail(ticket), {"action": action, **data})
        assert response.status_code == refused, action
    assert client.get("/seller/tickets/?q=" + ticket.number).status_code in (200, refused)
    assert snapshot(ticket) == before


def test_a_finance_user_is_refused_every_seller_ticket_page(finance_user, ticket):
    client = as_user(finance_user)
    for url in ("/seller/tickets/", "/seller/tickets/settings/", seller_detail(ticket)):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "portal/forbidden.html" in [t.name for t in response.templates]
    response = client.post("/seller/tickets/settings/", settings_form(accepts_tickets=None))
    assert response.status_code == 403
    assert ReceptionSettings.objects.get().accepts_tickets


BUYER_ACTIONS = [
    ("reply", S.PROCESSING, {"body": "Hello from elsewhere"}),
    ("withdraw", S.PROCESSING, {"reason": ""}),
    ("confirm", S.PENDING_CONFIRMATION, {"rating": "1"}),
    ("reject", S.PENDING_CONFIRMATION, {"reason": "No"}),
]


@pytest.mark.parametrize(
    ("who", "refused"), [("other_buyer", 404), ("other_seller", 403), ("finance", 403), ("seller", 403)]
)
@pytest.mark.parametrize(("action", "status", "data"), BUYER_ACTIONS, ids=[a[0] for a in BUYER_ACTIONS])
def test_outsiders_cannot_open_or_act_on_the_buyers_ticket(
    outsiders, seller_user, buyer_user, ticket, who, refused, action, status, data
):
    ticket = in_state(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    client = as_user(outsiders[who])
    before = snapshot(ticket)

    response = client.get("/buyer/tickets/")
    if refused == 404:
        assert response.status_code == 200 and listed(response) == set()
        assert response.context["counts"]["open"] == 0
    else:
        assert response.status_code == 403
    response = client.get(buyer_detail(ticket))
    assert response.status_code == refused and ticket.title not in html(response)
    response = client.post(buyer_detail(ticket), {"action": action, **data})
    assert response.status_code == refused
    assert snapshot(ticket) == before


@pytest.mark.parametrize("who", ["other_buyer", "other_seller", "finance"])
def test_outsiders_cannot_download_an_attachment(outsiders, attachment, who):
    response = as_user(outsiders[who]).get(f"/tickets/attachments/{attachment.pk}/")
    assert response.status_code == 404
    assert PNG_BYTES not in response.content


def test_ids_that_are_not_numbers_or_do_not_exist_are_not_found(seller_user, buyer_user, ticket):
    assert as_user(seller_user).get("/seller/tickets/999999/").status_code == 404
    assert as_user(buyer_user).get("/buyer/tickets/999999/").status_code == 404
    assert as_user(buyer_user).get("/buyer/tickets/abc/").status_code == 404
    assert as_user(seller_user).post("/seller/tickets/999999/", {"action": "accept"}).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(ticket, product):
    client = Client()
    for url in (
        "/seller/tickets/",
        "/seller/tickets/settings/",
        seller_detail(ticket),
        "/buyer/tickets/",
        buyer_detail(ticket),
        f"/buyer/tickets/new/{product.pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    before = snapshot(ticket)
    assert client.post(seller_detail(ticket), {"action": "accept"}).status_code == 302
    assert client.post(buyer_detail(ticket), {"action": "withdraw"}).status_code == 302
    assert snapshot(ticket) == before


# --- an enterprise tenant --------------------------------------------------------------------------


@pytest.fixture
def tenant_users(db):
    admin = UserFactory(name="Tenant admin")
    tenant = EnterpriseFactory(member=admin)
    plain = UserFactory(name="Plain user")
    BuyerMembership.objects.create(
        buyer=tenant, user=plain, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
    )
    colleague = UserFactory(name="Colleague")
    BuyerMembership.objects.create(
        buyer=tenant, user=colleague, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
    )
    return admin, plain, colleague


def test_a_plain_tenant_user_sees_only_their_tickets_and_the_admin_sees_all(tenant_users, product, private_media):
    admin, plain, colleague = tenant_users
    own = open_ticket(plain, product, title="Mine", files=[png("mine.png")])
    admins = open_ticket(admin, product, title="The admin's", files=[png("admins.png")])
    colleagues = open_ticket(colleague, product, title="A colleague's")

    client = as_user(plain)
    assert listed(client.get("/buyer/tickets/")) == {own.number}
    assert client.get("/buyer/tickets/").context["counts"]["open"] == 1
    assert client.get(buyer_detail(own)).status_code == 200
    for other in (admins, colleagues):
        before = snapshot(other)
        assert client.get(buyer_detail(other)).status_code == 404
        assert client.post(buyer_detail(other), {"action": "reply", "body": "Me too"}).status_code == 404
        assert client.post(buyer_detail(other), {"action": "withdraw"}).status_code == 404
        assert snapshot(other) == before
    assert client.get(f"/tickets/attachments/{admins.attachments.get().pk}/").status_code == 404
    assert client.get(f"/tickets/attachments/{own.attachments.get().pk}/").status_code == 200
    page = html(as_user(plain).get("/buyer/"))
    assert re.search(r'data-testid="tickets-open">\s*1\s*<', page)

    client = as_user(admin)
    assert listed(client.get("/buyer/tickets/")) == {own.number, admins.number, colleagues.number}
    assert client.get(buyer_detail(own)).status_code == 200
    assert client.get(f"/tickets/attachments/{own.attachments.get().pk}/").status_code == 200
    response = client.post(buyer_detail(colleagues), {"action": "reply", "body": "Adding detail"})
    assert response.status_code == 302
    assert TicketMessage.objects.get(ticket=colleagues).author_id == admin.pk


# --- internal notes --------------------------------------------------------------------------------


def test_internal_notes_are_never_in_the_buyers_html(seller_user, buyer_user, ticket, private_media):
    seller = as_user(seller_user)
    seller.post(
        seller_detail(ticket),
        {"action": "reply", "body": "SECRET-NOTE-42 refund risk", "internal": "on", "files": [png("secret-note.png")]},
    )
    seller.post(seller_detail(ticket), {"action": "reply", "body": "Public answer"})
    note = TicketMessage.objects.get(ticket=ticket, kind="internal")
    secret = note.attachments.get()

    page = html(seller.get(seller_detail(ticket)))
    assert "SECRET-NOTE-42" in page and "secret-note.png" in page

    buyer = as_user(buyer_user)
    for url in (buyer_detail(ticket), "/buyer/tickets/", "/buyer/", "/notifications/"):
        response = buyer.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert "SECRET-NOTE-42" not in page and "secret-note.png" not in page, url
        assert f"/tickets/attachments/{secret.pk}/" not in page, url
    assert "Public answer" in html(buyer.get(buyer_detail(ticket)))
    assert buyer.get(f"/tickets/attachments/{secret.pk}/").status_code == 404
    assert seller.get(f"/tickets/attachments/{secret.pk}/").status_code == 200


# --- the product page ------------------------------------------------------------------------------


def test_the_product_page_shows_submit_ticket_only_when_the_seller_takes_tickets(
    seller_user, buyer_user, published_product, other_seller
):
    url = f"/products/{published_product.pk}/"
    link = f'href="/buyer/tickets/new/{published_product.pk}/" data-testid="submit-ticket-link"'
    assert 'data-testid="submit-ticket-link"' not in html(as_user(buyer_user).get(url))  # no settings yet

    take_tickets(seller_user)
    assert link in html(as_user(buyer_user).get(url))
    assert link in html(Client().get(url))
    # another seller taking tickets changes nothing for this product
    elsewhere = ProductFactory(seller=other_seller, status="published")
    PlanFactory(product=elsewhere)
    assert 'data-testid="submit-ticket-link"' not in html(Client().get(f"/products/{elsewhere.pk}/"))

    services.reception_update(actor=fresh(seller_user), accepts_tickets=False, windows=WEEKDAYS_9_18)
    assert 'data-testid="submit-ticket-link"' not in html(as_user(buyer_user).get(url))


# --- reception hours -------------------------------------------------------------------------------


def test_outside_reception_hours_the_open_page_says_when_the_seller_is_next_available(buyer_user, product):
    with time_machine.travel(datetime(2026, 3, 7, 20, 30, tzinfo=BJ), tick=False):  # a Saturday evening
        response = as_user(buyer_user).get(f"/buyer/tickets/new/{product.pk}/")
        assert response.status_code == 200
        assert response.context["availability"]["open_now"] is False
        notice = re.search(r'data-testid="next-available">(.*?)</div>', html(response), re.S)
        assert notice and "2026-03-09 09:00" in notice.group(1)  # Monday morning, Beijing time
        assert 'data-testid="submit-ticket"' in html(response)  # a ticket may still be opened

        response = as_user(buyer_user, english=True).get(f"/buyer/tickets/new/{product.pk}/")
        assert "will be handled from 2026-03-09 09:00 (Beijing time)" in html(response)

    with time_machine.travel(datetime(2026, 3, 9, 10, 0, tzinfo=BJ), tick=False):  # Monday morning
        response = as_user(buyer_user).get(f"/buyer/tickets/new/{product.pk}/")
        assert response.context["availability"]["open_now"] is True
        assert 'data-testid="next-available"' not in html(response)


def test_the_settings_page_shows_the_next_reception_time(seller_user, reception):
    with time_machine.travel(datetime(2026, 3, 7, 20, 30, tzinfo=BJ), tick=False):
        response = as_user(seller_user).get("/seller/tickets/settings/")
        assert response.status_code == 200 and "2026-03-09 09:00" in html(response)


# --- the seller's list: filters, pagination, query counts -------------------------------------------


@pytest.fixture
def many(seller, seller_user, support_user, buyer_user, other_buyer_user, product, other_seller_user):
    """Four tickets of the seller on two products, in different states, and one of another seller."""
    second = ProductFactory(seller=seller, status="published")
    login = open_ticket(buyer_user, product, title="Login fails")
    invoice = open_ticket(other_buyer_user, second, title="Invoice missing", category="billing")
    services.ticket_assign(actor=fresh(seller_user), ticket_id=invoice.pk, assignee_id=support_user.pk)
    services.ticket_accept(actor=fresh(support_user), ticket_id=invoice.pk)
    slow = open_ticket(buyer_user, product, title="Slow dashboard")
    in_state(slow, S.COMPLETED, seller_actor=seller_user, buyer_actor=buyer_user)
    late = open_ticket(buyer_user, second, title="Late one")
    Ticket.objects.filter(pk=late.pk).update(first_response_due_at=timezone.now() - timedelta(hours=1))

    take_tickets(other_seller_user)
    elsewhere = ProductFactory(seller=other_seller_user.seller_membership.seller, status="published")
    theirs = open_ticket(buyer_user, elsewhere, title="Login fails elsewhere")
    return {"second": second, "login": login, "invoice": invoice, "slow": slow, "late": late, "theirs": theirs}


def test_the_sellers_list_filters(seller_user, support_user, many):
    client = as_user(seller_user)
    n = {key: t.number for key, t in many.items() if isinstance(t, Ticket)}

    def numbers(query):
        response = client.get("/seller/tickets/" + query)
        assert response.status_code == 200, query
        return listed(response)

    assert numbers("") == {n["login"], n["invoice"], n["slow"], n["late"]}
    assert numbers("?status=pending_acceptance") == {n["login"], n["late"]}
    assert numbers("?status=processing") == {n["invoice"]}
    assert numbers("?status=completed") == {n["slow"]}
    assert numbers("?status=open") == {n["login"], n["invoice"], n["late"]}
    assert numbers(f"?product={many['second'].pk}") == {n["invoice"], n["late"]}
    assert numbers("?overdue=on") == {n["late"]}
    assert numbers("?q=login") == {n["login"]}  # not the other seller's "Login fails elsewhere"
    assert numbers("?q=" + n["slow"]) == {n["slow"]}
    assert numbers("?q=" + n["theirs"]) == set()
    assert numbers(f"?status=pending_acceptance&product={many['second'].pk}") == {n["late"]}
    assert numbers("?mine=on") == {n["slow"]}  # the administrator accepted it, so handles it
    assert as_user(support_user).get("/seller/tickets/?mine=on").context["page"].object_list[0].number == n["invoice"]
    assert listed(as_user(support_user).get("/seller/tickets/?mine=on")) == {n["invoice"]}

    response = client.get("/seller/tickets/")
    counts = response.context["counts"]
    assert (counts["open"], counts["overdue"], counts["pending_acceptance"], counts["completed"]) == (3, 1, 2, 1)
    assert 'data-testid="overdue-chip"' in html(response)
    # the overdue ticket is flagged in its row
    assert [t.number for t in response.context["page"] if t.overdue] == [n["late"]]


def test_the_buyers_list_filters(buyer_user, many):
    client = as_user(buyer_user)
    n = {key: t.number for key, t in many.items() if isinstance(t, Ticket)}
    assert listed(client.get("/buyer/tickets/")) == {n["login"], n["slow"], n["late"], n["theirs"]}
    assert listed(client.get("/buyer/tickets/?status=completed")) == {n["slow"]}
    assert listed(client.get(f"/buyer/tickets/?product={many['second'].pk}")) == {n["late"]}
    assert listed(client.get("/buyer/tickets/?q=login")) == {n["login"], n["theirs"]}


def open_many(count: int, buyer_user, products, support_user=None) -> list[Ticket]:
    tickets = []
    for i in range(count):
        ticket = open_ticket(buyer_user, products[i % len(products)], title=f"Question {i:02d}")
        if support_user is not None and i % 3 == 0:
            services.ticket_accept(actor=fresh(support_user), ticket_id=ticket.pk)
        tickets.append(ticket)
    return tickets


def test_the_sellers_list_is_paginated_keeping_the_filters(seller_user, buyer_user, product):
    tickets = open_many(25, buyer_user, [product])
    client = as_user(seller_user)

    first = client.get("/seller/tickets/")
    assert len(listed(first)) == 20
    assert 'href="?page=2"' in html(first)
    second = client.get("/seller/tickets/?page=2")
    assert len(listed(second)) == 5
    assert listed(first) | listed(second) == {t.number for t in tickets}
    assert listed(client.get("/seller/tickets/?page=99")) == listed(second)  # past the end: the last page
    assert listed(client.get("/seller/tickets/?page=abc")) == listed(first)

    filtered = client.get("/seller/tickets/?status=pending_acceptance&page=1")
    assert 'href="?status=pending_acceptance&amp;page=2"' in html(filtered)
    newest = max(tickets, key=lambda t: (t.created_at, t.pk))
    assert first.context["page"][0].number == newest.number  # newest first


def test_the_buyers_list_is_paginated(buyer_user, product):
    tickets = open_many(23, buyer_user, [product])
    client = as_user(buyer_user)
    assert len(listed(client.get("/buyer/tickets/"))) == 20
    assert len(listed(client.get("/buyer/tickets/?page=2"))) == 3
    assert 'href="?status=open&amp;page=2"' in html(client.get("/buyer/tickets/?status=open"))
    assert len(tickets) == 23


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/seller/tickets/", "/seller/tickets/?status=open&overdue=on&q=Q"])
def test_the_sellers_list_makes_the_same_queries_with_3_and_25_tickets(
    seller, seller_user, support_user, buyer_user, other_buyer_user, product, path
):
    products = [product, ProductFactory(seller=seller, status="published")]
    client = as_user(seller_user)
    open_many(3, buyer_user, products, support_user)
    Ticket.objects.update(first_response_due_at=timezone.now() - timedelta(hours=1))
    few = count_queries(client, path)
    open_many(11, buyer_user, products, support_user)
    open_many(11, other_buyer_user, products, support_user)
    Ticket.objects.update(first_response_due_at=timezone.now() - timedelta(hours=1))
    assert Ticket.objects.count() == 25
    many = count_queries(client, path)
    assert many == few, f"{path}: {few} queries with 3 tickets, {many} with 25"
    assert few <= 16


def test_the_buyers_list_makes_the_same_queries_with_3_and_25_tickets(
    seller, seller_user, other_seller_user, buyer_user, product
):
    take_tickets(other_seller_user)
    products = [
        product,
        ProductFactory(seller=seller, status="published"),
        ProductFactory(seller=other_seller_user.seller_membership.seller, status="published"),
    ]
    client = as_user(buyer_user)
    open_many(3, buyer_user, products)
    few = count_queries(client, "/buyer/tickets/")
    open_many(22, buyer_user, products)
    many = count_queries(client, "/buyer/tickets/")
    assert many == few, f"{few} queries with 3 tickets, {many} with 25"
    assert few <= 16


def test_the_detail_pages_make_the_same_queries_however_long_the_conversation(seller_user, buyer_user, ticket):
    seller, buyer = as_user(seller_user), as_user(buyer_user)
    seller.post(seller_detail(ticket), {"action": "reply", "body": "One"})
    few = (count_queries(seller, seller_detail(ticket)), count_queries(buyer, buyer_detail(ticket)))
    for i in range(6):
        seller.post(
            seller_detail(ticket), {"action": "reply", "body": f"Seller {i}", "internal": "on" if i % 2 else ""}
        )
        buyer.post(buyer_detail(ticket), {"action": "reply", "body": f"Buyer {i}"})
    many = (count_queries(seller, seller_detail(ticket)), count_queries(buyer, buyer_detail(ticket)))
    assert many == few


# --- CSRF ------------------------------------------------------------------------------------------


def test_every_post_form_carries_the_csrf_token(seller_user, buyer_user, product, ticket):
    seller, buyer = as_user(seller_user), as_user(buyer_user)
    pages = {
        "seller detail": seller.get(seller_detail(ticket)),
        "settings": seller.get("/seller/tickets/settings/"),
        "buyer detail": buyer.get(buyer_detail(ticket)),
        "open": buyer.get(f"/buyer/tickets/new/{product.pk}/"),
    }
    in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    pages["buyer confirm"] = buyer.get(buyer_detail(ticket))
    expected_actions = {
        "seller detail": {"accept", "assign", "reply", "resolve"},
        "buyer detail": {"withdraw", "reply"},
        "buyer confirm": {"confirm", "reject"},
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        forms = post_forms(html(response))
        assert forms, name
        for form in forms:
            assert 'name="csrfmiddlewaretoken"' in form, (name, form[:120])
        actions = {a for f in forms for a in re.findall(r'name="action" value="(\w+)"', f)}
        assert expected_actions.get(name, set()) <= actions, (name, actions)


def test_a_post_without_the_csrf_token_is_refused(seller_user, buyer_user, ticket):
    before = snapshot(ticket)
    seller = as_user(seller_user, enforce_csrf_checks=True)
    assert seller.post(seller_detail(ticket), {"action": "accept"}).status_code == 403
    assert seller.post("/seller/tickets/settings/", settings_form(accepts_tickets=None)).status_code == 403
    buyer = as_user(buyer_user, enforce_csrf_checks=True)
    assert buyer.post(buyer_detail(ticket), {"action": "withdraw"}).status_code == 403
    assert snapshot(ticket) == before
    assert ReceptionSettings.objects.get().accepts_tickets
