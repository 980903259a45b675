"""Refunds in the back office: operations find escalated requests and decide them through actions
that call the services; staff without refunds.decide_refundrequest are refused; pages are
read-only."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from marketplace.accounts.models import User
from marketplace.orders import services as order_services
from marketplace.orders.models import Order, OrderLine
from refunds import services
from refunds.models import RefundRequest, RefundRequestEvent
from tests.factories import PlanFactory, ProductFactory, UserFactory, fresh

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 9, 10, tzinfo=BJ)
CHANGELIST = "admin:refunds_refundrequest_changelist"


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def staff_in(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def buy(user: User, plan) -> OrderLine:
    order = order_services.order_create(actor=fresh(user), plan_id=plan.pk, now=NOW)
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=fresh(user), order_id=order.pk, method="online", now=NOW)
    return OrderLine.objects.get(order=order)


@pytest.fixture
def supervised_plan(seller):
    return PlanFactory(product=ProductFactory(seller=seller, status="published", supervised=True))


def escalated_request(buyer_user, plan, amount="40") -> RefundRequest:
    """A negotiated request the seller did not answer in time (its due time moved to just now)."""
    request = services.refund_request_create(
        actor=fresh(buyer_user), line_id=buy(buyer_user, plan).pk, reason_code="quality", amount=amount, now=NOW
    )
    RefundRequest.objects.filter(pk=request.pk).update(answer_due_at=NOW - timedelta(minutes=1))
    services.refunds_escalate_due(now=NOW)
    request.refresh_from_db()
    assert request.status == RefundRequest.Status.ESCALATED
    return request


@pytest.fixture
def escalated(buyer_user, supervised_plan):
    return escalated_request(buyer_user, supervised_plan)


def state(request: RefundRequest) -> tuple:
    return (
        RefundRequest.objects.filter(pk=request.pk).values().get(),
        RefundRequestEvent.objects.filter(request=request).count(),
    )


def test_an_operator_approves_an_escalated_request(client, escalated):
    operator = staff_in("operations")
    client.force_login(operator)
    response = client.post(reverse(CHANGELIST), {"action": "approve", "_selected_action": [escalated.pk]})
    assert response.status_code == 302
    escalated.refresh_from_db()
    assert (escalated.status, escalated.amount) == ("approved", escalated.amount_requested)
    event = escalated.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("escalated", "approved", operator)


def test_finance_rejects_with_a_reason_asked_first(client, escalated):
    client.force_login(staff_in("finance"))
    url = reverse(CHANGELIST)
    form = client.post(url, {"action": "reject", "_selected_action": [escalated.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    before = state(escalated)
    client.post(url, {"action": "reject", "_selected_action": [escalated.pk], "apply": "1", "reason": ""})
    assert state(escalated) == before  # an empty reason shows the form again
    client.post(url, {"action": "reject", "_selected_action": [escalated.pk], "apply": "1", "reason": "Fake claim"})
    escalated.refresh_from_db()
    assert (escalated.status, escalated.rejection_reason) == ("rejected", "Fake claim")


def test_an_operator_proposes_another_amount(client, escalated):
    client.force_login(staff_in("operations"))
    url = reverse(CHANGELIST)
    form = client.post(url, {"action": "propose", "_selected_action": [escalated.pk]})
    assert form.status_code == 200 and b'name="amount"' in form.content
    before = state(escalated)
    response = client.post(
        url, {"action": "propose", "_selected_action": [escalated.pk], "apply": "1", "amount": "500"}, follow=True
    )
    assert state(escalated) == before  # more than was paid: the service refuses, the admin says so
    assert any(m.level_tag == "error" and "100.00" in str(m) for m in response.context["messages"])
    client.post(url, {"action": "propose", "_selected_action": [escalated.pk], "apply": "1", "amount": "25"})
    escalated.refresh_from_db()
    assert (escalated.status, str(escalated.amount_proposed)) == ("proposed", "25.00")


def test_staff_without_the_permission_are_refused(client, escalated):
    support = staff_in("support")  # sees refunds, does not decide them
    client.force_login(support)
    url = reverse(CHANGELIST)
    page = client.get(url)
    assert page.status_code == 200 and escalated.number in page.content.decode()
    before = state(escalated)
    for action, extra in (("approve", {}), ("reject", {"apply": "1", "reason": "x"}), ("propose", {"apply": "1"})):
        client.post(url, {"action": action, "_selected_action": [escalated.pk], **extra})
    assert state(escalated) == before
    plain_staff = UserFactory(is_staff=True)
    client.force_login(plain_staff)
    assert client.get(url).status_code == 403
    client.post(url, {"action": "approve", "_selected_action": [escalated.pk]})
    assert state(escalated) == before


def test_lists_filter_search_and_read_only_pages(client, buyer_user, supervised_plan, escalated):
    waiting = services.refund_request_create(
        actor=fresh(buyer_user), line_id=buy(buyer_user, supervised_plan).pk, reason_code="other", amount="5", now=NOW
    )
    client.force_login(staff_in("operations"))
    url = reverse(CHANGELIST)

    def listed(query) -> set:
        page = client.get(url, query)
        assert page.status_code == 200
        return {r.number for r in page.context["cl"].result_list}

    assert listed({}) == {escalated.number, waiting.number}
    assert listed({"escalated": "yes"}) == {escalated.number}
    assert listed({"escalated": "no"}) == {waiting.number}
    assert listed({"status__exact": "requested"}) == {waiting.number}
    assert listed({"kind__exact": "negotiated"}) == {escalated.number, waiting.number}
    assert listed({"q": escalated.number}) == {escalated.number}
    assert listed({"q": waiting.order_line.order.number}) == {waiting.number}
    services.refund_request_approve(actor=fresh(staff_in("operations")), request_id=escalated.pk)
    services.refund_pay(request_id=escalated.pk, now=NOW)
    change = client.get(reverse("admin:refunds_refundrequest_change", args=[escalated.pk])).content.decode()
    assert escalated.number in change
    assert 'name="amount"' not in change and 'name="status"' not in change
    assert "refund-" + escalated.number in change  # the attempt inline shows its idempotency key
    attempts = client.get(reverse("admin:refunds_refundattempt_changelist"))
    assert attempts.status_code == 200 and escalated.number in attempts.content.decode()
