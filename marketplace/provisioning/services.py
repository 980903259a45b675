"""Writes for SaaS delivery: produce calls through the outbox, instances, keys, debugging.

A call to a seller's server is a ``ProduceMessage`` written in the business transaction (payment,
renewal, expiry, refund) and delivered by a worker after commit; each HTTP exchange is a
``ProduceAttempt``. Delivery claims a message with a short lease (so two workers never send the same
message at once), signs and posts it outside any transaction, then records the outcome. The protocol
itself (signatures, encryption, result codes) is in ``protocol.py``.
"""

import json
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.models import Seller, User
from marketplace.accounts.roles import seller_can, seller_users
from marketplace.catalog.models import DeliveryKind
from marketplace.core import audit, calendar
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.core.resilience import send_after_commit
from marketplace.core.services import notify, notify_many
from marketplace.core.state import move, record_many
from marketplace.orders.models import Order, OrderLine, OrderType, Subscription

from . import protocol
from .models import AccessKey, Instance, ProduceAttempt, ProduceMessage, SellerIntegration

RULES = settings.MARKETPLACE["PROVISIONING"]
HTTP = requests.Session()  # one connection pool for every delivery in the process


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=RULES[name])


def beijing_stamp(moment: datetime | None) -> str:
    """yyyyMMddHHmmss in Beijing time, the protocol's date-time format."""
    return calendar.beijing(moment).strftime("%Y%m%d%H%M%S") if moment else ""


# --- settings and keys ----------------------------------------------------------------------------


def _integration_admin(actor: User) -> Seller:
    membership = getattr(actor, "seller_membership", None)
    if not seller_can(membership, "apptools.manage"):
        raise NotAllowed(_("Your role does not allow this."))
    return membership.seller


def integration_update(*, actor: User, produce_url: str, sync_base_url: str, deploy_url: str = "") -> SellerIntegration:
    seller = _integration_admin(actor)
    integration, _created = SellerIntegration.objects.get_or_create(seller=seller)
    integration.produce_url = produce_url.strip()
    integration.sync_base_url = sync_base_url.strip().rstrip("/")
    integration.deploy_url = deploy_url.strip()
    integration.save(update_fields=["produce_url", "sync_base_url", "deploy_url", "updated_at"])
    return integration


def rsa_key_update(*, actor: User, public_key_pem: str) -> SellerIntegration:
    """The seller's RSA public key (>= 3072 bits) that encrypts client secrets in applicationSync."""
    seller = _integration_admin(actor)
    pem = (public_key_pem or "").strip()
    try:
        protocol.rsa_encrypt(pem, "check")
    except ValueError as exc:
        message = str(exc) if "3072" in str(exc) else _("This is not an RSA public key in PEM format.")
        if "3072" in str(exc):
            message = _("The RSA public key must have at least 3072 bits.")
        raise ValidationFailed(message, field_errors={"rsa_public_key": [message]}) from exc
    except Exception as exc:  # cryptography raises several kinds for malformed keys
        message = _("This is not an RSA public key in PEM format.")
        raise ValidationFailed(message, field_errors={"rsa_public_key": [message]}) from exc
    integration, _created = SellerIntegration.objects.get_or_create(seller=seller)
    integration.rsa_public_key = pem
    integration.save(update_fields=["rsa_public_key", "updated_at"])
    return integration


def access_key_issue(
    *, seller: Seller, purpose: str, secret: str | None = None, now=None, actor: User | None = None
) -> tuple[AccessKey, str]:
    """Issue a new key for ``purpose``, revoking the previous one (a rotation signs with the new key
    only). Returns the key and its secret, which is shown once and stored encrypted."""
    now = now or timezone.now()
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        previous = AccessKey.objects.select_for_update().filter(seller=seller, purpose=purpose, revoked_at__isnull=True)
        revoked = list(previous.values_list("key_id", flat=True))
        previous.update(revoked_at=now)
        key = AccessKey.objects.create(seller=seller, purpose=purpose, secret=secret, created_at=now)
        audit.permission(
            "accesskey.rotated" if revoked else "accesskey.issued",
            key,
            actor=actor,
            changes={"seller": seller.pk, "purpose": purpose, "key_id": key.key_id, "revoked": revoked},
        )
    return key, secret


def access_key_rotate(*, actor: User, purpose: str) -> tuple[AccessKey, str]:
    if purpose not in AccessKey.Purpose.values:
        raise ValidationFailed(_("Unknown key purpose."))
    return access_key_issue(seller=_integration_admin(actor), purpose=purpose, actor=actor)


def produce_key(seller_id: int) -> str | None:
    key = AccessKey.objects.filter(
        seller_id=seller_id, purpose=AccessKey.Purpose.PRODUCE, revoked_at__isnull=True
    ).first()
    return key.secret if key else None


# --- what a business change asks of the seller's server --------------------------------------------


def needs_instance(line: OrderLine) -> bool:
    """SaaS sold by a seller with a produce interface gets its instance from the seller's server."""
    if line.product.delivery_kind != DeliveryKind.SAAS:
        return False
    return SellerIntegration.objects.filter(seller_id=line.seller_id).exclude(produce_url="").exists()


def _queue(
    *,
    seller_id,
    activity: str,
    payload: dict,
    order_line=None,
    instance=None,
    kind=ProduceMessage.Kind.PRODUCE,
    now=None,
) -> ProduceMessage:
    from .tasks import deliver_message

    message = ProduceMessage.objects.create(
        seller_id=seller_id,
        kind=kind,
        activity=activity,
        order_line=order_line,
        instance=instance,
        payload={"activity": activity, **payload},
        next_attempt_at=now or timezone.now(),
        created_at=now or timezone.now(),
    )
    send_after_commit(lambda: deliver_message.delay(message.pk))
    return message


def new_instance_payload(line: OrderLine, *, test: bool = False) -> dict:
    order, plan = line.order, line.plan
    return {
        "orderId": order.number,
        "orderLineId": str(line.pk),
        "testFlag": "1" if test else "0",
        "trialFlag": "1" if order.order_type == OrderType.TRIAL else "0",
        "productId": str(line.product_id),
        "skuCode": plan.sku_code,
        "customerId": order.buyer.code,
        "customerName": order.buyer.name,
        "chargingMode": line.charging_mode,
        "periodType": line.period_type,
        "periodNumber": str(line.period_count),
        "expireTime": beijing_stamp(line.validity_end),
        "orderAmount": f"{line.amount:.2f}",
        "extendParams": [],
    }


def _live_instance(subscription_id) -> Instance | None:
    return Instance.objects.filter(subscription_id=subscription_id).exclude(status=Instance.Status.RELEASED).first()


def provisioning_on_paid(*, line: OrderLine, order: Order, was_expired: bool, now) -> bool:
    """Queue the calls a paid line needs. True when the line waits for its instance."""
    if not needs_instance(line):
        return False
    if order.order_type in (OrderType.NEW, OrderType.TRIAL):
        _queue(
            seller_id=line.seller_id,
            activity="newInstance",
            payload=new_instance_payload(line),
            order_line=line,
            now=now,
        )
        return True
    instance = _live_instance(line.subscription_id)
    if instance is None:
        if order.order_type == OrderType.TRIAL_TO_FORMAL:  # the trial never got one: make it now
            _queue(
                seller_id=line.seller_id,
                activity="newInstance",
                payload=new_instance_payload(line),
                order_line=line,
                now=now,
            )
            return True
        return False
    if order.order_type in (OrderType.RENEW, OrderType.TRIAL_TO_FORMAL):
        if _frozen_or_freezing(instance):
            _queue(
                seller_id=line.seller_id,
                activity="updateInstanceStatus",
                order_line=line,
                instance=instance,
                payload={"instanceId": instance.instance_id, "status": "UNFREEZE", "testFlag": "0"},
                now=now,
            )
        scene = "RENEWAL" if order.order_type == OrderType.RENEW else "TRIAL_TO_FORMAL"
        _queue(
            seller_id=line.seller_id,
            activity="refreshInstance",
            order_line=line,
            instance=instance,
            now=now,
            payload={
                "instanceId": instance.instance_id,
                "orderId": order.number,
                "orderLineId": str(line.pk),
                "scene": scene,
                "productId": str(line.product_id),
                "skuCode": line.plan.sku_code,
                "expireTime": beijing_stamp(line.subscription.expires_at),
                "testFlag": "0",
            },
        )
    return False


def _frozen_or_freezing(instance: Instance) -> bool:
    """Frozen, or about to be: the last status call still waiting says FREEZE (calls about one instance
    go out in the order they were queued, see ``_due``)."""
    waiting = (
        instance.messages.filter(activity="updateInstanceStatus", status=ProduceMessage.Status.PENDING)
        .order_by("-pk")
        .first()
    )
    if waiting is not None:
        return waiting.payload.get("status") == "FREEZE"
    return instance.status == Instance.Status.FROZEN


def provisioning_on_expired(*, subscription_id: int, now) -> None:
    """A service past its validity: its instance is frozen (released later, see instances_release_expired)."""
    instance = _live_instance(subscription_id)
    if instance is not None and not _frozen_or_freezing(instance):
        _queue(
            seller_id=instance.seller_id,
            activity="updateInstanceStatus",
            instance=instance,
            order_line=instance.order_line,
            payload={"instanceId": instance.instance_id, "status": "FREEZE", "testFlag": "0"},
            now=now,
        )


def provisioning_release(*, instance: Instance, scene: str, now=None) -> ProduceMessage | None:
    """Queue releaseInstance (scene EXPIRED, REFUNDED or UNSUBSCRIBED); once per instance."""
    if instance.status == Instance.Status.RELEASED or instance.messages.filter(activity="releaseInstance").exists():
        return None
    line = instance.order_line
    return _queue(
        seller_id=instance.seller_id,
        activity="releaseInstance",
        instance=instance,
        order_line=line,
        now=now,
        payload={
            "instanceId": instance.instance_id,
            "orderId": line.order.number,
            "orderLineId": str(line.pk),
            "scene": scene,
            "testFlag": "0",
        },
    )


def provisioning_on_refunded(*, order: Order, now=None) -> None:
    """A fully refunded order: its SaaS instance is released, and a newInstance still waiting for its
    next round is cancelled (one being sent now may still make an instance: it is released when made)."""
    now = now or timezone.now()
    ProduceMessage.objects.filter(
        order_line__order=order, activity="newInstance", status=ProduceMessage.Status.PENDING
    ).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
        status=ProduceMessage.Status.CANCELLED, finished_at=now, error=_("The order was refunded.")
    )
    for line in order.lines.all():
        instance = Instance.objects.filter(order_line=line).first() or (
            _live_instance(line.subscription_id) if order.order_type == OrderType.NEW else None
        )
        if instance is not None:
            provisioning_release(instance=instance, scene="REFUNDED", now=now)


def instances_release_expired(*, now=None) -> int:
    """Release the instances of services expired longer than RELEASE_AFTER_EXPIRY_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=RULES["RELEASE_AFTER_EXPIRY_DAYS"])
    released = 0
    stale = Instance.objects.filter(
        status__in=(Instance.Status.FROZEN, Instance.Status.ACTIVE),  # ACTIVE: its FREEZE was parked
        subscription__status=Subscription.Status.EXPIRED,
        subscription__expires_at__lte=cutoff,
    ).select_related("order_line__order")
    for instance in stale:
        with transaction.atomic():
            if provisioning_release(instance=instance, scene="EXPIRED", now=now):
                released += 1
    return released


# --- delivery -----------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One HTTP exchange and how to read it."""

    url: str
    body: str
    started: datetime
    duration_ms: int = 0
    status_code: int | None = None
    response: str = ""
    data: dict = field(default_factory=dict)
    error: str = ""

    @property
    def result_code(self) -> str:
        return str(self.data.get("resultCode", "")) if self.data else ""


def _target(message: ProduceMessage, integration: SellerIntegration | None) -> str:
    """Where the message goes on its seller's server ("" when the seller has not said)."""
    if integration is None:
        return ""
    if message.kind == ProduceMessage.Kind.SYNC:
        return f"{integration.sync_base_url}/produceAPI/v2/{message.activity}" if integration.sync_base_url else ""
    if message.kind == ProduceMessage.Kind.DEPLOY:
        return integration.deploy_url
    return integration.produce_url


def send(
    *,
    url: str,
    payload: dict,
    access_key: str,
    kind: str = ProduceMessage.Kind.PRODUCE,
    timeout: tuple[float, float] | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    signature: str | None = None,
) -> Exchange:
    """Sign and POST one call the way the protocol says; never raises for what the network does.
    (``timestamp``, ``nonce`` and ``signature`` replace the real ones: the conformance run uses them
    to check that the seller refuses bad calls.)"""
    body = protocol.body_bytes(payload)
    timeout = timeout or (RULES["CONNECT_TIMEOUT"], RULES["TOTAL_TIMEOUT"])
    timestamp = str(timestamp or protocol.now_ms())
    nonce = nonce or protocol.new_nonce()
    if kind == ProduceMessage.Kind.SYNC:
        headers = protocol.sync_headers(access_key, body, timestamp=timestamp, nonce=nonce)
        if signature:
            headers["x-sign"] = signature
        target = url
    else:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        signature = signature or protocol.produce_signature(access_key, nonce, timestamp, body)
        separator = "&" if "?" in url else "?"
        target = f"{url}{separator}{urlencode({'signature': signature, 'timestamp': timestamp, 'nonce': nonce})}"
    exchange = Exchange(url=url, body=body.decode(), started=timezone.now())
    start = time.perf_counter()
    try:
        response = HTTP.post(target, data=body, headers=headers, timeout=timeout)
        exchange.status_code = response.status_code
        exchange.response = response.text[:20_000]
        try:
            data = response.json()
        except ValueError:
            exchange.error = "the answer is not JSON"
        else:
            if isinstance(data, dict):
                exchange.data = data
            else:
                exchange.error = "the answer is not a JSON object"
    except requests.Timeout:
        exchange.error = "timed out"
    except requests.ConnectionError as exc:
        exchange.error = f"connection failed: {type(exc).__name__}"
    except requests.RequestException as exc:
        exchange.error = f"{type(exc).__name__}: {exc}"[:500]
    exchange.duration_ms = int((time.perf_counter() - start) * 1000)
    return exchange


def _due(now):
    """Messages to send now: waiting, due, not leased, and the oldest waiting one of their instance
    (calls about one instance reach the seller in the order they were queued: FREEZE before UNFREEZE)."""
    older = ProduceMessage.objects.filter(
        instance_id=OuterRef("instance_id"), status=ProduceMessage.Status.PENDING, pk__lt=OuterRef("pk")
    )
    return (
        ProduceMessage.objects.filter(status=ProduceMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .exclude(Q(instance__isnull=False) & Exists(older))
    )


def _claim(message_ids, now, *, threads: int) -> tuple[list[ProduceMessage], datetime]:
    """Take due messages for delivery in one statement: a lease long enough for all their calls keeps
    every other worker off them (a worker that dies lets them go when it runs out)."""
    with transaction.atomic():
        messages = list(_due(now).select_for_update(skip_locked=True).filter(pk__in=message_ids).order_by("pk"))
        rounds = -(-len(messages) // max(threads, 1))  # calls one thread makes, one after another
        lease = now + _seconds("LEASE_SECONDS") + rounds * _seconds("TOTAL_TIMEOUT")
        ProduceMessage.objects.filter(pk__in=[m.pk for m in messages]).update(lease_until=lease)
        return messages, lease


def _call(message: ProduceMessage, url: str, key: str | None) -> Exchange:
    """One attempt at one message, outside any transaction."""
    payload = dict(message.payload)
    if message.activity == "newInstance":
        payload["businessId"] = uuid.uuid4().hex  # new for every call
        if message.pending_instance_id and message.polling_until:  # the seller is making it: ask how it goes
            payload = {"activity": "queryInstance", "instanceIds": message.pending_instance_id}
    if not url or not key:
        return Exchange(
            url=url or "-",
            body=json.dumps(payload),
            started=timezone.now(),
            error="the seller has not set up its interface (URL or access key)",
        )
    return send(url=url, payload=payload, access_key=key, kind=message.kind)


@dataclass
class Batch:
    """Messages claimed together, with where each goes and the keys that sign them."""

    messages: list
    lease: datetime
    calls: list  # (message, url, key)
    keys: dict


def _take(message_ids, now, *, threads: int) -> Batch | None:
    messages, lease = _claim(message_ids, now, threads=threads)
    if not messages:
        return None
    sellers = {m.seller_id for m in messages}
    integrations = {i.seller_id: i for i in SellerIntegration.objects.filter(seller_id__in=sellers)}
    keys = {seller_id: produce_key(seller_id) for seller_id in sellers}
    calls = [(m, _target(m, integrations.get(m.seller_id)), keys[m.seller_id]) for m in messages]
    return Batch(messages, lease, calls, keys)


def _send_all(batch: Batch, threads: int) -> list[Exchange]:
    """Network only, no database: safe in another thread."""
    if threads > 1 and len(batch.calls) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(lambda call: _call(*call), batch.calls))
    return [_call(*call) for call in batch.calls]


def messages_deliver(*, message_ids, now: datetime | None = None, threads: int = 1) -> dict[int, str]:
    """Deliver due messages, one attempt each: claim them together, call the sellers' servers
    (``threads`` calls at a time), then record every answer in one transaction. Returns each
    claimed message's outcome; a message not due, or held by another worker, is left out. Safe to
    call any number of times. With ``now`` the whole attempt (claim, schedule, effects) happens at
    that time; without it, at the real time of each step."""
    batch = _take(message_ids, now or timezone.now(), threads=threads)
    if batch is None:
        return {}
    return _record(batch, _send_all(batch, threads), now=now)


def message_deliver(*, message_id: int, now: datetime | None = None) -> str | None:
    """Deliver one due message (one attempt); its outcome, or None when it was not due or another
    worker has it."""
    return messages_deliver(message_ids=[as_id(message_id, "no such message")], now=now).get(int(message_id))


def _record(batch: Batch, exchanges, *, now=None) -> dict[int, str]:
    now = now or timezone.now()  # after the exchanges, unless the caller set the clock
    claimed, lease, keys = batch.messages, batch.lease, batch.keys
    outcomes, attempts, made = {}, [], []
    with transaction.atomic():
        locked = ProduceMessage.objects.select_for_update(of=("self",)).select_related(
            "order_line__order__placed_by", "order_line__product"
        )
        messages = {m.pk: m for m in locked.filter(pk__in=[m.pk for m in claimed])}
        current, before = [], {}
        for pk, exchange in zip([m.pk for m in claimed], exchanges, strict=True):
            message = messages.get(pk)
            if message is None or message.lease_until != lease or message.status != ProduceMessage.Status.PENDING:
                continue  # the lease ran out and another worker took over: its result counts
            outcome, error = _judge(message, exchange)
            current.append((message, exchange, outcome, error))
            before[pk] = {name: getattr(message, name) for name in OUTCOME_FIELDS}
            if outcome != ProduceAttempt.Outcome.SUCCESS or message.payload.get("testFlag") == "1":
                continue
            if message.activity == "newInstance":
                made.append((message, exchange))
                continue
            try:
                with transaction.atomic():
                    _apply(message, exchange.data, now=now)
            except IntegrityError as exc:
                message.seller_error = f"seller error: {exc}"[:500]
        results = _instances_made(made, keys, now=now) if made else {}
        for message, exchange, outcome, error in current:
            seller_error, retry = results.get(message.pk, ("", False))
            if seller_error:
                message.seller_error = seller_error
            if retry:  # its instance could not be kept (another line has that instance id): a failed round
                outcome, error = ProduceAttempt.Outcome.RETRY, seller_error
            message.attempts += 1
            message.result_code = exchange.result_code
            message.error = error
            message.lease_until = None
            if outcome == ProduceAttempt.Outcome.SUCCESS:
                message.status = ProduceMessage.Status.SUCCEEDED
                message.finished_at = now
                message.pending_instance_id = ""
                message.polling_until = None
            elif outcome == ProduceAttempt.Outcome.RETRY:
                _schedule_retry(message, exchange, now)
                if message.status != ProduceMessage.Status.PENDING:
                    outcome = ProduceAttempt.Outcome.FAILURE  # the last try: failed for good, or parked
            else:
                _give_up(message, now)
            outcomes[message.pk] = outcome
            attempts.append(
                ProduceAttempt(
                    message=message,
                    started_at=exchange.started,
                    duration_ms=exchange.duration_ms,
                    url=exchange.url,
                    request_body=exchange.body,
                    status_code=exchange.status_code,
                    response_body=exchange.response,
                    result_code=exchange.result_code,
                    outcome=outcome,
                    error=error,
                )
            )
        ProduceAttempt.objects.bulk_create(attempts)
        _save_outcomes(current, before)
    return outcomes


OUTCOME_FIELDS = (
    "result_code",
    "error",
    "seller_error",
    "lease_until",
    "status",
    "finished_at",
    "next_attempt_at",
    "pending_instance_id",
    "polling_until",
    "rounds",
)


def _save_outcomes(current, before) -> None:
    """Save what each attempt changed on its message: one UPDATE per set of equal changes (a batch
    of successes is one statement), rather than one per message."""
    groups: dict[tuple, list[int]] = {}
    for message, *_rest in current:
        changed = tuple(
            (name, getattr(message, name))
            for name in OUTCOME_FIELDS
            if getattr(message, name) != before[message.pk][name]
        )
        groups.setdefault(changed, []).append(message.pk)
    for changed, pks in groups.items():
        ProduceMessage.objects.filter(pk__in=pks).update(attempts=F("attempts") + 1, **dict(changed))


def _judge(message: ProduceMessage, exchange: Exchange) -> tuple[str, str]:
    """Success, retry or failure, and why (the protocol's rules)."""
    if exchange.status_code and exchange.status_code >= 500:
        return ProduceAttempt.Outcome.RETRY, f"HTTP {exchange.status_code}"
    if exchange.error and not exchange.data:
        return ProduceAttempt.Outcome.RETRY, exchange.error
    if exchange.status_code != 200 or not exchange.result_code:
        return ProduceAttempt.Outcome.RETRY, _("The answer is not the protocol's JSON.")
    code = exchange.result_code
    if code == protocol.SUCCESS:
        if message.activity == "newInstance" and not (message.pending_instance_id and message.polling_until):
            info = exchange.data.get("appInfo") or {}
            if not exchange.data.get("instanceId") or not isinstance(info, dict) or not info.get("frontEndUrl"):
                return ProduceAttempt.Outcome.RETRY, _("Success without instanceId and appInfo.frontEndUrl.")
        if message.activity == "newInstance" and message.pending_instance_id and message.polling_until:
            found = [i for i in exchange.data.get("info") or [] if isinstance(i, dict) and i.get("appInfo")]
            if not found:
                return ProduceAttempt.Outcome.RETRY, _("The instance is not ready yet.")
        return ProduceAttempt.Outcome.SUCCESS, ""
    meaning = protocol.RESULT_CODES.get(code, "unknown code")
    if code in protocol.RETRYABLE_CODES:
        return ProduceAttempt.Outcome.RETRY, f"{code} {meaning}"
    return ProduceAttempt.Outcome.FAILURE, f"{code} {meaning}"


def _schedule_retry(message: ProduceMessage, exchange: Exchange, now) -> None:
    if message.activity == "newInstance":
        _schedule_new_instance(message, exchange, now)
        return
    # The window is counted in whole steps from the first attempt (0, 10, … 60 minutes): the few
    # milliseconds each attempt takes must not cost the last one.
    step = _seconds("RETRY_EVERY")
    if now + step > message.created_at + _seconds("RETRY_FOR") + step / 2:
        message.status = ProduceMessage.Status.PARKED
        message.finished_at = now
        return
    message.next_attempt_at = now + _seconds("RETRY_EVERY")


def _schedule_new_instance(message: ProduceMessage, exchange: Exchange, now) -> None:
    """newInstance: "still processing" starts polling (queryInstance when the seller named the
    instance, else the same newInstance again) for POLL_FOR; any other failure, or polling past its
    deadline, is a failed round, retried at the next offset of NEW_INSTANCE_SCHEDULE. The instance
    the seller named stays noted across rounds: answering another one later is its error."""
    if exchange.result_code == protocol.PROCESSING and message.polling_until is None:
        named = str(exchange.data.get("instanceId") or "")[:64]
        message.pending_instance_id = named or message.pending_instance_id
        message.polling_until = now + _seconds("POLL_FOR")
    if message.polling_until is not None and now < message.polling_until:
        message.next_attempt_at = now + _seconds("POLL_EVERY")
        return
    message.polling_until = None
    message.rounds += 1
    schedule = RULES["NEW_INSTANCE_SCHEDULE"]
    if message.rounds >= len(schedule):
        _give_up(message, now)
        return
    message.next_attempt_at = max(now, message.created_at + timedelta(seconds=schedule[message.rounds]))


def _give_up(message: ProduceMessage, now) -> None:
    message.status = ProduceMessage.Status.FAILED
    message.finished_at = now
    if message.activity == "newInstance" and message.order_line_id and message.payload.get("testFlag") != "1":
        _fail_order(message, now)
    elif message.kind == ProduceMessage.Kind.DEPLOY:
        from .deployments import deployment_failed

        deployment_failed(message=message, now=now)


def _fail_order(message: ProduceMessage, now) -> None:
    """newInstance failed for good: the order fails and is refunded in full; both sides are told;
    more than DELIST_AFTER_FAILED_ORDERS such orders of one product in a month delist it."""
    from billing.services.ledger import refunded_amount
    from marketplace.catalog.services import product_auto_delist
    from refunds.services import refund_record

    line = OrderLine.objects.select_related("order", "product", "subscription").get(pk=message.order_line_id)
    order = Order.objects.select_for_update().get(pk=line.order_id)
    if order.status == Order.Status.PAID:
        move(
            order,
            Order.Status.FAILED,
            actor=None,
            note=gettext_noop("Provisioning failed"),
            message=message.error,
            at=now,
        )
    left = line.amount - refunded_amount(line)  # operations may have refunded part (or all) of it already
    if left > 0 and order.status == Order.Status.FAILED:
        refund_record(
            line_id=line.pk, amount=left, reason=str(gettext_lazy("Provisioning failed")), now=now, invoice_check=False
        )
    if line.subscription_id:
        Subscription.objects.filter(pk=line.subscription_id).update(status=Subscription.Status.RELEASED)
    notify(
        users=[order.placed_by],
        subject=gettext_lazy("Order %(number)s could not be delivered"),
        subject_params={"number": order.number},
        template="notifications/provisioning_failed_buyer.txt",
        context={"order": order, "line": line},
        link=reverse("buyer:order_detail", args=[order.pk]),
    )
    notify(
        users=seller_users(line.seller_id, ["admin", "developer"]),
        subject=gettext_lazy("Provisioning failed for order %(number)s"),
        subject_params={"number": order.number},
        template="notifications/provisioning_failed_seller.txt",
        context={"order": order, "line": line, "message": message},
        link=reverse("seller:produce_message", args=[message.pk]),
        extra_emails=[line.seller.bound_email],
    )
    start, _end = calendar.month_range(calendar.beijing(now).year, calendar.beijing(now).month)
    failed = (
        ProduceMessage.objects.filter(
            activity="newInstance",
            status=ProduceMessage.Status.FAILED,
            order_line__product=line.product,
            finished_at__gte=start,
        )
        .exclude(pk=message.pk)
        .count()
        + 1
    )
    if failed > RULES["DELIST_AFTER_FAILED_ORDERS"]:
        product_auto_delist(
            product_id=line.product_id,
            reason=str(gettext_lazy("More than %(n)s orders failed to provision this month."))
            % {"n": RULES["DELIST_AFTER_FAILED_ORDERS"]},
        )


def _apply(message: ProduceMessage, data: dict, *, now) -> None:
    """What a successful call other than newInstance changes here."""
    if message.kind == ProduceMessage.Kind.DEPLOY:
        from .deployments import deployment_answered

        deployment_answered(message=message, data=data, now=now)
        return
    instance = message.instance
    if instance is None:
        return
    if message.activity == "updateInstanceStatus":
        instance.status = (
            Instance.Status.FROZEN if message.payload.get("status") == "FREEZE" else Instance.Status.ACTIVE
        )
        instance.save(update_fields=["status", "updated_at"])
    elif message.activity == "refreshInstance":
        from marketplace.sso.sync import sync_instance_changed

        sync_instance_changed(instance=instance, order_number=message.payload.get("orderId"), now=now)  # tenantSync 2
    elif message.activity == "releaseInstance":
        instance.status = Instance.Status.RELEASED
        instance.save(update_fields=["status", "updated_at"])
        from marketplace.sso.sync import sync_instance_released

        sync_instance_released(instance=instance, now=now)  # joint SaaS: tenantSync 0


def _made_instance(message: ProduceMessage, data: dict, key: str | None) -> tuple[Instance, list[str]]:
    """The instance a successful newInstance (or queryInstance) answer describes, not saved yet, and
    the seller's errors in it."""
    if message.pending_instance_id and message.polling_until:
        info = next(i for i in data.get("info") or [] if isinstance(i, dict) and i.get("appInfo"))
        instance_id, app = str(info.get("instanceId") or message.pending_instance_id), info["appInfo"]
    else:
        instance_id, app = str(data["instanceId"]), data.get("appInfo") or {}
    instance_id, errors = instance_id[:64], []
    named = message.pending_instance_id  # the instance the seller said it was making (000004)
    if named and named != instance_id:
        errors.append(
            _(
                "The seller's server answered instance %(new)s for an order line it had said instance "
                "%(named)s was being made for."
            )
            % {"new": instance_id, "named": named}
        )
    username, password = app.get("userName", ""), app.get("password", "")
    if data.get("encryptType") == "1" and key:
        try:
            username = protocol.decrypt_credential(key, username) if username else ""
            password = protocol.decrypt_credential(key, password) if password else ""
        except (ValueError, TypeError) as exc:
            username = password = ""
            errors.append(_("The credentials could not be decrypted with the access key (%(error)s).") % {"error": exc})
    line = message.order_line
    instance = Instance(
        order_line=line,
        subscription_id=line.subscription_id,
        seller_id=line.seller_id,
        instance_id=instance_id,
        front_end_url=str(app.get("frontEndUrl", ""))[:500],
        admin_url=str(app.get("adminUrl", ""))[:500],
        username=str(username),
        password=str(password),
        memo=str(app.get("memo", ""))[:2000],
    )
    return instance, errors


def _instances_made(made, keys, *, now) -> dict[int, tuple[str, bool]]:
    """Keep the instances that successful newInstance calls made, all in a few statements: the
    instances, the lines' provisioning time, the orders' timeline, the ledger (periodic SaaS settles at
    provisioning) and the buyers' notices. Returns, per message, a seller error and whether the
    instance could not be kept (its instance id belongs to another line: the round failed)."""
    from billing.services.ledger import ledger_settle_lines

    results, new = {}, []
    existing = dict(
        Instance.objects.filter(order_line_id__in=[m.order_line_id for m, _e in made]).values_list(
            "order_line_id", "instance_id"
        )
    )
    for message, exchange in made:
        instance, errors = _made_instance(message, exchange.data, keys.get(message.seller_id))
        instance.created_at = now
        if message.order_line_id in existing:  # made before (a late answer to an earlier attempt)
            if existing[message.order_line_id] != instance.instance_id:
                errors = [
                    _("The seller's server answered instance %(new)s for an order line that has instance %(old)s.")
                    % {"new": instance.instance_id, "old": existing[message.order_line_id]}
                ]
            else:
                errors = []
        else:
            new.append((message, instance))
        results[message.pk] = (" ".join(errors), False)
    if not new:
        return results
    try:
        with transaction.atomic():
            Instance.objects.bulk_create([instance for _m, instance in new])
    except IntegrityError:  # an instance id already used: find which, keeping the others
        kept = []
        for message, instance in new:
            try:
                with transaction.atomic():
                    instance.save(force_insert=True)
                kept.append((message, instance))
            except IntegrityError:
                results[message.pk] = (
                    _("The seller's server answered instance %(id)s, which belongs to another order line.")
                    % {"id": instance.instance_id},
                    True,
                )
        new = kept
    refunded = set(
        Order.objects.filter(pk__in=[m.order_line.order_id for m, _i in new], status=Order.Status.REFUNDED).values_list(
            "pk", flat=True
        )
    )
    for message, instance in new:
        if message.order_line.order_id in refunded:
            # Refunded in full while the seller was still making it: it goes straight back.
            provisioning_release(instance=instance, scene="REFUNDED", now=now)
    lines = [m.order_line for m, _i in new if m.order_line.order_id not in refunded]
    if not lines:
        return results
    from marketplace.sso.sync import sync_instances_made

    # Joint SaaS with single sign-on: tenant, app, organisation and users to the seller (one query when none is).
    sync_instances_made(instances=[i for m, i in new if m.order_line.order_id not in refunded], now=now)
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(provisioned_at=now)
    for line in lines:
        line.provisioned_at = now
    instance_ids = {m.order_line_id: i.instance_id for m, i in new}
    record_many(
        [line.order for line in lines],
        note=gettext_noop("Instance %(instance)s ready"),
        params=[{"instance": instance_ids[line.pk]} for line in lines],
        at=now,
    )
    ledger_settle_lines(lines=lines, now=now)
    services_page = reverse("buyer:services")
    notify_many(
        {
            "users": [line.order.placed_by],
            "subject": gettext_lazy("Your %(product)s is ready"),
            "subject_params": {"product": line.product.name},
            "template": "notifications/instance_ready.txt",
            "context": {"line": line},
            "link": services_page,
        }
        for line in lines
    )
    return results


BATCH = 100  # messages claimed, called and recorded together by the sweep


def messages_deliver_due(*, now: datetime | None = None, limit: int = 500, threads: int | None = None) -> int:
    """The sweep: deliver every due message (what a lost broker message or a retry left waiting), in
    batches of BATCH, DELIVERY_THREADS calls at a time. Each batch is claimed when it starts (a lease
    taken at the sweep's start could run out before it is used), unless ``now`` sets the clock."""
    ids = list(_due(now or timezone.now()).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    threads = RULES["DELIVERY_THREADS"] if threads is None else threads
    return sum(
        len(messages_deliver(message_ids=ids[i : i + BATCH], now=now, threads=threads))
        for i in range(0, len(ids), BATCH)
    )


def message_retry(*, actor: User, message_id, now: datetime | None = None) -> ProduceMessage:
    """The seller (or operations) retries a failed or waiting message now; a buyer tenant's
    administrator, the sync calls about its tenant's instances."""
    now = now or timezone.now()
    membership = getattr(actor, "seller_membership", None)
    tenant = getattr(actor, "buyer_membership", None)
    with transaction.atomic():
        qs = ProduceMessage.objects.select_for_update()
        if not actor.is_staff:
            scopes = []
            if seller_can(membership, "apptools.manage"):
                scopes.append(Q(seller_id=membership.seller_id))
            if tenant is not None and tenant.role == tenant.Role.ADMIN:
                tenant_instances = Instance.objects.filter(subscription__buyer_id=tenant.buyer_id).values("pk")
                scopes.append(Q(kind=ProduceMessage.Kind.SYNC, instance_id__in=tenant_instances))
            if not scopes:
                raise NotAllowed(_("Your role does not allow this."))
            qs = qs.filter(Q(*scopes, _connector=Q.OR))
        message = qs.filter(pk=as_id(message_id, _("No such message."))).first()
        if message is None:
            raise NotFound(_("No such message."))
        if message.status == ProduceMessage.Status.SUCCEEDED:
            raise Conflict(_("This message was delivered."))
        if message.status == ProduceMessage.Status.FAILED and message.activity == "newInstance":
            raise Conflict(_("This order has failed and was refunded; it cannot be retried."))
        message.status = ProduceMessage.Status.PENDING
        message.next_attempt_at = now
        message.finished_at = None
        if message.activity != "newInstance":
            message.created_at = now  # a fresh retry window
        message.save(update_fields=["status", "next_attempt_at", "finished_at", "created_at"])
    from .tasks import deliver_message

    send_after_commit(lambda: deliver_message.delay(message.pk))
    return message
