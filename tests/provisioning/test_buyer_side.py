"""The buyer's side of delivery: instances in purchased services, sign-in details behind a password
prompt, License files signed with Ed25519, auto-deployment through the seller's deploy endpoint."""

import base64
import json
from datetime import timedelta

import pytest
import time_machine
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.catalog.models import DeliveryKind
from marketplace.core.errors import Conflict, NotFound, ValidationFailed
from marketplace.orders import services as orders
from marketplace.provisioning import licenses, protocol, services
from marketplace.provisioning.deployments import deployment_start
from marketplace.provisioning.models import Deployment, Instance, ProduceMessage, SellerIntegration
from tests.factories import PASSWORD, PlanFactory, ProductFactory

from .conftest import ACCESS_KEY

pytestmark = pytest.mark.django_db

PARAMETERS = [
    {"name": "host", "label": "Server address"},
    {"name": "admin_password", "label": "Admin password"},
    {"name": "note", "label": "Note", "required": False},
]


def verifies(document: dict) -> bool:
    """The developer guide's check: Ed25519 over the canonical JSON of "license"."""
    key = load_pem_public_key(licenses.public_key_pem().encode())
    data = json.dumps(document["license"], ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    try:
        key.verify(base64.b64decode(document["signature"]), data)
    except InvalidSignature:
        return False
    return True


@pytest.fixture
def license_plan(seller):
    product = ProductFactory(
        seller=seller,
        status="published",
        delivery_kind=DeliveryKind.LICENSE,
        name_zh="许可证产品",
        name_en="Licensed product",
    )
    return PlanFactory(product=product, sku_code="LIC-STD")


@pytest.fixture
def deploy_plan(seller):
    product = ProductFactory(
        seller=seller,
        status="published",
        delivery_kind=DeliveryKind.LICENSE,
        auto_deploy=True,
        deploy_parameters=PARAMETERS,
    )
    return PlanFactory(product=product, sku_code="LIC-AUTO")


def deployment_state() -> dict:
    return {
        "deployments": list(Deployment.objects.order_by("pk").values_list("pk", "status", "log")),
        "messages": list(ProduceMessage.objects.order_by("pk").values_list("pk", "status")),
    }


# --- instances in purchased services ------------------------------------------------------------------


def test_purchased_services_show_the_instance_with_its_status_and_links(
    buyer_client, integration, isv, saas_plan, paid
):
    order = paid(saas_plan)
    instance = Instance.objects.get()

    page = buyer_client.get("/buyer/services/").content.decode()

    assert 'data-testid="instance"' in page
    assert "Running" in page
    assert f'href="{instance.front_end_url}"' in page
    assert f'href="{instance.admin_url}"' in page
    assert f'href="/buyer/services/lines/{order.lines.get().pk}/credentials/"' in page
    assert instance.password not in page


def test_a_service_waiting_for_its_instance_says_so(buyer_client, integration, isv, saas_plan, paid):
    isv.set_behaviour("error500", times=1)
    paid(saas_plan)

    page = buyer_client.get("/buyer/services/").content.decode()

    assert "Being set up by the seller" in page
    assert 'data-testid="instance"' not in page


def test_the_sign_in_details_need_the_password_and_show_for_five_minutes(
    buyer_client, integration, isv, saas_plan, paid
):
    order = paid(saas_plan)
    instance = Instance.objects.get()
    url = f"/buyer/services/lines/{order.lines.get().pk}/credentials/"

    # at first only the links, and a password prompt
    page = buyer_client.get(url).content.decode()
    assert instance.front_end_url in page and instance.instance_id in page
    assert instance.username not in page and instance.password not in page
    assert 'name="password"' in page

    # a wrong password is refused
    response = buyer_client.post(url, {"password": "not-my-password"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"password": ["The password is wrong."]}
    assert instance.password not in response.content.decode()
    assert "credentials_unlocked_until" not in buyer_client.session

    # the right one shows the user name and password
    response = buyer_client.post(url, {"password": PASSWORD})
    page = response.content.decode()
    assert f'data-testid="username">{instance.username}<' in page
    assert f'data-testid="password">{instance.password}<' in page

    # for five minutes
    with time_machine.travel(timezone.now() + timedelta(seconds=290)):
        assert instance.password in buyer_client.get(url).content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        page = buyer_client.get(url).content.decode()
        assert instance.password not in page and 'name="password"' in page


def test_a_line_without_an_instance_has_no_sign_in_details(buyer_client, integration, isv, saas_plan, paid):
    isv.set_behaviour("error500", times=1)
    order = paid(saas_plan)

    assert buyer_client.get(f"/buyer/services/lines/{order.lines.get().pk}/credentials/").status_code == 404


def test_another_buyer_gets_404_on_credentials_license_and_deployment(
    client, other_buyer_user, integration, isv, saas_plan, license_plan, deploy_plan, paid
):
    saas = paid(saas_plan).lines.get()
    licence = paid(license_plan).lines.get()
    deployable = paid(deploy_plan).lines.get()
    client.force_login(other_buyer_user)
    before = deployment_state()

    assert client.get(f"/buyer/services/lines/{saas.pk}/credentials/").status_code == 404
    assert client.post(f"/buyer/services/lines/{saas.pk}/credentials/", {"password": PASSWORD}).status_code == 404
    assert client.get(f"/buyer/services/lines/{licence.pk}/license/").status_code == 404
    assert client.get(f"/buyer/services/lines/{deployable.pk}/deployment/").status_code == 404
    assert (
        client.post(
            f"/buyer/services/lines/{deployable.pk}/deployment/", {"host": "10.0.0.8", "admin_password": "x"}
        ).status_code
        == 404
    )
    with pytest.raises(NotFound):
        deployment_start(actor=other_buyer_user, line_id=deployable.pk, parameters={"host": "h", "admin_password": "p"})

    assert deployment_state() == before
    assert isv.count("deploy") == 0


# --- License files --------------------------------------------------------------------------------


def test_the_license_file_downloads_as_json_signed_with_ed25519(buyer_client, license_plan, paid):
    order = paid(license_plan)
    line = order.lines.get()

    response = buyer_client.get(f"/buyer/services/lines/{line.pk}/license/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="license-{order.number}-{line.pk}.json"'
    document = json.loads(response.content)
    assert document["algorithm"] == "Ed25519"
    issued = document["license"].pop("issuedAt")
    assert document["license"] == {
        "licenseVersion": 1,
        "product": {"id": license_plan.product_id, "name": "许可证产品", "nameEn": "Licensed product"},
        "sku": "LIC-STD",
        "buyer": {"id": order.buyer.code, "name": order.buyer.name},
        "orderId": order.number,
        "orderLineId": line.pk,
        "validFrom": line.validity_start.isoformat(),
        "validUntil": line.validity_end.isoformat(),
    }
    document["license"]["issuedAt"] = issued
    assert verifies(document)


@pytest.mark.parametrize(
    ("field", "value"),
    [("validUntil", "2099-12-31T00:00:00+00:00"), ("orderLineId", 999999), ("sku", "LIC-PRO")],
)
def test_a_license_file_with_a_changed_field_no_longer_verifies(field, value, buyer_client, license_plan, paid):
    line = paid(license_plan).lines.get()
    document = json.loads(buyer_client.get(f"/buyer/services/lines/{line.pk}/license/").content)
    assert verifies(document)

    document["license"][field] = value

    assert not verifies(document)


def test_only_paid_license_lines_have_a_license_file(
    buyer_user, buyer_client, license_plan, integration, saas_plan, paid
):
    unpaid = orders.order_create(actor=buyer_user, plan_id=license_plan.pk).lines.get()
    saas = paid(saas_plan).lines.get()

    assert buyer_client.get(f"/buyer/services/lines/{unpaid.pk}/license/").status_code == 404
    assert buyer_client.get(f"/buyer/services/lines/{saas.pk}/license/").status_code == 404


# --- auto-deployment -------------------------------------------------------------------------------


def test_the_buyer_starts_a_deployment_and_the_seller_endpoint_gets_the_parameters(
    buyer_client, buyer_user, integration, isv, deploy_plan, paid, django_capture_on_commit_callbacks
):
    line = paid(deploy_plan).lines.get()
    url = f"/buyer/services/lines/{line.pk}/deployment/"
    assert list(buyer_client.get(url).context["form"].fields) == ["host", "admin_password", "note"]

    with django_capture_on_commit_callbacks(execute=True):
        response = buyer_client.post(url, {"host": "10.0.0.8", "admin_password": "s3cret", "note": ""})

    assert (response.status_code, response["Location"]) == (302, url)
    deployment = Deployment.objects.get()
    (request,) = isv.received_for("deploy")
    assert request.query["signature"] == protocol.produce_signature(
        ACCESS_KEY, request.query["nonce"], request.query["timestamp"], request.body
    )
    assert request.payload == {
        "activity": "deploy",
        "deploymentId": deployment.deployment_id,
        "orderId": line.order.number,
        "orderLineId": str(line.pk),
        "productId": str(deploy_plan.product_id),
        "skuCode": "LIC-AUTO",
        "parameters": {"host": "10.0.0.8", "admin_password": "s3cret", "note": ""},
        "testFlag": "0",
    }
    assert isv.deployment(deployment.deployment_id).parameters == {
        "host": "10.0.0.8",
        "admin_password": "s3cret",
        "note": "",
    }
    assert (deployment.status, deployment.requested_by_id, deployment.order_line_id) == (
        "succeeded",
        buyer_user.pk,
        line.pk,
    )
    assert deployment.finished_at is not None
    assert "admin_password=***" in deployment.log and "host=10.0.0.8" in deployment.log
    assert deployment.log.endswith("deployment succeeded")
    page = buyer_client.get(url).content.decode()
    assert "Deployed" in page and "deployment succeeded" in page and "s3cret" not in page
    message = ProduceMessage.objects.get()
    assert (message.kind, message.activity, message.status) == ("deploy", "deploy", "succeeded")
    # deployment does not touch supervision
    line.refresh_from_db()
    assert line.supervision == "in_progress"


def test_required_deployment_parameters_are_enforced(
    buyer_client, buyer_user, integration, isv, deploy_plan, paid, django_capture_on_commit_callbacks
):
    line = paid(deploy_plan).lines.get()
    url = f"/buyer/services/lines/{line.pk}/deployment/"
    before = deployment_state()

    with django_capture_on_commit_callbacks(execute=True):
        response = buyer_client.post(url, {"host": "", "admin_password": "s3cret"})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["host"]
    with pytest.raises(ValidationFailed) as refused:
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "  ", "note": "x"})
    assert refused.value.field_errors == {"host": ["Required."], "admin_password": ["Required."]}

    assert deployment_state() == before
    assert isv.count("deploy") == 0


def test_a_running_deployment_is_polled_until_it_succeeds(
    buyer_client, buyer_user, integration, isv, deploy_plan, paid, django_capture_on_commit_callbacks
):
    isv.set_behaviour("processing", times=1, activities=["deploy"])
    line = paid(deploy_plan).lines.get()
    url = f"/buyer/services/lines/{line.pk}/deployment/"

    with django_capture_on_commit_callbacks(execute=True):
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h1", "admin_password": "p"})

    # the seller's system answered "running": shown, and asked again ten seconds later
    deployment = Deployment.objects.get()
    assert (deployment.status, deployment.finished_at) == ("running", None)
    assert "checking the target environment" in deployment.log
    page = buyer_client.get(url).content.decode()
    assert "Deploying" in page and "data-reload-after" in page  # static/js/app.js reloads it
    query = ProduceMessage.objects.get(activity="queryDeployment")
    assert (query.status, query.payload) == (
        "pending",
        {"activity": "queryDeployment", "deploymentId": deployment.deployment_id, "testFlag": "0"},
    )
    assert query.next_attempt_at == ProduceMessage.objects.get(activity="deploy").finished_at + timedelta(seconds=10)
    # a second deployment waits for this one
    with pytest.raises(Conflict):
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h2", "admin_password": "p"})

    # when the worker asks again
    assert services.messages_deliver_due(now=query.next_attempt_at) == 1

    # then it succeeded
    deployment.refresh_from_db()
    assert deployment.status == "succeeded" and deployment.log.endswith("deployment succeeded")
    assert isv.count("deploy") == 1 and isv.count("queryDeployment") == 1
    assert Deployment.objects.count() == 1
    assert "Deployed" in buyer_client.get(url).content.decode()


def test_a_deployment_the_seller_reports_failed_ends_failed_with_its_log(
    buyer_client, buyer_user, integration, isv, deploy_plan, paid, django_capture_on_commit_callbacks
):
    isv.behaviour = "deploy_failed"
    line = paid(deploy_plan).lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h", "admin_password": "p"})

    deployment = Deployment.objects.get()
    assert deployment.status == "failed" and deployment.finished_at is not None
    assert deployment.log.endswith("deployment failed")
    page = buyer_client.get(f"/buyer/services/lines/{line.pk}/deployment/").content.decode()
    assert "Failed" in page and "the target environment did not answer" in page
    # the buyer may start again
    isv.behaviour = "normal"
    with django_capture_on_commit_callbacks(execute=True):
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h", "admin_password": "p"})
    assert list(Deployment.objects.order_by("pk").values_list("status", flat=True)) == ["failed", "succeeded"]


def test_a_deployment_the_seller_refuses_ends_failed(
    buyer_user, integration, isv, deploy_plan, paid, django_capture_on_commit_callbacks
):
    isv.behaviour = "000002"
    line = paid(deploy_plan).lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h", "admin_password": "p"})

    deployment = Deployment.objects.get()
    assert (deployment.status, deployment.log) == ("failed", "000002 invalid parameter")
    assert ProduceMessage.objects.get().status == "failed"


def test_products_without_auto_deployment_are_refused(
    buyer_client, buyer_user, integration, isv, license_plan, saas_plan, paid
):
    licence = paid(license_plan).lines.get()
    saas = paid(saas_plan).lines.get()
    before = deployment_state()

    for line in (licence, saas):
        assert buyer_client.get(f"/buyer/services/lines/{line.pk}/deployment/").status_code == 404
        assert buyer_client.post(f"/buyer/services/lines/{line.pk}/deployment/", {"host": "h"}).status_code == 404
        with pytest.raises(ValidationFailed):
            deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h"})

    assert deployment_state() == before
    assert isv.count("deploy") == 0


def test_deployment_needs_the_sellers_deploy_url(seller, buyer_user, deploy_plan, paid):
    line = paid(deploy_plan).lines.get()
    SellerIntegration.objects.create(seller=seller, produce_url="https://isv.example.com/produce")
    before = deployment_state()

    with pytest.raises(Conflict, match="The seller has not set up automatic deployment yet"):
        deployment_start(actor=buyer_user, line_id=line.pk, parameters={"host": "h", "admin_password": "p"})

    assert deployment_state() == before


# --- query counts ---------------------------------------------------------------------------------


def test_the_purchased_services_page_makes_the_same_queries_for_3_or_12_services(
    buyer_client, integration, isv, saas_plan, license_plan, deploy_plan, paid
):
    def add(n):
        for _ in range(n):
            paid(saas_plan)
            paid(license_plan)
            paid(deploy_plan)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = buyer_client.get("/buyer/services/")
        assert response.status_code == 200
        return len(queries.captured_queries)

    add(1)
    few = count()
    add(3)
    many = count()

    assert Instance.objects.count() == 4
    assert many == few
