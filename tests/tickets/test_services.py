"""Ticket services: reception settings, opening, every transition and every refused one, the SLA
clock on the seller's calendar, tenant visibility, attachments, auto-completion, overdue lists and
operations stepping in (DOMAIN.md section 7, issue 6).

Dates are in March 2026 (no public holiday in China): Friday 6, Monday 9, Tuesday 10, Wednesday 11.
The standard seller receives Monday to Friday 09:00-18:00 (45 h a week), first response within 4
reception hours, resolution within 16.
"""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from marketplace.accounts.models import BuyerMembership, User
from marketplace.core.errors import InvalidTransition, NotAllowed, NotFound, ServiceError, ValidationFailed
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from tests.factories import (
    PDF_BYTES,
    PNG_BYTES,
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
    bj,
    fresh,
    seller_member,
)
from tickets import selectors, services, tasks
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


FRI = (2026, 3, 6)
MON = (2026, 3, 9)
TUE = (2026, 3, 10)
WED = (2026, 3, 11)

WEEKDAYS_9_18 = [(d, time(9), time(18)) for d in range(5)]
WEEKDAYS_9_17 = [(d, time(9), time(17)) for d in range(5)]


def png_upload(name: str = "screen.png", content: bytes = PNG_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def pdf_file(name: str = "log.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def staff_with(*codenames: str) -> User:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames))
    return fresh(user)


def plain_tenant_user(tenant) -> User:
    user = UserFactory()
    BuyerMembership.objects.create(
        buyer=tenant, user=user, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
    )
    return fresh(user)


def take_tickets(seller_admin: User, windows=WEEKDAYS_9_18, **fields) -> ReceptionSettings:
    fields = {"first_response_hours": 4, "resolution_hours": 16, **fields}
    return services.reception_update(actor=seller_admin, accepts_tickets=True, windows=windows, **fields)


def open_ticket(user: User, product, *, now=None, **fields) -> Ticket:
    fields = {"category": "fault", "title": "It does not start", "description": "Error 500 on login.", **fields}
    return services.ticket_open(actor=user, product_id=product.pk, now=now or bj(*MON, 10), **fields)


def buy(user: User, plan) -> Order:
    order = order_services.order_create(actor=user, plan_id=plan.pk, now=bj(2026, 3, 2, 10))
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=user, order_id=order.pk, method="online", now=bj(2026, 3, 2, 10))
    return order


def snapshot(ticket: Ticket) -> dict:
    """Everything a ticket action may write; a refused action leaves all of it as it was."""
    return {
        "ticket": Ticket.objects.filter(pk=ticket.pk).values().get(),
        "events": TicketEvent.objects.filter(ticket=ticket).count(),
        "messages": TicketMessage.objects.filter(ticket=ticket).count(),
        "attachments": TicketAttachment.objects.filter(ticket=ticket).count(),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def notices(user: User) -> int:
    return Notification.objects.filter(user=user).count()


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def reception(seller_user):
    return take_tickets(seller_user)


@pytest.fixture
def product(published_product, reception):
    return published_product


@pytest.fixture
def support_user(seller):
    return fresh(seller_member(seller, "support"))


@pytest.fixture
def finance_user(seller):
    return fresh(seller_member(seller, "finance"))


@pytest.fixture
def operator(db):
    """Operations staff who may step in on tickets."""
    return staff_with("view_ticket", "change_ticket")


@pytest.fixture
def ticket(buyer_user, product):
    """Opened Monday 10:00: first response due 14:00, resolution due Tuesday 17:00."""
    return open_ticket(buyer_user, product)


def accepted(ticket: Ticket, actor: User, at=None) -> Ticket:
    return services.ticket_accept(actor=actor, ticket_id=ticket.pk, now=at or bj(*MON, 11))


def in_state(ticket: Ticket, status: str, *, seller_actor: User, buyer_actor: User) -> Ticket:
    """Drive ``ticket`` (pending acceptance) to ``status`` through the services."""
    if status == S.PENDING_ACCEPTANCE:
        return reload(ticket)
    accepted(ticket, seller_actor)
    if status == S.AWAITING_FEEDBACK:
        services.ticket_request_feedback(
            actor=seller_actor, ticket_id=ticket.pk, body="Which browser?", now=bj(*MON, 12)
        )
    elif status in (S.PENDING_CONFIRMATION, S.COMPLETED):
        services.ticket_resolve(
            actor=seller_actor, ticket_id=ticket.pk, cause="Cache", solution="Cleared it", now=bj(*MON, 12)
        )
        if status == S.COMPLETED:
            services.ticket_confirm(actor=buyer_actor, ticket_id=ticket.pk, rating=5, now=bj(*MON, 13))
    elif status == S.WITHDRAWN:
        services.ticket_withdraw(actor=buyer_actor, ticket_id=ticket.pk, now=bj(*MON, 12))
    ticket = reload(ticket)
    assert ticket.status == status
    return ticket


# --- reception settings ----------------------------------------------------------------------------


def test_accepting_with_5x8_hours_replaces_the_windows_and_saves_closed_dates(seller_user):
    services.reception_update(
        actor=seller_user,
        accepts_tickets=True,
        windows=[(d, time(8), time(20)) for d in range(7)],
        closed_dates=[date(2026, 2, 1)],
    )

    reception = services.reception_update(
        actor=seller_user,
        accepts_tickets=True,
        windows=WEEKDAYS_9_17,
        closed_dates=[date(2026, 3, 20), date(2026, 3, 13), date(2026, 3, 20)],
        observe_public_holidays=False,
        first_response_hours=2,
        resolution_hours=24,
    )

    reception = ReceptionSettings.objects.get(pk=reception.pk)
    assert reception.accepts_tickets is True
    assert reception.observe_public_holidays is False
    assert (reception.first_response_hours, reception.resolution_hours) == (2, 24)
    assert sorted(reception.windows.values_list("weekday", "start", "end")) == sorted(WEEKDAYS_9_17)
    assert list(reception.closed_dates.values_list("day", flat=True)) == [date(2026, 3, 13), date(2026, 3, 20)]
    assert ReceptionSettings.objects.count() == 1
    assert ReceptionWindow.objects.count() == 5
    assert ClosedDate.objects.count() == 2


def test_five_times_eight_hours_minus_half_an_hour_is_refused_saying_what_is_missing(seller_user):
    take_tickets(seller_user)
    before = list(ReceptionWindow.objects.values_list("pk", "weekday", "start", "end"))
    short = [*WEEKDAYS_9_17[:4], (4, time(9), time(16, 30))]

    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.reception_update(
            actor=seller_user, accepts_tickets=True, windows=short, closed_dates=[date(2026, 5, 6)]
        )

    with translation.override("en"):
        message = str(caught.value.message)
    assert "39 h 30 min" in message
    assert "30 min short" in message
    assert "windows" in caught.value.field_errors
    assert list(ReceptionWindow.objects.values_list("pk", "weekday", "start", "end")) == before
    assert not ClosedDate.objects.exists()
    assert ReceptionSettings.objects.get().first_response_hours == 4


def test_a_refused_first_setting_creates_nothing(seller_user):
    with pytest.raises(ValidationFailed):
        services.reception_update(actor=seller_user, accepts_tickets=True, windows=WEEKDAYS_9_17[:4])
    assert not ReceptionSettings.objects.exists()
    assert not ReceptionWindow.objects.exists()


def test_lunch_breaks_count_only_the_hours_open(seller_user):
    lunch_break = [w for d in range(5) for w in ((d, time(9), time(12)), (d, time(13), time(18)))]
    reception = services.reception_update(actor=seller_user, accepts_tickets=True, windows=lunch_break)
    assert reception.windows.count() == 10

    shorter = [w for d in range(5) for w in ((d, time(9), time(12)), (d, time(13), time(17, 30)))]
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.reception_update(actor=seller_user, accepts_tickets=True, windows=shorter)
    with translation.override("en"):
        assert "2 h 30 min short" in str(caught.value.message)
    assert ReceptionWindow.objects.count() == 10


def test_a_due_time_skips_the_lunch_break(seller_user, buyer_user, published_product):
    lunch_break = [w for d in range(5) for w in ((d, time(9), time(12)), (d, time(13), time(18)))]
    take_tickets(seller_user, windows=lunch_break, first_response_hours=2)

    ticket = open_ticket(buyer_user, published_product, now=bj(*MON, 11))

    assert ticket.first_response_due_at == bj(*MON, 14)


def test_overlapping_windows_count_once(seller_user):
    doubled = [*WEEKDAYS_9_17[:4], *WEEKDAYS_9_17[:4], (0, time(10), time(12))]
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.reception_update(actor=seller_user, accepts_tickets=True, windows=doubled)
    with translation.override("en"):
        assert "32 h" in str(caught.value.message)
        assert "8 h short" in str(caught.value.message)


def test_midnight_ends_a_window(seller_user, buyer_user, published_product):
    evenings = [(d, time(16), time(0)) for d in range(5)]  # 16:00-24:00, 5 x 8 hours
    reception = services.reception_update(
        actor=seller_user, accepts_tickets=True, windows=evenings, first_response_hours=4
    )
    assert reception.windows.count() == 5

    ticket = open_ticket(buyer_user, published_product, now=bj(*MON, 22))
    assert ticket.first_response_due_at == bj(*TUE, 18)  # 2 h on Monday, 2 h on Tuesday


def test_not_accepting_tickets_with_no_windows_is_allowed(seller_user, buyer_user, published_product):
    take_tickets(seller_user)

    reception = services.reception_update(actor=seller_user, accepts_tickets=False, windows=[])

    reception.refresh_from_db()
    assert reception.accepts_tickets is False
    assert not reception.windows.exists()
    assert selectors.availability(published_product.seller_id)["accepts"] is False
    with pytest.raises(ValidationFailed):
        open_ticket(buyer_user, published_product)


@pytest.mark.parametrize("role", ["support", "finance", "developer"])
def test_only_the_sellers_administrators_change_the_reception_settings(seller, seller_user, role):
    take_tickets(seller_user)
    member = fresh(seller_member(seller, role))

    with pytest.raises(NotAllowed):
        services.reception_update(actor=member, accepts_tickets=False, windows=[])

    assert ReceptionSettings.objects.get().accepts_tickets is True


def test_a_buyer_cannot_change_reception_settings(buyer_user):
    with pytest.raises(NotAllowed):
        services.reception_update(actor=buyer_user, accepts_tickets=True, windows=WEEKDAYS_9_18)
    assert not ReceptionSettings.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        (0, time(18), time(9)),  # ends before it starts
        (0, time(9), time(9)),  # empty
        (7, time(9), time(18)),  # no such day
    ],
)
def test_malformed_windows_are_refused(seller_user, bad):
    with pytest.raises(ValidationFailed) as caught:
        services.reception_update(actor=seller_user, accepts_tickets=True, windows=[*WEEKDAYS_9_18, bad])
    assert "windows" in caught.value.field_errors
    assert not ReceptionSettings.objects.exists()


@pytest.mark.parametrize(
    ("first", "resolution", "field"),
    [
        (10, 8, "first_response_hours"),  # first response later than the resolution
        (0, 40, "first_response_hours"),
        (73, 100, "first_response_hours"),
        (4, 401, "resolution_hours"),
    ],
)
def test_sla_targets_out_of_bounds_are_refused(seller_user, first, resolution, field):
    with pytest.raises(ValidationFailed) as caught:
        take_tickets(seller_user, first_response_hours=first, resolution_hours=resolution)
    assert field in caught.value.field_errors
    assert not ReceptionSettings.objects.exists()


# --- opening ---------------------------------------------------------------------------------------


def test_a_seller_that_does_not_take_tickets_gets_none(seller_user, buyer_user, published_product):
    with pytest.raises(ValidationFailed):
        open_ticket(buyer_user, published_product)

    services.reception_update(actor=seller_user, accepts_tickets=False, windows=WEEKDAYS_9_18)
    with pytest.raises(ValidationFailed):
        open_ticket(buyer_user, published_product)

    assert not Ticket.objects.exists()
    assert not Notification.objects.exists()


def test_opening_a_ticket(buyer_user, product, plan, seller_user):
    order = buy(buyer_user, plan)
    ticket = open_ticket(buyer_user, product, order_id=order.pk, title="  Login fails  ")

    ticket = reload(ticket)
    assert ticket.status == S.PENDING_ACCEPTANCE
    assert (ticket.seller_id, ticket.buyer_id, ticket.opened_by_id) == (
        product.seller_id,
        buyer_user.buyer_membership.buyer_id,
        buyer_user.pk,
    )
    assert ticket.order_id == order.pk
    assert ticket.title == "Login fails"
    assert ticket.assignee is None
    assert ticket.number.startswith("T")
    event = ticket.events.get()
    assert (event.from_status, event.to_status, event.actor_id) == ("", S.PENDING_ACCEPTANCE, buyer_user.pk)


def test_a_seller_account_cannot_open_a_ticket(seller_user, product):
    with pytest.raises(NotAllowed):
        open_ticket(seller_user, product)
    assert not Ticket.objects.exists()


def test_another_buyers_order_is_not_found(buyer_user, other_buyer_user, product, plan):
    theirs = buy(other_buyer_user, plan)

    with pytest.raises(NotFound):
        open_ticket(buyer_user, product, order_id=theirs.pk)

    assert not Ticket.objects.exists()


def test_an_order_of_another_product_is_not_found(seller, buyer_user, product):
    other_product = ProductFactory(seller=seller, status="published")
    other_order = buy(buyer_user, PlanFactory(product=other_product))

    with pytest.raises(NotFound):
        open_ticket(buyer_user, product, order_id=other_order.pk)
    with pytest.raises(NotFound):
        open_ticket(buyer_user, product, order_id="abc")

    assert not Ticket.objects.exists()


def test_a_plain_tenant_user_cannot_cite_a_colleagues_order(product, plan):
    """Plain users of a tenant see only the orders they placed (orders.selectors.buyer_scope); a
    ticket must not let them attach, and then read through the ticket, a colleague's order."""
    admin = UserFactory()
    tenant = EnterpriseFactory(member=admin)
    alice, bob = plain_tenant_user(tenant), plain_tenant_user(tenant)
    bobs_order = buy(bob, plan)

    with pytest.raises(NotFound):
        open_ticket(alice, product, order_id=bobs_order.pk)
    assert not Ticket.objects.exists()

    assert open_ticket(bob, product, order_id=bobs_order.pk).order_id == bobs_order.pk
    assert open_ticket(fresh(admin), product, order_id=bobs_order.pk).order_id == bobs_order.pk


def test_an_unpublished_product_is_not_found_unless_ordered(seller, buyer_user, reception):
    draft = ProductFactory(seller=seller, status="draft")
    with pytest.raises(NotFound):
        open_ticket(buyer_user, draft)
    with pytest.raises(NotFound):
        services.ticket_open(
            actor=buyer_user, product_id="x", category="fault", title="t", description="d", now=bj(*MON, 10)
        )
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": "complaint"}, "category"),
        ({"category": ""}, "category"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"description": " "}, "description"),
    ],
)
def test_bad_fields_are_refused(buyer_user, product, fields, field):
    with pytest.raises(ValidationFailed) as caught:
        open_ticket(buyer_user, product, **fields)
    assert field in caught.value.field_errors
    assert not Ticket.objects.exists()


def test_a_ticket_that_fails_after_its_files_were_stored_leaves_no_files_behind(
    buyer_user, product, private_media, monkeypatch
):
    def notices_fail(*args, **kwargs):
        raise RuntimeError("the notice could not be written")

    monkeypatch.setattr(services, "_tell_seller", notices_fail)
    with pytest.raises(RuntimeError):
        open_ticket(buyer_user, product, files=[png_upload("screen.png"), pdf_file("log.pdf")])
    assert not Ticket.objects.exists() and not TicketAttachment.objects.exists()
    assert stored_files(private_media) == []


def test_png_and_pdf_attachments_are_stored_privately(buyer_user, product, private_media):
    ticket = open_ticket(buyer_user, product, files=[png_upload("screen.png"), pdf_file("log.pdf")])

    attachments = list(TicketAttachment.objects.filter(ticket=ticket))
    assert [(a.name, a.size, a.message_id, a.uploaded_by_id) for a in attachments] == [
        ("screen.png", len(PNG_BYTES), None, buyer_user.pk),
        ("log.pdf", len(PDF_BYTES), None, buyer_user.pk),
    ]
    for attachment in attachments:
        assert attachment.file.name.startswith("tickets/")
        assert attachment.name not in attachment.file.name  # stored under a random name
        assert (private_media / attachment.file.name).read_bytes()[:4] in (PNG_BYTES[:4], PDF_BYTES[:4])
    assert len(stored_files(private_media)) == 2


@pytest.mark.parametrize(
    "bad",
    [
        lambda: SimpleUploadedFile("screen.png", PDF_BYTES, content_type="image/png"),  # a PDF called .png
        lambda: SimpleUploadedFile("log.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf"),
        lambda: SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/octet-stream"),
        lambda: SimpleUploadedFile("empty.png", b"", content_type="image/png"),
    ],
)
def test_a_file_whose_content_is_wrong_is_refused_and_nothing_is_written(buyer_user, product, private_media, bad):
    with pytest.raises(ValidationFailed) as caught:
        open_ticket(buyer_user, product, files=[png_upload(), bad()])

    assert "files" in caught.value.field_errors
    assert not Ticket.objects.exists()
    assert not TicketAttachment.objects.exists()
    assert not TicketEvent.objects.exists()
    assert not Notification.objects.exists()
    assert stored_files(private_media) == []


def test_a_file_over_the_size_limit_is_refused(buyer_user, product, settings, private_media):
    settings.UPLOAD_MAX_BYTES = 1024
    with pytest.raises(ValidationFailed):
        open_ticket(buyer_user, product, files=[png_upload(content=PNG_BYTES + b"\x00" * 2000)])
    assert not Ticket.objects.exists()
    assert stored_files(private_media) == []


def test_more_than_five_files_are_refused(buyer_user, product, private_media):
    with pytest.raises(ValidationFailed) as caught:
        open_ticket(buyer_user, product, files=[png_upload(f"s{i}.png") for i in range(6)])
    assert "files" in caught.value.field_errors
    assert not Ticket.objects.exists()
    assert stored_files(private_media) == []

    ticket = open_ticket(buyer_user, product, files=[png_upload(f"s{i}.png") for i in range(5)])
    assert ticket.attachments.count() == 5


def test_due_times_are_counted_on_the_sellers_calendar(buyer_user, product):
    """Monday to Friday 9-18, first response 4 h, resolution 16 h; opened Friday 16:00."""
    ticket = reload(open_ticket(buyer_user, product, now=bj(*FRI, 16)))

    assert ticket.first_response_due_at == bj(*MON, 11)  # 2 h on Friday, 2 h on Monday
    assert ticket.resolution_due_at == bj(*TUE, 14)  # 2 h Friday, 9 h Monday, 5 h Tuesday
    assert ticket.resolution_target == timedelta(hours=16)
    assert ticket.sla_used == timedelta(0)
    assert ticket.sla_running_since == bj(*FRI, 16)


def test_a_ticket_opened_at_the_weekend_is_due_from_monday_morning(buyer_user, product):
    ticket = reload(open_ticket(buyer_user, product, now=bj(2026, 3, 7, 23)))
    assert ticket.first_response_due_at == bj(*MON, 13)
    assert ticket.resolution_due_at == bj(*TUE, 16)

    availability = selectors.availability(product.seller_id, now=bj(2026, 3, 7, 23))
    assert (availability["accepts"], availability["open_now"], availability["next_open"]) == (
        True,
        False,
        bj(*MON, 9),
    )


def test_due_times_skip_closed_dates_and_public_holidays(seller_user, buyer_user, published_product):
    take_tickets(seller_user, closed_dates=[date(*MON)])
    ticket = open_ticket(buyer_user, published_product, now=bj(*FRI, 16))
    assert ticket.first_response_due_at == bj(*TUE, 11)

    # National Day: 1-3 and 5-7 October 2026 are public holidays (the 4th is a Sunday).
    ticket = open_ticket(buyer_user, published_product, now=bj(2026, 9, 30, 16))
    assert ticket.first_response_due_at == bj(2026, 10, 8, 11)

    take_tickets(seller_user, observe_public_holidays=False)
    ticket = open_ticket(buyer_user, published_product, now=bj(2026, 9, 30, 16))
    assert ticket.first_response_due_at == bj(2026, 10, 1, 11)


def test_opening_tells_the_sellers_administrators_and_support_staff(
    seller, seller_user, support_user, finance_user, buyer_user, product, django_capture_on_commit_callbacks, mailoutbox
):
    developer = seller_member(seller, "developer")

    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(buyer_user, product)

    assert notices(seller_user) == notices(support_user) == 1
    assert notices(finance_user) == notices(developer) == notices(buyer_user) == 0
    notice = Notification.objects.get(user=seller_user)
    assert ticket.number in notice.title
    assert notice.link.endswith(f"/tickets/{ticket.pk}/")
    recipients = sorted(address for m in mailoutbox for address in m.to)
    assert recipients == sorted([seller_user.email, support_user.email])
    assert all(ticket.number in m.subject for m in mailoutbox)


# --- accepting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "support"])
def test_seller_staff_accept(seller, seller_user, buyer_user, ticket, role):
    actor = seller_user if role == "admin" else fresh(seller_member(seller, "support"))

    services.ticket_accept(actor=actor, ticket_id=ticket.pk, now=bj(*MON, 11))

    ticket = reload(ticket)
    assert ticket.status == S.PROCESSING
    assert ticket.accepted_at == bj(*MON, 11)
    assert ticket.assignee_id == actor.pk
    event = ticket.events.order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor_id) == (S.PENDING_ACCEPTANCE, S.PROCESSING, actor.pk)
    assert notices(buyer_user) == 1
    # accepting is the first response: no longer overdue for it, the resolution clock still runs
    assert ticket.sla_running_since == bj(*MON, 10)
    assert ticket.overdue_at(bj(*MON, 15)) == ""


def test_accepting_keeps_an_assignee_chosen_before(seller, seller_user, support_user, ticket):
    services.ticket_assign(actor=seller_user, ticket_id=ticket.pk, assignee_id=support_user.pk)
    accepted(ticket, seller_user)
    assert reload(ticket).assignee_id == support_user.pk


def test_who_may_not_accept(ticket, buyer_user, finance_user, seller, other_seller_user, operator):
    before = snapshot(ticket)
    developer = fresh(seller_member(seller, "developer"))

    for actor, error in [
        (buyer_user, NotAllowed),
        (finance_user, NotAllowed),
        (developer, NotAllowed),
        (other_seller_user, NotFound),
        (staff_with("view_ticket"), NotFound),
        (operator, NotAllowed),
    ]:
        with pytest.raises(error):
            services.ticket_accept(actor=actor, ticket_id=ticket.pk)
    for bad_id in ("abc", 0, -1, ticket.pk + 1000):
        with pytest.raises(NotFound):
            services.ticket_accept(actor=operator, ticket_id=bad_id)

    assert snapshot(ticket) == before


def test_accepting_twice_is_an_invalid_transition_and_changes_nothing(ticket, seller_user, support_user):
    accepted(ticket, seller_user)
    TicketMessage.objects.create(ticket=ticket, author=seller_user, side="seller", body="On it")
    before = snapshot(ticket)

    with pytest.raises(InvalidTransition):
        services.ticket_accept(actor=support_user, ticket_id=ticket.pk, now=bj(*MON, 15))

    assert snapshot(ticket) == before
    ticket = reload(ticket)
    assert (ticket.status, ticket.accepted_at, ticket.assignee_id) == (S.PROCESSING, bj(*MON, 11), seller_user.pk)


# --- assigning -------------------------------------------------------------------------------------


def test_assigning_to_a_colleague_who_handles_tickets(ticket, seller_user, support_user):
    accepted(ticket, seller_user)

    services.ticket_assign(actor=seller_user, ticket_id=ticket.pk, assignee_id=support_user.pk, now=bj(*MON, 12))

    ticket = reload(ticket)
    assert ticket.assignee_id == support_user.pk
    assert ticket.status == S.PROCESSING
    event = ticket.events.order_by("pk").last()
    assert (event.note, event.params, event.from_status, event.to_status) == (
        "Assigned to %(name)s",
        {"name": support_user.name},
        S.PROCESSING,
        S.PROCESSING,
    )
    assert notices(support_user) == 1

    # assigning to oneself tells nobody
    services.ticket_assign(actor=support_user, ticket_id=ticket.pk, assignee_id=support_user.pk)
    assert notices(support_user) == 1


def test_assigning_to_someone_who_is_not_a_handling_colleague_is_not_found(
    ticket, seller, seller_user, finance_user, other_seller_user, buyer_user
):
    accepted(ticket, seller_user)
    developer = seller_member(seller, "developer")
    before = snapshot(ticket)

    for assignee_id in (finance_user.pk, developer.pk, other_seller_user.pk, buyer_user.pk, "abc", 999_999):
        with pytest.raises(NotFound):
            services.ticket_assign(actor=seller_user, ticket_id=ticket.pk, assignee_id=assignee_id)

    assert snapshot(ticket) == before


def test_who_may_not_assign(ticket, support_user, buyer_user, finance_user, other_seller_user):
    before = snapshot(ticket)
    with pytest.raises(NotAllowed):
        services.ticket_assign(actor=buyer_user, ticket_id=ticket.pk, assignee_id=support_user.pk)
    with pytest.raises(NotAllowed):
        services.ticket_assign(actor=finance_user, ticket_id=ticket.pk, assignee_id=support_user.pk)
    with pytest.raises(NotFound):
        services.ticket_assign(actor=other_seller_user, ticket_id=ticket.pk, assignee_id=support_user.pk)
    assert snapshot(ticket) == before


def test_operations_may_assign(ticket, operator, support_user):
    services.ticket_assign(actor=operator, ticket_id=ticket.pk, assignee_id=support_user.pk)
    assert reload(ticket).assignee_id == support_user.pk
    assert notices(support_user) == 1


# --- replying --------------------------------------------------------------------------------------


def test_the_sellers_reply_to_a_ticket_pending_acceptance_accepts_it(ticket, support_user, buyer_user, private_media):
    message = services.ticket_reply(
        actor=support_user, ticket_id=ticket.pk, body="Looking into it", files=[pdf_file()], now=bj(*MON, 11)
    )

    ticket = reload(ticket)
    assert ticket.status == S.PROCESSING
    assert (ticket.accepted_at, ticket.assignee_id) == (bj(*MON, 11), support_user.pk)
    assert (message.side, message.kind, message.author_id, message.body) == (
        "seller",
        "reply",
        support_user.pk,
        "Looking into it",
    )
    assert message.attachments.get().name == "log.pdf"
    # one notice: the reply (which is the acceptance)
    assert notices(buyer_user) == 1


def test_an_internal_note_is_hidden_from_the_buyer(ticket, seller_user, buyer_user, private_media):
    note = services.ticket_reply(
        actor=seller_user, ticket_id=ticket.pk, body="Customer is on the old plan", internal=True, files=[png_upload()]
    )

    ticket = reload(ticket)
    assert ticket.status == S.PENDING_ACCEPTANCE  # a note is not an answer
    assert note.kind == TicketMessage.Kind.INTERNAL
    assert notices(buyer_user) == 0

    seller_view = selectors.ticket_for_seller(seller_id=ticket.seller_id, ticket_id=ticket.pk)
    assert [m.pk for m in seller_view.messages.all()] == [note.pk]
    buyer_view = selectors.ticket_for_buyer(membership=buyer_user.buyer_membership, ticket_id=ticket.pk)
    assert list(buyer_view.messages.all()) == []
    assert list(buyer_view.attachments.all()) == []

    attachment = note.attachments.get()
    assert selectors.attachment_for(user=buyer_user, attachment_id=attachment.pk) is None
    assert selectors.attachment_for(user=seller_user, attachment_id=attachment.pk) == attachment


def test_only_the_seller_writes_internal_notes(ticket, buyer_user, operator):
    before = snapshot(ticket)
    for actor in (buyer_user, operator):
        with pytest.raises(NotAllowed):
            services.ticket_reply(actor=actor, ticket_id=ticket.pk, body="psst", internal=True)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001])
def test_an_empty_or_huge_message_is_refused(ticket, buyer_user, body):
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed):
        services.ticket_reply(actor=buyer_user, ticket_id=ticket.pk, body=body)
    assert snapshot(ticket) == before


def test_a_reply_with_a_bad_file_writes_nothing(ticket, buyer_user, private_media):
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed):
        services.ticket_reply(
            actor=buyer_user, ticket_id=ticket.pk, body="see file", files=[png_upload("x.png", content=b"GIF89a..")]
        )
    assert snapshot(ticket) == before
    assert stored_files(private_media) == []


def test_the_buyers_reply_while_processing_tells_the_handler(support_user, seller_user, ticket, buyer_user):
    accepted(ticket, support_user)
    services.ticket_reply(actor=buyer_user, ticket_id=ticket.pk, body="Any news?", now=bj(*MON, 12))

    assert reload(ticket).status == S.PROCESSING
    assert notices(support_user) == 2  # opened (to admins and support), replied (to the handler)
    assert notices(seller_user) == 1  # opened only


def test_the_buyers_reply_to_a_feedback_request_resumes_processing(ticket, seller_user, buyer_user):
    accepted(ticket, seller_user)
    services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="Which browser?", now=bj(*MON, 12))

    services.ticket_reply(actor=buyer_user, ticket_id=ticket.pk, body="Firefox", now=bj(*TUE, 10))

    ticket = reload(ticket)
    assert ticket.status == S.PROCESSING
    assert ticket.sla_running_since == bj(*TUE, 10)
    assert ticket.sla_used == timedelta(hours=2)  # Monday 10:00-12:00
    event = ticket.events.order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor_id) == (S.AWAITING_FEEDBACK, S.PROCESSING, buyer_user.pk)


@pytest.mark.parametrize("status", [S.COMPLETED, S.WITHDRAWN])
def test_a_reply_on_a_closed_ticket_is_refused(ticket, seller_user, buyer_user, status):
    ticket = in_state(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    for actor in (buyer_user, seller_user):
        with pytest.raises(InvalidTransition):
            services.ticket_reply(actor=actor, ticket_id=ticket.pk, body="hello?")
    assert snapshot(ticket) == before


# --- the resolution clock --------------------------------------------------------------------------


def test_a_feedback_request_pauses_the_clock_and_the_due_time_moves_by_the_paused_reception_time(
    buyer_user, product, seller_user
):
    """Opened Monday 9:00 with 16 h to resolve: due Tuesday 16:00. Asked for feedback Monday 12:00
    (3 h used); the buyer answers Tuesday 10:00 after 7 reception hours (Monday 12-18, Tuesday 9-10):
    the due time moves 7 reception hours later, to Wednesday 14:00."""
    ticket = open_ticket(buyer_user, product, now=bj(*MON, 9))
    assert ticket.resolution_due_at == bj(*TUE, 16)
    accepted(ticket, seller_user, at=bj(*MON, 10))

    services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="Which browser?", now=bj(*MON, 12))

    ticket = reload(ticket)
    assert ticket.status == S.AWAITING_FEEDBACK
    assert ticket.sla_used == timedelta(hours=3)
    assert ticket.sla_running_since is None
    assert ticket.resolution_due_at == bj(*TUE, 16)  # unchanged while paused, but not counted
    assert ticket.overdue_at(bj(2026, 3, 20, 12)) == ""
    request = ticket.messages.get()
    assert (request.kind, request.side, request.body) == ("feedback_request", "seller", "Which browser?")
    assert notices(buyer_user) == 2  # accepted, feedback requested

    services.ticket_reply(actor=buyer_user, ticket_id=ticket.pk, body="Firefox", now=bj(*TUE, 10))

    ticket = reload(ticket)
    assert ticket.sla_used == timedelta(hours=3)
    assert ticket.sla_running_since == bj(*TUE, 10)
    assert ticket.resolution_due_at == bj(*WED, 14)

    # a second pause adds only the reception time that ran in between (Tuesday 10:00-11:30)
    services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="Version?", now=bj(*TUE, 11, 30))
    assert reload(ticket).sla_used == timedelta(hours=4, minutes=30)


def test_time_outside_reception_hours_is_not_counted_while_the_clock_runs(buyer_user, product, seller_user):
    ticket = open_ticket(buyer_user, product, now=bj(*FRI, 17))
    accepted(ticket, seller_user, at=bj(*FRI, 17, 30))

    services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="Logs?", now=bj(*MON, 10))

    assert reload(ticket).sla_used == timedelta(hours=2)  # Friday 17-18, Monday 9-10


def test_a_feedback_request_on_a_ticket_pending_acceptance_accepts_it_first(ticket, support_user):
    services.ticket_request_feedback(actor=support_user, ticket_id=ticket.pk, body="Logs?", now=bj(*MON, 11))

    ticket = reload(ticket)
    assert ticket.status == S.AWAITING_FEEDBACK
    assert (ticket.accepted_at, ticket.assignee_id) == (bj(*MON, 11), support_user.pk)
    assert list(ticket.events.order_by("pk").values_list("to_status", flat=True)) == [
        S.PENDING_ACCEPTANCE,
        S.PROCESSING,
        S.AWAITING_FEEDBACK,
    ]


def test_refused_feedback_requests(ticket, seller_user, buyer_user):
    with pytest.raises(NotAllowed):
        services.ticket_request_feedback(actor=buyer_user, ticket_id=ticket.pk, body="?")
    with pytest.raises(ValidationFailed):
        services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body=" ")

    ticket = in_state(ticket, S.AWAITING_FEEDBACK, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(InvalidTransition):
        services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="Again?", now=bj(*TUE, 9))
    assert snapshot(ticket) == before


def test_a_feedback_request_on_a_ticket_pending_confirmation_is_refused(ticket, seller_user, buyer_user):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(InvalidTransition):
        services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="?", now=bj(*TUE, 9))
    assert snapshot(ticket) == before


# --- resolving -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cause", "solution"), [("", "Restarted"), ("Bug", ""), ("  ", "  "), (None, "x")])
def test_resolving_needs_a_cause_and_a_solution(ticket, seller_user, buyer_user, cause, solution):
    accepted(ticket, seller_user)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_resolve(actor=seller_user, ticket_id=ticket.pk, cause=cause, solution=solution)
    assert set(caught.value.field_errors) <= {"cause", "solution"}
    assert snapshot(ticket) == before


def test_resolving_asks_the_buyer_to_confirm_and_stops_the_clock(ticket, seller_user, buyer_user):
    accepted(ticket, seller_user)

    services.ticket_resolve(
        actor=seller_user, ticket_id=ticket.pk, cause=" Expired cache ", solution="Cleared it", now=bj(*MON, 15)
    )

    ticket = reload(ticket)
    assert ticket.status == S.PENDING_CONFIRMATION
    assert (ticket.cause, ticket.solution, ticket.resolved_at) == ("Expired cache", "Cleared it", bj(*MON, 15))
    assert ticket.sla_used == timedelta(hours=5)
    assert ticket.sla_running_since is None
    assert ticket.overdue_at(bj(2026, 4, 1, 12)) == ""
    message = ticket.messages.get()
    assert message.kind == TicketMessage.Kind.RESOLUTION
    assert "Expired cache" in message.body and "Cleared it" in message.body
    assert notices(buyer_user) == 2  # accepted, resolved


def test_resolving_a_ticket_pending_acceptance_accepts_it_first(ticket, support_user):
    services.ticket_resolve(actor=support_user, ticket_id=ticket.pk, cause="FAQ", solution="Link", now=bj(*MON, 11))
    ticket = reload(ticket)
    assert ticket.status == S.PENDING_CONFIRMATION
    assert ticket.accepted_at == bj(*MON, 11)
    assert ticket.sla_used == timedelta(hours=1)


def test_refused_resolutions(ticket, seller_user, buyer_user, finance_user, other_seller_user):
    before = snapshot(ticket)
    with pytest.raises(NotAllowed):
        services.ticket_resolve(actor=buyer_user, ticket_id=ticket.pk, cause="a", solution="b")
    with pytest.raises(NotAllowed):
        services.ticket_resolve(actor=finance_user, ticket_id=ticket.pk, cause="a", solution="b")
    with pytest.raises(NotFound):
        services.ticket_resolve(actor=other_seller_user, ticket_id=ticket.pk, cause="a", solution="b")
    assert snapshot(ticket) == before

    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(InvalidTransition):
        services.ticket_resolve(actor=seller_user, ticket_id=ticket.pk, cause="a", solution="b")
    assert snapshot(ticket) == before


# --- confirming and rejecting ----------------------------------------------------------------------


@pytest.mark.parametrize("rating", [1, 5, "3", None, ""])
def test_the_buyer_confirms_with_an_optional_rating(ticket, seller_user, buyer_user, rating):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)

    services.ticket_confirm(
        actor=buyer_user, ticket_id=ticket.pk, rating=rating, comment=" Quick, thanks ", now=bj(*MON, 16)
    )

    ticket = reload(ticket)
    assert ticket.status == S.COMPLETED
    assert ticket.closed_at == bj(*MON, 16)
    assert ticket.rating == (int(rating) if rating not in (None, "") else None)
    assert ticket.rating_comment == "Quick, thanks"
    assert not ticket.is_open
    event = ticket.events.order_by("pk").last()
    assert (event.from_status, event.to_status, event.message) == (
        S.PENDING_CONFIRMATION,
        S.COMPLETED,
        "Quick, thanks",
    )
    assert notices(seller_user) == 2  # opened, completed


@pytest.mark.parametrize("rating", [0, 6, -1, "x", "4.5"])
def test_a_rating_outside_1_to_5_is_refused_and_changes_nothing(ticket, seller_user, buyer_user, rating):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)

    with pytest.raises(ValidationFailed) as caught:
        services.ticket_confirm(actor=buyer_user, ticket_id=ticket.pk, rating=rating)

    assert "rating" in caught.value.field_errors
    assert snapshot(ticket) == before


def test_refused_confirmations(ticket, seller_user, buyer_user, other_buyer_user):
    with pytest.raises(InvalidTransition):
        services.ticket_confirm(actor=buyer_user, ticket_id=ticket.pk, rating=5)  # not resolved yet
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(NotAllowed):
        services.ticket_confirm(actor=seller_user, ticket_id=ticket.pk)
    with pytest.raises(NotFound):
        services.ticket_confirm(actor=other_buyer_user, ticket_id=ticket.pk)
    assert snapshot(ticket) == before


def test_the_buyer_rejects_the_resolution_and_the_clock_runs_again(ticket, seller_user, buyer_user):
    """Opened Monday 10:00 (16 h), resolved 12:00 with 2 h used, rejected Tuesday 10:00: 14 h remain,
    8 on Tuesday and 6 on Wednesday."""
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)

    services.ticket_reject(actor=buyer_user, ticket_id=ticket.pk, reason=" Still broken ", now=bj(*TUE, 10))

    ticket = reload(ticket)
    assert ticket.status == S.PROCESSING
    assert ticket.resolved_at is None
    assert ticket.sla_used == timedelta(hours=2)
    assert ticket.sla_running_since == bj(*TUE, 10)
    assert ticket.resolution_due_at == bj(*WED, 15)
    rejection = ticket.messages.order_by("pk").last()
    assert (rejection.kind, rejection.side, rejection.body) == ("rejection", "buyer", "Still broken")
    event = ticket.events.order_by("pk").last()
    assert (event.from_status, event.to_status, event.message) == (S.PENDING_CONFIRMATION, S.PROCESSING, "Still broken")
    assert notices(seller_user) == 2  # opened, rejected (the handler)

    # and it can be resolved and confirmed after all
    services.ticket_resolve(actor=seller_user, ticket_id=ticket.pk, cause="a", solution="b", now=bj(*TUE, 12))
    assert reload(ticket).sla_used == timedelta(hours=4)
    services.ticket_confirm(actor=buyer_user, ticket_id=ticket.pk, rating=4, now=bj(*TUE, 13))
    assert reload(ticket).status == S.COMPLETED


def test_a_rejection_past_the_target_keeps_the_missed_due_time(ticket, seller_user, buyer_user):
    accepted(ticket, seller_user)
    due = reload(ticket).resolution_due_at
    services.ticket_resolve(actor=seller_user, ticket_id=ticket.pk, cause="a", solution="b", now=bj(*WED, 12))
    services.ticket_reject(actor=buyer_user, ticket_id=ticket.pk, reason="no", now=bj(*WED, 13))

    ticket = reload(ticket)
    assert ticket.sla_used > ticket.resolution_target
    assert ticket.resolution_due_at == due
    assert ticket.overdue_at(bj(*WED, 13, 1)) == "resolution"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rejecting_needs_a_reason(ticket, seller_user, buyer_user, reason):
    ticket = in_state(ticket, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_reject(actor=buyer_user, ticket_id=ticket.pk, reason=reason)
    assert "reason" in caught.value.field_errors
    assert snapshot(ticket) == before


@pytest.mark.parametrize("status", [S.PENDING_ACCEPTANCE, S.PROCESSING, S.AWAITING_FEEDBACK])
def test_only_a_ticket_pending_confirmation_is_rejected(ticket, seller_user, buyer_user, status):
    ticket = in_state(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(InvalidTransition):
        services.ticket_reject(actor=buyer_user, ticket_id=ticket.pk, reason="no")
    with pytest.raises(NotAllowed):
        services.ticket_reject(actor=seller_user, ticket_id=ticket.pk, reason="no")
    assert snapshot(ticket) == before


# --- withdrawing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.PENDING_ACCEPTANCE, S.PROCESSING, S.AWAITING_FEEDBACK])
def test_the_buyer_withdraws_an_open_ticket(ticket, seller_user, buyer_user, status):
    ticket = in_state(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    seller_notices = notices(seller_user)

    services.ticket_withdraw(actor=buyer_user, ticket_id=ticket.pk, reason=" Found it ", now=bj(*TUE, 10))

    ticket = reload(ticket)
    assert ticket.status == S.WITHDRAWN
    assert ticket.closed_at == bj(*TUE, 10)
    assert ticket.sla_running_since is None
    event = ticket.events.order_by("pk").last()
    assert (event.from_status, event.to_status, event.actor_id, event.message) == (
        status,
        S.WITHDRAWN,
        buyer_user.pk,
        "Found it",
    )
    assert notices(seller_user) == seller_notices + 1
    assert ticket.overdue_at(bj(2026, 5, 1)) == ""


@pytest.mark.parametrize("status", [S.PENDING_CONFIRMATION, S.COMPLETED, S.WITHDRAWN])
def test_a_ticket_cannot_be_withdrawn_once_resolved_or_closed(ticket, seller_user, buyer_user, status):
    ticket = in_state(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    with pytest.raises(InvalidTransition):
        services.ticket_withdraw(actor=buyer_user, ticket_id=ticket.pk, now=bj(*TUE, 10))
    assert snapshot(ticket) == before


def test_the_seller_cannot_withdraw(ticket, seller_user):
    before = snapshot(ticket)
    with pytest.raises(NotAllowed):
        services.ticket_withdraw(actor=seller_user, ticket_id=ticket.pk)
    assert snapshot(ticket) == before


@pytest.mark.parametrize("status", [S.COMPLETED, S.WITHDRAWN])
def test_a_closed_ticket_refuses_everything(ticket, seller_user, support_user, buyer_user, operator, status):
    ticket = in_state(ticket, status, seller_actor=seller_user, buyer_actor=buyer_user)
    before = snapshot(ticket)
    pk = ticket.pk
    actions = [
        lambda: services.ticket_accept(actor=seller_user, ticket_id=pk),
        lambda: services.ticket_assign(actor=seller_user, ticket_id=pk, assignee_id=support_user.pk),
        lambda: services.ticket_assign(actor=operator, ticket_id=pk, assignee_id=support_user.pk),
        lambda: services.ticket_reply(actor=seller_user, ticket_id=pk, body="hi"),
        lambda: services.ticket_reply(actor=seller_user, ticket_id=pk, body="note", internal=True),
        lambda: services.ticket_reply(actor=buyer_user, ticket_id=pk, body="hi"),
        lambda: services.ticket_reply(actor=operator, ticket_id=pk, body="hi"),
        lambda: services.ticket_request_feedback(actor=seller_user, ticket_id=pk, body="?"),
        lambda: services.ticket_resolve(actor=seller_user, ticket_id=pk, cause="a", solution="b"),
        lambda: services.ticket_confirm(actor=buyer_user, ticket_id=pk, rating=3),
        lambda: services.ticket_reject(actor=buyer_user, ticket_id=pk, reason="no"),
        lambda: services.ticket_withdraw(actor=buyer_user, ticket_id=pk),
    ]
    for action in actions:
        with pytest.raises((InvalidTransition, ValidationFailed)):
            action()
    assert snapshot(ticket) == before
    assert services.tickets_auto_complete(now=bj(2027, 1, 1)) == 0


# --- who sees what ---------------------------------------------------------------------------------


@pytest.fixture
def tenant_world(product):
    """An enterprise tenant with an administrator and two plain users, each with a ticket."""
    admin = UserFactory()
    tenant = EnterpriseFactory(member=admin)
    alice, bob = plain_tenant_user(tenant), plain_tenant_user(tenant)
    admin = fresh(admin)
    return {
        "tenant": tenant,
        "admin": admin,
        "alice": alice,
        "bob": bob,
        "alice_ticket": open_ticket(alice, product, title="Alice's", files=[png_upload()]),
        "bob_ticket": open_ticket(bob, product, title="Bob's", now=bj(*MON, 11)),
        "admin_ticket": open_ticket(admin, product, title="Admin's", now=bj(*MON, 12)),
    }


def test_a_plain_tenant_user_sees_only_the_tickets_they_opened(tenant_world):
    w = tenant_world
    alice = w["alice"].buyer_membership

    assert [t.pk for t in selectors.buyer_tickets(membership=alice)] == [w["alice_ticket"].pk]
    assert selectors.ticket_for_buyer(membership=alice, ticket_id=w["alice_ticket"].pk) is not None
    assert selectors.ticket_for_buyer(membership=alice, ticket_id=w["bob_ticket"].pk) is None
    assert selectors.ticket_for_buyer(membership=alice, ticket_id=w["admin_ticket"].pk) is None


def test_the_tenant_administrator_sees_all_the_tenants_tickets(tenant_world):
    w = tenant_world
    admin = w["admin"].buyer_membership

    assert [t.pk for t in selectors.buyer_tickets(membership=admin)] == [
        w["admin_ticket"].pk,
        w["bob_ticket"].pk,
        w["alice_ticket"].pk,
    ]
    assert selectors.ticket_for_buyer(membership=admin, ticket_id=w["bob_ticket"].pk).title == "Bob's"


def test_another_tenant_sees_none(tenant_world, other_buyer_user):
    w = tenant_world
    other = other_buyer_user.buyer_membership
    other_admin = fresh(UserFactory())
    EnterpriseFactory(member=other_admin)

    for membership in (other, fresh(other_admin).buyer_membership):
        assert list(selectors.buyer_tickets(membership=membership)) == []
        for key in ("alice_ticket", "bob_ticket", "admin_ticket"):
            assert selectors.ticket_for_buyer(membership=membership, ticket_id=w[key].pk) is None


def test_a_plain_user_cannot_act_on_a_colleagues_ticket_but_the_administrator_can(tenant_world, seller_user):
    w = tenant_world
    bob_ticket = w["bob_ticket"]
    before = snapshot(bob_ticket)

    with pytest.raises(NotFound):
        services.ticket_reply(actor=w["alice"], ticket_id=bob_ticket.pk, body="me too")
    with pytest.raises(NotFound):
        services.ticket_withdraw(actor=w["alice"], ticket_id=bob_ticket.pk)
    assert snapshot(bob_ticket) == before

    message = services.ticket_reply(actor=w["admin"], ticket_id=bob_ticket.pk, body="Escalating")
    assert message.side == TicketMessage.Side.BUYER
    services.ticket_withdraw(actor=w["admin"], ticket_id=bob_ticket.pk)
    assert reload(bob_ticket).status == S.WITHDRAWN


def test_seller_selectors_are_limited_to_the_seller(ticket, other_seller, seller):
    assert [t.pk for t in selectors.seller_tickets(seller_id=seller.pk)] == [ticket.pk]
    assert list(selectors.seller_tickets(seller_id=other_seller.pk)) == []
    assert selectors.ticket_for_seller(seller_id=other_seller.pk, ticket_id=ticket.pk) is None
    assert selectors.ticket_for_seller(seller_id=seller.pk, ticket_id=ticket.pk).pk == ticket.pk


def test_attachments_are_served_to_the_parties_only(
    tenant_world, seller, seller_user, support_user, finance_user, other_seller_user, other_buyer_user, operator
):
    w = tenant_world
    attachment = w["alice_ticket"].attachments.get()
    note = services.ticket_reply(
        actor=support_user, ticket_id=w["alice_ticket"].pk, body="internal", internal=True, files=[pdf_file()]
    )
    internal = note.attachments.get()
    reply = services.ticket_reply(
        actor=support_user, ticket_id=w["alice_ticket"].pk, body="see this", files=[pdf_file("fix.pdf")]
    )
    public = reply.attachments.get()

    def sees(user, item) -> bool:
        found = selectors.attachment_for(user=user, attachment_id=item.pk)
        assert found in (None, item)
        return found is not None

    for user in (w["alice"], w["admin"], seller_user, support_user, operator):
        assert sees(user, attachment) and sees(user, public), user
    for user in (w["bob"], other_buyer_user, finance_user, other_seller_user, staff_with("change_ticket")):
        assert not sees(user, attachment) and not sees(user, public), user
    developer = fresh(seller_member(seller, "developer"))
    assert not sees(developer, attachment)
    plain_staff = fresh(UserFactory(is_staff=True))
    assert not sees(plain_staff, attachment)

    # an internal note's file: the seller's handlers and operations, never the buyer
    for user in (seller_user, support_user, operator):
        assert sees(user, internal)
    for user in (w["alice"], w["admin"], w["bob"], finance_user):
        assert not sees(user, internal)

    assert selectors.attachment_for(user=seller_user, attachment_id=999_999) is None


# --- auto-completion -------------------------------------------------------------------------------


def resolved_at(ticket, seller_user, when) -> Ticket:
    accepted(ticket, seller_user, at=when - timedelta(minutes=30))
    services.ticket_resolve(actor=seller_user, ticket_id=ticket.pk, cause="a", solution="b", now=when)
    return reload(ticket)


def test_a_ticket_resolved_seven_days_ago_completes_by_itself(buyer_user, product, seller_user):
    now = bj(2026, 3, 20, 12)
    due = resolved_at(open_ticket(buyer_user, product, now=bj(*FRI, 9)), seller_user, now - timedelta(days=7))
    not_yet = resolved_at(
        open_ticket(buyer_user, product, now=bj(*FRI, 9)), seller_user, now - timedelta(days=6, hours=23)
    )
    buyer_before, seller_before = notices(buyer_user), notices(seller_user)

    assert services.tickets_auto_complete(now=now) == 1

    due, not_yet = reload(due), reload(not_yet)
    assert (due.status, due.closed_at, due.rating) == (S.COMPLETED, now, None)
    event = due.events.order_by("pk").last()
    assert (event.actor_id, event.from_status, event.to_status, event.params) == (
        None,
        S.PENDING_CONFIRMATION,
        S.COMPLETED,
        {"days": "7"},
    )
    assert not_yet.status == S.PENDING_CONFIRMATION
    assert notices(buyer_user) == buyer_before + 1
    assert notices(seller_user) == seller_before + 1

    before = snapshot(due)
    assert services.tickets_auto_complete(now=now) == 0  # run twice: nothing more
    assert snapshot(due) == before

    assert services.tickets_auto_complete(now=now + timedelta(hours=1)) == 1
    assert reload(not_yet).status == S.COMPLETED


def test_the_auto_complete_setting_is_honoured(buyer_user, product, seller_user, settings):
    settings.MARKETPLACE = {**settings.MARKETPLACE, "TICKET_AUTO_COMPLETE_DAYS": 3}
    now = bj(2026, 3, 20, 12)
    ticket = resolved_at(open_ticket(buyer_user, product), seller_user, now - timedelta(days=3))
    younger = resolved_at(open_ticket(buyer_user, product), seller_user, now - timedelta(days=2, hours=23))

    assert services.tickets_auto_complete(now=now) == 1

    assert reload(ticket).status == S.COMPLETED
    assert reload(younger).status == S.PENDING_CONFIRMATION
    assert reload(ticket).events.order_by("pk").last().params == {"days": "3"}


def test_only_tickets_pending_confirmation_complete_by_themselves(ticket, buyer_user, product, seller_user):
    processing = open_ticket(buyer_user, product)
    accepted(processing, seller_user)
    feedback = open_ticket(buyer_user, product)
    in_state(feedback, S.AWAITING_FEEDBACK, seller_actor=seller_user, buyer_actor=buyer_user)

    assert services.tickets_auto_complete(now=bj(2026, 6, 1)) == 0
    assert {t.status for t in Ticket.objects.all()} == {S.PENDING_ACCEPTANCE, S.PROCESSING, S.AWAITING_FEEDBACK}


def test_the_scheduled_task_completes_tickets_on_the_clock(buyer_user, product, seller_user):
    ticket = resolved_at(open_ticket(buyer_user, product), seller_user, bj(*MON, 15))

    with time_machine.travel(bj(2026, 3, 16, 14, 59), tick=False):
        tasks.auto_complete_tickets.delay()
    assert reload(ticket).status == S.PENDING_CONFIRMATION

    with time_machine.travel(bj(2026, 3, 16, 15), tick=False):
        result = tasks.auto_complete_tickets.delay()
    assert result.get() == 1
    ticket = reload(ticket)
    assert (ticket.status, ticket.closed_at) == (S.COMPLETED, bj(2026, 3, 16, 15))

    with time_machine.travel(bj(2026, 3, 16, 16), tick=False):
        assert tasks.auto_complete_tickets.delay().get() == 0


# --- overdue ---------------------------------------------------------------------------------------


def overdue_pks(seller, now) -> set:
    return {t.pk for t in selectors.seller_tickets(seller_id=seller.pk, overdue=True, now=now)}


def test_overdue_tickets(seller, seller_user, buyer_user, product, django_assert_num_queries):
    """All opened Monday 10:00: first response due 14:00, resolution due Tuesday 17:00."""
    pending = open_ticket(buyer_user, product)
    processing = open_ticket(buyer_user, product)
    accepted(processing, seller_user)
    feedback = open_ticket(buyer_user, product)
    in_state(feedback, S.AWAITING_FEEDBACK, seller_actor=seller_user, buyer_actor=buyer_user)
    confirming = open_ticket(buyer_user, product)
    in_state(confirming, S.PENDING_CONFIRMATION, seller_actor=seller_user, buyer_actor=buyer_user)

    assert overdue_pks(seller, bj(*MON, 14)) == set()
    assert overdue_pks(seller, bj(*MON, 14, 1)) == {pending.pk}
    assert overdue_pks(seller, bj(*TUE, 17, 1)) == {pending.pk, processing.pk}
    assert overdue_pks(seller, bj(2026, 4, 1)) == {pending.pk, processing.pk}  # feedback: paused
    assert reload(pending).overdue_at(bj(*MON, 14, 1)) == "response"
    assert reload(processing).overdue_at(bj(*TUE, 17, 1)) == "resolution"
    assert reload(feedback).overdue_at(bj(2026, 4, 1)) == ""

    qs = selectors.seller_tickets(seller_id=seller.pk)
    with django_assert_num_queries(1):
        counts = selectors.status_counts(qs, now=bj(*TUE, 17, 1))
    assert counts == {
        "all": 4,
        "open": 4,
        "overdue": 2,
        S.PENDING_ACCEPTANCE: 1,
        S.PROCESSING: 1,
        S.AWAITING_FEEDBACK: 1,
        S.PENDING_CONFIRMATION: 1,
        S.COMPLETED: 0,
        S.WITHDRAWN: 0,
    }
    with django_assert_num_queries(1):
        assert selectors.status_counts(qs, now=bj(*MON, 14, 1))["overdue"] == 1


def test_a_paused_ticket_becomes_overdue_again_only_after_the_buyer_answers(seller, seller_user, buyer_user, product):
    ticket = open_ticket(buyer_user, product, now=bj(*MON, 9))  # due Tuesday 16:00
    accepted(ticket, seller_user, at=bj(*MON, 10))
    services.ticket_request_feedback(actor=seller_user, ticket_id=ticket.pk, body="?", now=bj(*MON, 12))
    assert overdue_pks(seller, bj(*WED, 12)) == set()

    services.ticket_reply(actor=buyer_user, ticket_id=ticket.pk, body="here", now=bj(*TUE, 10))  # due Wed 14:00

    assert overdue_pks(seller, bj(*WED, 13, 59)) == set()
    assert overdue_pks(seller, bj(*WED, 14, 1)) == {ticket.pk}


def test_seller_list_filters(seller, seller_user, support_user, buyer_user, product):
    first = open_ticket(buyer_user, product, title="Printer on fire")
    second = open_ticket(buyer_user, product, title="Login", now=bj(*MON, 11))
    services.ticket_accept(actor=support_user, ticket_id=second.pk)

    def pks(**kw):
        return [t.pk for t in selectors.seller_tickets(seller_id=seller.pk, **kw)]

    assert pks() == [second.pk, first.pk]
    assert pks(status="processing") == [second.pk]
    assert pks(status="open") == [second.pk, first.pk]
    assert pks(q="printer") == [first.pk]
    assert pks(q=second.number) == [second.pk]
    assert pks(mine_of=support_user) == [second.pk]
    assert pks(product_id=product.pk + 1000) == []


# --- operations stepping in ------------------------------------------------------------------------


def test_operations_staff_reply_and_both_parties_are_told(
    ticket, operator, seller_user, support_user, buyer_user, django_capture_on_commit_callbacks, mailoutbox
):
    before = {u.pk: notices(u) for u in (seller_user, support_user, buyer_user)}

    with django_capture_on_commit_callbacks(execute=True):
        message = services.ticket_reply(actor=operator, ticket_id=ticket.pk, body="Operations here", now=bj(*MON, 11))

    assert (message.side, message.kind, message.author_id) == ("operations", "reply", operator.pk)
    assert reload(ticket).status == S.PENDING_ACCEPTANCE  # operations do not accept for the seller
    for user in (seller_user, support_user, buyer_user):
        assert notices(user) == before[user.pk] + 1
    recipients = {address for m in mailoutbox for address in m.to}
    assert {seller_user.email, support_user.email, buyer_user.email} <= recipients
    buyer_view = selectors.ticket_for_buyer(membership=buyer_user.buyer_membership, ticket_id=ticket.pk)
    assert [m.side for m in buyer_view.messages.all()] == ["operations"]


def test_staff_without_the_permission_are_strangers(ticket, seller_user):
    before = snapshot(ticket)
    for user in (fresh(UserFactory(is_staff=True)), staff_with("view_ticket"), fresh(UserFactory())):
        with pytest.raises(NotFound):
            services.ticket_reply(actor=user, ticket_id=ticket.pk, body="hello")
    # the permission without is_staff is not enough either
    not_staff = UserFactory()
    not_staff.user_permissions.add(Permission.objects.get(content_type__app_label="tickets", codename="change_ticket"))
    with pytest.raises(NotFound):
        services.ticket_reply(actor=fresh(not_staff), ticket_id=ticket.pk, body="hello")
    assert snapshot(ticket) == before


def test_operations_cannot_act_for_a_party(ticket, operator, seller_user, buyer_user):
    before = snapshot(ticket)
    with pytest.raises(NotAllowed):
        services.ticket_resolve(actor=operator, ticket_id=ticket.pk, cause="a", solution="b")
    with pytest.raises(NotAllowed):
        services.ticket_withdraw(actor=operator, ticket_id=ticket.pk)
    assert snapshot(ticket) == before


def test_every_refusal_is_a_service_error(ticket, other_buyer_user):
    with pytest.raises(ServiceError):
        services.ticket_reply(actor=other_buyer_user, ticket_id=ticket.pk, body="hi")
