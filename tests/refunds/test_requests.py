"""Refund requests (DOMAIN.md section 8, issue 8): one test per eligibility rule and per refusal, the
yearly no-reason counter across a year boundary (Beijing time), the negotiation with the seller and
its escalation to operations, paying back to the original method (once, with retries), the effects
(the line's refunded amount, the order's state, the released SaaS instance, the negative ledger
entry), and real concurrent transactions on PostgreSQL.

A refused action leaves everything as it was: ``snapshot`` captures what a refund action may write.
"""

import threading
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Sum

from billing.models import LedgerEntry
from invoicing.services import buyer_invoices as invoices
from marketplace.accounts.models import SellerMembership, User
from marketplace.catalog.models import DeliveryKind
from marketplace.core.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from marketplace.core.models import Notification
from marketplace.orders import services as order_services
from marketplace.orders.gateway import GatewayResult, SandboxGateway
from marketplace.orders.models import CreditAccount, CreditTransaction, Order, OrderLine, OrderType
from marketplace.provisioning.models import Instance
from refunds import services, tasks
from refunds.models import Refund, RefundAttempt, RefundRequest, RefundRequestEvent
from refunds.services import refund_record
from tests.factories import (
    BuyerFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    bj,
    fresh,
    pdf_upload,
    seller_member,
)

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
S = RefundRequest.Status
K = RefundRequest.Kind
Reason = RefundRequest.Reason
VALID_CODE = "91350100M000100Y43"


# --- helpers ---------------------------------------------------------------------------------------


def staff_with(app_label: str, *codenames: str) -> User:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    return fresh(user)


def product_plan(seller, *, price="100.00", **product_fields):
    fields = {"delivery_kind": DeliveryKind.SAAS, **product_fields}
    product = ProductFactory(seller=seller, status="published", **fields)
    return PlanFactory(product=product, price=Decimal(price))


def buy(user: User, plan, *, method="online", order_type=OrderType.NEW, subscription=None, now=None) -> Order:
    order = order_services.order_create(
        actor=user,
        plan_id=plan.pk,
        order_type=order_type,
        subscription_id=subscription.pk if subscription else None,
        now=now,
    )
    order_services.order_pay(actor=user, order_id=order.pk, method=method, now=now)
    return Order.objects.get(pk=order.pk)


def line_of(order: Order) -> OrderLine:
    return OrderLine.objects.select_related("order", "product").get(order_id=order.pk)


def ask(user: User, order: Order, amount=None, *, reason_code=Reason.QUALITY, text="It crashes", now=None):
    return services.refund_request_create(
        actor=user,
        line_id=line_of(order).pk,
        reason_code=reason_code,
        reason_text=text,
        amount=amount,
        now=now,
    )


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def snapshot(request: RefundRequest) -> dict:
    """Everything a refund action may write; a refused action leaves all of it as it was."""
    line = OrderLine.objects.select_related("order").get(pk=request.order_line_id)
    return {
        "row": RefundRequest.objects.filter(pk=request.pk).values().get(),
        "events": RefundRequestEvent.objects.filter(request_id=request.pk).count(),
        "requests": RefundRequest.objects.count(),
        "attempts": RefundAttempt.objects.count(),
        "refunds": Refund.objects.count(),
        "refunded": line.refunded,
        "order": line.order.status,
        "ledger": LedgerEntry.objects.count(),
        "credit": CreditTransaction.objects.count(),
        "notifications": Notification.objects.count(),
    }


def refused(exc_type, fn, request: RefundRequest, **kwargs):
    """Call ``fn``, expect ``exc_type``, and check that nothing changed."""
    before = snapshot(request)
    with pytest.raises(exc_type) as info:
        fn(request_id=request.pk, **kwargs)
    assert snapshot(request) == before
    return info.value


def steps(request: RefundRequest) -> list[tuple[str, str]]:
    return list(RefundRequestEvent.objects.filter(request_id=request.pk).values_list("from_status", "to_status"))


def nothing_asked():
    assert not RefundRequest.objects.exists()
    assert not RefundRequestEvent.objects.exists()


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def english(settings):
    """Reasons are asserted by their English msgids."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def buyer(buyer_user):
    return fresh(buyer_user)


@pytest.fixture
def team(seller, seller_user):
    """The seller's staff by role."""
    return {
        "admin": fresh(seller_user),
        "finance": seller_member(seller, SellerMembership.Role.FINANCE),
        "support": seller_member(seller, SellerMembership.Role.SUPPORT),
        "developer": seller_member(seller, SellerMembership.Role.DEVELOPER),
    }


@pytest.fixture
def ops():
    """Operations staff allowed to decide escalated requests."""
    return staff_with("refunds", "decide_refundrequest")


@pytest.fixture
def supervised_plan(seller):
    """CNY 100.00 a month, SaaS under service supervision (the guarantee period)."""
    return product_plan(seller, supervised=True)


@pytest.fixture
def plain_saas_plan(seller):
    """CNY 100.00 a month, SaaS without supervision (the 5-day no-reason refund)."""
    return product_plan(seller, supervised=False)


@pytest.fixture
def order(buyer, supervised_plan):
    return buy(buyer, supervised_plan)


@pytest.fixture
def requested(buyer, order):
    """A negotiated request for CNY 60.00 of 100.00, waiting for the seller."""
    return ask(buyer, order, "60.00")


@pytest.fixture
def renewal(buyer, supervised_plan, order):
    """A renewal paid early: it starts when the current month ends."""
    return buy(buyer, supervised_plan, order_type=OrderType.RENEW, subscription=line_of(order).subscription)


# --- eligibility -----------------------------------------------------------------------------------


def test_within_the_guarantee_period_any_amount_up_to_what_was_paid_is_negotiated(buyer, order):
    line = line_of(order)
    assert line.supervision == OrderLine.Supervision.IN_PROGRESS
    decision = services.refund_eligibility(line=line)
    assert (decision.allowed, decision.kind, decision.max_amount, decision.full) == (
        True,
        K.NEGOTIATED,
        Decimal("100.00"),
        False,
    )
    assert "guarantee period" in decision.reason


@pytest.mark.parametrize("amount", ["0.01", "37.50", "100", "100.00"])
def test_a_negotiated_request_may_ask_any_amount_above_zero_up_to_what_was_paid(buyer, order, team, amount):
    request = ask(buyer, order, amount, reason_code=Reason.NOT_AS_DESCRIBED, text="  Missing reports  ")

    request = reload(request)
    assert (request.kind, request.status, request.amount_requested, request.amount) == (
        K.NEGOTIATED,
        S.REQUESTED,
        Decimal(amount),
        Decimal("0.00"),  # agreed on approval
    )
    assert (request.reason_code, request.reason_text, request.requested_by) == (
        Reason.NOT_AS_DESCRIBED,
        "Missing reports",
        buyer,
    )
    assert request.answer_due_at == request.created_at + timedelta(days=7)
    assert steps(request) == [("", S.REQUESTED)]
    # the seller's administrator and finance are told; support is not
    told = set(Notification.objects.filter(link__contains="/refund").values_list("user_id", flat=True))
    assert told == {team["admin"].pk, team["finance"].pk}
    # nothing is paid before the seller answers
    assert (line_of(order).refunded, Refund.objects.count(), RefundAttempt.objects.count()) == (Decimal("0"), 0, 0)


@pytest.mark.parametrize("amount", ["0", "0.00", "-1", "100.01", "1000", "abc", "", None, "NaN", "Infinity"])
def test_a_negotiated_request_for_nothing_or_more_than_was_paid_is_refused(buyer, order, amount):
    with pytest.raises(ValidationFailed) as info:
        ask(buyer, order, amount)
    assert set(info.value.field_errors) == {"amount"}
    nothing_asked()


def test_what_was_refunded_already_is_no_longer_on_offer(buyer, order):
    refund_record(line_id=line_of(order).pk, amount="30.00", reason="Goodwill")
    decision = services.refund_eligibility(line=line_of(order))
    assert (decision.kind, decision.max_amount) == (K.NEGOTIATED, Decimal("70.00"))
    with pytest.raises(ValidationFailed):
        ask(buyer, order, "70.01")
    nothing_asked()
    assert ask(buyer, order, "70.00").amount_requested == Decimal("70.00")


@pytest.mark.parametrize("reason_code", ["", "because", None])
def test_a_request_needs_a_reason_code(buyer, order, reason_code):
    with pytest.raises(ValidationFailed) as info:
        ask(buyer, order, "10", reason_code=reason_code)
    assert set(info.value.field_errors) == {"reason_code"}
    nothing_asked()


def test_a_renewal_not_yet_in_effect_is_refunded_in_full_at_once_and_paid_back(
    buyer, order, renewal, django_capture_on_commit_callbacks
):
    line = line_of(renewal)
    assert line.validity_start > renewal.paid_at  # starts when the current month ends
    decision = services.refund_eligibility(line=line)
    assert (decision.kind, decision.max_amount, decision.full) == (K.RENEWAL_NOT_EFFECTIVE, Decimal("100.00"), True)

    with django_capture_on_commit_callbacks(execute=True):
        request = ask(buyer, renewal, "10.00", reason_code=Reason.WRONG_PURCHASE)  # the amount is ignored

    request = reload(request)
    assert (request.kind, request.status, request.amount_requested, request.amount) == (
        K.RENEWAL_NOT_EFFECTIVE,
        S.PAID,
        Decimal("100.00"),
        Decimal("100.00"),
    )
    assert request.answer_due_at is None
    assert steps(request) == [("", S.REQUESTED), (S.REQUESTED, S.APPROVED), (S.APPROVED, S.PAID)]
    assert request.refund.amount == Decimal("100.00")
    assert (line_of(renewal).refunded, reload(renewal).status) == (Decimal("100.00"), Order.Status.REFUNDED)
    # the current term is untouched
    assert (line_of(order).refunded, reload(order).status) == (Decimal("0.00"), Order.Status.PAID)


def test_a_refunded_renewal_no_longer_extends_the_service(buyer, order, renewal, django_capture_on_commit_callbacks):
    current_end = line_of(order).validity_end
    subscription = line_of(order).subscription
    assert reload(subscription).expires_at == line_of(renewal).validity_end > current_end

    with django_capture_on_commit_callbacks(execute=True):
        ask(buyer, renewal, reason_code=Reason.WRONG_PURCHASE)

    assert reload(subscription).expires_at == current_end


def test_a_non_supervised_saas_order_has_a_five_day_no_reason_full_refund(buyer, plain_saas_plan):
    order = buy(buyer, plain_saas_plan)
    line = line_of(order)
    assert line.supervision == OrderLine.Supervision.NOT_REQUIRED
    decision = services.refund_eligibility(line=line)
    assert (decision.kind, decision.max_amount, decision.full) == (K.NO_REASON, Decimal("100.00"), True)
    assert (decision.no_reason_used, decision.no_reason_limit) == (0, 10)
    assert "0 of 10 used" in decision.reason

    request = reload(ask(buyer, order, "1.00", reason_code=Reason.NO_LONGER_NEEDED, text=""))

    assert (request.kind, request.status, request.amount) == (K.NO_REASON, S.APPROVED, Decimal("100.00"))
    assert request.answer_due_at is None
    assert request.pay_by == request.approved_at + timedelta(hours=3)
    # the counter is shown on the next order
    decision = services.refund_eligibility(line=line_of(buy(buyer, plain_saas_plan)))
    assert (decision.kind, decision.no_reason_used) == (K.NO_REASON, 1)
    assert "1 of 10 used" in decision.reason


def test_the_no_reason_refund_ends_five_days_after_payment(buyer, plain_saas_plan):
    order = buy(buyer, plain_saas_plan)
    line = line_of(order)
    assert services.refund_eligibility(line=line, now=order.paid_at + timedelta(days=5)).kind == K.NO_REASON
    late = order.paid_at + timedelta(days=5, seconds=1)
    decision = services.refund_eligibility(line=line, now=late)
    assert (decision.allowed, decision.max_amount) == (False, Decimal("0"))
    assert "5-day" in decision.reason
    with pytest.raises(Conflict):
        ask(buyer, order, now=late)
    nothing_asked()


def test_the_eleventh_no_reason_refund_of_a_year_is_refused(buyer, plain_saas_plan):
    orders = [buy(buyer, plain_saas_plan) for _ in range(11)]
    for order in orders[:10]:
        assert ask(buyer, order, reason_code=Reason.NO_LONGER_NEEDED).kind == K.NO_REASON

    decision = services.refund_eligibility(line=line_of(orders[10]))
    assert (decision.allowed, decision.no_reason_used, decision.no_reason_limit) == (False, 10, 10)
    assert "10 no-reason refunds" in decision.reason
    with pytest.raises(Conflict):
        ask(buyer, orders[10], reason_code=Reason.NO_LONGER_NEEDED)
    assert not RefundRequest.objects.filter(order_line__order=orders[10]).exists()
    # another buyer account has its own counter
    other = fresh(BuyerFactory().memberships.get().user)
    assert services.refund_eligibility(line=line_of(buy(other, plain_saas_plan))).no_reason_used == 0


def test_the_no_reason_counter_starts_again_on_january_first_beijing_time(buyer, plain_saas_plan):
    # Dec 31 23:30 and Jan 1 00:30 in Beijing are both Dec 31 in UTC: the year is Beijing's.
    with time_machine.travel(bj(2025, 12, 31, 23, 30), tick=False):
        orders = [buy(buyer, plain_saas_plan) for _ in range(11)]
        for order in orders[:10]:
            ask(buyer, order, reason_code=Reason.NO_LONGER_NEEDED)
        decision = services.refund_eligibility(line=line_of(orders[10]))
        assert (decision.allowed, decision.no_reason_used) == (False, 10)

    with time_machine.travel(bj(2026, 1, 1, 0, 30), tick=False):
        decision = services.refund_eligibility(line=line_of(orders[10]))
        assert (decision.kind, decision.no_reason_used, decision.no_reason_limit) == (K.NO_REASON, 0, 10)
        request = ask(buyer, orders[10], reason_code=Reason.NO_LONGER_NEEDED)
        assert reload(request).status == S.APPROVED

    buyer_id = orders[0].buyer_id
    assert services.no_reason_count(buyer_id, bj(2025, 12, 31, 23, 59)) == 10
    assert services.no_reason_count(buyer_id, bj(2026, 1, 1, 0, 0)) == 1


def test_a_non_supervised_order_that_is_not_saas_has_no_refund(buyer, seller):
    order = buy(buyer, product_plan(seller, delivery_kind=DeliveryKind.API))
    decision = services.refund_eligibility(line=line_of(order))
    assert (decision.allowed, decision.kind) == (False, None)
    with pytest.raises(Conflict):
        ask(buyer, order)
    nothing_asked()


def test_refused_once_the_buyer_accepted_delivery(buyer, order):
    order_services.supervision_accept(actor=buyer, line_id=line_of(order).pk)
    decision = services.refund_eligibility(line=line_of(order))
    assert (decision.allowed, decision.max_amount) == (False, Decimal("0"))
    assert "guarantee period is over" in decision.reason
    with pytest.raises(Conflict) as info:
        ask(buyer, order, "10")
    assert "guarantee period is over" in str(info.value)
    nothing_asked()


def test_refused_once_operations_closed_supervision(buyer, order):
    closer = staff_with("orders", "close_supervision")
    order_services.supervision_close(actor=closer, line_id=line_of(order).pk, reason="The buyer does not answer")
    assert not services.refund_eligibility(line=line_of(order)).allowed
    with pytest.raises(Conflict):
        ask(buyer, order, "10")
    nothing_asked()


def test_refused_past_validity(buyer, order):
    end = line_of(order).validity_end
    assert services.refund_eligibility(line=line_of(order), now=end - timedelta(seconds=1)).allowed
    decision = services.refund_eligibility(line=line_of(order), now=end)
    assert (decision.allowed, decision.reason) == (False, "The service is past its validity.")
    with pytest.raises(Conflict):
        ask(buyer, order, "10", now=end + timedelta(days=1))
    nothing_asked()


def test_refused_once_the_renewal_is_in_effect(buyer, renewal):
    start = line_of(renewal).validity_start
    assert services.refund_eligibility(line=line_of(renewal), now=start - timedelta(seconds=1)).full
    decision = services.refund_eligibility(line=line_of(renewal), now=start)
    assert (decision.allowed, decision.reason) == (False, "This renewal is already in effect.")
    with pytest.raises(Conflict):
        ask(buyer, renewal, now=start + timedelta(hours=1))
    nothing_asked()


def test_refused_while_an_invoice_is_out_until_it_is_returned(buyer, team, order):
    profile = invoices.profile_save(
        actor=buyer, data={"kind": "company", "title": "Fuzhou Example Software Co., Ltd.", "tax_id": VALID_CODE}
    )
    invoice = invoices.invoice_request_submit(
        actor=buyer, order_ids=[order.pk], profile_id=profile.pk, medium="electronic", recipient_email="i@buyer.test"
    )
    assert services.refund_eligibility(line=line_of(order)).allowed  # requested, not issued: not out yet
    invoices.invoice_issue(
        actor=team["admin"],
        request_id=invoice.pk,
        invoice_number="04400001",
        invoice_code="044001900111",
        file=pdf_upload("x.pdf"),
    )

    decision = services.refund_eligibility(line=line_of(order))
    assert (decision.allowed, decision.max_amount) == (False, Decimal("0"))
    assert "invoice" in decision.reason
    with pytest.raises(Conflict):
        ask(buyer, order, "10")
    invoices.invoice_return_start(actor=buyer, request_id=invoice.pk, reason="Refund of the order")
    with pytest.raises(Conflict):  # still out until the seller has it back
        ask(buyer, order, "10")
    nothing_asked()

    invoices.invoice_return_confirm(actor=team["admin"], request_id=invoice.pk)  # voided
    assert ask(buyer, order, "10").status == S.REQUESTED


def test_an_order_not_paid_is_refused(buyer, supervised_plan):
    order = order_services.order_create(actor=buyer, plan_id=supervised_plan.pk)
    decision = services.refund_eligibility(line=line_of(order))
    assert (decision.allowed, decision.reason) == (False, "Only paid orders are refunded.")
    with pytest.raises(Conflict):
        ask(buyer, order, "10")
    nothing_asked()


def test_an_open_request_blocks_a_second_one_until_it_is_closed(buyer, order, requested, team):
    with pytest.raises(Conflict):
        ask(buyer, order, "10")
    assert RefundRequest.objects.count() == 1
    services.refund_request_reject(actor=team["admin"], request_id=requested.pk, reason="Works as described")
    assert ask(buyer, order, "10").status == S.REQUESTED


# --- the negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_the_sellers_admin_and_finance_approve(buyer, team, requested, order, role):
    request = reload(services.refund_request_approve(actor=team[role], request_id=requested.pk))

    assert (request.status, request.amount) == (S.APPROVED, Decimal("60.00"))
    assert request.approved_at and request.pay_by == request.approved_at + timedelta(hours=3)
    assert list(request.events.values_list("from_status", "to_status", "actor")) == [
        ("", S.REQUESTED, buyer.pk),
        (S.REQUESTED, S.APPROVED, team[role].pk),
    ]
    assert Notification.objects.filter(user=buyer, link__contains=f"/{request.pk}").exists()
    # paid back by the background job, not in the approval
    assert (line_of(order).refunded, Refund.objects.count()) == (Decimal("0.00"), 0)


def test_an_approval_when_less_is_left_than_asked_is_refused(team, requested, order):
    refund_record(line_id=line_of(order).pk, amount="50.00", reason="Paid by operations")
    refused(Conflict, lambda **kw: services.refund_request_approve(actor=team["admin"], **kw), requested)


def test_a_rejection_needs_a_reason(buyer, team, requested, order):
    for reason in ("", "   ", None):
        exc = refused(
            ValidationFailed,
            lambda reason=reason, **kw: services.refund_request_reject(actor=team["admin"], reason=reason, **kw),
            requested,
        )
        assert set(exc.field_errors) == {"reason"}

    services.refund_request_reject(actor=team["admin"], request_id=requested.pk, reason="  Used for 20 days ")

    request = reload(requested)
    assert (request.status, request.rejection_reason) == (S.REJECTED, "Used for 20 days")
    assert request.events.last().message == "Used for 20 days"
    assert Notification.objects.filter(user=buyer, link__contains=f"/{request.pk}").exists()
    # a closed request takes no more answers
    refused(InvalidTransition, lambda **kw: services.refund_request_approve(actor=team["admin"], **kw), request)
    refused(
        InvalidTransition,
        lambda **kw: services.refund_request_reject(actor=team["admin"], reason="Again", **kw),
        request,
    )
    refused(
        InvalidTransition,
        lambda **kw: services.refund_request_propose(actor=team["admin"], amount="10", **kw),
        request,
    )
    refused(InvalidTransition, lambda **kw: services.refund_request_withdraw(actor=buyer, **kw), request)


def test_a_proposal_the_buyer_accepts_is_approved_at_the_proposed_amount(buyer, team, requested):
    for amount in ("0", "-5", "100.01", "x"):
        refused(
            ValidationFailed,
            lambda amount=amount, **kw: services.refund_request_propose(actor=team["admin"], amount=amount, **kw),
            requested,
        )
    refused(InvalidTransition, lambda **kw: services.refund_proposal_accept(actor=buyer, **kw), requested)

    services.refund_request_propose(actor=team["finance"], request_id=requested.pk, amount="40")
    request = reload(requested)
    assert (request.status, request.amount_proposed, request.amount) == (S.PROPOSED, Decimal("40.00"), Decimal("0.00"))
    # the seller waits for the buyer now
    refused(InvalidTransition, lambda **kw: services.refund_request_approve(actor=team["admin"], **kw), request)
    refused(
        InvalidTransition,
        lambda **kw: services.refund_request_propose(actor=team["admin"], amount="50", **kw),
        request,
    )

    services.refund_proposal_accept(actor=buyer, request_id=request.pk)

    request = reload(request)
    assert (request.status, request.amount_requested, request.amount) == (
        S.APPROVED,
        Decimal("60.00"),
        Decimal("40.00"),
    )
    assert steps(request) == [("", S.REQUESTED), (S.REQUESTED, S.PROPOSED), (S.PROPOSED, S.APPROVED)]
    refused(InvalidTransition, lambda **kw: services.refund_proposal_accept(actor=buyer, **kw), request)
    refused(InvalidTransition, lambda **kw: services.refund_proposal_decline(actor=buyer, **kw), request)
    refused(InvalidTransition, lambda **kw: services.refund_request_withdraw(actor=buyer, **kw), request)
    assert services.refund_pay(request_id=request.pk)
    assert line_of(request.order_line.order).refunded == Decimal("40.00")


def test_a_declined_proposal_closes_the_request(buyer, team, requested, order):
    refused(InvalidTransition, lambda **kw: services.refund_proposal_decline(actor=buyer, **kw), requested)
    services.refund_request_propose(actor=team["admin"], request_id=requested.pk, amount="20.00")

    services.refund_proposal_decline(actor=buyer, request_id=requested.pk)

    request = reload(requested)
    assert request.status == S.DECLINED
    assert steps(request)[-1] == (S.PROPOSED, S.DECLINED)
    assert (Refund.objects.count(), line_of(order).refunded) == (0, Decimal("0.00"))
    refused(InvalidTransition, lambda **kw: services.refund_proposal_accept(actor=buyer, **kw), request)
    assert ask(buyer, order, "20.00").status == S.REQUESTED  # the buyer may ask again


@pytest.mark.parametrize("proposed", [False, True])
def test_the_buyer_withdraws_a_request_waiting_for_an_answer(buyer, team, requested, order, proposed):
    if proposed:
        services.refund_request_propose(actor=team["admin"], request_id=requested.pk, amount="20.00")

    services.refund_request_withdraw(actor=buyer, request_id=requested.pk)

    request = reload(requested)
    assert request.status == S.WITHDRAWN
    assert request.events.last().actor == buyer
    refused(InvalidTransition, lambda **kw: services.refund_request_approve(actor=team["admin"], **kw), request)
    refused(InvalidTransition, lambda **kw: services.refund_request_withdraw(actor=buyer, **kw), request)


def test_an_approved_request_cannot_be_withdrawn_or_answered_again(buyer, team, requested):
    services.refund_request_approve(actor=team["admin"], request_id=requested.pk)
    request = reload(requested)
    refused(InvalidTransition, lambda **kw: services.refund_request_withdraw(actor=buyer, **kw), request)
    refused(InvalidTransition, lambda **kw: services.refund_request_approve(actor=team["admin"], **kw), request)
    refused(
        InvalidTransition,
        lambda **kw: services.refund_request_reject(actor=team["admin"], reason="Changed my mind", **kw),
        request,
    )


def test_an_unanswered_request_is_escalated_after_seven_days_and_operations_approve(buyer, team, ops, requested):
    due = requested.answer_due_at
    assert due == requested.created_at + timedelta(days=7)
    assert services.refunds_escalate_due(now=due - timedelta(seconds=1)) == 0
    assert reload(requested).status == S.REQUESTED

    assert services.refunds_escalate_due(now=due) == 1

    request = reload(requested)
    assert request.status == S.ESCALATED
    event = request.events.last()
    assert (event.from_status, event.to_status, event.actor, event.params) == (
        S.REQUESTED,
        S.ESCALATED,
        None,
        {"days": "7"},
    )
    assert services.refunds_escalate_due(now=due + timedelta(days=1)) == 0  # once
    # staff without the permission do not see it
    refused(
        NotFound,
        lambda **kw: services.refund_request_approve(actor=staff_with("refunds", "view_refund"), **kw),
        request,
    )

    services.refund_request_approve(actor=ops, request_id=request.pk, now=due + timedelta(hours=1))

    request = reload(request)
    assert (request.status, request.amount, request.approved_at) == (
        S.APPROVED,
        Decimal("60.00"),
        due + timedelta(hours=1),
    )
    assert request.events.last().actor == ops


def test_operations_may_reject_an_escalated_request(ops, requested):
    services.refunds_escalate_due(now=requested.answer_due_at)
    services.refund_request_reject(actor=ops, request_id=requested.pk, reason="Delivered as described")
    assert reload(requested).status == S.REJECTED


def test_a_request_answered_in_time_is_not_escalated(team, requested):
    services.refund_request_propose(actor=team["admin"], request_id=requested.pk, amount="30")
    assert services.refunds_escalate_due(now=requested.answer_due_at + timedelta(days=30)) == 0
    assert reload(requested).status == S.PROPOSED


def test_other_buyers_do_not_see_the_line_or_the_request(buyer, order, requested, other_buyer_user):
    other = fresh(other_buyer_user)
    with pytest.raises(NotFound):
        services.refund_request_create(actor=other, line_id=line_of(order).pk, reason_code=Reason.QUALITY, amount="10")
    with pytest.raises(NotFound):
        services.refund_request_create(actor=buyer, line_id="abc", reason_code=Reason.QUALITY, amount="10")
    for fn in (
        services.refund_request_withdraw,
        services.refund_proposal_accept,
        services.refund_proposal_decline,
    ):
        refused(NotFound, lambda fn=fn, **kw: fn(actor=other, **kw), requested)


def test_other_sellers_and_the_buyer_do_not_answer(buyer, requested, other_seller_user):
    other = fresh(other_seller_user)
    for actor in (other, buyer):
        refused(NotFound, lambda actor=actor, **kw: services.refund_request_approve(actor=actor, **kw), requested)
        refused(
            NotFound,
            lambda actor=actor, **kw: services.refund_request_reject(actor=actor, reason="No", **kw),
            requested,
        )
        refused(
            NotFound,
            lambda actor=actor, **kw: services.refund_request_propose(actor=actor, amount="10", **kw),
            requested,
        )
    refused(NotFound, lambda **kw: services.refund_request_approve(actor=buyer, request_id="abc"), requested)


@pytest.mark.parametrize("role", ["support", "developer"])
def test_the_sellers_support_and_developers_may_not_answer(team, requested, role):
    actor = team[role]
    refused(NotAllowed, lambda **kw: services.refund_request_approve(actor=actor, **kw), requested)
    refused(NotAllowed, lambda **kw: services.refund_request_reject(actor=actor, reason="No", **kw), requested)
    refused(NotAllowed, lambda **kw: services.refund_request_propose(actor=actor, amount="10", **kw), requested)


# --- paying back -----------------------------------------------------------------------------------


def approved(team, request) -> RefundRequest:
    services.refund_request_approve(actor=team["admin"], request_id=request.pk)
    return reload(request)


def test_an_online_payment_is_paid_back_through_the_gateway(buyer, team, requested, order):
    request = approved(team, requested)
    paid_at = request.approved_at + timedelta(minutes=5)
    told = Notification.objects.filter(user=buyer, link__contains=f"/{request.pk}").count()

    assert services.refund_pay(request_id=request.pk, now=paid_at) is True

    request = reload(request)
    assert (request.status, request.paid_at) == (S.PAID, paid_at)
    assert (request.refund.amount, request.refund.order_line_id, request.refund.refunded_at) == (
        Decimal("60.00"),
        line_of(order).pk,
        paid_at,
    )
    (attempt,) = RefundAttempt.objects.all()
    assert (attempt.ok, attempt.method, attempt.idempotency_key, attempt.error) == (
        True,
        "online",
        f"refund-{request.number}",
        "",
    )
    assert attempt.reference.startswith("SBXR")
    assert steps(request)[-1] == (S.APPROVED, S.PAID)
    assert Notification.objects.filter(user=buyer, link__contains=f"/{request.pk}").count() == told + 1


def test_only_approved_requests_are_paid(requested):
    before = snapshot(requested)
    assert services.refund_pay(request_id=requested.pk) is False
    assert services.refunds_pay_due() == 0
    assert snapshot(requested) == before


@pytest.fixture
def credit_plan(seller):
    """A joint-operation product (supervised) with both credit switches on, CNY 300.00."""
    return product_plan(
        seller,
        price="300.00",
        supervised=True,
        trade_mode="joint",
        ops_fee_rate=Decimal("0.2"),
        credit_coupon_enabled=True,
        credit_line_enabled=True,
    )


@pytest.fixture
def finance_staff():
    return staff_with("orders", "grant_credit")


def test_a_coupon_payment_is_paid_back_to_the_coupon_balance(buyer, team, credit_plan, finance_staff):
    buyer_id = buyer.buyer_membership.buyer_id
    order_services.credit_grant_coupon(actor=finance_staff, buyer_id=buyer_id, amount="500", reason="Promo")
    order = buy(buyer, credit_plan, method="coupon")
    assert CreditAccount.objects.get(buyer_id=buyer_id).coupon_balance == Decimal("200.00")
    request = approved(team, ask(buyer, order, "120.00"))

    assert services.refund_pay(request_id=request.pk)

    account = CreditAccount.objects.get(buyer_id=buyer_id)
    assert account.coupon_balance == Decimal("320.00")
    tx = CreditTransaction.objects.get(kind=CreditTransaction.Kind.COUPON_REFUND)
    assert (tx.account_id, tx.amount, tx.balance_after, tx.order_id) == (
        account.pk,
        Decimal("120.00"),
        Decimal("320.00"),
        order.pk,
    )
    request = reload(request)
    assert (request.status, request.refund.amount) == (S.PAID, Decimal("120.00"))
    assert RefundAttempt.objects.get().method == "coupon"


def test_a_credit_line_payment_is_paid_back_to_the_credit_line(buyer, team, credit_plan, finance_staff):
    buyer_id = buyer.buyer_membership.buyer_id
    order_services.credit_set_limit(actor=finance_staff, buyer_id=buyer_id, limit="1000", reason="Good customer")
    order = buy(buyer, credit_plan, method="credit_line")
    assert CreditAccount.objects.get(buyer_id=buyer_id).credit_used == Decimal("300.00")
    request = approved(team, ask(buyer, order, "300.00"))

    assert services.refund_pay(request_id=request.pk)

    account = CreditAccount.objects.get(buyer_id=buyer_id)
    assert (account.credit_used, account.credit_limit) == (Decimal("0.00"), Decimal("1000.00"))
    tx = CreditTransaction.objects.get(kind=CreditTransaction.Kind.CREDIT_REFUND)
    assert (tx.amount, tx.balance_after) == (Decimal("300.00"), Decimal("0.00"))
    assert (reload(request).status, reload(order).status) == (S.PAID, Order.Status.REFUNDED)


def test_a_failed_attempt_is_recorded_and_retried_by_the_job(monkeypatch, team, requested, order):
    request = approved(team, requested)
    calls = []

    def declined(self, *, amount, currency, reference):
        calls.append(reference)
        return GatewayResult(ok=False, message="gateway busy (sandbox)")

    monkeypatch.setattr(SandboxGateway, "refund", declined)

    assert services.refund_pay(request_id=request.pk) is False

    (attempt,) = RefundAttempt.objects.all()
    assert (attempt.ok, attempt.method, attempt.idempotency_key) == (False, "online", f"refund-{request.number}")
    assert "gateway busy" in attempt.error
    assert reload(request).status == S.APPROVED
    assert (Refund.objects.count(), line_of(order).refunded, reload(order).status) == (
        0,
        Decimal("0.00"),
        Order.Status.PAID,
    )

    monkeypatch.undo()
    assert services.refunds_pay_due(now=request.approved_at + timedelta(hours=1)) == 1

    request = reload(request)
    assert request.status == S.PAID
    assert list(RefundAttempt.objects.values_list("ok", "idempotency_key")) == [
        (False, f"refund-{request.number}"),
        (True, f"refund-{request.number}"),
    ]
    assert calls == [f"refund-{request.number}"]  # the retry asks with the same key
    assert line_of(order).refunded == Decimal("60.00")
    assert services.refunds_pay_due() == 0


def test_paying_twice_pays_once(team, requested, order):
    request = approved(team, requested)

    assert services.refund_pay(request_id=request.pk) is True
    assert services.refund_pay(request_id=request.pk) is False
    assert services.refunds_pay_due() == 0

    assert Refund.objects.count() == 1
    assert RefundAttempt.objects.filter(ok=True).count() == 1
    assert line_of(order).refunded == Decimal("60.00")
    # and the database refuses a second successful attempt with the same key
    with pytest.raises(IntegrityError), transaction.atomic():
        RefundAttempt.objects.create(
            request=request, idempotency_key=f"refund-{request.number}", method="online", ok=True
        )


def test_an_invoice_issued_after_approval_holds_the_payment_without_paying_out(
    monkeypatch, buyer, team, requested, order
):
    """The refund is recorded before the money leaves: an invoice out stops both, and the gateway is
    not asked to pay a refund that is then not recorded."""
    request = approved(team, requested)
    profile = invoices.profile_save(
        actor=buyer, data={"kind": "company", "title": "Fuzhou Example Software Co., Ltd.", "tax_id": VALID_CODE}
    )
    invoice = invoices.invoice_request_submit(
        actor=buyer, order_ids=[order.pk], profile_id=profile.pk, medium="electronic", recipient_email="i@buyer.test"
    )
    invoices.invoice_issue(
        actor=team["admin"], request_id=invoice.pk, invoice_number="04400002", file=pdf_upload("x.pdf")
    )
    calls = []
    real = SandboxGateway.refund

    def spy(self, **kwargs):
        calls.append(kwargs["reference"])
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "refund", spy)

    assert services.refund_pay(request_id=request.pk) is False

    assert reload(request).status == S.APPROVED
    assert "invoice" in RefundAttempt.objects.get().error
    assert (Refund.objects.count(), line_of(order).refunded) == (0, Decimal("0.00"))
    assert calls == []  # no money went out for a refund that was not recorded


# --- effects ---------------------------------------------------------------------------------------


def test_partial_refunds_add_up_and_the_order_is_refunded_once_paid_back_in_full(buyer, team, requested, order):
    services.refund_pay(request_id=approved(team, requested).pk)
    assert (line_of(order).refunded, reload(order).status) == (Decimal("60.00"), Order.Status.PAID)
    assert services.refund_eligibility(line=line_of(order)).max_amount == Decimal("40.00")

    rest = approved(team, ask(buyer, order, "40.00"))
    services.refund_pay(request_id=rest.pk)

    assert (line_of(order).refunded, reload(order).status) == (Decimal("100.00"), Order.Status.REFUNDED)
    assert Refund.objects.filter(order_line__order=order).aggregate(t=Sum("amount"))["t"] == Decimal("100.00")
    decision = services.refund_eligibility(line=line_of(order))
    assert (decision.allowed, decision.reason) == (False, "Only paid orders are refunded.")


def test_a_full_refund_of_a_saas_line_releases_the_instance_at_the_sample_isv(
    buyer, integration, isv, saas_product, django_capture_on_commit_callbacks
):
    plan = PlanFactory(product=saas_product, sku_code="SAAS-STD", price=Decimal("100.00"))
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(buyer, plan)
    instance = Instance.objects.get(order_line__order=order)
    assert isv.count("releaseInstance") == 0

    with django_capture_on_commit_callbacks(execute=True):
        request = ask(buyer, order, reason_code=Reason.NO_LONGER_NEEDED)

    request = reload(request)
    assert (request.kind, request.status) == (K.NO_REASON, S.PAID)
    (release,) = isv.received_for("releaseInstance")
    assert (release.payload["scene"], release.payload["instanceId"], release.payload["orderLineId"]) == (
        "REFUNDED",
        instance.instance_id,
        str(line_of(order).pk),
    )
    assert (reload(instance).status, reload(order).status) == (Instance.Status.RELEASED, Order.Status.REFUNDED)
    assert isv.instance(instance.instance_id).status == "released"


def test_a_partial_refund_keeps_the_instance(buyer, team, integration, isv, seller, django_capture_on_commit_callbacks):
    plan = product_plan(seller, supervised=True)
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(buyer, plan)
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(buyer, order, "30.00")
        services.refund_request_approve(actor=team["admin"], request_id=request.pk)
    assert reload(request).status == S.PAID
    assert isv.count("releaseInstance") == 0
    assert Instance.objects.get(order_line__order=order).status == Instance.Status.ACTIVE


def test_a_refund_of_a_settled_line_is_a_negative_ledger_entry_at_refund_time(buyer, plain_saas_plan):
    order = buy(buyer, plain_saas_plan)
    (entry,) = LedgerEntry.objects.filter(order_line__order=order)
    assert (entry.kind, entry.gross) == (LedgerEntry.Kind.ORDER, Decimal("100.00"))
    request = ask(buyer, order, reason_code=Reason.NO_LONGER_NEEDED)
    refunded_at = order.paid_at + timedelta(hours=2)

    services.refund_pay(request_id=request.pk, now=refunded_at)

    refund = reload(request).refund
    negative = LedgerEntry.objects.get(order_line__order=order, kind=LedgerEntry.Kind.REFUND)
    assert (negative.gross, negative.occurred_at, negative.source) == (
        Decimal("-100.00"),
        refunded_at,
        f"refund:{refund.pk}",
    )
    assert negative.period == entry.period  # the same statement: they net to zero
    totals = LedgerEntry.objects.filter(order_line__order=order).aggregate(gross=Sum("gross"), net=Sum("net"))
    assert (totals["gross"], totals["net"]) == (Decimal("0.00"), Decimal("0.00"))


def test_a_refund_inside_the_guarantee_period_is_taken_off_what_is_settled(buyer, team, requested, order):
    """A supervised line is settled when supervision ends: the refund is no entry of its own."""
    services.refund_pay(request_id=approved(team, requested).pk)
    assert not LedgerEntry.objects.filter(order_line__order=order).exists()
    order_services.supervision_accept(actor=buyer, line_id=line_of(order).pk)
    (entry,) = LedgerEntry.objects.filter(order_line__order=order)
    assert (entry.kind, entry.gross) == (LedgerEntry.Kind.ORDER, Decimal("40.00"))


def test_the_check_constraint_keeps_refunds_within_what_was_paid(order):
    line = line_of(order)
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(refunded=F("amount") + Decimal("0.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(pk=line.pk).update(refunded=Decimal("-0.01"))
    OrderLine.objects.filter(pk=line.pk).update(refunded=F("amount"))  # exactly what was paid is fine
    assert line_of(order).refunded == Decimal("100.00")


# --- concurrency on PostgreSQL ---------------------------------------------------------------------


def race(*jobs) -> list[str]:
    """Run the jobs in threads released together; each closes its connection. Outcomes in job order."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def run(i, job):
        try:
            barrier.wait(timeout=10)
            result = job()
            outcomes[i] = "ok" if result is not False else "False"
        except ServiceError as exc:
            outcomes[i] = type(exc).__name__
        except Exception as exc:  # reported in the outcome, the assertion shows it
            outcomes[i] = f"error {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and partial unique indexes need PostgreSQL")


def paid_supervised_order():
    seller = SellerFactory()
    buyer = fresh(BuyerFactory().memberships.get().user)
    order = buy(buyer, product_plan(seller, supervised=True))
    return buyer, fresh(seller.memberships.get(role="admin").user), order


def within_paid(order):
    line = line_of(order)
    total = Refund.objects.filter(order_line=line).aggregate(t=Sum("amount"))["t"] or Decimal("0.00")
    assert total == line.refunded <= line.amount
    return line.refunded


@pytest.mark.django_db(transaction=True)
def test_two_refunds_that_together_exceed_what_was_paid_one_succeeds():
    postgres_only()
    _buyer, _admin, order = paid_supervised_order()
    line_id = line_of(order).pk

    outcomes = race(
        lambda: refund_record(line_id=line_id, amount="60.00", reason="First"),
        lambda: refund_record(line_id=line_id, amount="60.00", reason="Second"),
    )

    assert sorted(outcomes) == ["Conflict", "ok"]
    assert within_paid(order) == Decimal("60.00")
    assert Refund.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_approval_racing_another_refund_never_pays_more_than_was_paid():
    """The seller approves a request for 80 (paid back at once after commit) while operations refund
    50 on the same line: one of the two is refused, and the request stays approved if it lost."""
    postgres_only()
    buyer, admin, order = paid_supervised_order()
    request = ask(buyer, order, "80.00")
    line_id = line_of(order).pk

    outcomes = race(
        lambda: services.refund_request_approve(actor=fresh(admin), request_id=request.pk),
        lambda: refund_record(line_id=line_id, amount="50.00", reason="Operations"),
    )

    refunded = within_paid(order)
    request = reload(request)
    if outcomes[1] == "ok":  # operations first: the approval is refused, or its payment fails
        assert refunded == Decimal("50.00")
        assert request.status in (S.REQUESTED, S.APPROVED)
        assert not RefundAttempt.objects.filter(ok=True).exists()
    else:
        assert outcomes == ["ok", "Conflict"]
        assert (refunded, request.status) == (Decimal("80.00"), S.PAID)


@pytest.mark.django_db(transaction=True)
def test_two_requests_for_one_line_at_once_make_one_request():
    postgres_only()
    buyer, _admin, order = paid_supervised_order()

    outcomes = race(lambda: ask(fresh(buyer), order, "30.00"), lambda: ask(fresh(buyer), order, "90.00"))

    assert sorted(outcomes) == ["Conflict", "ok"]
    assert RefundRequest.objects.count() == 1
    assert RefundRequestEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_racing_an_approval_one_wins():
    postgres_only()
    buyer, admin, order = paid_supervised_order()
    request = ask(buyer, order, "80.00")

    outcomes = race(
        lambda: services.refund_request_approve(actor=fresh(admin), request_id=request.pk),
        lambda: services.refund_request_withdraw(actor=fresh(buyer), request_id=request.pk),
    )

    assert sorted(outcomes) == ["InvalidTransition", "ok"]
    request = reload(request)
    if outcomes[0] == "ok":
        # approved, then paid back after commit (or by the job, when the losing withdrawal still
        # held the row and the payment skipped it)
        services.refunds_pay_due()
        request = reload(request)
        assert request.status == S.PAID
        assert within_paid(order) == Decimal("80.00")
    else:
        assert request.status == S.WITHDRAWN
        assert within_paid(order) == Decimal("0.00")
    assert len(steps(request)) == (3 if outcomes[0] == "ok" else 2)


@pytest.mark.django_db(transaction=True)
def test_two_payment_jobs_at_once_pay_once(monkeypatch):
    postgres_only()
    buyer, admin, order = paid_supervised_order()
    request = ask(buyer, order, "80.00")
    monkeypatch.setattr(tasks.pay_refund, "delay", lambda *args: None)  # the jobs below pay it
    services.refund_request_approve(actor=admin, request_id=request.pk)
    assert reload(request).status == S.APPROVED

    outcomes = race(
        lambda: services.refund_pay(request_id=request.pk),
        lambda: services.refund_pay(request_id=request.pk),
    )

    assert sorted(outcomes) == ["False", "ok"]
    assert Refund.objects.count() == 1
    assert RefundAttempt.objects.filter(ok=True).count() == 1
    assert within_paid(order) == Decimal("80.00")
    assert reload(request).status == S.PAID


def test_gmv_goes_down_with_a_refund_and_a_full_refund_takes_the_order_out(seller, buyer, team, supervised_plan):
    from marketplace.orders.selectors import seller_order_stats

    order = buy(buyer, supervised_plan)
    line = order.lines.get()
    assert seller_order_stats(seller_id=seller.pk)["revenue_total"] == Decimal("100.00")

    refund_record(line_id=line.pk, amount="30.00", reason="partly")
    stats = seller_order_stats(seller_id=seller.pk)
    assert stats["revenue_total"] == stats["revenue_month"] == Decimal("70.00")

    refund_record(line_id=line.pk, amount="70.00", reason="the rest")
    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
    assert seller_order_stats(seller_id=seller.pk)["revenue_total"] == Decimal("0.00")
