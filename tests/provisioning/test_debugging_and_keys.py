"""Seller center > app tools: interface settings, the RSA public key, access keys (shown once,
encrypted at rest), interface debugging, the conformance run that joint SaaS needs before review,
the produce-message log and the developer guide."""

import json
import socket

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import Application

from billing.models import LedgerEntry
from marketplace.catalog import services as catalog
from marketplace.catalog.models import DeliveryKind, Product, TradeMode
from marketplace.core.crypto import decrypt
from marketplace.core.errors import Conflict, NotAllowed, ValidationFailed
from marketplace.orders.models import Order
from marketplace.provisioning import debugging, licenses, protocol, services
from marketplace.provisioning.models import (
    AccessKey,
    ConformanceRun,
    Instance,
    ProduceAttempt,
    ProduceMessage,
    SellerIntegration,
)
from marketplace.sso.models import AppRegistration, LoginTest
from tests.factories import PlanFactory, ProductFactory, seller_member

from .conftest import ACCESS_KEY

pytestmark = pytest.mark.django_db

CHECKS = [
    "A correctly signed newInstance succeeds",
    "The answer carries instanceId and appInfo.frontEndUrl",
    "Credentials are encrypted with the access key (encryptType 1)",
    "A repeated newInstance for the same order line returns the same instance",
    "A wrongly signed call is refused with 000001",
    "A call with a stale timestamp is refused with 000001",
    "A replayed nonce is refused with 000001",
    "Every answer comes within the timeout",
]


def public_pem(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/produce"


def integration_row(seller) -> tuple | None:
    return (
        SellerIntegration.objects.filter(seller=seller)
        .values_list("produce_url", "sync_base_url", "deploy_url", "rsa_public_key")
        .first()
    )


def failed_checks(run: ConformanceRun) -> list[str]:
    return [c["check"] for c in run.report if not c["passed"]]


# --- settings and keys --------------------------------------------------------------------------


def test_the_seller_saves_its_interface_urls(seller, seller_client):
    response = seller_client.post(
        "/seller/app-tools/",
        {
            "save_urls": "1",
            "produce_url": " https://isv.example.com/produce ",
            "sync_base_url": "https://isv.example.com/",
            "deploy_url": "https://isv.example.com/deploy",
        },
    )

    assert (response.status_code, response["Location"]) == (302, "/seller/app-tools/")
    assert integration_row(seller) == (
        "https://isv.example.com/produce",
        "https://isv.example.com",
        "https://isv.example.com/deploy",
        "",
    )
    page = seller_client.get("/seller/app-tools/").content.decode()
    assert 'value="https://isv.example.com/produce"' in page


def test_an_invalid_url_is_refused_and_nothing_is_saved(seller, seller_client):
    response = seller_client.post(
        "/seller/app-tools/", {"save_urls": "1", "produce_url": "not a url", "sync_base_url": "", "deploy_url": ""}
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["produce_url"]
    assert "Enter a valid URL." in response.content.decode()
    assert integration_row(seller) is None


@pytest.mark.parametrize(
    ("pem", "error"),
    [
        (lambda: public_pem(2048), "The RSA public key must have at least 3072 bits."),
        (lambda: "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----", None),
    ],
)
def test_an_rsa_key_below_3072_bits_or_not_a_key_is_refused_with_a_clear_message(
    pem, error, seller, seller_client, isv
):
    SellerIntegration.objects.create(seller=seller, rsa_public_key=isv.public_key_pem)
    error = error or "This is not an RSA public key in PEM format."

    response = seller_client.post("/seller/app-tools/", {"save_rsa": "1", "rsa_public_key": pem()})

    assert response.status_code == 200
    assert response.context["rsa_form"].errors == {"rsa_public_key": [error]}
    assert error in response.content.decode()
    assert integration_row(seller)[3] == isv.public_key_pem


def test_a_3072_bit_rsa_key_is_accepted_and_encrypts_for_the_seller(seller, seller_client, isv, isv_private_key):
    response = seller_client.post("/seller/app-tools/", {"save_rsa": "1", "rsa_public_key": isv.public_key_pem})

    assert (response.status_code, response["Location"]) == (302, "/seller/app-tools/")
    saved = integration_row(seller)[3]
    assert saved == isv.public_key_pem.strip()
    assert protocol.rsa_decrypt(isv_private_key, protocol.rsa_encrypt(saved, "client-secret")) == "client-secret"


def test_key_rotation_shows_the_secret_once_stores_it_encrypted_and_the_old_key_stops_working(
    seller, seller_user, seller_client, integration, isv
):
    # given calls signed with the current key get through (000003: no such instance, but signed right)
    old = AccessKey.objects.get(seller=seller, purpose="produce")
    payload = {"activity": "queryInstance", "instanceIds": "x"}
    assert debugging.debug_call(actor=seller_user, payload=payload).result_code == "000003"

    # when the seller rotates its produce key
    response = seller_client.post("/seller/app-tools/", {"rotate": "produce"}, follow=True)

    # then the new secret is shown once
    shown = response.context["new_secret"]
    new = AccessKey.objects.get(seller=seller, purpose="produce", revoked_at__isnull=True)
    assert (shown["key_id"], shown["secret"]) == (new.key_id, new.secret)
    assert new.secret in response.content.decode()
    again = seller_client.get("/seller/app-tools/")
    assert again.context["new_secret"] is None
    assert new.secret not in again.content.decode()
    # and stored encrypted
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM provisioning_accesskey WHERE id = %s", [new.pk])
        (raw,) = cursor.fetchone()
    assert new.secret not in raw and decrypt(raw) == new.secret
    # and the old key is revoked: calls are signed with the new key only, which the ISV does not know yet
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert services.produce_key(seller.pk) == new.secret
    assert debugging.debug_call(actor=seller_user, payload=payload).result_code == "000001"
    isv.access_key = new.secret
    assert debugging.debug_call(actor=seller_user, payload=payload).result_code == "000003"
    assert old.secret == ACCESS_KEY != new.secret


def test_an_open_api_key_is_issued_next_to_the_produce_key(seller, seller_client, integration):
    response = seller_client.post("/seller/app-tools/", {"rotate": "open_api"}, follow=True)

    keys = AccessKey.objects.filter(seller=seller, revoked_at__isnull=True)
    assert sorted(keys.values_list("purpose", flat=True)) == ["open_api", "produce"]
    assert response.context["new_secret"]["key_id"] == keys.get(purpose="open_api").key_id


def test_roles_without_app_tools_cannot_open_them_or_rotate_keys(seller, client, integration):
    finance = seller_member(seller, "finance")
    before = list(AccessKey.objects.values_list("pk", "revoked_at"))
    client.force_login(finance)

    assert client.get("/seller/app-tools/").status_code == 403
    assert client.post("/seller/app-tools/", {"rotate": "produce"}).status_code == 403
    with pytest.raises(NotAllowed):
        services.access_key_rotate(actor=finance, purpose="produce")
    with pytest.raises(NotAllowed):
        debugging.conformance_run(actor=finance)

    assert list(AccessKey.objects.values_list("pk", "revoked_at")) == before
    assert not ConformanceRun.objects.exists()


def test_an_unknown_key_purpose_is_refused(seller_user, integration):
    before = list(AccessKey.objects.values_list("pk", "revoked_at"))

    with pytest.raises(ValidationFailed):
        services.access_key_rotate(actor=seller_user, purpose="root")

    assert list(AccessKey.objects.values_list("pk", "revoked_at")) == before


# --- interface debugging ------------------------------------------------------------------------


def test_interface_debugging_sends_a_test_call_shows_everything_and_logs_it_without_touching_orders(
    seller, seller_client, integration, isv
):
    payload = debugging.sample_payload("newInstance")
    payload["testFlag"] = "0"  # whatever the seller types, a debugging call is a test

    response = seller_client.post(
        "/seller/app-tools/debugging/?activity=newInstance",
        {"activity": "newInstance", "payload": json.dumps(payload)},
    )

    assert response.status_code == 200
    result = response.context["result"]
    (received,) = isv.received_for("newInstance")
    assert received.payload == {**payload, "testFlag": "1"}
    assert (result.url, result.status_code, result.result_code, result.meaning, result.error) == (
        isv.produce_url,
        200,
        "000000",
        "success",
        "",
    )
    assert json.loads(result.request) == {**payload, "testFlag": "1"}
    assert json.loads(result.response)["instanceId"] == isv.instances[0].instance_id
    assert 0 <= result.duration_ms < 2000
    page = response.content.decode()
    assert 'data-testid="debug-result"' in page and f"{result.duration_ms} ms" in page and "000000" in page
    # logged with the seller's messages
    message = ProduceMessage.objects.get()
    attempt = ProduceAttempt.objects.get()
    assert (message.seller_id, message.activity, message.status, message.attempts, message.order_line_id) == (
        seller.pk,
        "newInstance",
        "succeeded",
        1,
        None,
    )
    assert message.payload["testFlag"] == "1"
    assert (attempt.message_id, attempt.outcome, attempt.status_code, attempt.result_code) == (
        message.pk,
        "success",
        200,
        "000000",
    )
    # and nothing real changed
    assert not Order.objects.exists()
    assert not Instance.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_interface_debugging_explains_an_error_code(seller_user, integration, isv):
    isv.behaviour = "000100"

    result = debugging.debug_call(actor=seller_user, payload=debugging.sample_payload("newInstance"))

    assert (result.result_code, result.meaning) == ("000100", "no instance resources")
    message = ProduceMessage.objects.get()
    assert (message.status, message.order_line_id) == ("failed", None)
    assert not Order.objects.exists() and not Instance.objects.exists()


def test_interface_debugging_reports_a_server_that_does_not_answer(seller, seller_user, integration):
    SellerIntegration.objects.filter(seller=seller).update(produce_url=closed_port_url())

    result = debugging.debug_call(actor=seller_user, payload=debugging.sample_payload("queryInstance"))

    assert (result.status_code, result.result_code, result.meaning) == (None, "", "not a protocol answer")
    assert result.error == "connection failed: ConnectionError"
    assert ProduceMessage.objects.get().status == "failed"


def test_interface_debugging_refuses_bad_parameters_and_sends_nothing(seller_client, seller_user, integration, isv):
    response = seller_client.post("/seller/app-tools/debugging/", {"activity": "newInstance", "payload": "{not json"})
    assert response.status_code == 200
    assert response.context["result"] is None
    assert list(response.context["form"].errors) == ["payload"]
    with pytest.raises(ValidationFailed):
        debugging.debug_call(actor=seller_user, payload={"activity": "dropTables"})

    assert isv.counts == {}
    assert not ProduceMessage.objects.exists()


def test_interface_debugging_needs_a_produce_url_and_key_first(seller_client, seller_user):
    with pytest.raises(Conflict):
        debugging.debug_call(actor=seller_user, payload=debugging.sample_payload("newInstance"))

    response = seller_client.post(
        "/seller/app-tools/debugging/",
        {"activity": "newInstance", "payload": json.dumps(debugging.sample_payload("newInstance"))},
    )
    assert response.status_code == 200
    assert "Set the produce URL and issue a produce access key first (App tools)." in response.content.decode()
    assert not ProduceMessage.objects.exists()


# --- conformance run ----------------------------------------------------------------------------


def test_the_conformance_run_passes_against_the_sample_isv(seller, seller_user, seller_client, integration, isv):
    response = seller_client.post("/seller/app-tools/debugging/", {"conformance": "1"})

    assert (response.status_code, response["Location"]) == (302, "/seller/app-tools/debugging/")
    run = ConformanceRun.objects.get()
    assert (run.seller_id, run.started_by_id, run.produce_url, run.passed) == (
        seller.pk,
        seller_user.pk,
        isv.produce_url,
        True,
    )
    assert [c["check"] for c in run.report] == CHECKS
    assert failed_checks(run) == []
    assert debugging.conformance_passed(seller.pk)
    page = seller_client.get("/seller/app-tools/debugging/").content.decode()
    assert page.count('data-testid="conformance-run"') == 1
    # the test instance was released again, and nothing real was made
    assert [i.status for i in isv.instances] == ["released"]
    assert not Instance.objects.exists() and not Order.objects.exists()


def test_the_conformance_run_fails_naming_the_check_against_a_server_that_makes_a_second_instance(
    seller, seller_user, integration, isv
):
    isv.behaviour = "new_id_on_repeat"

    run = debugging.conformance_run(actor=seller_user)

    assert run.passed is False
    assert failed_checks(run) == ["A repeated newInstance for the same order line returns the same instance"]
    assert not debugging.conformance_passed(seller.pk)


def test_the_conformance_run_fails_against_a_closed_port(seller, seller_user, integration):
    SellerIntegration.objects.filter(seller=seller).update(produce_url=closed_port_url())

    run = debugging.conformance_run(actor=seller_user)

    assert run.passed is False
    assert failed_checks(run) == [
        "A correctly signed newInstance succeeds",
        "The answer carries instanceId and appInfo.frontEndUrl",
        "A repeated newInstance for the same order line returns the same instance",
        "A wrongly signed call is refused with 000001",
        "A call with a stale timestamp is refused with 000001",
        "A replayed nonce is refused with 000001",
    ]
    assert run.report[0]["detail"] == "connection failed: ConnectionError"


def test_the_conformance_run_fails_against_a_server_holding_another_key(seller_user, integration, isv):
    isv.access_key = "a-different-key"  # the ISV refuses even our correctly signed calls

    run = debugging.conformance_run(actor=seller_user)

    assert run.passed is False
    assert failed_checks(run)[:2] == [
        "A correctly signed newInstance succeeds",
        "The answer carries instanceId and appInfo.frontEndUrl",
    ]


def joint_saas(seller) -> Product:
    product = ProductFactory(seller=seller, trade_mode=TradeMode.JOINT, delivery_kind=DeliveryKind.SAAS)
    PlanFactory(product=product)
    return product


def test_a_joint_saas_product_cannot_be_submitted_for_review_without_a_passing_run(
    seller, seller_user, integration, isv
):
    product = joint_saas(seller)

    # never run
    with pytest.raises(ValidationFailed, match="Pass the conformance run"):
        catalog.product_submit(actor=seller_user, product_id=product.pk)
    # the latest run failed
    isv.behaviour = "new_id_on_repeat"
    debugging.conformance_run(actor=seller_user)
    with pytest.raises(ValidationFailed, match="Pass the conformance run"):
        catalog.product_submit(actor=seller_user, product_id=product.pk)
    product.refresh_from_db()
    assert (product.status, product.submitted_at) == ("draft", None)

    # when a run passes, the single sign-on login test is still missing
    isv.behaviour = "normal"
    assert debugging.conformance_run(actor=seller_user).passed
    with pytest.raises(ValidationFailed, match="pass its login test"):
        catalog.product_submit(actor=seller_user, product_id=product.pk)

    # once the app passed its login test too, it can be submitted
    application = Application.objects.create(
        client_id="joint-app", client_type="confidential", authorization_grant_type="authorization-code"
    )
    registration = AppRegistration.objects.create(product=product, application=application)
    test = LoginTest.objects.create(registration=registration, user=seller_user, code_redeemed_at=timezone.now())
    with pytest.raises(ValidationFailed, match="pass its login test"):  # the app never read the user
        catalog.product_submit(actor=seller_user, product_id=product.pk)
    test.userinfo_read_at = timezone.now()
    test.save()
    catalog.product_submit(actor=seller_user, product_id=product.pk)
    product.refresh_from_db()
    assert product.status == "pending_review"


def test_a_passing_run_no_longer_counts_once_the_produce_url_changed(seller, seller_user, integration, isv):
    product = joint_saas(seller)
    assert debugging.conformance_run(actor=seller_user).passed
    services.integration_update(actor=seller_user, produce_url=isv.produce_url + "/v2", sync_base_url="")

    with pytest.raises(ValidationFailed, match="Pass the conformance run"):
        catalog.product_submit(actor=seller_user, product_id=product.pk)

    product.refresh_from_db()
    assert product.status == "draft"


def test_other_products_are_submitted_without_a_conformance_run(seller, seller_user):
    product = ProductFactory(seller=seller, trade_mode=TradeMode.GENERAL, delivery_kind=DeliveryKind.SAAS)
    PlanFactory(product=product)

    catalog.product_submit(actor=seller_user, product_id=product.pk)

    product.refresh_from_db()
    assert product.status == "pending_review"


# --- produce messages and the developer guide -------------------------------------------------------


def test_the_produce_message_pages_list_each_call_with_its_attempts_for_its_seller_only(
    seller_client, seller_user, other_seller_user, integration, isv
):
    isv.behaviour = "000100"
    debugging.debug_call(actor=seller_user, payload=debugging.sample_payload("newInstance"))
    isv.behaviour = "normal"
    debugging.debug_call(actor=seller_user, payload=debugging.sample_payload("queryInstance", instance_id="nope"))
    failed, other = ProduceMessage.objects.order_by("pk")

    listing = seller_client.get("/seller/app-tools/messages/?status=failed&activity=newInstance")
    assert [m.pk for m in listing.context["page"]] == [failed.pk]
    detail = seller_client.get(f"/seller/app-tools/messages/{failed.pk}/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "000100" in page and "no instance resources" in page
    assert [a.result_code for a in detail.context["message"].attempt_log.all()] == ["000100"]
    assert seller_client.get("/seller/app-tools/messages/").context["page"].paginator.count == 2

    seller_client.force_login(other_seller_user)
    assert seller_client.get(f"/seller/app-tools/messages/{other.pk}/").status_code == 404
    assert seller_client.get("/seller/app-tools/messages/").context["page"].paginator.count == 0


def test_the_developer_guide_renders_with_the_license_public_key(seller_client):
    response = seller_client.get("/seller/app-tools/guide/")

    assert response.status_code == 200
    page = response.content.decode()
    key_lines = licenses.public_key_pem().strip().splitlines()
    assert key_lines[0] == "-----BEGIN PUBLIC KEY-----"
    assert "\n".join(key_lines) in page
    assert "{{LICENSE_PUBLIC_KEY}}" not in page
    assert "<table>" in page and "newInstance" in page and "def verify_license" in page
