"""The signed-in user is loaded with their memberships in one query (every page reads them)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def _tables(queries) -> list[str]:
    return [q["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for q in queries if " FROM " in q["sql"]]


def test_a_seller_page_reads_the_user_membership_and_seller_in_one_query(client, seller_user):
    client.force_login(seller_user)
    client.get("/seller/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/seller/")
    assert response.status_code == 200
    tables = _tables(queries.captured_queries)
    assert tables.count("accounts_user") == 1
    assert "accounts_sellermembership" not in tables and "accounts_seller" not in tables


def test_a_buyer_page_reads_the_user_and_membership_in_one_query(client, buyer_user):
    client.force_login(buyer_user)
    client.get("/buyer/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/buyer/")
    assert response.status_code == 200
    tables = _tables(queries.captured_queries)
    assert tables.count("accounts_user") == 1
    assert "accounts_buyermembership" not in tables


def test_an_inactive_user_is_signed_out(client, seller_user):
    client.force_login(seller_user)
    seller_user.is_active = False
    seller_user.save(update_fields=["is_active"])
    response = client.get("/seller/")
    assert response.status_code == 302 and "/login" in response["Location"]
