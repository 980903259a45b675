"""SaaS delivery through the outbox, over real HTTP to the sample ISV: newInstance on payment, the
calls renewals, trial conversions, expiry and refunds cause, and what happens when the seller's
server misbehaves (no duplicate instance, no lost message, the order ends in the right state)."""

import re
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.models import LedgerEntry
from marketplace.catalog.models import Product
from marketplace.core import calendar
from marketplace.core.errors import Conflict, NotAllowed, NotFound
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderEvent, OrderLine, OrderType, Subscription
from marketplace.provisioning import protocol, services
from marketplace.provisioning.models import Instance, ProduceAttempt, ProduceMessage, SellerIntegration
from marketplace.provisioning.services import beijing_stamp
from refunds.models import Refund
from refunds.services import refund_record
from tests.factories import BuyerFactory, PlanFactory, ProductFactory, seller_member

from .conftest import ACCESS_KEY

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def state() -> dict:
    """Every row delivery may write; a refused action leaves all of them as they were."""
    return {
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status")),
        "lines": list(OrderLine.objects.order_by("pk").values_list("pk", "provisioned_at")),
        "subscriptions": list(Subscription.objects.order_by("pk").values_list("pk", "status", "expires_at")),
        "instances": list(Instance.objects.order_by("pk").values_list("pk", "instance_id", "status")),
        "messages": list(
            ProduceMessage.objects.order_by("pk").values_list(
                "pk", "status", "attempts", "rounds", "next_attempt_at", "lease_until", "finished_at", "created_at"
            )
        ),
        "attempts": ProduceAttempt.objects.count(),
        "refunds": list(Refund.objects.order_by("pk").values_list("pk", "amount")),
        "ledger": list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "gross")),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


def outcomes(message) -> list[str]:
    return list(message.attempt_log.order_by("pk").values_list("outcome", flat=True))


def wait_until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# --- the happy path -----------------------------------------------------------------------------


def test_paying_a_saas_order_sends_a_signed_new_instance_and_provisions_the_line_when_it_is_made(
    buyer_user, seller, integration, isv, saas_plan, django_capture_on_commit_callbacks
):
    # given an order paid, before its transaction commits
    with django_capture_on_commit_callbacks() as callbacks:
        order = orders.order_create(actor=buyer_user, plan_id=saas_plan.pk)
        orders.order_pay(actor=buyer_user, order_id=order.pk, method="online")
    line = OrderLine.objects.get(order=order)
    message = ProduceMessage.objects.get()
    # then the line waits for its instance and nothing is settled yet
    assert line.provisioned_at is None
    assert not LedgerEntry.objects.exists()
    assert not Instance.objects.exists()
    assert (message.activity, message.status, message.attempts, message.order_line_id) == (
        "newInstance",
        "pending",
        0,
        line.pk,
    )
    assert isv.count("newInstance") == 0

    # when the transaction commits and the worker delivers the call
    for callback in callbacks:
        callback()

    # then the ISV received one correctly signed newInstance with the order's fields
    (request,) = isv.received_for("newInstance")
    assert (request.http_status, request.result_code) == (200, "000000")
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert re.fullmatch(r"[0-9a-f]{32}", request.query["nonce"])
    assert abs(int(request.query["timestamp"]) - protocol.now_ms()) < 60_000
    assert request.query["signature"] == protocol.produce_signature(
        ACCESS_KEY, request.query["nonce"], request.query["timestamp"], request.body
    )
    payload = request.payload
    assert re.fullmatch(r"[0-9a-f]{32}", payload.pop("businessId"))
    order.refresh_from_db()
    line.refresh_from_db()
    assert payload == {
        "activity": "newInstance",
        "orderId": order.number,
        "orderLineId": str(line.pk),
        "testFlag": "0",
        "trialFlag": "0",
        "productId": str(saas_plan.product_id),
        "skuCode": "SAAS-STD",
        "customerId": order.buyer.code,
        "customerName": order.buyer.name,
        "chargingMode": "PERIOD",
        "periodType": "month",
        "periodNumber": "1",
        "expireTime": beijing_stamp(line.validity_end),
        "orderAmount": "100.00",
        "extendParams": [],
    }
    # and the instance is recorded with the credentials decrypted (and encrypted again at rest)
    made = isv.instance_for_line(order.number, str(line.pk))
    instance = Instance.objects.get()
    assert (
        instance.order_line_id,
        instance.subscription_id,
        instance.seller_id,
        instance.instance_id,
        instance.status,
        instance.front_end_url,
        instance.admin_url,
        instance.username,
        instance.password,
    ) == (
        line.pk,
        line.subscription_id,
        seller.pk,
        made.instance_id,
        "active",
        f"{isv.url}/app/{made.instance_id}",
        f"{isv.url}/admin/{made.instance_id}",
        f"admin-{line.pk}",
        made.password,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT username, password FROM provisioning_instance WHERE id = %s", [instance.pk])
        raw_username, raw_password = cursor.fetchone()
    assert f"admin-{line.pk}" not in raw_username and made.password not in raw_password
    attempt = ProduceAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code, attempt.result_code) == ("success", 200, "000000")
    assert made.password not in attempt.response_body  # it travelled encrypted too
    # and the line is provisioned, and settled, only now
    assert line.provisioned_at == instance.created_at
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.order_line_id, entry.gross, entry.occurred_at) == (
        "order",
        line.pk,
        Decimal("100.00"),
        line.provisioned_at,
    )
    message.refresh_from_db()
    assert (message.status, message.attempts, message.result_code, message.error, message.seller_error) == (
        "succeeded",
        1,
        "000000",
        "",
        "",
    )
    assert order.status == "paid"
    assert OrderEvent.objects.get(order=order, note="Instance %(instance)s ready").params == {
        "instance": made.instance_id
    }
    # and the buyer is told
    assert Notification.objects.filter(user=buyer_user, link=reverse("buyer:services")).count() == 1


def test_a_trial_sends_trial_flag_1_and_settles_nothing(integration, isv, saas_plan, paid):
    order = paid(saas_plan, order_type=OrderType.TRIAL)

    line = order.lines.get()
    (request,) = isv.received_for("newInstance")
    assert (request.payload["trialFlag"], request.payload["orderAmount"], request.payload["expireTime"]) == (
        "1",
        "0.00",
        beijing_stamp(line.validity_start + timedelta(days=14)),
    )
    assert Instance.objects.get().order_line_id == line.pk
    assert line.provisioned_at is not None
    assert not LedgerEntry.objects.exists()


def test_a_renewal_refreshes_the_instance_with_the_new_expiry(integration, isv, saas_plan, paid):
    first = paid(saas_plan)
    sub = first.lines.get().subscription
    instance = Instance.objects.get()

    renewal = paid(saas_plan, order_type=OrderType.RENEW, subscription=sub, periods=2)

    sub.refresh_from_db()
    renewal_line = renewal.lines.get()
    assert sub.expires_at == calendar.add_period(first.lines.get().validity_end, "month", 2)
    (request,) = isv.received_for("refreshInstance")
    assert request.payload == {
        "activity": "refreshInstance",
        "instanceId": instance.instance_id,
        "orderId": renewal.number,
        "orderLineId": str(renewal_line.pk),
        "scene": "RENEWAL",
        "productId": str(saas_plan.product_id),
        "skuCode": "SAAS-STD",
        "expireTime": beijing_stamp(sub.expires_at),
        "testFlag": "0",
    }
    assert isv.instance(instance.instance_id).expire_time == beijing_stamp(sub.expires_at)
    message = ProduceMessage.objects.get(activity="refreshInstance")
    assert (message.status, message.instance_id, message.order_line_id) == ("succeeded", instance.pk, renewal_line.pk)
    # a renewal makes no second instance and does not wait for one
    assert Instance.objects.count() == 1 and isv.count("newInstance") == 1
    assert renewal_line.provisioned_at == renewal.paid_at


def test_a_trial_converted_to_a_paid_plan_refreshes_the_instance_with_trial_to_formal(
    integration, isv, saas_plan, paid
):
    trial = paid(saas_plan, order_type=OrderType.TRIAL)
    sub = trial.lines.get().subscription
    instance = Instance.objects.get()
    assert isv.instance(instance.instance_id).trial_flag == "1"

    formal = paid(saas_plan, order_type=OrderType.TRIAL_TO_FORMAL, subscription=sub, periods=3)

    sub.refresh_from_db()
    (request,) = isv.received_for("refreshInstance")
    assert (request.payload["scene"], request.payload["orderId"], request.payload["expireTime"]) == (
        "TRIAL_TO_FORMAL",
        formal.number,
        beijing_stamp(sub.expires_at),
    )
    assert sub.expires_at == calendar.add_period(formal.paid_at, "month", 3)
    assert isv.instance(instance.instance_id).trial_flag == "0"
    assert Instance.objects.count() == 1 and isv.count("newInstance") == 1
    # the conversion is settled at payment: the instance exists already
    assert LedgerEntry.objects.get().order_line_id == formal.lines.get().pk


def test_expiry_freezes_the_instance_and_a_renewal_after_it_unfreezes_then_refreshes(
    integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    # given a service bought 40 days ago, so its month is over
    first = paid(saas_plan, now=timezone.now() - timedelta(days=40))
    sub = first.lines.get().subscription
    instance = Instance.objects.get()

    # when the expiry job runs
    with django_capture_on_commit_callbacks(execute=True):
        assert orders.subscriptions_expire() == 1

    # then the instance is frozen at the ISV and here
    (freeze,) = isv.received_for("updateInstanceStatus")
    assert freeze.payload == {
        "activity": "updateInstanceStatus",
        "instanceId": instance.instance_id,
        "status": "FREEZE",
        "testFlag": "0",
    }
    instance.refresh_from_db()
    assert instance.status == "frozen"
    assert isv.instance(instance.instance_id).status == "frozen"

    # when the buyer renews
    renewal = paid(saas_plan, order_type=OrderType.RENEW, subscription=sub)

    # then the instance is unfrozen, then refreshed with the new expiry
    sub.refresh_from_db()
    assert [(r.activity, r.payload.get("status") or r.payload.get("scene")) for r in isv.received[2:]] == [
        ("updateInstanceStatus", "UNFREEZE"),
        ("refreshInstance", "RENEWAL"),
    ]
    assert isv.received_for("refreshInstance")[0].payload["expireTime"] == beijing_stamp(sub.expires_at)
    assert sub.expires_at == calendar.add_period(renewal.paid_at, "month", 1)
    assert sub.status == "active"
    instance.refresh_from_db()
    assert instance.status == "active"
    assert isv.instance(instance.instance_id).status == "active"


def test_a_renewal_while_the_freeze_still_waits_sends_freeze_then_unfreeze_in_that_order(
    integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    # given the service expired and the seller's server is down, so the FREEZE waits
    first = paid(saas_plan, now=timezone.now() - timedelta(days=40))
    sub = first.lines.get().subscription
    instance = Instance.objects.get()
    isv.set_behaviour("error500", times=1)
    with django_capture_on_commit_callbacks(execute=True):
        orders.subscriptions_expire()
    freeze = ProduceMessage.objects.get(activity="updateInstanceStatus")
    assert (freeze.status, Instance.objects.get().status) == ("pending", "active")

    # when the buyer renews before the FREEZE went through
    paid(saas_plan, order_type=OrderType.RENEW, subscription=sub)

    # then UNFREEZE and the refresh wait behind the FREEZE, even when all are due
    waiting = list(ProduceMessage.objects.filter(instance=instance, status="pending").order_by("pk"))
    assert [(m.activity, m.payload.get("status")) for m in waiting] == [
        ("updateInstanceStatus", "FREEZE"),
        ("updateInstanceStatus", "UNFREEZE"),
        ("refreshInstance", None),
    ]
    later = timezone.now() + timedelta(minutes=11)
    while services.messages_deliver_due(now=later):
        pass
    assert [(r.activity, r.payload.get("status")) for r in isv.received[1:]] == [
        ("updateInstanceStatus", "FREEZE"),  # refused with 500
        ("updateInstanceStatus", "FREEZE"),
        ("updateInstanceStatus", "UNFREEZE"),
        ("refreshInstance", None),
    ]
    instance.refresh_from_db()
    assert instance.status == "active"
    assert isv.instance(instance.instance_id).status == "active"


def test_an_instance_whose_freeze_was_parked_is_still_released_after_expiry(
    integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    first = paid(saas_plan, now=timezone.now() - timedelta(days=40))
    expiry = first.lines.get().validity_end
    isv.behaviour = "error500"
    with django_capture_on_commit_callbacks(execute=True):
        orders.subscriptions_expire()
    freeze = ProduceMessage.objects.get(activity="updateInstanceStatus")
    services.message_deliver(message_id=freeze.pk, now=freeze.created_at + timedelta(hours=2))
    freeze.refresh_from_db()
    assert (freeze.status, Instance.objects.get().status) == ("parked", "active")

    isv.behaviour = "normal"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.instances_release_expired(now=expiry + timedelta(days=7)) == 1
    assert Instance.objects.get().status == "released"
    assert [r.payload["scene"] for r in isv.received_for("releaseInstance")] == ["EXPIRED"]


def test_an_expired_instance_is_released_seven_days_after_expiry_once(
    integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    first = paid(saas_plan, now=timezone.now() - timedelta(days=40))
    expiry = first.lines.get().validity_end
    instance = Instance.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.subscriptions_expire()

    # not before seven days
    with django_capture_on_commit_callbacks(execute=True):
        assert services.instances_release_expired(now=expiry + timedelta(days=7) - timedelta(seconds=1)) == 0
    assert isv.count("releaseInstance") == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert services.instances_release_expired(now=expiry + timedelta(days=7)) == 1

    (release,) = isv.received_for("releaseInstance")
    line = first.lines.get()
    assert release.payload == {
        "activity": "releaseInstance",
        "instanceId": instance.instance_id,
        "orderId": first.number,
        "orderLineId": str(line.pk),
        "scene": "EXPIRED",
        "testFlag": "0",
    }
    instance.refresh_from_db()
    assert instance.status == "released"
    assert isv.instance(instance.instance_id).status == "released"
    # the job runs every day: a released instance is not released again
    with django_capture_on_commit_callbacks(execute=True):
        assert services.instances_release_expired(now=expiry + timedelta(days=8)) == 0
    assert isv.count("releaseInstance") == 1


def test_a_full_refund_releases_the_instance_with_scene_refunded(
    integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    order = paid(saas_plan)
    line = order.lines.get()
    instance = Instance.objects.get()

    # a partial refund keeps the service
    with django_capture_on_commit_callbacks(execute=True):
        refund_record(line_id=line.pk, amount="40.00", reason="Goodwill")
    assert isv.count("releaseInstance") == 0

    with django_capture_on_commit_callbacks(execute=True):
        refund_record(line_id=line.pk, amount="60.00", reason="The buyer withdrew")

    (release,) = isv.received_for("releaseInstance")
    assert (release.payload["scene"], release.payload["instanceId"], release.payload["orderLineId"]) == (
        "REFUNDED",
        instance.instance_id,
        str(line.pk),
    )
    order.refresh_from_db()
    instance.refresh_from_db()
    assert (order.status, instance.status) == ("refunded", "released")
    assert isv.instance(instance.instance_id).status == "released"
    # it had been settled: the refunds are negative entries
    assert list(LedgerEntry.objects.order_by("pk").values_list("kind", "gross")) == [
        ("order", Decimal("100.00")),
        ("refund", Decimal("-40.00")),
        ("refund", Decimal("-60.00")),
    ]


def test_an_instance_made_after_a_full_refund_is_released_at_once(
    buyer_user, integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    # given an order refunded in full while a worker was sending its newInstance (it holds the lease,
    # so the refund cannot cancel it) and then died before recording the answer
    isv.set_behaviour("error500", times=1)
    order = paid(saas_plan)
    line = order.lines.get()
    message = ProduceMessage.objects.get()
    ProduceMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        refund_record(line_id=line.pk, amount="100.00", reason="The buyer withdrew")
    assert isv.count("releaseInstance") == 0  # nothing to release yet
    notices = Notification.objects.filter(user=buyer_user).count()

    # when the retry makes the instance (and the sweep runs at that time)
    assert services.message_deliver(message_id=message.pk, now=message.created_at + HOUR) == "success"
    assert services.messages_deliver_due(now=message.created_at + HOUR) == 1

    # then it is released again straight away, and the buyer is not told it is ready
    instance = Instance.objects.get()
    (release,) = isv.received_for("releaseInstance")
    assert (release.payload["instanceId"], release.payload["scene"]) == (instance.instance_id, "REFUNDED")
    assert instance.status == "released"
    assert isv.instance(instance.instance_id).status == "released"
    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, line.provisioned_at) == ("refunded", None)
    assert not LedgerEntry.objects.exists()
    assert Notification.objects.filter(user=buyer_user).count() == notices


def test_a_full_refund_cancels_a_new_instance_waiting_for_its_next_round(
    integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    isv.set_behaviour("error500", times=1)
    order = paid(saas_plan)
    line = order.lines.get()
    message = ProduceMessage.objects.get()
    assert message.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        refund_record(line_id=line.pk, amount=str(line.amount), reason="The buyer withdrew")

    message.refresh_from_db()
    assert (message.status, message.error) == ("cancelled", "The order was refunded.")
    assert services.messages_deliver_due(now=message.created_at + HOUR) == 0
    assert isv.count("newInstance") == 1 and not Instance.objects.exists()
    order.refresh_from_db()
    assert order.status == "refunded"
    assert not Notification.objects.filter(title__contains="could not be delivered").exists()


@pytest.mark.parametrize("setup", ["no integration", "no produce URL"])
def test_saas_of_a_seller_without_a_produce_url_is_provisioned_at_payment_with_no_message(
    setup, seller, isv, saas_plan, paid
):
    if setup == "no produce URL":
        services.access_key_issue(seller=seller, purpose="produce", secret=ACCESS_KEY)
        SellerIntegration.objects.create(seller=seller, deploy_url=isv.deploy_url)

    order = paid(saas_plan)

    line = order.lines.get()
    assert line.provisioned_at == order.paid_at
    assert LedgerEntry.objects.get().order_line_id == line.pk
    assert not ProduceMessage.objects.exists()
    assert not Instance.objects.exists()
    assert isv.counts == {}


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("refuse", "connection failed: ConnectionError"),
        ("error500", "HTTP 500"),
        ("bad_json", "the answer is not JSON"),
        ("000005", "000005 internal error"),
    ],
)
def test_a_failed_first_attempt_is_retried_an_hour_later_and_makes_one_instance(
    behaviour, error, integration, isv, saas_plan, paid
):
    # given the ISV fails the first call
    isv.set_behaviour(behaviour, times=1)

    order = paid(saas_plan)

    # then the order is paid, the line waits, and the message waits for its next round
    line = order.lines.get()
    message = ProduceMessage.objects.get()
    assert (order.status, line.provisioned_at) == ("paid", None)
    assert not Instance.objects.exists() and not LedgerEntry.objects.exists()
    assert (message.status, message.attempts, message.rounds, message.error, message.lease_until) == (
        "pending",
        1,
        1,
        error,
        None,
    )
    assert message.next_attempt_at == message.created_at + HOUR
    assert outcomes(message) == ["retry"]
    # not a moment earlier
    assert services.messages_deliver_due(now=message.created_at + HOUR - timedelta(seconds=1)) == 0
    assert isv.count("newInstance") == 1

    # when the hour has passed
    assert services.messages_deliver_due(now=message.created_at + HOUR) == 1

    # then one instance, the line provisioned and settled once
    message.refresh_from_db()
    line.refresh_from_db()
    instance = Instance.objects.get()
    assert (message.status, message.attempts, message.error) == ("succeeded", 2, "")
    assert outcomes(message) == ["retry", "success"]
    assert [i.instance_id for i in isv.instances] == [instance.instance_id]
    assert isv.count("newInstance") == 2
    assert line.provisioned_at is not None
    assert LedgerEntry.objects.get().order_line_id == line.pk
    assert Order.objects.get().status == "paid"


def test_a_server_hanging_past_the_timeout_is_retried_and_its_late_instance_is_the_one_kept(
    monkeypatch, integration, isv, saas_plan, paid
):
    # given the ISV takes 1 s to answer and the platform waits 0.3 s
    monkeypatch.setitem(services.RULES, "TOTAL_TIMEOUT", 0.3)
    isv.set_behaviour("hang", times=1)

    order = paid(saas_plan)

    message = ProduceMessage.objects.get()
    assert (message.status, message.attempts, message.rounds, message.error) == ("pending", 1, 1, "timed out")
    assert ProduceAttempt.objects.get().duration_ms < 1000
    assert order.lines.get().provisioned_at is None
    # the ISV finished the work after the platform gave up
    wait_until(lambda: len(isv.instances) == 1)
    late = isv.instances[0].instance_id
    assert not Instance.objects.exists()

    # when the retry comes, the ISV answers the instance it made
    services.messages_deliver_due(now=message.created_at + HOUR)

    assert [i.instance_id for i in Instance.objects.all()] == [late]
    assert len(isv.instances) == 1
    message.refresh_from_db()
    assert (message.status, message.seller_error) == ("succeeded", "")
    assert Order.objects.get().lines.get().provisioned_at is not None


def test_still_processing_is_polled_with_query_instance_until_the_instance_is_ready(integration, isv, saas_plan, paid):
    # given the ISV needs three more questions before the instance is ready
    isv.processing_rounds = 3
    isv.set_behaviour("processing", times=1)

    order = paid(saas_plan)

    message = ProduceMessage.objects.get()
    named = isv.instances[0].instance_id
    assert (message.status, message.result_code, message.pending_instance_id, message.rounds) == (
        "pending",
        "000004",
        named,
        0,
    )
    assert message.polling_until - message.next_attempt_at == timedelta(seconds=540)
    assert order.lines.get().provisioned_at is None

    # when the worker polls every minute
    due = message.next_attempt_at
    assert [services.message_deliver(message_id=message.pk, now=due + timedelta(minutes=k)) for k in range(3)] == [
        "retry",
        "retry",
        "success",
    ]

    # then it asked with queryInstance, never a second newInstance, and kept the named instance
    assert isv.count("newInstance") == 1
    assert [r.payload for r in isv.received_for("queryInstance")] == [
        {"activity": "queryInstance", "instanceIds": named}
    ] * 3
    instance = Instance.objects.get()
    assert (instance.instance_id, instance.username) == (named, f"admin-{order.lines.get().pk}")
    message.refresh_from_db()
    assert (message.status, message.rounds, message.pending_instance_id, message.polling_until) == (
        "succeeded",
        0,
        "",
        None,
    )
    assert outcomes(message) == ["retry", "retry", "retry", "success"]
    assert order.lines.get().provisioned_at is not None


def test_a_different_instance_id_on_a_retry_is_a_seller_error_and_stays_one_instance(
    monkeypatch, integration, isv, saas_plan, paid
):
    # given the ISV says it is making instance A, and is still making it when polling ends
    monkeypatch.setitem(services.RULES, "POLL_FOR", 120)
    isv.processing_rounds = 100
    isv.set_behaviour("processing", times=1)
    order = paid(saas_plan)
    message = ProduceMessage.objects.get()
    named = message.pending_instance_id
    due = message.next_attempt_at
    assert services.message_deliver(message_id=message.pk, now=due) == "retry"
    assert services.message_deliver(message_id=message.pk, now=due + timedelta(minutes=1)) == "retry"
    message.refresh_from_db()
    assert (message.rounds, message.polling_until, message.next_attempt_at) == (1, None, message.created_at + HOUR)

    # when the retry an hour later gets a brand-new instance B for the same order line
    isv.set_behaviour("new_id_on_repeat", times=1)
    assert services.message_deliver(message_id=message.pk, now=message.created_at + HOUR) == "success"

    # then B is the line's only instance, and the broken promise is recorded as the seller's error
    other = next(i.instance_id for i in isv.instances if i.instance_id != named)
    assert [i.instance_id for i in Instance.objects.all()] == [other]
    message.refresh_from_db()
    assert message.status == "succeeded"
    assert message.seller_error == (
        f"The seller's server answered instance {other} for an order line it had said instance {named} "
        "was being made for."
    )
    assert order.lines.get().provisioned_at is not None
    assert LedgerEntry.objects.count() == 1


def test_an_instance_id_of_another_line_is_a_failed_round_and_in_the_end_a_failed_order(
    integration, isv, saas_plan, paid
):
    # given a first order got instance X, and the seller's server answers X again for a second order
    first = paid(saas_plan)
    (x,) = Instance.objects.values_list("instance_id", flat=True)
    isv.set_behaviour("error500", times=1)
    second = paid(saas_plan)
    line = second.lines.get()
    isv._lines[(second.number, str(line.pk))] = isv._lines[(first.number, str(first.lines.get().pk))]
    message = ProduceMessage.objects.get(order_line=line)

    # when the next round gets X
    assert services.message_deliver(message_id=message.pk, now=message.created_at + HOUR) == "retry"

    # then X stays the first line's only instance, the second line waits, and the seller is told why
    message.refresh_from_db()
    line.refresh_from_db()
    assert list(Instance.objects.values_list("instance_id", "order_line_id")) == [(x, first.lines.get().pk)]
    assert (message.status, message.rounds, line.provisioned_at) == ("pending", 2, None)
    assert (
        message.seller_error
        == message.error
        == (f"The seller's server answered instance {x}, which belongs to another order line.")
    )
    assert LedgerEntry.objects.filter(order_line=line).count() == 0

    # and when every round gets X, the order fails and is refunded in full
    for offset in services.RULES["NEW_INSTANCE_SCHEDULE"][2:]:
        services.message_deliver(message_id=message.pk, now=message.created_at + timedelta(seconds=offset))
    second.refresh_from_db()
    message.refresh_from_db()
    assert (message.status, second.status) == ("failed", "refunded")
    assert Refund.objects.get().amount == line.amount
    assert Instance.objects.count() == 1


def test_a_non_retryable_answer_fails_the_order_at_once_and_refunds_it_in_full_once(
    buyer_user, seller_user, seller, integration, isv, saas_plan, paid
):
    developer = seller_member(seller, "developer")
    isv.behaviour = "000100"

    order = paid(saas_plan)

    line = order.lines.get()
    message = ProduceMessage.objects.get()
    assert (message.status, message.attempts, message.result_code, message.error) == (
        "failed",
        1,
        "000100",
        "000100 no instance resources",
    )
    assert outcomes(message) == ["failure"]
    assert order.status == "refunded"
    assert list(order.events.order_by("pk").values_list("to_status", flat=True))[-2:] == ["failed", "refunded"]
    refund = Refund.objects.get()
    assert (refund.order_line_id, refund.amount, refund.actor) == (line.pk, Decimal("100.00"), None)
    assert not LedgerEntry.objects.exists()  # it had never been settled: nothing to take back
    assert not Instance.objects.exists()
    assert line.subscription.status == "released"
    # the buyer was told it is paid, then that it could not be delivered
    assert Notification.objects.filter(user=buyer_user, link=f"/buyer/orders/{order.pk}/").count() == 2
    seller_link = f"/seller/app-tools/messages/{message.pk}/"
    assert set(Notification.objects.filter(link=seller_link).values_list("user", flat=True)) == {
        seller_user.pk,
        developer.pk,
    }
    assert isv.count("newInstance") == 1
    # nothing is sent again
    assert services.messages_deliver_due(now=timezone.now() + timedelta(days=1)) == 0
    assert isv.count("newInstance") == 1


def test_the_full_retry_schedule_ends_in_one_failure_and_one_full_refund(
    buyer_user, seller_user, seller, integration, isv, saas_plan, paid
):
    # given the ISV answers a retryable error every time
    isv.behaviour = "000005"
    order = paid(saas_plan)
    message = ProduceMessage.objects.get()
    start = message.created_at

    # when the worker tries at +1 h, +2 h and +3 h
    assert services.messages_deliver_due(now=start + HOUR) == 1
    assert services.messages_deliver_due(now=start + 2 * HOUR - timedelta(seconds=1)) == 0
    assert services.messages_deliver_due(now=start + 2 * HOUR) == 1
    message.refresh_from_db()
    assert (message.status, message.rounds, message.next_attempt_at) == ("pending", 3, start + 3 * HOUR)
    assert services.messages_deliver_due(now=start + 3 * HOUR) == 1

    # then four attempts, the last one final
    message.refresh_from_db()
    assert (message.status, message.attempts, message.rounds, message.finished_at) == (
        "failed",
        4,
        4,
        start + 3 * HOUR,
    )
    assert outcomes(message) == ["retry", "retry", "retry", "failure"]
    assert isv.count("newInstance") == 4
    # and the order failed and was refunded in full, exactly once
    order.refresh_from_db()
    assert order.status == "refunded"
    assert list(Refund.objects.values_list("amount", "refunded_at")) == [(Decimal("100.00"), start + 3 * HOUR)]
    assert not LedgerEntry.objects.exists()
    assert not Instance.objects.exists()
    # and both parties were told, in the app and by e-mail (the seller's bound address too)
    assert Notification.objects.filter(user=buyer_user, link=f"/buyer/orders/{order.pk}/").count() == 2  # paid, failed
    assert Notification.objects.filter(user=seller_user, link=f"/seller/app-tools/messages/{message.pk}/").count() == 1
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == sorted(
        [buyer_user.email, buyer_user.email, seller_user.email, seller.bound_email]  # the buyer: paid, then failed
    )
    # and nothing more happens later
    before = state()
    assert services.messages_deliver_due(now=start + 10 * HOUR) == 0
    assert state() == before
    assert isv.count("newInstance") == 4


@pytest.mark.parametrize(
    ("refunded_before", "refunds", "order_status"),
    [
        (Decimal("30.00"), [Decimal("30.00"), Decimal("70.00")], "refunded"),
        # (a full refund cancels the waiting message: see the test above)
    ],
)
def test_a_final_failure_refunds_what_is_left_after_an_earlier_refund(
    refunded_before,
    refunds,
    order_status,
    monkeypatch,
    integration,
    isv,
    saas_plan,
    paid,
    django_capture_on_commit_callbacks,
):
    # given two rounds, the first failed, and operations refunded part or all of the order meanwhile
    monkeypatch.setitem(services.RULES, "NEW_INSTANCE_SCHEDULE", [0, 3600])
    isv.behaviour = "000005"
    order = paid(saas_plan)
    message = ProduceMessage.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        refund_record(line_id=order.lines.get().pk, amount=refunded_before, reason="Operations")

    # when the last round fails
    assert services.message_deliver(message_id=message.pk, now=message.created_at + HOUR) == "failure"

    # then the rest, and only the rest, is refunded, and the message is finished
    assert list(Refund.objects.order_by("pk").values_list("amount", flat=True)) == refunds
    order.refresh_from_db()
    message.refresh_from_db()
    assert order.status == order_status
    assert (message.status, message.lease_until, message.attempts) == ("failed", None, 2)
    assert services.messages_deliver_due(now=message.created_at + 10 * HOUR) == 0
    assert isv.count("newInstance") == 2


def test_more_than_five_failed_orders_of_a_product_in_a_calendar_month_delist_it(
    seller_user, integration, isv, saas_plan, paid
):
    isv.behaviour = "000100"
    product = saas_plan.product
    # given five failures last month
    month_start = calendar.month_range(calendar.beijing(timezone.now()).year, calendar.beijing(timezone.now()).month)[0]
    with time_machine.travel(month_start - timedelta(days=2), tick=True):
        for _ in range(5):
            paid(saas_plan)
    # and five this month
    for _ in range(5):
        paid(saas_plan)
    product.refresh_from_db()
    assert product.status == "published"
    assert not Notification.objects.filter(link=f"/seller/products/{product.pk}/").exists()

    # when a sixth order fails this month
    paid(saas_plan)

    # then the product is delisted by the platform and the seller is told
    product.refresh_from_db()
    assert (product.status, product.delisted_by_platform, product.delist_reason) == (
        "delisted",
        True,
        "More than 5 orders failed to provision this month.",
    )
    assert Notification.objects.filter(user=seller_user, link=f"/seller/products/{product.pk}/").count() == 1
    assert set(Order.objects.values_list("status", flat=True)) == {"refunded"}
    assert Refund.objects.count() == 11


def test_a_failed_order_of_another_product_does_not_count_towards_delisting(seller, integration, isv, saas_plan, paid):
    isv.behaviour = "000100"
    other = PlanFactory(product=ProductFactory(seller=seller, status="published"))
    for _ in range(5):
        paid(saas_plan)

    paid(other)

    assert set(Product.objects.values_list("status", flat=True)) == {"published"}


# --- concurrency and leases ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_message_claimed_by_two_workers_at_once_is_delivered_once(buyer_user, integration, isv, saas_plan):
    # given a committed message waiting for its second round
    isv.set_behaviour("refuse", times=1)
    order = orders.order_create(actor=buyer_user, plan_id=saas_plan.pk)
    orders.order_pay(actor=buyer_user, order_id=order.pk, method="online")  # delivered at commit: refused
    message = ProduceMessage.objects.get()
    assert (message.status, message.attempts) == ("pending", 1)
    # and the ISV slow enough that the first worker is still waiting when the second one looks
    isv.hang_seconds = 0.5
    isv.set_behaviour("hang", times=1)

    # when two workers deliver it at the same moment, each on its own database connection
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(services.message_deliver(message_id=message.pk, now=message.next_attempt_at))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    # then one of them sent it, once
    assert sorted(results, key=str) == [None, "success"]
    assert isv.count("newInstance") == 2  # the refused first round and this one
    message.refresh_from_db()
    assert (message.status, message.attempts, message.lease_until) == ("succeeded", 2, None)
    assert ProduceAttempt.objects.filter(message=message).count() == 2
    assert Instance.objects.count() == 1
    assert OrderLine.objects.get().provisioned_at is not None


def test_a_message_leased_by_a_worker_is_left_alone_until_the_lease_runs_out(integration, isv, saas_plan, paid):
    isv.set_behaviour("refuse", times=1)
    paid(saas_plan)
    message = ProduceMessage.objects.get()
    due = message.next_attempt_at
    ProduceMessage.objects.filter(pk=message.pk).update(lease_until=due + timedelta(seconds=60))
    before = state()

    assert services.message_deliver(message_id=message.pk, now=due + timedelta(seconds=30)) is None
    assert services.messages_deliver_due(now=due + timedelta(seconds=60)) == 0

    assert state() == before
    assert isv.count("newInstance") == 1
    # once the lease ran out (a worker died), another one takes over
    assert services.message_deliver(message_id=message.pk, now=due + timedelta(seconds=61)) == "success"
    assert Instance.objects.count() == 1


# --- retry by hand, parking -------------------------------------------------------------------------


def test_the_seller_retries_a_waiting_new_instance_from_its_page_and_it_is_delivered(
    client, seller_user, integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    isv.set_behaviour("error500", times=1)
    order = paid(saas_plan)
    message = ProduceMessage.objects.get()
    assert message.is_retryable_by_seller
    client.force_login(seller_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/seller/app-tools/messages/{message.pk}/retry/")

    assert (response.status_code, response["Location"]) == (302, f"/seller/app-tools/messages/{message.pk}/")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.rounds) == ("succeeded", 2, 1)
    assert Instance.objects.get().order_line_id == order.lines.get().pk
    assert isv.count("newInstance") == 2
    assert Order.objects.get().status == "paid"
    assert LedgerEntry.objects.count() == 1


def test_retry_after_the_final_failure_is_refused_and_changes_nothing(
    client, seller_user, integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    isv.behaviour = "000100"
    paid(saas_plan)
    message = ProduceMessage.objects.get()
    assert not message.is_retryable_by_seller
    isv.behaviour = "normal"
    before = state()

    with pytest.raises(Conflict), django_capture_on_commit_callbacks(execute=True):
        services.message_retry(actor=seller_user, message_id=message.pk)
    client.force_login(seller_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/seller/app-tools/messages/{message.pk}/retry/", follow=True)

    assert response.status_code == 200
    assert state() == before
    assert isv.count("newInstance") == 1


def test_retry_of_a_delivered_message_is_refused(seller_user, integration, isv, saas_plan, paid):
    paid(saas_plan)
    message = ProduceMessage.objects.get()
    before = state()

    with pytest.raises(Conflict):
        services.message_retry(actor=seller_user, message_id=message.pk)

    assert state() == before


def test_only_the_sellers_app_administrators_retry_its_messages(
    seller, other_seller_user, integration, isv, saas_plan, paid, client
):
    isv.set_behaviour("refuse", times=1)
    paid(saas_plan)
    message = ProduceMessage.objects.get()
    finance = seller_member(seller, "finance")
    before = state()

    with pytest.raises(NotFound):
        services.message_retry(actor=other_seller_user, message_id=message.pk)
    with pytest.raises(NotAllowed):
        services.message_retry(actor=finance, message_id=message.pk)
    with pytest.raises(NotFound):
        services.message_retry(actor=other_seller_user, message_id="abc")
    client.force_login(other_seller_user)
    assert client.post(f"/seller/app-tools/messages/{message.pk}/retry/").status_code == 404
    assert client.get(f"/seller/app-tools/messages/{message.pk}/").status_code == 404

    assert state() == before
    assert isv.count("newInstance") == 1


def test_other_activities_are_retried_every_ten_minutes_for_an_hour_then_parked(
    seller_user, integration, isv, saas_plan, paid, django_capture_on_commit_callbacks
):
    # given an instance whose freeze the ISV keeps failing
    order = paid(saas_plan)
    expiry = order.lines.get().validity_end
    instance = Instance.objects.get()
    isv.set_behaviour("000005", activities=["updateInstanceStatus"])
    with django_capture_on_commit_callbacks(execute=True):
        orders.subscriptions_expire(now=expiry)
    message = ProduceMessage.objects.get(activity="updateInstanceStatus")
    assert (message.created_at, message.attempts) == (expiry, 0)  # due at the expiry, a month away

    # when the worker tries every ten minutes
    results = [
        services.message_deliver(message_id=message.pk, now=expiry + timedelta(minutes=10 * k)) for k in range(7)
    ]

    # then seven attempts over the hour, then it is parked for operations
    assert results == ["retry"] * 6 + ["failure"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.finished_at) == ("parked", 7, expiry + HOUR)
    assert outcomes(message) == ["retry"] * 6 + ["failure"]
    assert services.messages_deliver_due(now=expiry + 2 * HOUR) == 0
    assert isv.count("updateInstanceStatus") == 7
    instance.refresh_from_db()
    assert instance.status == "active"
    assert order.lines.get().subscription.status == "expired"

    # when the seller fixed its server and retries by hand, it goes through
    assert message.is_retryable_by_seller
    isv.behaviour = "normal"
    with django_capture_on_commit_callbacks(execute=True):
        services.message_retry(actor=seller_user, message_id=message.pk)
    message.refresh_from_db()
    instance.refresh_from_db()
    assert (message.status, message.attempts, instance.status) == ("succeeded", 8, "frozen")


def test_attempts_that_run_a_little_late_still_get_the_whole_hour(integration, isv, saas_plan, paid):
    order = paid(saas_plan)
    expiry = order.lines.get().validity_end
    isv.set_behaviour("000005", activities=["updateInstanceStatus"])
    orders.subscriptions_expire(now=expiry)
    message = ProduceMessage.objects.get(activity="updateInstanceStatus")

    # each attempt runs when the previous one scheduled it, plus the 200 ms it took
    at = expiry
    for _attempt in range(7):
        services.message_deliver(message_id=message.pk, now=at)
        message.refresh_from_db()
        at = message.next_attempt_at + timedelta(milliseconds=200)

    assert (message.status, message.attempts) == ("parked", 7)


def test_a_message_without_a_produce_key_waits_and_says_why(seller, integration, isv, saas_plan, paid):
    integration.seller.access_keys.update(revoked_at=timezone.now())

    order = paid(saas_plan)

    message = ProduceMessage.objects.get()
    assert (message.status, message.error, message.rounds) == (
        "pending",
        "the seller has not set up its interface (URL or access key)",
        1,
    )
    assert isv.counts == {}
    assert order.lines.get().provisioned_at is None


def test_delivery_of_a_new_buyer_is_isolated_from_other_orders(integration, isv, saas_plan, paid):
    """Two buyers, two orders: two instances, each on its own line."""
    other = BuyerFactory().memberships.get().user

    first = paid(saas_plan)
    second = paid(saas_plan, user=other)

    assert sorted(Instance.objects.values_list("order_line__order", flat=True)) == [first.pk, second.pk]
    assert len({i.instance_id for i in Instance.objects.all()}) == 2
