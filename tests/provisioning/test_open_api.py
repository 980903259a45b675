"""The seller open API (spec section 4): signed requests for orders, instances and produce
messages; each seller sees its own rows; every bad request is a 401 with {"error", "detail"}."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from marketplace.provisioning import protocol, services
from marketplace.provisioning.models import Instance, ProduceMessage, SellerIntegration
from tests.factories import PlanFactory, ProductFactory

from .conftest import ACCESS_KEY

pytestmark = pytest.mark.django_db

ORDERS, INSTANCES, MESSAGES = "/api/v1/open/orders/", "/api/v1/open/instances/", "/api/v1/open/produce-messages/"


def signed_get(client, path, key_id, secret, params=None, *, sign_params=None, timestamp=None, nonce=None, **headers):
    """A GET signed as the developer guide says; sign_params, timestamp and nonce can be forged."""
    params = params or {}
    timestamp = str(timestamp if timestamp is not None else protocol.now_ms())
    nonce = nonce or protocol.new_nonce()
    signature = protocol.open_api_signature(
        secret, "GET", path, sign_params if sign_params is not None else params, timestamp, nonce, b""
    )
    sent = {"X-Access-Key-Id": key_id, "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature}
    sent.update(headers)
    return client.get(path, params, headers={k: v for k, v in sent.items() if v is not None})


@pytest.fixture
def open_key(seller):
    key, secret = services.access_key_issue(seller=seller, purpose="open_api")
    return key.key_id, secret


@pytest.fixture
def two_sellers(seller, other_seller, integration, isv, saas_plan, paid, buyer_user):
    """Two paid SaaS orders of the seller and one of another seller, each with its instance."""
    services.access_key_issue(seller=other_seller, purpose="produce", secret=ACCESS_KEY)
    SellerIntegration.objects.create(seller=other_seller, produce_url=isv.produce_url)
    other_plan = PlanFactory(product=ProductFactory(seller=other_seller, status="published"))
    mine = [paid(saas_plan), paid(saas_plan)]
    theirs = paid(other_plan)
    assert Instance.objects.count() == 3
    return mine, theirs


def test_orders_list_only_the_signing_sellers_orders_with_the_protocols_names(client, open_key, two_sellers):
    mine, theirs = two_sellers

    response = signed_get(client, ORDERS, *open_key)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {o["orderId"] for o in body["results"]} == {o.number for o in mine}
    first = next(o for o in body["results"] if o["orderId"] == mine[0].number)
    line = mine[0].lines.get()
    assert {k: first[k] for k in ("orderId", "type", "status", "customerId", "customerName", "extendParams")} == {
        "orderId": mine[0].number,
        "type": "NEW",
        "status": "paid",
        "customerId": mine[0].buyer.code,
        "customerName": mine[0].buyer.name,
        "extendParams": [],
    }
    assert [(x["orderLineId"], x["skuCode"], x["chargingMode"], Decimal(x["amount"])) for x in first["lines"]] == [
        (str(line.pk), "SAAS-STD", "PERIOD", Decimal("100.00"))
    ]
    # another seller's order is not found, not forbidden
    assert signed_get(client, f"{ORDERS}{theirs.pk}/", *open_key).status_code == 404
    assert signed_get(client, f"{ORDERS}{mine[0].pk}/", *open_key).json()["orderId"] == mine[0].number


def test_instances_list_only_the_signing_sellers_instances(client, open_key, two_sellers):
    mine, theirs = two_sellers

    body = signed_get(client, INSTANCES, *open_key).json()

    expected = Instance.objects.filter(order_line__order__in=mine)
    assert body["count"] == 2
    assert {(i["instanceId"], i["orderId"], i["status"]) for i in body["results"]} == {
        (i.instance_id, i.order_line.order.number, "active") for i in expected
    }
    other = Instance.objects.get(order_line__order=theirs)
    assert signed_get(client, f"{INSTANCES}{other.pk}/", *open_key).status_code == 404


def test_produce_messages_list_only_the_signing_sellers_messages_with_their_attempts(
    client, seller, open_key, two_sellers
):
    body = signed_get(client, MESSAGES, *open_key).json()

    expected = ProduceMessage.objects.filter(seller=seller)
    assert body["count"] == 2
    assert {m["id"] for m in body["results"]} == set(expected.values_list("pk", flat=True))
    assert {m["activity"] for m in body["results"]} == {"newInstance"}
    assert [len(m["attempts"]) for m in body["results"]] == [1, 1]
    assert body["results"][0]["attempts"][0]["result_code"] == "000000"


def test_query_parameters_are_part_of_the_signature(client, open_key, two_sellers):
    # signed with the filter: answered, filtered
    response = signed_get(client, ORDERS, *open_key, {"status": "refunded"})
    assert (response.status_code, response.json()["count"]) == (200, 0)
    assert signed_get(client, ORDERS, *open_key, {"status": "paid", "page_size": "1"}).json()["count"] == 2

    # signed without it, or with another value: refused
    for forged in ({}, {"status": "paid"}):
        response = signed_get(client, ORDERS, *open_key, {"status": "refunded"}, sign_params=forged)
        assert response.status_code == 401
        assert response.json() == {
            "error": "authentication_failed",
            "detail": "The access key or the signature is wrong.",
        }


def test_every_value_of_a_repeated_query_parameter_is_signed(client, open_key, two_sellers):
    # signed with only the first of two values, the request carries another one too: refused
    response = signed_get(client, ORDERS, *open_key, {"status": ["paid", "refunded"]}, sign_params=[("status", "paid")])
    assert response.status_code == 401
    # signed with both: answered
    both = [("status", "paid"), ("status", "refunded")]
    assert signed_get(client, ORDERS, *open_key, {"status": ["paid", "refunded"]}, sign_params=both).status_code == 200


def refused(response, error, detail):
    assert response.status_code == 401
    assert response.json() == {"error": error, "detail": detail}
    assert response["WWW-Authenticate"] == 'MarketplaceSignature realm="seller-open-api"'


@pytest.mark.parametrize("path", [ORDERS, INSTANCES, MESSAGES])
def test_a_request_without_the_signature_headers_is_refused(client, seller_user, open_key, path):
    refused(client.get(path), "not_authenticated", "Authentication credentials were not provided.")
    # a signed-in seller's browser session is not a signature either
    client.force_login(seller_user)
    refused(client.get(path), "not_authenticated", "Authentication credentials were not provided.")


@pytest.mark.parametrize("missing", ["X-Timestamp", "X-Nonce", "X-Signature"])
def test_a_request_missing_one_header_is_refused(client, open_key, missing):
    response = signed_get(client, ORDERS, *open_key, **{missing: None})

    refused(response, "authentication_failed", "X-Timestamp, X-Nonce and X-Signature are required.")


def test_a_wrong_signature_is_refused_and_does_not_burn_the_nonce(client, open_key, two_sellers):
    key_id, secret = open_key

    response = signed_get(client, ORDERS, key_id, "not-the-secret", nonce="n-1")
    refused(response, "authentication_failed", "The access key or the signature is wrong.")
    response = signed_get(client, ORDERS, key_id, secret, nonce="n-2", **{"X-Signature": "0" * 64})
    refused(response, "authentication_failed", "The access key or the signature is wrong.")

    # the real seller can still use that nonce: a forger cannot use up nonces
    assert signed_get(client, ORDERS, key_id, secret, nonce="n-1").status_code == 200


@pytest.mark.parametrize("skew_ms", [-61_000, 61_000])
def test_a_stale_or_future_timestamp_is_refused(client, open_key, skew_ms):
    response = signed_get(client, ORDERS, *open_key, timestamp=protocol.now_ms() + skew_ms)

    refused(response, "authentication_failed", "The timestamp is more than 60 seconds away from our clock.")


def test_a_timestamp_within_the_minute_is_accepted(client, open_key):
    assert signed_get(client, ORDERS, *open_key, timestamp=protocol.now_ms() - 50_000).status_code == 200


def test_a_reused_nonce_is_refused(client, open_key):
    assert signed_get(client, ORDERS, *open_key, nonce="same-nonce").status_code == 200

    response = signed_get(client, ORDERS, *open_key, nonce="same-nonce")

    refused(response, "authentication_failed", "This nonce was used already.")


def test_a_nonce_is_remembered_in_the_shared_cache_for_five_minutes(client, open_key):
    key_id, _secret = open_key

    signed_get(client, ORDERS, *open_key, nonce="kept")

    assert cache.get(f"openapi-nonce:{key_id}:kept") == 1
    assert protocol.NONCE_TTL_S == 300


def test_a_revoked_key_is_refused_and_the_new_one_works(client, seller, seller_user, open_key):
    old_id, old_secret = open_key
    new, new_secret = services.access_key_rotate(actor=seller_user, purpose="open_api")

    refused(
        signed_get(client, ORDERS, old_id, old_secret),
        "authentication_failed",
        "The access key or the signature is wrong.",
    )
    assert signed_get(client, ORDERS, new.key_id, new_secret).status_code == 200


def test_a_produce_key_or_an_unknown_key_id_does_not_open_the_api(client, seller, integration):
    produce = seller.access_keys.get(purpose="produce")

    for key_id, secret in ((produce.key_id, ACCESS_KEY), ("AKUNKNOWN", "whatever")):
        refused(
            signed_get(client, ORDERS, key_id, secret),
            "authentication_failed",
            "The access key or the signature is wrong.",
        )
