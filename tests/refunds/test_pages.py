"""Refund pages through the Django test client (issue 8): the buyer's "new refund" page with the rule
that applies, the buyer's list and detail (proposal, withdrawal, paid), the seller's list and detail
(approve, reject, propose), the order page's refund link and refunded note, isolation and fixed
query counts.

Chinese is the default UI language, so the tests assert on status codes, data-testid, numbers, form
errors and the database; the few that read English text set the ``django_language=en`` cookie.
"""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.accounts.models import User
from marketplace.core.models import Notification
from marketplace.orders import services as order_services
from marketplace.orders.models import Order, OrderLine
from refunds import services
from refunds.models import RefundAttempt, RefundRequest, RefundRequestEvent
from tests.factories import BuyerFactory, PlanFactory, ProductFactory, fresh, seller_member

pytestmark = pytest.mark.django_db

R = RefundRequest.Status


# --- helpers ---------------------------------------------------------------------------------------


def as_user(user: User | None, *, english: bool = False) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    if english:
        client.cookies["django_language"] = "en"
    return client


def html(response) -> str:
    return response.content.decode()


def flashed(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def supervised_order(buyer: User, seller, *, price="100.00") -> Order:
    """A paid order of a supervised (manual delivery) product: its line is in the guarantee period."""
    product = ProductFactory(seller=seller, status="published", delivery_kind="manual")
    plan = PlanFactory(product=product, price=Decimal(price))
    order = order_services.order_create(actor=fresh(buyer), plan_id=plan.pk)
    order_services.order_pay(actor=fresh(buyer), order_id=order.pk, method="online")
    order.refresh_from_db()
    return order


def line_of(order: Order) -> OrderLine:
    return order.lines.get()


def new_url(order: Order) -> str:
    return reverse("buyer:refund_new", args=[order.pk, line_of(order).pk])


def ask(buyer: User, order: Order, amount="40.00", **fields) -> RefundRequest:
    fields = {"reason_code": "quality", "reason_text": "It crashes daily.", **fields}
    return services.refund_request_create(actor=fresh(buyer), line_id=line_of(order).pk, amount=amount, **fields)


def reload(refund: RefundRequest) -> RefundRequest:
    return RefundRequest.objects.get(pk=refund.pk)


def snapshot(refund: RefundRequest) -> dict:
    """Everything a refund action writes; a refused action leaves all of it as it was."""
    return {
        "request": RefundRequest.objects.filter(pk=refund.pk).values().get(),
        "events": RefundRequestEvent.objects.filter(request=refund).count(),
        "attempts": RefundAttempt.objects.filter(request=refund).count(),
        "refunded": OrderLine.objects.get(pk=refund.order_line_id).refunded,
        "notifications": Notification.objects.count(),
    }


@pytest.fixture
def order(buyer_user, seller):
    return supervised_order(buyer_user, seller)


def buyer_detail(refund) -> str:
    return reverse("buyer:refund_request", args=[refund.pk])


def seller_detail_url(refund) -> str:
    return reverse("seller:refund_request", args=[refund.pk])


# --- the buyer's "new refund" page -----------------------------------------------------------------


def test_the_new_refund_page_explains_the_negotiated_rule_before_asking(buyer_user, order):
    response = as_user(buyer_user, english=True).get(new_url(order))

    assert response.status_code == 200
    page = html(response)
    assert 'data-testid="eligibility"' in page and 'data-testid="refusal"' not in page
    assert "Within the guarantee period" in page
    assert re.search(r'data-testid="max-amount"><strong>¥100.00', page)
    assert re.search(r'data-testid="no-reason-counter">\s*0 of 10 used this year', page)
    assert 'name="amount"' in page and 'name="reason_code"' in page and 'name="reason_text"' in page


def test_a_buyer_asks_for_a_partial_refund_and_the_seller_is_told(buyer_user, seller_user, order):
    response = as_user(buyer_user).post(
        new_url(order), {"reason_code": "quality", "reason_text": "Crashes.", "amount": "30.50"}
    )

    refund = RefundRequest.objects.get()
    assert response.status_code == 302 and response.url == buyer_detail(refund)
    assert (refund.status, refund.kind, refund.amount_requested) == (R.REQUESTED, "negotiated", Decimal("30.50"))
    assert (refund.reason_code, refund.reason_text) == ("quality", "Crashes.")
    assert Notification.objects.filter(user=seller_user).exists()
    # asking again for the same line leads to the open request
    again = as_user(buyer_user).get(new_url(order))
    assert again.status_code == 302 and again.url == buyer_detail(refund)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason_code": "quality", "amount": "100.01"}, "amount"),
        ({"reason_code": "quality", "amount": "0"}, "amount"),
        ({"reason_code": "quality", "amount": ""}, "amount"),
        ({"reason_code": "", "amount": "10"}, "reason_code"),
        ({"reason_code": "made_up", "amount": "10"}, "reason_code"),
    ],
)
def test_a_refused_request_shows_the_error_and_creates_nothing(buyer_user, order, data, field):
    notifications = Notification.objects.count()

    response = as_user(buyer_user).post(new_url(order), data)

    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert 'class="errors"' in html(response)
    assert not RefundRequest.objects.exists()
    assert Notification.objects.count() == notifications
    assert line_of(order).refunded == 0


def test_after_the_guarantee_period_the_page_explains_the_refusal_and_takes_no_request(buyer_user, order):
    order_services.supervision_accept(actor=fresh(buyer_user), line_id=line_of(order).pk)
    client = as_user(buyer_user, english=True)

    response = client.get(new_url(order))

    page = html(response)
    assert response.status_code == 200
    assert 'data-testid="refusal"' in page and "The guarantee period is over" in page
    assert 'data-testid="refund-form"' not in page
    client.post(new_url(order), {"reason_code": "quality", "amount": "10"})
    assert not RefundRequest.objects.exists()


def test_a_renewal_not_yet_in_effect_shows_the_fixed_amount_and_is_refunded_at_once(
    buyer_user, order, django_capture_on_commit_callbacks
):
    sub = line_of(order).subscription
    renewal = order_services.order_create(
        actor=fresh(buyer_user), plan_id=line_of(order).plan_id, order_type="RENEW", subscription_id=sub.pk
    )
    order_services.order_pay(actor=fresh(buyer_user), order_id=renewal.pk, method="online")
    client = as_user(buyer_user)

    page = html(client.get(new_url(renewal)))
    assert 'data-testid="fixed-amount"' in page and 'name="amount"' not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(new_url(renewal), {"reason_code": "wrong_purchase"})

    refund = RefundRequest.objects.get()
    assert response.status_code == 302
    assert (refund.kind, refund.status, refund.amount) == ("renewal_not_effective", R.PAID, line_of(renewal).amount)
    assert line_of(renewal).refunded == line_of(renewal).amount


# --- the buyer's list and detail -------------------------------------------------------------------


def test_the_buyer_lists_filters_and_opens_their_requests(buyer_user, seller, order):
    refund = ask(buyer_user, order)
    other = supervised_order(buyer_user, seller)
    withdrawn = ask(buyer_user, other)
    services.refund_request_withdraw(actor=fresh(buyer_user), request_id=withdrawn.pk)
    client = as_user(buyer_user)

    response = client.get(reverse("buyer:refunds"))
    assert response.status_code == 200
    assert {r.number for r in response.context["page"]} == {refund.number, withdrawn.number}
    assert html(response).count('data-testid="refund-row"') == 2
    assert (response.context["counts"]["requested"], response.context["counts"]["withdrawn"]) == (1, 1)
    assert response.context["counts"]["open"] == 1
    assert {r.number for r in client.get(reverse("buyer:refunds"), {"status": "open"}).context["page"]} == {
        refund.number
    }
    assert {r.number for r in client.get(reverse("buyer:refunds"), {"q": other.number}).context["page"]} == {
        withdrawn.number
    }

    detail = client.get(buyer_detail(refund))
    assert detail.status_code == 200
    assert refund.number in html(detail) and 'data-testid="timeline"' in html(detail)
    assert 'data-testid="withdraw"' in html(detail) and "data-confirm" in html(detail)


def test_the_buyer_withdraws_a_request(buyer_user, order):
    refund = ask(buyer_user, order)

    response = as_user(buyer_user).post(buyer_detail(refund), {"action": "withdraw"}, follow=True)

    assert reload(refund).status == R.WITHDRAWN
    assert flashed(response)[0][0] == "success"
    assert 'data-testid="withdraw"' not in html(response)


def test_the_buyer_accepts_a_proposal_and_sees_it_paid(
    buyer_user, seller_user, order, django_capture_on_commit_callbacks
):
    refund = ask(buyer_user, order, amount="60.00")
    services.refund_request_propose(actor=fresh(seller_user), request_id=refund.pk, amount="45.00")
    client = as_user(buyer_user)
    page = html(client.get(buyer_detail(refund)))
    assert 'data-testid="accept"' in page and 'data-testid="decline"' in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(buyer_detail(refund), {"action": "accept"})

    refund = reload(refund)
    assert (refund.status, refund.amount) == (R.PAID, Decimal("45.00"))
    assert line_of(order).refunded == Decimal("45.00")
    page = html(client.get(buyer_detail(refund)))
    assert 'data-testid="paid"' in page and "45.00" in page
    order_page = html(client.get(reverse("buyer:order_detail", args=[order.pk])))
    assert 'data-testid="line-refunded"' in order_page and "45.00" in order_page


def test_the_buyer_declines_a_proposal(buyer_user, seller_user, order):
    refund = ask(buyer_user, order)
    services.refund_request_propose(actor=fresh(seller_user), request_id=refund.pk, amount="10.00")

    as_user(buyer_user).post(buyer_detail(refund), {"action": "decline"})

    assert reload(refund).status == R.DECLINED
    assert line_of(order).refunded == 0


def test_accepting_without_a_proposal_is_refused_and_changes_nothing(buyer_user, order):
    refund = ask(buyer_user, order)
    before = snapshot(refund)

    response = as_user(buyer_user).post(buyer_detail(refund), {"action": "accept"}, follow=True)

    assert flashed(response)[0][0] == "error"
    assert snapshot(refund) == before


# --- the seller's list and detail ------------------------------------------------------------------


def test_the_seller_lists_filters_and_sees_due_dates_and_escalations(buyer_user, seller_user, seller, order):
    waiting = ask(buyer_user, order)
    late_order = supervised_order(buyer_user, seller)
    late = ask(buyer_user, late_order)
    RefundRequest.objects.filter(pk=late.pk).update(answer_due_at=late.created_at)
    assert services.refunds_escalate_due() == 1
    client = as_user(seller_user)

    response = client.get(reverse("seller:refunds"))

    page = html(response)
    assert response.status_code == 200
    assert {r.number for r in response.context["page"]} == {waiting.number, late.number}
    assert page.count('data-testid="escalated"') == 1
    assert "¥40.00" in page  # the amount asked, until one is agreed
    assert 'data-testid="amount-agreed"' not in html(client.get(seller_detail_url(waiting)))
    assert f"{waiting.answer_due_at.astimezone():%m-%d}" in page
    counts = response.context["counts"]
    assert (counts["requested"], counts["escalated"], counts["open"], counts["all"]) == (1, 1, 2, 2)
    assert {r.number for r in client.get(reverse("seller:refunds"), {"status": "escalated"}).context["page"]} == {
        late.number
    }
    assert {r.number for r in client.get(reverse("seller:refunds"), {"q": waiting.number}).context["page"]} == {
        waiting.number
    }


def test_the_seller_approves_through_the_page_and_it_is_paid(
    buyer_user, seller_user, order, django_capture_on_commit_callbacks
):
    refund = ask(buyer_user, order, amount="25.00")
    client = as_user(seller_user)
    page = html(client.get(seller_detail_url(refund)))
    assert 'data-testid="approve"' in page and re.search(r'<form method="post" data-confirm="[^"]+">', page)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(seller_detail_url(refund), {"action": "approve"}, follow=True)

    refund = reload(refund)
    assert flashed(response)[0][0] == "success"
    assert (refund.status, refund.amount) == (R.PAID, Decimal("25.00"))
    assert RefundAttempt.objects.filter(request=refund, ok=True).count() == 1
    assert line_of(order).refunded == Decimal("25.00")
    page = html(client.get(seller_detail_url(refund)))
    assert 'data-testid="attempt-row"' in page and 'data-testid="approve"' not in page


def test_the_seller_rejects_with_a_reason_and_a_missing_reason_changes_nothing(buyer_user, seller_user, order):
    refund = ask(buyer_user, order)
    client = as_user(seller_user)
    before = snapshot(refund)

    response = client.post(seller_detail_url(refund), {"action": "reject", "reason": "  "})
    assert response.status_code == 200 and response.context["reject_form"].errors
    assert snapshot(refund) == before

    client.post(seller_detail_url(refund), {"action": "reject", "reason": "Works as described."})
    refund = reload(refund)
    assert (refund.status, refund.rejection_reason) == (R.REJECTED, "Works as described.")
    assert "Works as described." in html(as_user(buyer_user).get(buyer_detail(refund)))


def test_the_seller_proposes_another_amount_and_too_much_is_a_form_error(buyer_user, seller_user, order):
    refund = ask(buyer_user, order, amount="80.00")
    client = as_user(seller_user)
    before = snapshot(refund)

    response = client.post(seller_detail_url(refund), {"action": "propose", "amount": "100.01"})
    assert response.status_code == 200 and response.context["propose_form"].errors["amount"]
    assert snapshot(refund) == before

    client.post(seller_detail_url(refund), {"action": "propose", "amount": "50"})
    refund = reload(refund)
    assert (refund.status, refund.amount_proposed) == (R.PROPOSED, Decimal("50.00"))


def test_approving_a_request_no_longer_waiting_is_refused_and_changes_nothing(buyer_user, seller_user, order):
    refund = ask(buyer_user, order)
    services.refund_request_withdraw(actor=fresh(buyer_user), request_id=refund.pk)
    before = snapshot(refund)

    response = as_user(seller_user).post(seller_detail_url(refund), {"action": "approve"}, follow=True)

    assert flashed(response)[0][0] == "error"
    assert snapshot(refund) == before


# --- the order page --------------------------------------------------------------------------------


def test_the_order_page_links_eligible_lines_to_a_refund_and_open_ones_to_their_request(buyer_user, order):
    client = as_user(buyer_user)
    url = reverse("buyer:order_detail", args=[order.pk])

    assert new_url(order) in html(client.get(url))

    refund = ask(buyer_user, order)
    page = html(client.get(url))
    assert new_url(order) not in page and buyer_detail(refund) in page

    services.refund_request_withdraw(actor=fresh(buyer_user), request_id=refund.pk)
    order_services.supervision_accept(actor=fresh(buyer_user), line_id=line_of(order).pk)
    page = html(client.get(url))
    assert 'data-testid="line-refund"' not in page and 'data-testid="line-refund-open"' not in page


# --- isolation -------------------------------------------------------------------------------------


def test_other_buyers_and_sellers_get_404_and_a_support_user_403(
    buyer_user, other_buyer_user, seller, seller_user, other_seller_user, order
):
    refund = ask(buyer_user, order)
    before = snapshot(refund)
    stranger = as_user(other_buyer_user)

    assert stranger.get(buyer_detail(refund)).status_code == 404
    assert stranger.post(buyer_detail(refund), {"action": "withdraw"}).status_code == 404
    assert stranger.get(new_url(order)).status_code == 404
    assert stranger.post(new_url(order), {"reason_code": "quality", "amount": "5"}).status_code == 404
    assert not stranger.get(reverse("buyer:refunds")).context["page"].object_list

    other_seller = as_user(other_seller_user)
    assert other_seller.get(seller_detail_url(refund)).status_code == 404
    assert other_seller.post(seller_detail_url(refund), {"action": "approve"}).status_code == 404
    assert not other_seller.get(reverse("seller:refunds")).context["page"].object_list

    support = as_user(seller_member(seller, "support"))
    assert support.get(reverse("seller:refunds")).status_code == 403
    assert support.get(seller_detail_url(refund)).status_code == 403
    assert support.post(seller_detail_url(refund), {"action": "approve"}).status_code == 403
    assert as_user(seller_member(seller, "finance")).get(seller_detail_url(refund)).status_code == 200

    assert as_user(None).get(reverse("buyer:refunds")).status_code == 302
    assert snapshot(refund) == before


def test_a_tenant_user_sees_only_the_requests_of_their_own_orders(seller, order, buyer_user):
    from marketplace.accounts.models import BuyerMembership

    colleague = BuyerFactory().memberships.get().user
    BuyerMembership.objects.filter(user=colleague).update(buyer=order.buyer, role="user")
    refund = ask(buyer_user, order)

    client = as_user(colleague)
    assert client.get(buyer_detail(refund)).status_code == 404
    assert not client.get(reverse("buyer:refunds")).context["page"].object_list


# --- query counts ----------------------------------------------------------------------------------


def _requests(n: int, buyer: User, seller) -> None:
    for _ in range(n):
        ask(buyer, supervised_order(buyer, seller), amount="1.00")


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("audience", ["seller", "buyer"])
def test_lists_take_the_same_number_of_queries_for_3_and_20_requests(audience, buyer_user, seller, seller_user):
    client = as_user(seller_user if audience == "seller" else buyer_user)
    url = reverse(f"{audience}:refunds")
    _requests(3, buyer_user, seller)
    few = _queries(client, url)
    _requests(17, buyer_user, seller)

    many = _queries(client, url)

    assert many == few
    assert len(client.get(url).context["page"]) == 20
