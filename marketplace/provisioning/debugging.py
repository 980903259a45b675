"""Interface debugging (接口调试): a seller sends test calls (testFlag=1) to its own server and runs
the conformance checks a joint SaaS product must pass before it can be submitted for review."""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from marketplace.accounts.models import User
from marketplace.accounts.roles import seller_can
from marketplace.core.errors import Conflict, NotAllowed, ValidationFailed

from . import protocol
from .models import ConformanceRun, ProduceAttempt, ProduceMessage, SellerIntegration
from .services import RULES, Exchange, beijing_stamp, produce_key, send


def _seller(actor: User):
    membership = getattr(actor, "seller_membership", None)
    if not seller_can(membership, "apptools.manage"):
        raise NotAllowed(_("Your role does not allow this."))
    integration = SellerIntegration.objects.filter(seller_id=membership.seller_id).exclude(produce_url="").first()
    key = produce_key(membership.seller_id)
    if integration is None or not key:
        raise Conflict(_("Set the produce URL and issue a produce access key first (App tools)."))
    return membership.seller, integration, key


def sample_payload(activity: str, *, instance_id: str = "") -> dict:
    """Parameters to start from for each activity (test data; testFlag is always "1")."""
    now = timezone.now()
    common = {"orderId": f"TEST{now:%Y%m%d%H%M%S}", "orderLineId": "1", "productId": "0", "skuCode": "test-sku"}
    samples = {
        "newInstance": {
            **common,
            "businessId": uuid.uuid4().hex,
            "trialFlag": "0",
            "customerId": "TTEST",
            "customerName": "测试客户",
            "chargingMode": "PERIOD",
            "periodType": "month",
            "periodNumber": "1",
            "expireTime": beijing_stamp(now + timezone.timedelta(days=30)),
            "orderAmount": "0.00",
            "extendParams": [],
        },
        "refreshInstance": {
            **common,
            "instanceId": instance_id,
            "scene": "RENEWAL",
            "expireTime": beijing_stamp(now + timezone.timedelta(days=60)),
        },
        "updateInstanceStatus": {"instanceId": instance_id, "status": "FREEZE"},
        "releaseInstance": {**common, "instanceId": instance_id, "scene": "EXPIRED"},
        "queryInstance": {"instanceIds": instance_id},
    }
    if activity not in samples:
        raise ValidationFailed(_("Unknown activity."))
    payload = {"activity": activity, **samples[activity]}
    if activity != "queryInstance":
        payload["testFlag"] = "1"
    return payload


@dataclass
class DebugResult:
    request: str
    url: str
    status_code: int | None
    response: str
    duration_ms: int
    result_code: str
    meaning: str
    error: str


def debug_call(*, actor: User, payload: dict) -> DebugResult:
    """Send one test call now and show everything about it; it is logged with the seller's messages."""
    seller, integration, key = _seller(actor)
    if not isinstance(payload, dict) or payload.get("activity") not in protocol.ACTIVITIES:
        raise ValidationFailed(_("The parameters must be a JSON object with a known activity."))
    if payload["activity"] != "queryInstance":
        payload = {**payload, "testFlag": "1"}  # a debugging call never touches real orders
    exchange = send(url=integration.produce_url, payload=payload, access_key=key)
    _log(seller.pk, payload, exchange)
    code = exchange.result_code
    return DebugResult(
        request=exchange.body,
        url=integration.produce_url,
        status_code=exchange.status_code,
        response=exchange.response,
        duration_ms=exchange.duration_ms,
        result_code=code,
        meaning=protocol.RESULT_CODES.get(code, _("not a protocol answer") if not code else _("unknown code")),
        error=exchange.error,
    )


def _log(seller_id: int, payload: dict, exchange: Exchange) -> None:
    ok = exchange.result_code == protocol.SUCCESS
    with transaction.atomic():
        message = ProduceMessage.objects.create(
            seller_id=seller_id,
            activity=payload["activity"],
            payload=payload,
            attempts=1,
            status=ProduceMessage.Status.SUCCEEDED if ok else ProduceMessage.Status.FAILED,
            result_code=exchange.result_code,
            error=exchange.error,
            finished_at=timezone.now(),
        )
        ProduceAttempt.objects.create(
            message=message,
            started_at=exchange.started,
            duration_ms=exchange.duration_ms,
            url=exchange.url,
            request_body=exchange.body,
            status_code=exchange.status_code,
            response_body=exchange.response,
            result_code=exchange.result_code,
            error=exchange.error,
            outcome=ProduceAttempt.Outcome.SUCCESS if ok else ProduceAttempt.Outcome.FAILURE,
        )


def conformance_run(*, actor: User) -> ConformanceRun:
    """Check the seller's server against the protocol and save the report. A joint SaaS product can
    be submitted for review only after a passing run."""
    seller, integration, key = _seller(actor)
    url, limit_ms = integration.produce_url, int(RULES["TOTAL_TIMEOUT"] * 1000)
    checks: list[dict] = []

    def check(name: str, passed: bool, detail: str, exchange: Exchange | None = None):
        checks.append(
            {
                "check": name,
                "passed": bool(passed),
                "detail": detail,
                "duration_ms": exchange.duration_ms if exchange else None,
            }
        )

    first_payload = sample_payload("newInstance")
    first = send(url=url, payload=first_payload, access_key=key)
    info = first.data.get("appInfo") if isinstance(first.data.get("appInfo"), dict) else {}
    check(
        gettext_noop("A correctly signed newInstance succeeds"),
        first.result_code == protocol.SUCCESS,
        first.error or f"resultCode {first.result_code or '-'}",
        first,
    )
    check(
        gettext_noop("The answer carries instanceId and appInfo.frontEndUrl"),
        bool(first.data.get("instanceId")) and bool(info.get("frontEndUrl")),
        f"instanceId={first.data.get('instanceId', '-')}, frontEndUrl={info.get('frontEndUrl', '-')}",
    )
    if info.get("userName") or info.get("password"):
        try:
            protocol.decrypt_credential(key, info.get("userName") or info.get("password"))
            readable = first.data.get("encryptType") == "1"
        except (ValueError, TypeError):
            readable = False
        check(
            gettext_noop("Credentials are encrypted with the access key (encryptType 1)"),
            readable,
            f"encryptType={first.data.get('encryptType', '-')}",
        )

    again = send(url=url, payload={**first_payload, "businessId": uuid.uuid4().hex}, access_key=key)
    check(
        gettext_noop("A repeated newInstance for the same order line returns the same instance"),
        again.result_code == protocol.SUCCESS and again.data.get("instanceId") == first.data.get("instanceId"),
        f"{first.data.get('instanceId', '-')} / {again.data.get('instanceId', '-')}",
        again,
    )

    forged = send(url=url, payload=sample_payload("newInstance"), access_key=key, signature="0" * 64)
    check(
        gettext_noop("A wrongly signed call is refused with 000001"),
        forged.result_code == protocol.AUTH_FAILED,
        forged.error or f"resultCode {forged.result_code or '-'}",
        forged,
    )

    stale = send(
        url=url, payload=sample_payload("newInstance"), access_key=key, timestamp=str(protocol.now_ms() - 5 * 60 * 1000)
    )
    check(
        gettext_noop("A call with a stale timestamp is refused with 000001"),
        stale.result_code == protocol.AUTH_FAILED,
        stale.error or f"resultCode {stale.result_code or '-'}",
        stale,
    )

    nonce = protocol.new_nonce()
    send(
        url=url,
        payload=sample_payload("queryInstance", instance_id=first.data.get("instanceId", "")),
        access_key=key,
        nonce=nonce,
    )
    replay = send(
        url=url,
        payload=sample_payload("queryInstance", instance_id=first.data.get("instanceId", "")),
        access_key=key,
        nonce=nonce,
    )
    check(
        gettext_noop("A replayed nonce is refused with 000001"),
        replay.result_code == protocol.AUTH_FAILED,
        replay.error or f"resultCode {replay.result_code or '-'}",
        replay,
    )

    exchanges = [first, again, forged, stale, replay]
    slowest = max(e.duration_ms for e in exchanges)
    check(
        gettext_noop("Every answer comes within the timeout"),
        all(not e.error.startswith("timed out") for e in exchanges) and slowest <= limit_ms,
        f"{slowest} ms (limit {limit_ms} ms)",
    )

    if first.data.get("instanceId"):
        send(url=url, payload=sample_payload("releaseInstance", instance_id=first.data["instanceId"]), access_key=key)
    return ConformanceRun.objects.create(
        seller=seller,
        started_by=actor,
        produce_url=url,
        passed=all(c["passed"] for c in checks),
        report=checks,
        finished_at=timezone.now(),
    )


def conformance_passed(seller_id: int) -> bool:
    """The seller's latest run against its current produce URL passed."""
    latest = ConformanceRun.objects.filter(seller_id=seller_id).first()
    integration = SellerIntegration.objects.filter(seller_id=seller_id).first()
    return bool(latest and latest.passed and integration and latest.produce_url == integration.produce_url)
