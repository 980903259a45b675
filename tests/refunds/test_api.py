"""The refunds REST API (/api/v1/buyer/order-lines/{id}/refund-eligibility/,
/api/v1/buyer/refund-requests/, /api/v1/seller/refund-requests/): every endpoint's happy path, its
refused paths (which change nothing), the isolation between parties and roles, and lists in a fixed
number of queries.

The clock is pinned to Monday 9 March 2026, 10:00 Beijing time; orders are paid at that moment. A
supervised SaaS product gives lines in the guarantee period (negotiated refunds); a plain SaaS
product gives lines with the 5-day no-reason refund.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.accounts.models import BuyerMembership, User
from marketplace.core.models import Notification
from marketplace.orders import services as order_services
from marketplace.orders.models import Order, OrderLine
from refunds import services
from refunds.models import RefundAttempt, RefundRequest, RefundRequestEvent
from tests.factories import EnterpriseFactory, PlanFactory, ProductFactory, UserFactory, api, fresh, seller_member

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
R = RefundRequest.Status
NOW = datetime(2026, 3, 9, 10, tzinfo=BJ)

BUYER = "/api/v1/buyer/refund-requests/"
SELLER = "/api/v1/seller/refund-requests/"


def eligibility_url(line) -> str:
    return f"/api/v1/buyer/order-lines/{getattr(line, 'pk', line)}/refund-eligibility/"


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- helpers ---------------------------------------------------------------------------------------


def buy(user: User, plan) -> OrderLine:
    """A paid order of ``plan`` (online, now); its one line."""
    order = order_services.order_create(actor=fresh(user), plan_id=plan.pk, now=NOW)
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=fresh(user), order_id=order.pk, method="online", now=NOW)
    return OrderLine.objects.select_related("order").get(order=order)


def ask(user: User, line, amount="40.00", **fields) -> RefundRequest:
    fields = {"reason_code": "quality", "reason_text": "It keeps crashing.", **fields}
    return services.refund_request_create(actor=fresh(user), line_id=line.pk, amount=amount, **fields)


def notices(user: User) -> int:
    return Notification.objects.filter(user=user).count()


def snapshot(*requests: RefundRequest) -> dict:
    """Everything a refund action may write; a refused action leaves all of it as it was."""
    return {
        "requests": list(RefundRequest.objects.order_by("pk").values()),
        "events": RefundRequestEvent.objects.count(),
        "attempts": RefundAttempt.objects.count(),
        "lines": list(OrderLine.objects.order_by("pk").values("pk", "refunded")),
        "notifications": Notification.objects.count(),
    }


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


@pytest.fixture
def supervised_plan(seller):
    product = ProductFactory(seller=seller, status="published", supervised=True)
    return PlanFactory(product=product)


@pytest.fixture
def plain_plan(seller):
    """SaaS without supervision: the 5-day no-reason refund."""
    product = ProductFactory(seller=seller, status="published")
    return PlanFactory(product=product)


@pytest.fixture
def line(buyer_user, supervised_plan):
    line = buy(buyer_user, supervised_plan)
    assert line.supervision == OrderLine.Supervision.IN_PROGRESS
    return line


@pytest.fixture
def request_(buyer_user, line):
    """A negotiated request for CNY 40 of the 100 paid, waiting for the seller."""
    return ask(buyer_user, line)


@pytest.fixture
def finance_user(seller):
    return seller_member(seller, "finance")


@pytest.fixture
def support_user(seller):
    return seller_member(seller, "support")


# --- eligibility -----------------------------------------------------------------------------------


def test_eligibility_in_the_guarantee_period_is_a_negotiated_refund(buyer_user, line):
    body = ok(api(buyer_user).get(eligibility_url(line)))
    assert body["line"] == line.pk
    assert (body["kind"], body["allowed"], body["full"], body["max_amount"]) == ("negotiated", True, False, "100.00")
    assert "guarantee period" in body["reason"]
    assert (body["no_reason_used"], body["no_reason_limit"]) == (0, 10)


def test_eligibility_of_plain_saas_is_the_no_reason_refund_with_its_counter(buyer_user, plain_plan):
    line = buy(buyer_user, plain_plan)
    body = ok(api(buyer_user).get(eligibility_url(line)))
    assert (body["kind"], body["allowed"], body["full"], body["max_amount"]) == ("no_reason", True, True, "100.00")
    assert (body["no_reason_used"], body["no_reason_limit"]) == (0, 10)
    with time_machine.travel(NOW + timedelta(days=6), tick=False):
        late = ok(api(buyer_user).get(eligibility_url(line)))
    assert (late["kind"], late["allowed"], late["max_amount"]) == (None, False, "0.00")
    assert "5-day" in late["reason"]


def test_eligibility_after_the_guarantee_period_is_refused_with_the_reason(buyer_user, line):
    order_services.supervision_accept(actor=fresh(buyer_user), line_id=line.pk, now=NOW)
    body = ok(api(buyer_user).get(eligibility_url(line)))
    assert (body["kind"], body["allowed"]) == (None, False)
    assert "guarantee period is over" in body["reason"]


def test_eligibility_of_another_partys_line_is_a_404(line, other_buyer_user, seller_user, buyer_user):
    refused(api(other_buyer_user).get(eligibility_url(line)), 404, "not_found")
    refused(api(buyer_user).get(eligibility_url("abc")), 404, "not_found")
    refused(api(buyer_user).get(eligibility_url(99999999)), 404, "not_found")
    refused(api(seller_user).get(eligibility_url(line)), 403, "permission_denied")
    refused(api().get(eligibility_url(line)), 401, "not_authenticated")


# --- buyer: asking ---------------------------------------------------------------------------------


def test_buyer_asks_for_a_negotiated_refund(buyer_user, seller_user, line):
    told = notices(seller_user)
    body = ok(
        api(buyer_user).post(
            BUYER,
            {"line": line.pk, "reason_code": "quality", "reason_text": "Crashes daily.", "amount": "30.50"},
            format="json",
        ),
        201,
    )
    request = RefundRequest.objects.get()
    assert (body["id"], body["number"]) == (request.pk, request.number)
    assert (body["status"], body["status_label"], body["is_open"]) == ("requested", "Waiting for the seller", True)
    assert (body["kind"], body["reason_code"], body["reason_label"]) == ("negotiated", "quality", "Quality or faults")
    # money fields default to 0 in the model, so "nothing proposed or agreed yet" reads 0.00
    assert (body["amount_requested"], body["amount_proposed"], body["amount"]) == ("30.50", "0.00", "0.00")
    assert (body["line"], body["order"], body["order_number"]) == (line.pk, line.order_id, line.order.number)
    assert body["seller"] == line.seller_id and body["reason_text"] == "Crashes daily."
    assert body["answer_due_at"] == (NOW + timedelta(days=7)).isoformat()
    assert [e["to_status"] for e in body["events"]] == ["requested"]
    assert body["events"][0]["message"] == "Refund requested: Crashes daily."
    assert body["attempts"] == []
    assert notices(seller_user) == told + 1


def test_a_no_reason_refund_is_approved_at_once_for_the_full_amount(buyer_user, plain_plan):
    line = buy(buyer_user, plain_plan)
    body = ok(
        api(buyer_user).post(
            BUYER, {"line": line.pk, "reason_code": "no_longer_needed", "amount": "1.00"}, format="json"
        ),
        201,
    )
    assert (body["kind"], body["status"], body["amount"]) == ("no_reason", "approved", "100.00")
    assert [e["to_status"] for e in body["events"]] == ["requested", "approved"]


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"amount": "100.01"}, 400, "amount"),
        ({"amount": "0"}, 400, "amount"),
        ({"amount": None}, 400, "amount"),
        ({"amount": "abc"}, 400, "amount"),
        ({"reason_code": "bored"}, 400, "reason_code"),
        ({"line": "abc"}, 400, "line"),
        ({"line": 99999999}, 404, None),
    ],
)
def test_asking_with_bad_input_changes_nothing(buyer_user, line, data, status, field):
    before = snapshot()
    body = {"line": line.pk, "reason_code": "quality", "amount": "10.00", **data}
    refused(api(buyer_user).post(BUYER, body, format="json"), status, None, field)
    assert snapshot() == before and not RefundRequest.objects.exists()


def test_asking_twice_or_on_another_buyers_line_is_refused(buyer_user, other_buyer_user, request_, line):
    before = snapshot()
    body = {"line": line.pk, "reason_code": "quality", "amount": "10.00"}
    refused(api(buyer_user).post(BUYER, body, format="json"), 409, "conflict")
    refused(api(other_buyer_user).post(BUYER, body, format="json"), 404, "not_found")
    assert snapshot() == before


def test_only_buyers_use_the_buyer_endpoints(seller_user, request_, line):
    client = api(seller_user)
    before = snapshot()
    refused(client.get(BUYER), 403, "permission_denied")
    refused(client.get(f"{BUYER}{request_.pk}/"), 403, "permission_denied")
    refused(client.post(BUYER, {"line": line.pk, "reason_code": "quality", "amount": "1"}, format="json"), 403)
    for verb in ("accept-proposal", "decline-proposal", "withdraw"):
        refused(client.post(f"{BUYER}{request_.pk}/{verb}/", {}, format="json"), 403, "permission_denied")
    assert snapshot() == before


def test_anonymous_requests_are_a_401(request_, line):
    client = api()
    for url in (BUYER, SELLER, f"{BUYER}{request_.pk}/", f"{SELLER}{request_.pk}/", eligibility_url(line)):
        refused(client.get(url), 401, "not_authenticated")


# --- buyer: lists and details ----------------------------------------------------------------------


def test_buyer_list_filters_by_status(buyer_user, other_buyer_user, supervised_plan, request_):
    withdrawn = ask(buyer_user, buy(buyer_user, supervised_plan))
    services.refund_request_withdraw(actor=fresh(buyer_user), request_id=withdrawn.pk)
    ask(other_buyer_user, buy(other_buyer_user, supervised_plan))  # not theirs
    client = api(buyer_user)

    def ids(query=""):
        return [r["id"] for r in ok(client.get(BUYER + query))["results"]]

    assert sorted(ids()) == sorted([request_.pk, withdrawn.pk])
    assert ids("?status=open") == [request_.pk]
    assert ids("?status=requested") == [request_.pk]
    assert ids("?status=withdrawn") == [withdrawn.pk]
    assert ids("?status=paid") == []
    row = ok(client.get(BUYER + "?status=withdrawn"))["results"][0]
    assert (row["status"], row["status_label"], row["is_open"]) == ("withdrawn", "Withdrawn", False)
    assert "events" not in row and "reason_text" not in row
    refused(client.get(BUYER + "?status=bogus"), 400, "invalid", "status")


def test_buyer_detail_has_the_timeline_and_the_attempts(buyer_user, seller_user, request_):
    services.refund_request_approve(actor=fresh(seller_user), request_id=request_.pk)
    services.refund_pay(request_id=request_.pk, now=NOW)
    body = ok(api(buyer_user).get(f"{BUYER}{request_.pk}/"))
    assert (body["status"], body["amount"]) == ("paid", "40.00")
    assert [e["to_status"] for e in body["events"]] == ["requested", "approved", "paid"]
    assert body["events"][1]["actor_name"] == (seller_user.name or seller_user.email)
    assert [(a["method"], a["ok"]) for a in body["attempts"]] == [("online", True)]
    assert "error" not in body["attempts"][0]


def test_a_tenants_plain_users_see_their_own_requests_its_administrators_all(supervised_plan):
    tenant = EnterpriseFactory()
    admin = tenant.memberships.get().user
    alice, bob = UserFactory(), UserFactory()
    for user in (alice, bob):
        BuyerMembership.objects.create(
            buyer=tenant, user=user, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
        )
    mine = ask(alice, buy(alice, supervised_plan))
    assert [r["id"] for r in ok(api(alice).get(BUYER))["results"]] == [mine.pk]
    assert ok(api(bob).get(BUYER))["count"] == 0
    refused(api(bob).get(f"{BUYER}{mine.pk}/"), 404, "not_found")
    before = snapshot()
    refused(api(bob).post(f"{BUYER}{mine.pk}/withdraw/", {}, format="json"), 404, "not_found")
    assert snapshot() == before
    assert [r["id"] for r in ok(api(admin).get(BUYER))["results"]] == [mine.pk]
    assert ok(api(admin).get(f"{BUYER}{mine.pk}/"))["requested_by_name"] == (alice.name or alice.email)


def test_another_buyer_gets_404_for_every_buyer_endpoint(other_buyer_user, request_):
    client = api(other_buyer_user)
    before = snapshot()
    refused(client.get(f"{BUYER}{request_.pk}/"), 404, "not_found")
    refused(client.get(f"{BUYER}abc/"), 404, "not_found")
    for verb in ("accept-proposal", "decline-proposal", "withdraw"):
        # the body is not even read: garbage gets the same 404
        refused(client.post(f"{BUYER}{request_.pk}/{verb}/", "not json", content_type="application/json"), 404)
    assert snapshot() == before
    assert ok(client.get(BUYER))["count"] == 0


# --- buyer: answering a proposal, withdrawing ------------------------------------------------------


def test_buyer_accepts_a_proposal(buyer_user, seller_user, request_):
    services.refund_request_propose(actor=fresh(seller_user), request_id=request_.pk, amount="25")
    body = ok(api(buyer_user).post(f"{BUYER}{request_.pk}/accept-proposal/"))
    assert (body["status"], body["amount_proposed"], body["amount"]) == ("approved", "25.00", "25.00")
    assert body["events"][-1]["to_status"] == "approved"


def test_buyer_declines_a_proposal(buyer_user, seller_user, request_):
    services.refund_request_propose(actor=fresh(seller_user), request_id=request_.pk, amount="25")
    told = notices(seller_user)
    body = ok(api(buyer_user).post(f"{BUYER}{request_.pk}/decline-proposal/"))
    assert (body["status"], body["is_open"], body["amount"]) == ("declined", False, "0.00")
    assert notices(seller_user) == told + 1


def test_answering_without_a_proposal_is_refused(buyer_user, request_):
    before = snapshot()
    refused(api(buyer_user).post(f"{BUYER}{request_.pk}/accept-proposal/"), 409, "invalid_transition")
    refused(api(buyer_user).post(f"{BUYER}{request_.pk}/decline-proposal/"), 409, "invalid_transition")
    assert snapshot() == before


def test_buyer_withdraws_then_cannot_again(buyer_user, request_):
    body = ok(api(buyer_user).post(f"{BUYER}{request_.pk}/withdraw/"))
    assert (body["status"], body["is_open"]) == ("withdrawn", False)
    before = snapshot()
    refused(api(buyer_user).post(f"{BUYER}{request_.pk}/withdraw/"), 409, "invalid_transition")
    assert snapshot() == before


# --- seller ----------------------------------------------------------------------------------------


def test_seller_lists_and_reads_requests(seller_user, buyer_user, other_seller, supervised_plan, request_):
    other_plan = PlanFactory(product=ProductFactory(seller=other_seller, status="published", supervised=True))
    ask(buyer_user, buy(buyer_user, other_plan))  # another seller's
    body = ok(api(seller_user).get(SELLER))
    assert [r["id"] for r in body["results"]] == [request_.pk]
    row = body["results"][0]
    buyer = buyer_user.buyer_membership.buyer
    assert (row["buyer"], row["buyer_name"]) == (buyer.pk, buyer.name)
    detail = ok(api(seller_user).get(f"{SELLER}{request_.pk}/"))
    assert detail["reason_text"] == "It keeps crashing." and [e["to_status"] for e in detail["events"]] == ["requested"]


def test_seller_list_filters_by_status_and_escalation(seller_user, buyer_user, supervised_plan, request_):
    late = ask(buyer_user, buy(buyer_user, supervised_plan))
    RefundRequest.objects.filter(pk=late.pk).update(answer_due_at=NOW - timedelta(minutes=1))
    assert services.refunds_escalate_due(now=NOW) == 1
    client = api(seller_user)

    def ids(query=""):
        return [r["id"] for r in ok(client.get(SELLER + query))["results"]]

    assert ids("?escalated=true") == [late.pk]
    assert ids("?escalated=false") == [request_.pk]
    assert ids("?status=escalated") == [late.pk]
    assert ids("?status=requested") == [request_.pk]
    assert sorted(ids("?status=open")) == sorted([late.pk, request_.pk])
    # operations (or the seller, late) decide it: it still counts as escalated
    services.refund_request_approve(actor=fresh(seller_user), request_id=late.pk)
    assert ids("?escalated=true") == [late.pk]
    refused(client.get(SELLER + "?escalated=maybe"), 400, "invalid", "escalated")
    refused(client.get(SELLER + "?status=nope"), 400, "invalid", "status")


def test_seller_approves(seller_user, buyer_user, request_):
    told = notices(buyer_user)
    body = ok(api(seller_user).post(f"{SELLER}{request_.pk}/approve/"))
    assert (body["status"], body["amount"]) == ("approved", "40.00")
    assert body["pay_by"] == (NOW + timedelta(hours=3)).isoformat()
    assert notices(buyer_user) == told + 1
    before = snapshot()
    refused(api(seller_user).post(f"{SELLER}{request_.pk}/approve/"), 409, "invalid_transition")
    assert snapshot() == before


def test_finance_staff_reject_with_a_reason(finance_user, buyer_user, request_):
    before = snapshot()
    refused(api(finance_user).post(f"{SELLER}{request_.pk}/reject/", {"reason": "  "}, format="json"), 400, "invalid")
    refused(api(finance_user).post(f"{SELLER}{request_.pk}/reject/", {}, format="json"), 400, "invalid", "reason")
    assert snapshot() == before
    body = ok(api(finance_user).post(f"{SELLER}{request_.pk}/reject/", {"reason": "Works as described."}))
    assert (body["status"], body["rejection_reason"]) == ("rejected", "Works as described.")
    assert body["events"][-1]["message"] == "Rejected: Works as described."
    before = snapshot()
    refused(api(finance_user).post(f"{SELLER}{request_.pk}/reject/", {"reason": "again"}), 409, "invalid_transition")
    assert snapshot() == before


def test_seller_proposes_another_amount(seller_user, buyer_user, request_):
    client = api(seller_user)
    before = snapshot()
    for amount in ("0", "100.01", "abc"):
        refused(client.post(f"{SELLER}{request_.pk}/propose/", {"amount": amount}, format="json"), 400, "invalid")
    refused(client.post(f"{SELLER}{request_.pk}/propose/", {}, format="json"), 400, "invalid", "amount")
    assert snapshot() == before
    body = ok(client.post(f"{SELLER}{request_.pk}/propose/", {"amount": "20"}, format="json"))
    assert (body["status"], body["amount_proposed"], body["amount"]) == ("proposed", "20.00", "0.00")
    before = snapshot()
    refused(client.post(f"{SELLER}{request_.pk}/propose/", {"amount": "10"}, format="json"), 409)
    refused(client.post(f"{SELLER}{request_.pk}/approve/"), 409, "invalid_transition")
    assert snapshot() == before


def test_another_seller_gets_404_before_the_body_is_read(other_seller_user, request_):
    client = api(other_seller_user)
    before = snapshot()
    refused(client.get(f"{SELLER}{request_.pk}/"), 404, "not_found")
    refused(client.get(f"{SELLER}abc/"), 404, "not_found")
    for verb in ("approve", "reject", "propose"):
        refused(client.post(f"{SELLER}{request_.pk}/{verb}/", "not json", content_type="application/json"), 404)
        refused(client.post(f"{SELLER}{request_.pk}/{verb}/", {}, format="json"), 404, "not_found")
    assert ok(client.get(SELLER))["count"] == 0
    assert snapshot() == before


def test_wrong_roles_get_403(support_user, buyer_user, request_):
    before = snapshot()
    for user in (support_user, buyer_user):
        client = api(user)
        refused(client.get(SELLER), 403, "permission_denied")
        refused(client.get(f"{SELLER}{request_.pk}/"), 403, "permission_denied")
        refused(client.post(f"{SELLER}{request_.pk}/approve/"), 403, "permission_denied")
        refused(client.post(f"{SELLER}{request_.pk}/reject/", {"reason": "x"}), 403, "permission_denied")
        refused(client.post(f"{SELLER}{request_.pk}/propose/", {"amount": "1"}), 403, "permission_denied")
    assert snapshot() == before


# --- lists in a fixed number of queries ------------------------------------------------------------


def _requests(buyer_user, supervised_plan, n: int) -> None:
    for _ in range(n):
        ask(buyer_user, buy(buyer_user, supervised_plan), amount="5")


def _queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        body = ok(client.get(url))
    return len(queries), body["count"]


def test_lists_take_a_fixed_number_of_queries(buyer_user, seller_user, supervised_plan):
    _requests(buyer_user, supervised_plan, 3)
    buyer, seller = api(buyer_user), api(seller_user)
    few = (_queries(buyer, BUYER), _queries(seller, SELLER), _queries(seller, SELLER + "?escalated=false"))
    _requests(buyer_user, supervised_plan, 17)
    many = (_queries(buyer, BUYER), _queries(seller, SELLER), _queries(seller, SELLER + "?escalated=false"))
    assert [count for _q, count in few] == [3, 3, 3]
    assert [count for _q, count in many] == [20, 20, 20]
    assert [q for q, _c in few] == [q for q, _c in many]


def test_details_take_a_fixed_number_of_queries(buyer_user, seller_user, request_):
    client = api(buyer_user)

    def detail_queries():
        with CaptureQueriesContext(connection) as queries:
            ok(client.get(f"{BUYER}{request_.pk}/"))
        return len(queries)

    first = detail_queries()
    services.refund_request_propose(actor=fresh(seller_user), request_id=request_.pk, amount="10")
    services.refund_proposal_accept(actor=fresh(buyer_user), request_id=request_.pk)
    services.refund_pay(request_id=request_.pk, now=NOW)
    assert detail_queries() == first
