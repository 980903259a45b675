"""Pages and API lists make a fixed number of queries, whatever the number of rows."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from marketplace.orders import services
from tests.factories import PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db

PAGES = {
    "catalog": (None, "/products/"),
    "home": (None, "/"),
    "buyer_dashboard": ("buyer", "/buyer/"),
    "buyer_orders": ("buyer", "/buyer/orders/"),
    "buyer_services": ("buyer", "/buyer/services/"),
    "seller_dashboard": ("seller", "/seller/"),
    "seller_orders": ("seller", "/seller/orders/"),
    "seller_products": ("seller", "/seller/products/"),
    "api_products": (None, "/api/v1/products/"),
    "api_buyer_orders": ("buyer", "/api/v1/buyer/orders/"),
    "api_buyer_services": ("buyer", "/api/v1/buyer/services/"),
    "api_seller_orders": ("seller", "/api/v1/seller/orders/"),
    "api_seller_products": ("seller", "/api/v1/seller/products/"),
}


def add_rows(seller, buyer_user, n):
    """n more published products (two plans each) and n paid orders."""
    for _ in range(n):
        product = ProductFactory(seller=seller, status="published")
        plan = PlanFactory(product=product)
        PlanFactory(product=product, price=200)
        order = services.order_create(actor=buyer_user, plan_id=plan.pk)
        services.order_pay(actor=buyer_user, order_id=order.pk, method="online")


def count(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_query_count_does_not_grow_with_rows(name, seller, seller_user, buyer_user):
    who, path = PAGES[name]
    client = APIClient() if path.startswith("/api/") else Client()
    if who == "buyer":
        client.force_login(buyer_user)
    elif who == "seller":
        client.force_login(seller_user)

    add_rows(seller, buyer_user, 2)
    few = count(client, path)
    add_rows(seller, buyer_user, 8)
    many = count(client, path)

    assert many == few, f"{path}: {few} queries with 2 rows, {many} with 10"
    assert few <= 16, f"{path}: {few} queries"
