"""The page cache (marketplace/core/pagecache.py): a repeat view comes from the cache until a table
the page read is written, whoever writes it and however; never another visitor's page, never a
page its visitor may no longer see."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from marketplace.accounts.models import SellerMembership
from marketplace.catalog.models import Product
from marketplace.core.pagecache import ALL, _statement_tables
from marketplace.orders.models import Order
from tests.factories import PlanFactory, ProductFactory, api
from tests.orders.test_dashboard_stats import paid_order

# Real commits: the generations move when a transaction commits, which a test wrapped in one
# transaction never does (there the cache stands aside: see test_uncommitted_writes_bypass_the_cache).
committed = pytest.mark.django_db(transaction=True)

SELLER_PAGES = ["seller:dashboard", "seller:orders", "seller:settlement", "seller:tickets"]
BUYER_PAGES = ["buyer:dashboard", "buyer:orders", "buyer:services"]


def settled(client, url, **headers):
    """Views until the visitor's cookies are settled (the first view of a page with a form sets the
    CSRF cookie, and a response setting a cookie is not stored); the last response."""
    response = client.get(url, **headers)
    if response.get("X-Page-Cache") == "bypass" and response.cookies:
        response = client.get(url, **headers)
    return response


def cached(user, url_name):
    """A signed-in visitor whose view of the page now comes from the cache: (client, url)."""
    client, url = signed_in(user), reverse(url_name)
    settled(client, url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    return client, url


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    """On whatever the cache (it is on by default only with Redis: a shared cache)."""
    settings.PAGE_CACHE_TIMEOUT = 60


@pytest.fixture
def seller_plan(seller):
    return PlanFactory(product=ProductFactory(seller=seller, status="published"), price=Decimal("100.00"))


# -- what a statement reads and writes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            'SELECT "orders_order"."id" FROM "orders_order" INNER JOIN "accounts_buyer" ON (1) '
            'LEFT OUTER JOIN "catalog_plan" T3 ON (1) WHERE EXISTS(SELECT 1 FROM "refunds_refund" U0)',
            ("read", ("orders_order", "accounts_buyer", "catalog_plan", "refunds_refund")),
        ),
        (
            'DECLARE "_django_curs_1" NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM "billing_statementline"',
            ("read", ("billing_statementline",)),
        ),
        ("select count(*) from orders_order", ("read", ("orders_order",))),
        ('INSERT INTO "orders_order" ("number") VALUES (%s) RETURNING "id"', ("write", ("orders_order",))),
        ('UPDATE "accounts_user" SET "is_active" = false WHERE "id" = 1', ("write", ("accounts_user",))),
        ('DELETE FROM "tickets_ticket" WHERE "tickets_ticket"."id" IN (1)', ("write", ("tickets_ticket",))),
        ("update Orders_Order set total = 0", ("write", ("orders_order",))),
        # Anything else may write anything: every page moves.
        ("WITH moved AS (UPDATE orders_order SET total = 0 RETURNING id) SELECT * FROM moved", ("write", (ALL,))),
        ('TRUNCATE "orders_order", "accounts_user"', ("write", (ALL,))),
        ('ALTER TABLE "orders_order" ADD COLUMN "x" integer', ("write", (ALL,))),
        ("SAVEPOINT s1", ("read", ())),
    ],
)
def test_statements_are_sorted_into_reads_and_writes(sql, expected):
    assert _statement_tables(sql) == expected


# -- hit, miss and what moves a page --------------------------------------------------------------


@committed
@pytest.mark.parametrize("url_name", SELLER_PAGES)
def test_every_seller_page_is_served_again_from_the_cache(seller_user, url_name):
    client = signed_in(seller_user)
    first = settled(client, reverse(url_name))
    second = client.get(reverse(url_name))
    assert (first.status_code, first["X-Page-Cache"]) == (200, "miss")
    assert (second.status_code, second["X-Page-Cache"]) == (200, "hit")
    assert second.content == first.content


@committed
@pytest.mark.parametrize("url_name", BUYER_PAGES)
def test_every_buyer_page_is_served_again_from_the_cache(buyer_user, url_name):
    client = signed_in(buyer_user)
    assert settled(client, reverse(url_name))["X-Page-Cache"] == "miss"
    assert client.get(reverse(url_name))["X-Page-Cache"] == "hit"


@committed
def test_a_new_order_shows_at_once_on_the_sellers_and_the_buyers_pages(seller_user, buyer_user, seller_plan):
    seller, buyer = signed_in(seller_user), signed_in(buyer_user)
    for client, url in ((seller, reverse("seller:orders")), (buyer, reverse("buyer:orders"))):
        settled(client, url)
        assert client.get(url)["X-Page-Cache"] == "hit"

    order = paid_order(buyer_user, seller_plan)

    for client, url in ((seller, reverse("seller:orders")), (buyer, reverse("buyer:orders"))):
        fresh = client.get(url)
        assert fresh["X-Page-Cache"] == "miss"
        assert order.number in fresh.content.decode()
        assert client.get(url)["X-Page-Cache"] == "hit"


@committed
def test_writes_by_queryset_update_and_raw_sql_move_the_pages(seller_user, buyer_user, seller_plan):
    order = paid_order(buyer_user, seller_plan)
    client, url = cached(seller_user, "seller:orders")

    Order.objects.filter(pk=order.pk).update(number="ORD-BY-UPDATE")
    page = client.get(url)
    assert (page["X-Page-Cache"], "ORD-BY-UPDATE" in page.content.decode()) == ("miss", True)

    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_order SET number = %s WHERE id = %s", ["ORD-BY-RAW-SQL", order.pk])
    page = client.get(url)
    assert (page["X-Page-Cache"], "ORD-BY-RAW-SQL" in page.content.decode()) == ("miss", True)


@committed
def test_a_rolled_back_write_changes_nothing_and_the_page_stays_cached(seller_user, buyer_user, seller_plan):
    order = paid_order(buyer_user, seller_plan)
    client, url = cached(seller_user, "seller:orders")

    with pytest.raises(RuntimeError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(number="ORD-ROLLED-BACK")
        raise RuntimeError

    page = client.get(url)
    assert page["X-Page-Cache"] == "hit"
    assert "ORD-ROLLED-BACK" not in page.content.decode()
    assert Order.objects.get(pk=order.pk).number == order.number


@committed
def test_a_write_in_a_transaction_moves_the_page_when_it_commits(seller_user, buyer_user, seller_plan):
    order = paid_order(buyer_user, seller_plan)
    client, url = cached(seller_user, "seller:orders")
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(number="ORD-COMMITTED")
        inside = client.get(url)  # the same connection, before the commit: never cached
    after = client.get(url)
    assert inside["X-Page-Cache"] == "bypass"
    assert "ORD-COMMITTED" in inside.content.decode()
    assert (after["X-Page-Cache"], "ORD-COMMITTED" in after.content.decode()) == ("miss", True)


@pytest.mark.django_db
def test_uncommitted_writes_bypass_the_cache(seller_user):
    """A test in one transaction (like most of the suite) never reads or stores a cached page."""
    client = signed_in(seller_user)
    responses = [client.get(reverse("seller:orders")) for _ in range(3)]
    assert [r["X-Page-Cache"] for r in responses] == ["bypass"] * 3


# -- never another visitor's page, never one its visitor may no longer see --------------------------


@committed
def test_each_visitor_has_their_own_page(seller_user, other_seller_user, buyer_user, seller_plan):
    order = paid_order(buyer_user, seller_plan)
    mine = signed_in(seller_user)
    settled(mine, reverse("seller:orders"))
    assert order.number in mine.get(reverse("seller:orders")).content.decode()

    theirs = signed_in(other_seller_user)
    page = settled(theirs, reverse("seller:orders"))
    assert page["X-Page-Cache"] == "miss"
    assert order.number not in page.content.decode()


@committed
def test_a_deactivated_user_is_not_served_the_cached_page(seller_user):
    client, url = cached(seller_user, "seller:orders")

    type(seller_user).objects.filter(pk=seller_user.pk).update(is_active=False)

    page = client.get(url)
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:login"))


@committed
def test_a_role_that_loses_the_capability_gets_403_not_the_cached_page(seller, seller_user):
    client, url = cached(seller_user, "seller:settlement")

    SellerMembership.objects.filter(user=seller_user).update(role=SellerMembership.Role.SUPPORT)

    assert client.get(url).status_code == 403


@committed
def test_signing_out_ends_the_cached_pages(seller_user):
    client, url = cached(seller_user, "seller:orders")
    old_cookie = client.cookies["sessionid"].value
    client.post(reverse("accounts:logout"))
    page = client.get(url)
    assert page.status_code == 302
    assert page.get("X-Page-Cache") != "hit"
    # The signed-out session's cookie, sent again (copied before the sign-out): nothing from the cache.
    client.cookies["sessionid"] = old_cookie
    replayed = client.get(url)
    assert (replayed.status_code, replayed.get("X-Page-Cache")) == (302, "bypass")


# -- what is never stored --------------------------------------------------------------------------


@committed
def test_a_page_with_a_flash_message_is_neither_served_from_nor_stored_in_the_cache(seller_user):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpResponse
    from django.test import RequestFactory

    client, url = cached(seller_user, "seller:orders")

    # A message waiting in the cookie, as after a form that redirected here.
    response = HttpResponse()
    storage = CookieStorage(RequestFactory().get(url))
    storage.add(constants.SUCCESS, "Saved, and shown once")
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value

    shown = client.get(url)
    assert shown["X-Page-Cache"] == "bypass"
    assert "Saved, and shown once" in shown.content.decode()
    again = client.get(url)
    assert "Saved, and shown once" not in again.content.decode()


@committed
def test_a_hard_reload_renders_the_page_afresh(seller_user):
    client, url = cached(seller_user, "seller:orders")
    assert client.get(url, HTTP_CACHE_CONTROL="no-cache")["X-Page-Cache"] == "miss"
    assert client.get(url, HTTP_PRAGMA="no-cache")["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"


@committed
def test_languages_urls_and_htmx_requests_are_kept_apart(seller_user):
    client, url = cached(seller_user, "seller:orders")
    chinese = client.get(url)
    client.cookies["django_language"] = "en"
    english = client.get(url)
    assert (chinese["X-Page-Cache"], english["X-Page-Cache"]) == ("hit", "miss")
    assert english["Content-Language"] == "en" and english.content != chinese.content
    assert client.get(url + "?status=paid")["X-Page-Cache"] == "miss"
    assert client.get(url, HTTP_HX_REQUEST="true")["X-Page-Cache"] == "bypass"


@committed
def test_the_catalog_is_cached_per_visitor_and_moves_with_the_products(seller_plan):
    visitor = Client()
    url = reverse("catalog:products")
    first = visitor.get(url)
    assert (first["X-Page-Cache"], "csrftoken" in first.cookies) == ("bypass", True)  # a cookie is set: not stored
    assert visitor.get(url)["X-Page-Cache"] == "miss"
    assert visitor.get(url)["X-Page-Cache"] == "hit"
    assert Client().get(url)["X-Page-Cache"] == "bypass"  # a new visitor: never the first one's page

    Product.objects.filter(pk=seller_plan.product_id).update(name_zh="A renamed product")
    page = visitor.get(url)
    assert (page["X-Page-Cache"], "A renamed product" in page.content.decode()) == ("miss", True)


@committed
def test_the_api_list_is_cached_per_token(seller_user, other_seller_user, buyer_user, seller_plan):
    order = paid_order(buyer_user, seller_plan)
    mine, theirs = api(seller_user), api(other_seller_user)
    url = reverse("api-seller-order-list")
    first, second = mine.get(url), mine.get(url)
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert [o["number"] for o in second.json()["results"]] == [order.number]
    other = theirs.get(url)
    assert (other["X-Page-Cache"], other.json()["results"]) == ("miss", [])
    assert api().get(url).status_code == 401


@committed
def test_an_unreachable_cache_serves_every_page_rendered(seller_user, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "marketplace.core.resilience.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client = signed_in(seller_user)
    pages = [client.get(reverse("seller:orders")) for _ in range(3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert "hit" not in [p["X-Page-Cache"] for p in pages]


@committed
def test_the_page_cache_can_be_turned_off(seller_user, settings):
    settings.PAGE_CACHE_TIMEOUT = 0
    client = signed_in(seller_user)
    pages = [client.get(reverse("seller:orders")) for _ in range(3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert [p.get("X-Page-Cache") for p in pages] == [None] * 3
