"""The seller's merchant-benefits page: GMV (chart, transaction details), applying and withdrawing."""

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benefits import selectors
from benefits.models import Benefit, BenefitApplication
from billing.models import LedgerEntry
from marketplace.core import calendar
from tests.billing.builders import bj, buy, product_plan
from tests.factories import BuyerFactory, seller_member

URL = "/seller/benefits/"
TODAY = calendar.today()
YEAR = TODAY.year
_sources = itertools.count(1)


def entry(seller, period: date, gross: str, kind: str = "order", order_line=None) -> LedgerEntry:
    gross = Decimal(gross)
    fee = (gross * Decimal("0.1")).quantize(Decimal("0.01"))
    return LedgerEntry.objects.create(
        seller=seller,
        trade_mode="general",
        period=period,
        kind=kind,
        order_line=order_line,
        gross=gross,
        fee_rate=Decimal("0.1"),
        fee=fee,
        net=gross - fee,
        currency="CNY",
        occurred_at=bj(period.year, period.month, 1, 12),
        source=f"test-benefits-{next(_sources)}",
        reason="Test" if kind == "adjustment" else "",
    )


def benefit(threshold="1000.00", lead_days=14, **fields) -> Benefit:
    return Benefit.objects.create(
        name_zh=fields.pop("name_zh", "流量扶持"),
        name_en=fields.pop("name_en", "Traffic support"),
        gmv_threshold=Decimal(threshold),
        lead_days=lead_days,
        active_from=TODAY - timedelta(days=30),
        **fields,
    )


def gmv_on_page(html: str) -> Decimal:
    match = re.search(r'data-testid="gmv"><small>CNY</small> ([\d,.-]+)<', html)
    return Decimal(match.group(1).replace(",", ""))


@pytest.fixture
def admin_client(client, seller_user):
    client.force_login(seller_user)
    return client


# --- access -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_renders_for_seller_admin_with_nav_entry(admin_client):
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/seller/benefits/"' in html  # sidebar entry
    assert 'data-testid="gmv-chart"' in html
    assert reverse("seller:benefits") == URL


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_other_roles_are_refused(client, seller, role):
    client.force_login(seller_member(seller, role))
    assert client.get(URL).status_code == 403
    assert client.get(URL + "?tab=details").status_code == 403
    bene = benefit()
    assert client.post(reverse("seller:benefit_apply", args=[bene.pk]), {}).status_code == 403
    assert not BenefitApplication.objects.exists()
    html = client.get("/seller/").content.decode()
    assert 'href="/seller/benefits/"' not in html


@pytest.mark.django_db
def test_another_seller_sees_only_its_own_data(client, seller, other_seller_user, other_seller):
    entry(seller, date(YEAR, 3, 1), "777.00")
    entry(other_seller, date(YEAR, 3, 1), "5.00")
    client.force_login(other_seller_user)
    html = client.get(URL).content.decode()
    assert gmv_on_page(html) == Decimal("5.00")
    details = client.get(URL + "?tab=details").content.decode()
    assert details.count('data-testid="entry-row"') == 1
    assert "777.00" not in details


# --- GMV ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_gmv_agrees_with_selector_and_shown_entries_and_refund_lowers_it(admin_client, seller):
    product, plan = product_plan(seller)
    line = buy(_buyer(), plan, now=bj(YEAR, 2, 3, 10))
    entry(seller, date(YEAR, 2, 1), "1000.00", order_line=line)
    entry(seller, date(YEAR, 4, 1), "250.50", kind="usage")
    before_refund = gmv_on_page(admin_client.get(URL).content.decode())
    entry(seller, date(YEAR, 5, 1), "-300.00", kind="refund", order_line=line)
    entry(seller, date(YEAR, 6, 1), "9999.00", kind="adjustment")  # money, not sales
    start, end = selectors.year_window(YEAR)
    expected = selectors.gmv(seller_id=seller.pk, start=start, end=end)
    html = admin_client.get(URL).content.decode()
    assert gmv_on_page(html) == expected
    details = admin_client.get(URL + "?tab=details").content.decode()
    shown = [Decimal(v) for v in re.findall(r'data-gross="([-\d.]+)"', details)]
    assert sum(shown) == expected == gmv_on_page(details)
    assert line.order.number in details and product.name_zh in details
    assert expected == sum(
        e.gross for e in LedgerEntry.objects.filter(seller=seller, period__year=YEAR).exclude(kind="adjustment")
    )
    assert expected == before_refund - Decimal("300.00")  # the refund lowers GMV by its amount


def _buyer():
    return BuyerFactory().memberships.get().user


@pytest.mark.django_db
def test_window_edges(admin_client, seller):
    entry(seller, date(2026, 12, 1), "100.00")
    entry(seller, date(2027, 1, 1), "40.00")
    entry(seller, date(2025, 12, 1), "7.00")
    assert gmv_on_page(admin_client.get(URL + "?year=2026").content.decode()) == Decimal("100.00")
    assert gmv_on_page(admin_client.get(URL + "?year=2027").content.decode()) == Decimal("40.00")
    assert gmv_on_page(admin_client.get(URL + "?year=2025").content.decode()) == Decimal("7.00")
    html = admin_client.get(URL + "?year=2026").content.decode()
    bars = re.findall(r'<rect class="bar" data-value="([-\d.]+)"', html)
    assert len(bars) == 12 and Decimal(bars[11]) == Decimal("100.00") and sum(map(Decimal, bars)) == Decimal("100")
    assert "2026-12: CNY 100.00</title>" in html
    details = admin_client.get(URL + "?year=2027&tab=details").content.decode()
    assert details.count('data-testid="entry-row"') == 1 and "2027-01" in details


@pytest.mark.django_db
def test_details_in_fixed_queries(admin_client, seller, django_assert_max_num_queries):
    _, plan = product_plan(seller)
    buyer = _buyer()
    entry(seller, date(YEAR, 1, 1), "10.00", order_line=buy(buyer, plan, now=bj(YEAR, 1, 5, 10)))
    admin_client.get(URL + "?tab=details")  # warm caches (sessions, translations)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        admin_client.get(URL + "?tab=details")
    for day in range(2, 15):
        entry(seller, date(YEAR, 1, 1), "10.00", order_line=buy(buyer, plan, now=bj(YEAR, 1, day, 10)))
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL + "?tab=details")
    assert response.content.decode().count('data-testid="entry-row"') >= 14
    assert len(many) == len(few)


@pytest.mark.django_db
def test_details_paginate(admin_client, seller):
    for month in range(1, 13):
        for _ in range(2):
            entry(seller, date(YEAR, month, 1), "1.00")
    first = admin_client.get(URL + "?tab=details").content.decode()
    assert first.count('data-testid="entry-row"') == 20
    second = admin_client.get(URL + f"?year={YEAR}&tab=details&page=2").content.decode()
    assert second.count('data-testid="entry-row"') == 4


# --- applications -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_benefit_progress_and_amount_to_go(admin_client, seller):
    entry(seller, date(YEAR, 1, 1), "250.00")
    benefit(threshold="1000.00")
    html = admin_client.get(URL).content.decode()
    assert 'style="width:25%"' in html
    assert "750.00" in html and 'data-testid="to-go"' in html
    assert 'data-testid="apply-form"' not in html


@pytest.mark.django_db
def test_apply_works_and_shows_queue_position(admin_client, seller, other_seller, other_seller_user, client):
    entry(seller, date(YEAR, 1, 1), "1500.00")
    entry(other_seller, date(YEAR, 1, 1), "1500.00")
    bene = benefit(threshold="1000.00", lead_days=14)
    html = admin_client.get(URL).content.decode()
    earliest = (TODAY + timedelta(days=14)).isoformat()
    assert f'min="{earliest}"' in html and 'style="width:100%"' in html
    # Another seller applied first: this one is second in the queue.
    from django.test import Client

    other = Client()
    other.force_login(other_seller_user)
    other.post(reverse("seller:benefit_apply", args=[bene.pk]), {f"b{bene.pk}-wanted_from": earliest})
    response = admin_client.post(
        reverse("seller:benefit_apply", args=[bene.pk]), {f"b{bene.pk}-wanted_from": earliest}, follow=True
    )
    application = BenefitApplication.objects.get(seller=seller)
    assert application.status == "pending" and application.wanted_from.isoformat() == earliest
    assert application.gmv_at_application == Decimal("1500.00")
    html = response.content.decode()
    assert re.search(r'data-testid="queue-position">[^<]*2', html)
    assert 'data-testid="waiting-count">1<' in html  # this seller's only, not the whole queue
    assert "data-confirm=" in html
    # The other seller does not see this seller's application.
    assert other.get(URL).content.decode().count('data-testid="application-row"') == 1


@pytest.mark.django_db
def test_below_threshold_refused_with_amount_to_go(admin_client, seller):
    entry(seller, date(YEAR, 1, 1), "400.00")
    bene = benefit(threshold="1000.00")
    response = admin_client.post(
        reverse("seller:benefit_apply", args=[bene.pk]),
        {f"b{bene.pk}-wanted_from": (TODAY + timedelta(days=20)).isoformat()},
        follow=True,
    )
    assert not BenefitApplication.objects.exists()
    assert "600.00" in response.content.decode()


@pytest.mark.django_db
def test_inside_lead_time_refused_with_earliest_date(admin_client, seller):
    entry(seller, date(YEAR, 1, 1), "1500.00")
    bene = benefit(threshold="1000.00", lead_days=30)
    response = admin_client.post(
        reverse("seller:benefit_apply", args=[bene.pk]),
        {f"b{bene.pk}-wanted_from": (TODAY + timedelta(days=5)).isoformat()},
    )
    assert response.status_code == 200
    assert not BenefitApplication.objects.exists()
    assert (TODAY + timedelta(days=30)).isoformat() in response.content.decode()
    assert 'class="errors"' in response.content.decode()


@pytest.mark.django_db
def test_duplicate_while_waiting_refused_then_withdraw(admin_client, seller):
    entry(seller, date(YEAR, 1, 1), "1500.00")
    bene = benefit(threshold="1000.00")
    data = {f"b{bene.pk}-wanted_from": (TODAY + timedelta(days=20)).isoformat()}
    apply_url = reverse("seller:benefit_apply", args=[bene.pk])
    admin_client.post(apply_url, data)
    response = admin_client.post(apply_url, data, follow=True)
    assert BenefitApplication.objects.filter(seller=seller).count() == 1
    assert 'class="error"' in response.content.decode()
    application = BenefitApplication.objects.get()
    response = admin_client.post(reverse("seller:benefit_application_withdraw", args=[application.pk]), follow=True)
    application.refresh_from_db()
    assert application.status == "withdrawn"
    assert 'data-testid="queue-position"' not in response.content.decode()
    # Withdrawn: the seller may apply again.
    admin_client.post(apply_url, data)
    assert BenefitApplication.objects.filter(seller=seller, status="pending").count() == 1


@pytest.mark.django_db
def test_withdraw_of_another_sellers_application_changes_nothing(client, seller, other_seller_user, other_seller):
    entry(seller, date(YEAR, 1, 1), "1500.00")
    bene = benefit(threshold="1000.00")
    client.force_login(seller.memberships.get(role="admin").user)
    client.post(
        reverse("seller:benefit_apply", args=[bene.pk]),
        {f"b{bene.pk}-wanted_from": (TODAY + timedelta(days=20)).isoformat()},
    )
    application = BenefitApplication.objects.get()
    client.force_login(other_seller_user)
    client.post(reverse("seller:benefit_application_withdraw", args=[application.pk]))
    application.refresh_from_db()
    assert application.status == "pending"


@pytest.mark.django_db
def test_rejection_reason_shown(admin_client, seller):
    bene = benefit(threshold="0.00")
    BenefitApplication.objects.create(
        benefit=bene,
        seller=seller,
        applied_by=seller.memberships.get().user,
        wanted_from=TODAY + timedelta(days=30),
        gmv_at_application=Decimal("0"),
        status="rejected",
        rejection_reason="Quota used up for that month",
    )
    html = admin_client.get(URL).content.decode()
    assert "Quota used up for that month" in html
    assert 'data-testid="queue-position"' not in html


# --- property: GMV agrees with the ledger -------------------------------------------------------


class _Rollback(Exception):
    pass


KINDS = ["order", "usage", "refund", "adjustment"]


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(KINDS),
            st.integers(min_value=0, max_value=23),
            st.decimals(min_value=-5000, max_value=50000, places=2, allow_nan=False, allow_infinity=False),
        ),
        max_size=25,
    )
)
def test_gmv_property(seller, rows):
    try:
        with transaction.atomic():
            for kind, month_index, gross in rows:
                period = date(2025 + month_index // 12, month_index % 12 + 1, 1)
                entry(seller, period, str(gross), kind=kind)
            for year in (2025, 2026):
                start, end = selectors.year_window(year)
                expected = sum(
                    (
                        Decimal(str(g))
                        for k, m, g in rows
                        if k in ("order", "usage", "refund") and 2025 + m // 12 == year
                    ),
                    Decimal("0"),
                )
                assert selectors.gmv(seller_id=seller.pk, start=start, end=end) == expected
                months = selectors.gmv_by_month(seller_id=seller.pk, start=start, end=end)
                assert len(months) == 12
                assert sum((v for _m, v in months), Decimal("0")) == expected
            raise _Rollback
    except _Rollback:
        pass
    assert not LedgerEntry.objects.filter(seller=seller).exists()
