"""The REST API: authentication, catalog, buyer orders and services, seller products and orders."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from marketplace.catalog.models import Product
from marketplace.orders.models import Order, Payment, Subscription
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, seller_member

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_token_with_email_and_password(buyer_user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": buyer_user.email.upper(), "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_token_with_wrong_password_is_a_json_400(buyer_user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": buyer_user.email, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert "detail" in response.json()


def test_anonymous_buyer_endpoints_answer_401_json():
    response = APIClient().get("/api/v1/buyer/orders/")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_catalog_lists_published_products_with_plan_ids(published_product, seller):
    ProductFactory(seller=seller, status="draft", name_en="Secret draft")
    body = APIClient().get("/api/v1/products/").json()
    assert body["count"] == 1
    product = body["results"][0]
    assert product["id"] == published_product.pk
    assert [p["id"] for p in product["plans"]] == list(published_product.plans.values_list("pk", flat=True))


def test_catalog_filters_and_search(seller):
    joint = ProductFactory(seller=seller, status="published", trade_mode="joint", name_en="Joint CRM")
    ProductFactory(seller=seller, status="published", trade_mode="general", delivery_kind="license", name_en="Vault")
    client = APIClient()
    assert [p["id"] for p in client.get("/api/v1/products/?trade_mode=joint").json()["results"]] == [joint.pk]
    assert [p["name_en"] for p in client.get("/api/v1/products/?delivery_kind=license").json()["results"]] == ["Vault"]
    assert [p["id"] for p in client.get("/api/v1/products/?search=joint").json()["results"]] == [joint.pk]
    assert client.get("/api/v1/products/?trade_mode=nonsense").status_code == 400


def test_buyer_creates_and_pays_an_order(buyer_user, plan):
    client = client_for(buyer_user)
    created = client.post(
        "/api/v1/buyer/orders/", {"plan": plan.pk, "order_type": "NEW", "period_count": 1}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["status"] == "pending_payment"
    order_id = created.json()["id"]

    paid = client.post(f"/api/v1/buyer/orders/{order_id}/pay/", {"method": "online"}, format="json")

    assert paid.status_code == 200
    assert paid.json()["status"] == "paid"
    services = client.get("/api/v1/buyer/services/").json()
    assert services["count"] == 1
    assert services["results"][0]["product"] == plan.product_id
    assert client.get("/api/v1/buyer/orders/").json()["results"][0]["id"] == order_id


def test_declined_payment_is_402_and_the_order_stays_payable(buyer_user, plan):
    client = client_for(buyer_user)
    order_id = client.post("/api/v1/buyer/orders/", {"plan": plan.pk}, format="json").json()["id"]

    response = client.post(
        f"/api/v1/buyer/orders/{order_id}/pay/", {"method": "online", "sandbox_outcome": "fail"}, format="json"
    )

    assert response.status_code == 402
    assert response.json()["error"] == "payment_failed"
    assert Order.objects.get(pk=order_id).status == "pending_payment"
    assert list(Payment.objects.filter(order_id=order_id).values_list("status", flat=True)) == ["failed"]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"plan": "abc"},
        {"plan": 99999999},
        {"plan": -1},
        {"plan": 1, "order_type": "BOGUS"},
        {"plan": 1, "period_count": 0},
        {"plan": 1, "period_count": "many"},
        {"plan": 1, "order_type": "RENEW"},
    ],
)
def test_bad_order_input_is_4xx_json_and_creates_nothing(buyer_user, plan, body):
    if body.get("plan") == 1:
        body["plan"] = plan.pk
    response = client_for(buyer_user).post("/api/v1/buyer/orders/", body, format="json")
    assert 400 <= response.status_code < 500
    assert {"error", "detail"} <= set(response.json())
    assert not Order.objects.exists()


def test_pay_with_unavailable_method_is_400(buyer_user, plan):
    client = client_for(buyer_user)
    order_id = client.post("/api/v1/buyer/orders/", {"plan": plan.pk}, format="json").json()["id"]
    response = client.post(f"/api/v1/buyer/orders/{order_id}/pay/", {"method": "coupon"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert not Payment.objects.exists()


def test_cancel_then_pay_is_409(buyer_user, plan):
    client = client_for(buyer_user)
    order_id = client.post("/api/v1/buyer/orders/", {"plan": plan.pk}, format="json").json()["id"]
    assert client.post(f"/api/v1/buyer/orders/{order_id}/cancel/").json()["status"] == "cancelled"
    response = client.post(f"/api/v1/buyer/orders/{order_id}/pay/", {"method": "online"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "invalid_transition"


def test_seller_product_lifecycle_through_the_api(seller_user, ops_user):
    client = client_for(seller_user)
    category = CategoryFactory()
    created = client.post(
        "/api/v1/seller/products/",
        {
            "name_zh": "接口产品",
            "name_en": "API product",
            "category": category.pk,
            "trade_mode": "general",
            "delivery_kind": "saas",
            "description_zh": "描述",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pid = created.json()["id"]
    assert created.json()["status"] == "draft"

    refused = client.post(f"/api/v1/seller/products/{pid}/submit/")
    assert refused.status_code == 400  # no plan yet
    assert Product.objects.get(pk=pid).status == "draft"

    plan = client.post(
        f"/api/v1/seller/products/{pid}/plans/",
        {
            "sku_code": "m1",
            "name_zh": "月",
            "name_en": "Month",
            "charging_mode": "PERIOD",
            "period_type": "month",
            "price": "12.50",
        },
        format="json",
    )
    assert plan.status_code == 201, plan.content
    assert Decimal(plan.json()["price"]) == Decimal("12.50")

    submitted = client.post(f"/api/v1/seller/products/{pid}/submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "pending_review"
    detail = client.get(f"/api/v1/seller/products/{pid}/").json()
    assert [e["to_status"] for e in detail["events"]] == ["draft", "pending_review"]


def test_credit_control_refused_for_general_products(seller, seller_user):
    product = ProductFactory(seller=seller, trade_mode="general", status="published")
    response = client_for(seller_user).patch(
        f"/api/v1/seller/products/{product.pk}/credit-control/", {"credit_coupon_enabled": True}, format="json"
    )
    assert response.status_code == 400
    assert "joint" in response.json()["detail"].lower() or "联营" in response.json()["detail"]
    product.refresh_from_db()
    assert product.credit_coupon_enabled is False


def test_credit_control_for_joint_products(seller, seller_user):
    product = ProductFactory(seller=seller, trade_mode="joint", status="published")
    response = client_for(seller_user).patch(
        f"/api/v1/seller/products/{product.pk}/credit-control/", {"credit_line_enabled": True}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["credit_line_enabled"] is True
    assert response.json()["credit_coupon_enabled"] is False


def test_seller_orders_list_filters_by_status(seller, buyer_user, plan):
    from marketplace.orders import services

    paid = services.order_create(actor=buyer_user, plan_id=plan.pk)
    services.order_pay(actor=buyer_user, order_id=paid.pk, method="online")
    services.order_create(actor=buyer_user, plan_id=plan.pk)
    finance = seller_member(seller, "finance")
    body = client_for(finance).get("/api/v1/seller/orders/?status=paid").json()
    assert [o["id"] for o in body["results"]] == [paid.pk]
    detail = client_for(finance).get(f"/api/v1/seller/orders/{paid.pk}/").json()
    assert [e["to_status"] for e in detail["events"]] == ["pending_payment", "paid"]


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/buyer/orders/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_api_speaks_the_accept_language(client):
    english = client.get("/api/v1/buyer/orders/", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get("/api/v1/buyer/orders/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert english.json()["detail"] == "Authentication credentials were not provided."
    assert english.json()["detail"] != chinese.json()["detail"]


def test_unknown_api_urls_answer_json_404(client):
    for path in ("/api/v1/nothing-here/", "/api/v1/buyer/orders/abc/", "/api/v1/products/1.5/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")


def test_openapi_schema_has_no_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--validate", "--fail-on-warn")
