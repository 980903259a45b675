"""A statement's life: review and send, confirmation, disputes, countersign, the seller's invoice, payout."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from billing.models import Countersignature, Dispute, LedgerEntry, Statement
from billing.services import (
    dispute_answer,
    statement_confirm,
    statement_countersign,
    statement_dispute,
    statement_pay,
    statement_send,
    statements_remind_invoices,
)
from invoicing.models import SellerInvoice
from invoicing.services import seller_invoice_reject, seller_invoice_submit, seller_invoice_verify
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.models import Notification, OutboundEmail
from tests.factories import pdf_upload, seller_member

from .builders import bj, make_statement, make_statements, staff, state

pytestmark = pytest.mark.django_db

SENT_AT = bj(2026, 4, 7, 10)


def events(statement) -> list[tuple]:
    return list(statement.events.order_by("id").values_list("from_status", "to_status", "note", "actor"))


def send(statement, ops, at=SENT_AT) -> Statement:
    return statement_send(actor=ops, statement_id=statement.pk, now=at)


def countersign(statement, finance, finance2, at=bj(2026, 4, 10, 10)) -> Statement:
    statement_countersign(actor=finance, statement_id=statement.pk, now=at)
    return statement_countersign(actor=finance2, statement_id=statement.pk, now=at)


def submit(user, statement, *, amount=None, file=None, number="INV-0001", at=bj(2026, 4, 20, 10)) -> SellerInvoice:
    return seller_invoice_submit(
        actor=user,
        statement_id=statement.pk,
        number=number,
        issued_on=date(2026, 4, 20),
        amount=statement.net_payable if amount is None else amount,
        tax_rate="0.06",
        file=file or pdf_upload("invoice.pdf"),
        now=at,
    )


def awaiting_invoice(ops, finance, finance2, seller, amount="5000.00") -> Statement:
    statement = make_statement(ops, seller, "joint", amount)
    send(statement, ops)
    return countersign(statement, finance, finance2)


# --- send ---------------------------------------------------------------------------------------


def test_a_statement_sent_before_the_cutoff_waits_for_the_sellers_confirmation(
    ops, seller, seller_user, django_capture_on_commit_callbacks
):
    finance_member = seller_member(seller, "finance")
    support_member = seller_member(seller, "support")
    statement = make_statement(ops, seller, "joint", "5000.00", month=(2024, 11))
    assert statement.status == "generated"

    with django_capture_on_commit_callbacks(execute=True):
        send(statement, ops, at=bj(2024, 12, 23, 23, 59, 59))

    statement.refresh_from_db()
    assert (statement.status, statement.sent_at) == ("awaiting_confirmation", bj(2024, 12, 23, 23, 59, 59))
    assert events(statement)[-1] == ("generated", "awaiting_confirmation", "Sent to the seller", ops.pk)
    link = f"/seller/settlement/{statement.pk}/"
    notices = Notification.objects.filter(link=link)
    assert sorted(n.user_id for n in notices) == sorted([seller_user.pk, finance_member.pk])
    assert not Notification.objects.filter(user=support_member).exists()
    assert all("2024-11" in n.title for n in notices)
    recipients = sorted([seller_user.email, finance_member.email, seller.bound_email])
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == recipients
    assert sorted(m.to[0] for m in mail.outbox) == recipients
    bound = next(m for m in mail.outbox if m.to == [seller.bound_email])
    assert "5000.00" in bound.body
    assert link in bound.body


def test_a_statement_sent_from_the_cutoff_on_goes_straight_to_countersign(ops, seller, seller_user):
    statement = make_statement(ops, seller, "joint", "5000.00", month=(2024, 11))

    send(statement, ops, at=bj(2024, 12, 24, 0, 0))

    statement.refresh_from_db()
    assert (statement.status, statement.sent_at, statement.confirmed_at) == (
        "countersigning",
        bj(2024, 12, 24, 0, 0),
        None,
    )
    assert events(statement)[-1] == ("generated", "countersigning", "Sent to the seller", ops.pk)
    assert Notification.objects.filter(user=seller_user, link=f"/seller/settlement/{statement.pk}/").count() == 1


def test_sending_is_refused_without_the_permission_twice_and_for_a_carried_over_statement(ops, finance, seller):
    made = make_statements(ops, seller, {"joint": "5000.00", "general": "10.00"})
    statement, small = made["joint"], made["general"]
    assert small.status == "carried_over"
    send(statement, ops)
    other = make_statement(ops, seller, "strict", "5000.00", month=(2026, 4))
    before = state()

    for actor in (finance, staff("support")):
        with pytest.raises(NotAllowed):
            statement_send(actor=actor, statement_id=other.pk, now=SENT_AT)
    with pytest.raises(InvalidTransition):
        statement_send(actor=ops, statement_id=statement.pk, now=SENT_AT)
    with pytest.raises(InvalidTransition):
        statement_send(actor=ops, statement_id=small.pk, now=SENT_AT)
    with pytest.raises(NotFound):
        statement_send(actor=ops, statement_id="abc", now=SENT_AT)

    assert state() == before


# --- confirmation -------------------------------------------------------------------------------


def test_the_sellers_finance_user_confirms_a_statement(ops, seller):
    finance_member = seller_member(seller, "finance")
    statement = make_statement(ops, seller, "joint", "5000.00", month=(2024, 11))
    send(statement, ops, at=bj(2024, 12, 10, 10))

    statement_confirm(actor=finance_member, statement_id=statement.pk, now=bj(2024, 12, 11, 9))

    statement.refresh_from_db()
    assert (statement.status, statement.confirmed_at) == ("countersigning", bj(2024, 12, 11, 9))
    assert events(statement)[-1] == (
        "awaiting_confirmation",
        "countersigning",
        "Confirmed by the seller",
        finance_member.pk,
    )


def test_confirmation_is_refused_to_others_with_an_open_dispute_and_in_other_states(
    ops, seller, seller_user, other_seller_user
):
    made = make_statements(
        ops, seller, {"joint": "5000.00", "platform": "5000.00", "strict": "5000.00"}, month=(2024, 11)
    )
    statement, countersigning, not_sent = made["joint"], made["platform"], made["strict"]
    send(statement, ops, at=bj(2024, 12, 10, 10))
    send(countersigning, ops, at=bj(2024, 12, 24, 10))
    before = state()

    with pytest.raises(NotFound):
        statement_confirm(actor=other_seller_user, statement_id=statement.pk)
    for role in ("support", "developer"):
        with pytest.raises(NotAllowed):
            statement_confirm(actor=seller_member(seller, role), statement_id=statement.pk)
    with pytest.raises(NotFound):
        statement_confirm(actor=ops, statement_id=statement.pk)
    with pytest.raises(InvalidTransition):
        statement_confirm(actor=seller_user, statement_id=countersigning.pk)
    with pytest.raises(InvalidTransition):  # not sent yet: confirming would skip operations' review
        statement_confirm(actor=seller_user, statement_id=not_sent.pk)
    assert state() == before

    statement_dispute(actor=seller_user, statement_id=statement.pk, reason="Order 42 is missing")
    disputed = state()
    with pytest.raises(Conflict):
        statement_confirm(actor=seller_user, statement_id=statement.pk)
    assert state() == disputed


# --- disputes -----------------------------------------------------------------------------------


def test_a_dispute_is_answered_with_an_adjustment_in_the_current_month(ops, seller, seller_user):
    finance_staff = staff("finance")
    statement = make_statement(ops, seller, "joint", "5000.00")
    send(statement, ops)

    dispute = statement_dispute(
        actor=seller_user, statement_id=statement.pk, reason="A refund is counted twice", now=bj(2026, 4, 8, 9)
    )

    assert (dispute.status, dispute.reason, dispute.raised_by, dispute.created_at) == (
        "open",
        "A refund is counted twice",
        seller_user,
        bj(2026, 4, 8, 9),
    )
    statement.refresh_from_db()
    assert statement.status == "countersigning"
    assert events(statement)[-1] == ("countersigning", "countersigning", "Disputed", seller_user.pk)
    assert sorted(Notification.objects.filter(link__contains="/dispute/").values_list("user", flat=True)) == sorted(
        [ops.pk, finance_staff.pk]
    )

    with translation.override("en"):  # the operator's language
        answered = dispute_answer(
            actor=ops,
            dispute_id=dispute.pk,
            answer="Confirmed, corrected in April",
            adjustment="120.50",
            now=bj(2026, 4, 20, 15),
        )

    assert (answered.status, answered.answer, answered.answered_by, answered.answered_at) == (
        "answered",
        "Confirmed, corrected in April",
        ops,
        bj(2026, 4, 20, 15),
    )
    entry = answered.adjustment
    assert (entry.seller, entry.trade_mode, entry.kind, entry.period, entry.occurred_at, entry.actor) == (
        seller,
        "joint",
        "adjustment",
        date(2026, 4, 1),
        bj(2026, 4, 20, 15),
        ops,
    )
    assert (entry.gross, entry.fee, entry.net) == (Decimal("120.50"), Decimal("0.00"), Decimal("120.50"))
    assert entry.reason == "Correction of statement 2026-03: Confirmed, corrected in April"
    statement.refresh_from_db()
    assert (statement.status, statement.net_payable) == ("countersigning", Decimal("5000.00"))  # next cycle
    assert events(statement)[-1] == ("countersigning", "countersigning", "Dispute answered", ops.pk)
    assert Notification.objects.filter(user=seller_user, link=f"/seller/settlement/{statement.pk}/").count() == 2


def test_an_answer_without_an_adjustment_posts_nothing(ops, seller, seller_user):
    statement = make_statement(ops, seller, "joint", "5000.00")
    send(statement, ops)
    dispute = statement_dispute(actor=seller_user, statement_id=statement.pk, reason="Please explain line 3")
    entries = LedgerEntry.objects.count()

    dispute_answer(actor=ops, dispute_id=dispute.pk, answer="Line 3 is the renewal of May", adjustment="")

    dispute.refresh_from_db()
    assert (dispute.status, dispute.adjustment) == ("answered", None)
    assert LedgerEntry.objects.count() == entries


def test_disputes_are_refused_when_they_cannot_be_raised(ops, seller, seller_user, other_seller_user):
    generated = make_statement(ops, seller, "joint", "5000.00")
    sent = make_statement(ops, seller, "strict", "5000.00", month=(2026, 4))
    send(sent, ops, at=bj(2026, 5, 8))
    statement_dispute(actor=seller_user, statement_id=sent.pk, reason="First")
    before = state()

    with pytest.raises(ValidationFailed) as exc:
        statement_dispute(actor=seller_user, statement_id=sent.pk, reason="   ")
    assert set(exc.value.field_errors) == {"reason"}
    with pytest.raises(Conflict):
        statement_dispute(actor=seller_user, statement_id=generated.pk, reason="Not sent yet")
    with pytest.raises(Conflict):
        statement_dispute(actor=seller_user, statement_id=sent.pk, reason="Second")
    with pytest.raises(NotFound):
        statement_dispute(actor=other_seller_user, statement_id=sent.pk, reason="Not mine")
    with pytest.raises(NotAllowed):
        statement_dispute(actor=seller_member(seller, "support"), statement_id=sent.pk, reason="No role")

    assert state() == before


def test_only_operations_answer_a_dispute_and_only_once(ops, finance, seller, seller_user):
    statement = make_statement(ops, seller, "joint", "5000.00")
    send(statement, ops)
    dispute = statement_dispute(actor=seller_user, statement_id=statement.pk, reason="Wrong total")
    before = state()

    with pytest.raises(NotAllowed):
        dispute_answer(actor=finance, dispute_id=dispute.pk, answer="Fine", adjustment="10")
    with pytest.raises(NotAllowed):
        dispute_answer(actor=seller_user, dispute_id=dispute.pk, answer="Fine", adjustment="10")
    with pytest.raises(ValidationFailed):
        dispute_answer(actor=ops, dispute_id=dispute.pk, answer=" ", adjustment="10")
    for bad in ("abc", "0", "NaN"):
        with pytest.raises(ValidationFailed):
            dispute_answer(actor=ops, dispute_id=dispute.pk, answer="Fine", adjustment=bad)
    assert state() == before

    dispute_answer(actor=ops, dispute_id=dispute.pk, answer="Fine", adjustment="10")
    answered = state()
    with pytest.raises(Conflict):
        dispute_answer(actor=ops, dispute_id=dispute.pk, answer="Again", adjustment="10")
    assert state() == answered


# --- countersign --------------------------------------------------------------------------------


def test_two_different_finance_staff_countersign_a_joint_statement_then_it_awaits_the_invoice(
    ops, finance, finance2, seller, seller_user
):
    statement = make_statement(ops, seller, "joint", "5000.00")
    send(statement, ops)

    statement_countersign(actor=finance, statement_id=statement.pk, now=bj(2026, 4, 9, 10))

    statement.refresh_from_db()
    assert statement.status == "countersigning"
    assert events(statement)[-1] == ("countersigning", "countersigning", "First approval", finance.pk)
    before = state()
    with pytest.raises(Conflict):
        statement_countersign(actor=finance, statement_id=statement.pk, now=bj(2026, 4, 9, 11))
    with pytest.raises(NotAllowed):
        statement_countersign(actor=ops, statement_id=statement.pk, now=bj(2026, 4, 9, 11))
    assert state() == before

    statement_countersign(actor=finance2, statement_id=statement.pk, now=bj(2026, 4, 10, 10))

    statement.refresh_from_db()
    assert (statement.status, statement.invoice_due) == ("awaiting_invoice", date(2026, 5, 10))
    assert events(statement)[-1] == ("countersigning", "awaiting_invoice", "Countersigned", finance2.pk)
    assert sorted(Countersignature.objects.filter(statement=statement).values_list("approver", flat=True)) == sorted(
        [finance.pk, finance2.pk]
    )
    invoice_notices = Notification.objects.filter(user=seller_user, link=f"/seller/settlement/{statement.pk}/")
    assert invoice_notices.count() == 2  # sent, then "please invoice"
    assert OutboundEmail.objects.filter(to=seller.bound_email).count() == 2


def test_a_countersigned_general_statement_is_payable_at_once(ops, finance, finance2, seller):
    statement = make_statement(ops, seller, "general", "5000.00")
    send(statement, ops)

    countersign(statement, finance, finance2)

    statement.refresh_from_db()
    assert (statement.status, statement.invoice_due) == ("payable", None)


def test_countersigning_is_refused_outside_the_countersign_step(ops, finance, seller):
    statement = make_statement(ops, seller, "joint", "5000.00")
    before = state()

    with pytest.raises(Conflict):
        statement_countersign(actor=finance, statement_id=statement.pk)

    assert state() == before


# --- the seller's invoice and payout ------------------------------------------------------------


def test_the_invoice_is_verified_then_the_statement_is_paid(ops, finance, finance2, seller, seller_user, private_files):
    statement = awaiting_invoice(ops, finance, finance2, seller, "5432.10")

    invoice = submit(seller_user, statement, number=" 044031900111 ")

    assert (invoice.status, invoice.number, invoice.amount, invoice.tax_rate, invoice.submitted_by) == (
        "submitted",
        "044031900111",
        Decimal("5432.10"),
        Decimal("0.0600"),
        seller_user,
    )
    assert invoice.file.read().startswith(b"%PDF-")
    assert events(statement)[-1] == (
        "awaiting_invoice",
        "awaiting_invoice",
        "Invoice %(number)s submitted",
        seller_user.pk,
    )

    seller_invoice_verify(actor=finance, invoice_id=invoice.pk, now=bj(2026, 4, 22, 10))

    invoice.refresh_from_db()
    statement.refresh_from_db()
    assert (invoice.status, invoice.reviewed_by, invoice.reviewed_at) == ("verified", finance, bj(2026, 4, 22, 10))
    assert statement.status == "payable"
    assert events(statement)[-1] == ("awaiting_invoice", "payable", "Invoice verified", finance.pk)

    statement_pay(actor=finance, statement_id=statement.pk, payout_reference=" PAY-2026-0001 ", now=bj(2026, 4, 25))

    statement.refresh_from_db()
    assert (statement.status, statement.paid_at, statement.payout_reference) == (
        "paid",
        bj(2026, 4, 25),
        "PAY-2026-0001",
    )
    assert events(statement)[-1] == ("payable", "paid", "Paid out, reference %(reference)s", finance.pk)
    assert Notification.objects.filter(user=seller_user, link=f"/seller/settlement/{statement.pk}/").count() == 3


def test_an_invoice_is_refused_unless_it_is_a_pdf_for_the_net_payable(
    ops, finance, finance2, seller, seller_user, other_seller_user, private_files, settings
):
    settings.UPLOAD_MAX_BYTES = 1024
    statement = awaiting_invoice(ops, finance, finance2, seller)
    png = pdf_upload("invoice.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    disguised = pdf_upload("invoice.pdf", b"MZ this is not a PDF")
    too_large = pdf_upload("invoice.pdf", b"%PDF-1.4\n" + b"0" * 1024)
    before = state()

    with pytest.raises(ValidationFailed) as exc:
        submit(seller_user, statement, amount="4999.99")
    assert set(exc.value.field_errors) == {"amount"}
    for bad in (png, disguised, too_large):
        with pytest.raises(ValidationFailed) as exc:
            submit(seller_user, statement, file=bad)
        assert set(exc.value.field_errors) == {"file"}
    with pytest.raises(NotFound):
        submit(other_seller_user, statement)
    with pytest.raises(NotAllowed):
        submit(seller_member(seller, "support"), statement)

    assert state() == before
    assert list(private_files.rglob("*.pdf")) == []


def test_one_live_invoice_per_statement_and_only_when_one_is_awaited(
    ops, finance, finance2, seller, seller_user, private_files
):
    statement = awaiting_invoice(ops, finance, finance2, seller)
    not_yet = make_statement(ops, seller, "platform", "5000.00", month=(2026, 4))
    submit(seller_user, statement)
    before = state()

    with pytest.raises(Conflict):
        submit(seller_user, statement, number="INV-0002")
    with pytest.raises(Conflict):
        submit(seller_user, not_yet)

    assert state() == before


def test_a_rejected_invoice_is_replaced_by_a_corrected_one(ops, finance, finance2, seller, seller_user, private_files):
    statement = awaiting_invoice(ops, finance, finance2, seller)
    first = submit(seller_user, statement)
    before = state()
    with pytest.raises(ValidationFailed):
        seller_invoice_reject(actor=finance, invoice_id=first.pk, reason="  ")
    with pytest.raises(NotAllowed):
        seller_invoice_reject(actor=ops, invoice_id=first.pk, reason="Wrong tax number")
    assert state() == before

    seller_invoice_reject(actor=finance, invoice_id=first.pk, reason="Wrong tax number", now=bj(2026, 4, 21))

    first.refresh_from_db()
    statement.refresh_from_db()
    assert (first.status, first.rejection_reason, first.reviewed_by) == ("rejected", "Wrong tax number", finance)
    assert statement.status == "awaiting_invoice"
    assert events(statement)[-1] == ("awaiting_invoice", "awaiting_invoice", "Invoice %(number)s rejected", finance.pk)
    assert Notification.objects.filter(user=seller_user, body__contains="Wrong tax number").count() == 1
    rejected = state()
    with pytest.raises(InvalidTransition):
        seller_invoice_verify(actor=finance, invoice_id=first.pk)
    assert state() == rejected

    corrected = submit(seller_user, statement, number="INV-0002")
    seller_invoice_verify(actor=finance, invoice_id=corrected.pk)

    statement.refresh_from_db()
    assert statement.status == "payable"
    assert list(statement.seller_invoices.order_by("id").values_list("number", "status")) == [
        ("INV-0001", "rejected"),
        ("INV-0002", "verified"),
    ]


def test_verification_and_payout_are_refused_without_permission_reference_or_the_right_state(
    ops, finance, finance2, seller, seller_user, private_files
):
    statement = awaiting_invoice(ops, finance, finance2, seller)
    invoice = submit(seller_user, statement)
    before = state()

    with pytest.raises(NotAllowed):
        seller_invoice_verify(actor=ops, invoice_id=invoice.pk)
    with pytest.raises(NotAllowed):
        seller_invoice_verify(actor=seller_user, invoice_id=invoice.pk)
    with pytest.raises(InvalidTransition):
        statement_pay(actor=finance, statement_id=statement.pk, payout_reference="PAY-1")
    assert state() == before

    seller_invoice_verify(actor=finance, invoice_id=invoice.pk)
    payable = state()
    with pytest.raises(ValidationFailed) as exc:
        statement_pay(actor=finance, statement_id=statement.pk, payout_reference="  ")
    assert set(exc.value.field_errors) == {"payout_reference"}
    with pytest.raises(NotAllowed):
        statement_pay(actor=ops, statement_id=statement.pk, payout_reference="PAY-1")
    with pytest.raises(InvalidTransition):
        seller_invoice_verify(actor=finance, invoice_id=invoice.pk)
    assert state() == payable

    statement_pay(actor=finance, statement_id=statement.pk, payout_reference="PAY-1")
    paid = state()
    with pytest.raises(InvalidTransition):
        statement_pay(actor=finance, statement_id=statement.pk, payout_reference="PAY-2")
    assert state() == paid


# --- invoice reminders --------------------------------------------------------------------------


def test_the_invoice_reminder_is_sent_once_before_the_deadline(ops, finance, finance2, seller, seller_user):
    statement = awaiting_invoice(ops, finance, finance2, seller)
    assert statement.invoice_due == date(2026, 5, 10)
    before = state()

    assert statements_remind_invoices(now=bj(2026, 5, 2, 9, 30)) == 0
    assert state() == before

    assert statements_remind_invoices(now=bj(2026, 5, 3, 9, 30)) == 1

    statement.refresh_from_db()
    assert statement.invoice_reminded_at == bj(2026, 5, 3, 9, 30)
    link = f"/seller/settlement/{statement.pk}/"
    assert Notification.objects.filter(user=seller_user, link=link).count() == 3  # sent, invoice, reminder
    assert OutboundEmail.objects.filter(to=seller.bound_email).count() == 3
    reminded = state()
    assert statements_remind_invoices(now=bj(2026, 5, 3, 9, 30)) == 0
    assert statements_remind_invoices(now=bj(2026, 5, 9, 9, 30)) == 0
    assert state() == reminded


def test_no_reminder_once_the_invoice_is_verified(ops, finance, finance2, seller, seller_user, private_files):
    statement = awaiting_invoice(ops, finance, finance2, seller)
    seller_invoice_verify(actor=finance, invoice_id=submit(seller_user, statement).pk)
    before = state()

    assert statements_remind_invoices(now=bj(2026, 5, 9, 9, 30)) == 0

    assert state() == before
    assert not Statement.objects.filter(invoice_reminded_at__isnull=False).exists()
    assert not Dispute.objects.exists()
