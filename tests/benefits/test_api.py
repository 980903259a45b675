"""Merchant benefits over the API (/api/v1/seller/gmv/, seller/benefits/, seller/benefit-applications/):
happy paths, refusals that change nothing, isolation between sellers, fixed query counts."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benefits.models import BenefitApplication
from billing.models import LedgerEntry
from tests.benefits.test_services import (  # noqa: F401
    _pinned_clock,
    admin_of,
    apply,
    fresh,
    ledger,
    make_benefit,
    rich_seller,
    staff_in,
    state,
)
from tests.factories import SellerFactory, api, seller_member

pytestmark = pytest.mark.django_db
A = BenefitApplication.Status
APPS = "/api/v1/seller/benefit-applications/"


def test_gmv_of_a_year_with_its_months():
    seller = SellerFactory()
    ledger(seller, "1000", period=date(2026, 1, 1))
    ledger(seller, "500", period=date(2026, 2, 1), kind=LedgerEntry.Kind.USAGE)
    ledger(seller, "-200", period=date(2026, 2, 1), kind=LedgerEntry.Kind.REFUND)
    ledger(seller, "7", period=date(2025, 6, 1))
    ledger(SellerFactory(), "99999")  # another seller's
    body = api(admin_of(seller)).get("/api/v1/seller/gmv/").json()
    assert (body["year"], body["total"]) == (2026, "1300.00")
    assert len(body["months"]) == 12 and body["months"][1] == {"month": "2026-02-01", "gmv": "300.00"}
    last_year = api(admin_of(seller)).get("/api/v1/seller/gmv/", {"year": 2025}).json()
    assert last_year["total"] == "7.00"
    assert api(admin_of(seller)).get("/api/v1/seller/gmv/", {"year": "x"}).status_code == 400


def test_benefits_with_progress_and_eligibility():
    low, high = make_benefit("1000"), make_benefit("4000", lead_days=30)
    make_benefit("10", active_until=date(2026, 1, 31))  # over: not listed
    seller = SellerFactory()
    ledger(seller, "2000")
    body = api(admin_of(seller)).get("/api/v1/seller/benefits/").json()
    assert [b["id"] for b in body] == [low.pk, high.pk]
    assert (body[0]["eligible"], body[0]["progress"], body[0]["missing"]) == (True, 1.0, "0.00")
    assert (body[1]["eligible"], body[1]["progress"], body[1]["missing"]) == (False, 0.5, "2000.00")
    assert body[1]["earliest_date"] == "2026-04-08" and body[0]["name"] == "Traffic support"


def test_apply_list_and_withdraw():
    benefit = make_benefit()
    seller = rich_seller()
    other = apply(rich_seller(), benefit)  # arrived first
    client = api(admin_of(seller))
    created = client.post(APPS, {"benefit": benefit.pk, "wanted_from": "2026-03-23"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["queue_position"], body["gmv_at_application"]) == ("pending", 2, "200000.00")
    listed = client.get(APPS).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]  # only its own
    withdrawn = client.post(f"{APPS}{body['id']}/withdraw/")
    assert (withdrawn.status_code, withdrawn.json()["status"], withdrawn.json()["queue_position"]) == (
        200,
        "withdrawn",
        None,
    )
    again = client.post(f"{APPS}{body['id']}/withdraw/")
    assert again.status_code == 409
    assert api(admin_of(other.seller)).get(f"{APPS}{other.pk}/").json()["queue_position"] == 1


def test_refusals_change_nothing():
    benefit = make_benefit()
    poor = SellerFactory()
    ledger(poor, "100")
    client = api(admin_of(poor))
    too_poor = client.post(APPS, {"benefit": benefit.pk, "wanted_from": "2026-03-23"}, format="json")
    assert too_poor.status_code == 409 and "99900.00" in str(too_poor.json())
    rich = api(admin_of(rich_seller()))
    too_soon = rich.post(APPS, {"benefit": benefit.pk, "wanted_from": "2026-03-22"}, format="json")
    assert too_soon.status_code == 400 and "2026-03-23" in str(too_soon.json())
    assert rich.post(APPS, {"benefit": benefit.pk}, format="json").status_code == 400
    assert rich.post(APPS, {"benefit": 999999, "wanted_from": "2026-04-01"}, format="json").status_code == 404
    assert not BenefitApplication.objects.exists()


def test_isolation_and_roles():
    benefit = make_benefit()
    seller = rich_seller()
    mine = apply(seller, benefit)
    intruder = api(admin_of(rich_seller()))
    before = state(mine)
    assert intruder.get(f"{APPS}{mine.pk}/").status_code == 404
    assert intruder.post(f"{APPS}{mine.pk}/withdraw/").status_code == 404
    assert state(mine) == before
    operator = api(seller_member(seller, "operator"))  # not an administrator
    for path in ("/api/v1/seller/gmv/", "/api/v1/seller/benefits/", APPS):
        assert operator.get(path).status_code == 403
        assert api().get(path).status_code in (401, 403)
    assert operator.post(f"{APPS}{mine.pk}/withdraw/").status_code == 403
    assert api(staff_in("operations")).get(APPS).status_code == 403
    assert state(mine) == before


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_lists_take_a_fixed_number_of_queries():
    seller = rich_seller()
    client = api(admin_of(seller))
    first = make_benefit()
    apply(seller, first)
    counts = {path: _count(client, path) for path in (APPS, "/api/v1/seller/benefits/", "/api/v1/seller/gmv/")}
    for n in range(3):
        benefit = make_benefit(str(1000 + n))
        apply(rich_seller(), benefit)
        apply(seller, benefit)
    assert {path: _count(client, path) for path in counts} == counts
