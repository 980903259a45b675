"""Merchant benefits, the services: the GMV threshold and the lead time on applying, one waiting
application per benefit, withdrawing, decisions in arrival order (a recorded reason for skipping),
rejections with a reason, terminal states, the monthly quota (also under concurrent grants), the
seller's notifications, and isolation.

The clock is pinned to Monday 9 March 2026, 01:00 Beijing time (still 8 March in UTC): "today" is
Beijing's 9 March, so a 14-day lead time makes 23 March the earliest date.
"""

import threading
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection

from benefits import services
from benefits.models import Benefit, BenefitApplication, BenefitApplicationEvent
from billing.models import LedgerEntry
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.models import Notification
from tests.factories import SellerFactory, UserFactory, fresh, seller_member

BJ = ZoneInfo("Asia/Shanghai")
A = BenefitApplication.Status
NOW = datetime(2026, 3, 9, 1, tzinfo=BJ)  # 2026-03-08 17:00 UTC
TODAY = date(2026, 3, 9)


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


# --- helpers (the admin and API tests use them too) -------------------------------------------------


def admin_of(seller) -> User:
    return seller.memberships.get(role="admin").user


def staff_in(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def ledger(seller, gross, *, period=date(2026, 1, 1), kind=LedgerEntry.Kind.ORDER) -> LedgerEntry:
    gross = Decimal(gross)
    return LedgerEntry.objects.create(
        seller=seller,
        trade_mode="general",
        period=period,
        kind=kind,
        gross=gross,
        fee_rate=Decimal("0"),
        fee=Decimal("0"),
        net=gross,
        occurred_at=NOW,
        source=f"test-{uuid.uuid4().hex}",
    )


def make_benefit(threshold="100000", *, lead_days=14, quota=10, **extra) -> Benefit:
    return Benefit.objects.create(
        name_zh="流量扶持",
        name_en="Traffic support",
        description_zh="首页推荐位",
        description_en="A home-page slot",
        gmv_threshold=Decimal(threshold),
        lead_days=lead_days,
        quota_per_period=quota,
        active_from=date(2026, 1, 1),
        **extra,
    )


def rich_seller(gmv="200000"):
    seller = SellerFactory()
    ledger(seller, gmv)
    return seller


def apply(seller, benefit, wanted_from=date(2026, 3, 23)) -> BenefitApplication:
    return services.benefit_apply(actor=fresh(admin_of(seller)), benefit_id=benefit.pk, wanted_from=wanted_from)


def state(application: BenefitApplication) -> tuple:
    return (
        BenefitApplication.objects.filter(pk=application.pk).values().get(),
        BenefitApplicationEvent.objects.filter(application=application).count(),
    )


@pytest.fixture
def operator(db):
    return staff_in("operations")


@pytest.fixture
def benefit(db):
    return make_benefit()


# --- applying -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_below_the_threshold_is_refused_with_what_is_missing(benefit):
    seller = SellerFactory()
    ledger(seller, "50000")
    ledger(seller, "-20000", kind=LedgerEntry.Kind.REFUND, period=date(2026, 2, 1))
    ledger(seller, "900000", kind=LedgerEntry.Kind.ORDER, period=date(2025, 12, 1))  # last year: not counted
    with pytest.raises(Conflict) as exc:
        apply(seller, benefit)
    assert "70000.00" in exc.value.message and "30000.00" in exc.value.message
    assert not BenefitApplication.objects.exists() and not BenefitApplicationEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("lead_days, earliest", [(14, date(2026, 3, 23)), (30, date(2026, 4, 8))])
def test_the_lead_time_counts_from_today_in_beijing(lead_days, earliest):
    benefit = make_benefit(lead_days=lead_days)
    seller = rich_seller()
    with pytest.raises(ValidationFailed) as exc:
        apply(seller, benefit, earliest - timedelta(days=1))
    assert earliest.isoformat() in exc.value.message
    assert not BenefitApplication.objects.exists()
    application = apply(seller, benefit, earliest)
    assert (application.status, application.wanted_from, application.gmv_at_application) == (
        A.PENDING,
        earliest,
        Decimal("200000.00"),
    )
    assert application.events.get().to_status == A.PENDING


@pytest.mark.django_db
def test_a_waiting_duplicate_is_refused_and_withdrawing_frees_the_benefit(benefit):
    seller = rich_seller()
    first = apply(seller, benefit)
    with pytest.raises(Conflict):
        apply(seller, benefit, date(2026, 4, 1))
    assert BenefitApplication.objects.count() == 1
    services.benefit_withdraw(actor=fresh(admin_of(seller)), application_id=first.pk)
    first.refresh_from_db()
    assert first.status == A.WITHDRAWN
    assert list(first.events.values_list("to_status", flat=True)) == [A.PENDING, A.WITHDRAWN]
    before = state(first)
    with pytest.raises(InvalidTransition):
        services.benefit_withdraw(actor=fresh(admin_of(seller)), application_id=first.pk)
    assert state(first) == before
    assert apply(seller, benefit, date(2026, 4, 1)).status == A.PENDING


@pytest.mark.django_db
def test_only_the_sellers_administrators_apply_and_withdraw(benefit):
    seller = rich_seller()
    staff_member = seller_member(seller, "operator")
    with pytest.raises(NotAllowed):
        services.benefit_apply(actor=fresh(staff_member), benefit_id=benefit.pk, wanted_from=date(2026, 3, 23))
    application = apply(seller, benefit)
    other = rich_seller()
    before = state(application)
    with pytest.raises(NotFound):
        services.benefit_withdraw(actor=fresh(admin_of(other)), application_id=application.pk)
    assert state(application) == before


@pytest.mark.django_db
def test_inactive_benefits_cannot_be_applied_for():
    ended = make_benefit(active_until=date(2026, 3, 8))
    with pytest.raises(NotFound):
        apply(rich_seller(), ended)


# --- deciding ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_then_grant_in_arrival_order(benefit, operator):
    application = apply(rich_seller(), benefit)
    services.benefit_verify(actor=fresh(operator), application_id=application.pk)
    application.refresh_from_db()
    assert application.status == A.VERIFIED
    before = state(application)
    with pytest.raises(InvalidTransition):
        services.benefit_verify(actor=fresh(operator), application_id=application.pk)
    assert state(application) == before
    services.benefit_grant(actor=fresh(operator), application_id=application.pk, skip_reason="ignored: first")
    application.refresh_from_db()
    assert (application.status, application.skip_reason, application.decided_at) == (A.GRANTED, "", NOW)


@pytest.mark.django_db
def test_granting_out_of_arrival_order_needs_a_recorded_reason(benefit, operator):
    first = apply(rich_seller(), benefit)
    second = apply(rich_seller(), benefit)
    before = state(second)
    with pytest.raises(ValidationFailed) as exc:
        services.benefit_grant(actor=fresh(operator), application_id=second.pk, skip_reason="  ")
    assert "skip_reason" in exc.value.field_errors and " 1 " in f" {exc.value.message} "
    assert state(second) == before
    services.benefit_grant(actor=fresh(operator), application_id=second.pk, skip_reason="Strategic partner")
    second.refresh_from_db()
    assert (second.status, second.skip_reason) == (A.GRANTED, "Strategic partner")
    event = second.events.get(to_status=A.GRANTED)
    assert (event.message, event.actor_id) == ("Strategic partner", operator.pk)
    first.refresh_from_db()
    assert first.status == A.PENDING


@pytest.mark.django_db
def test_rejecting_needs_a_reason_and_tells_the_seller(benefit, operator):
    seller = rich_seller()
    application = apply(seller, benefit)
    before = state(application)
    with pytest.raises(ValidationFailed):
        services.benefit_reject(actor=fresh(operator), application_id=application.pk, reason=" ")
    assert state(application) == before
    services.benefit_reject(actor=fresh(operator), application_id=application.pk, reason="Quota reserved")
    application.refresh_from_db()
    assert (application.status, application.rejection_reason) == (A.REJECTED, "Quota reserved")
    assert application.events.get(to_status=A.REJECTED).message == "Quota reserved"
    notice = Notification.objects.get(user=admin_of(seller))
    assert "流量扶持" in notice.title or "Traffic support" in notice.title


@pytest.mark.django_db
def test_granting_tells_the_sellers_administrators_only(benefit, operator):
    seller = rich_seller()
    colleague = seller_member(seller, "operator")
    application = apply(seller, benefit)
    services.benefit_grant(actor=fresh(operator), application_id=application.pk)
    assert list(Notification.objects.values_list("user_id", flat=True)) == [admin_of(seller).pk]
    assert not Notification.objects.filter(user=colleague).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("final", ["granted", "rejected", "withdrawn"])
def test_decided_applications_refuse_further_moves(benefit, operator, final):
    seller = rich_seller()
    application = apply(seller, benefit)
    if final == "granted":
        services.benefit_grant(actor=fresh(operator), application_id=application.pk)
    elif final == "rejected":
        services.benefit_reject(actor=fresh(operator), application_id=application.pk, reason="No")
    else:
        services.benefit_withdraw(actor=fresh(admin_of(seller)), application_id=application.pk)
    before = state(application)
    moves = [
        lambda: services.benefit_verify(actor=fresh(operator), application_id=application.pk),
        lambda: services.benefit_grant(actor=fresh(operator), application_id=application.pk, skip_reason="x"),
        lambda: services.benefit_reject(actor=fresh(operator), application_id=application.pk, reason="x"),
        lambda: services.benefit_withdraw(actor=fresh(admin_of(seller)), application_id=application.pk),
    ]
    for move in moves:
        with pytest.raises(InvalidTransition):
            move()
    assert state(application) == before


@pytest.mark.django_db
def test_staff_without_the_permission_are_refused(benefit):
    application = apply(rich_seller(), benefit)
    before = state(application)
    for actor in (staff_in("support"), UserFactory(is_staff=True), admin_of(application.seller)):
        with pytest.raises(NotAllowed):
            services.benefit_grant(actor=fresh(actor), application_id=application.pk)
        with pytest.raises(NotAllowed):
            services.benefit_verify(actor=fresh(actor), application_id=application.pk)
        with pytest.raises(NotAllowed):
            services.benefit_reject(actor=fresh(actor), application_id=application.pk, reason="x")
    assert state(application) == before


@pytest.mark.django_db
def test_the_quota_is_per_month_of_the_wanted_date(operator):
    benefit = make_benefit(quota=1)
    march_a = apply(rich_seller(), benefit, date(2026, 3, 23))
    march_b = apply(rich_seller(), benefit, date(2026, 3, 31))
    april = apply(rich_seller(), benefit, date(2026, 4, 1))
    services.benefit_grant(actor=fresh(operator), application_id=march_a.pk)
    before = state(march_b)
    with pytest.raises(Conflict) as exc:
        services.benefit_grant(actor=fresh(operator), application_id=march_b.pk)
    assert "2026-03" in exc.value.message
    assert state(march_b) == before
    services.benefit_grant(actor=fresh(operator), application_id=april.pk, skip_reason="April has room")
    assert BenefitApplication.objects.filter(status=A.GRANTED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_never_exceed_the_quota():
    """Two operators grant two applications for the same month at the same moment, quota 1: the
    services lock the benefit, so exactly one is granted and the other refused."""
    benefit = make_benefit(quota=1)
    operator = UserFactory(is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="decide_benefitapplication"))
    applications = [
        BenefitApplication.objects.create(
            benefit=benefit,
            seller=seller,
            applied_by=admin_of(seller),
            wanted_from=date(2026, 3, 25),
            gmv_at_application=Decimal("200000"),
            created_at=NOW + timedelta(seconds=i),
        )
        for i, seller in enumerate([SellerFactory(), SellerFactory()])
    ]
    barrier = threading.Barrier(2)
    outcomes = []

    def grant(application):
        try:
            actor = fresh(operator)
            barrier.wait(timeout=10)
            services.benefit_grant(actor=actor, application_id=application.pk, skip_reason="Simultaneous")
            outcomes.append("granted")
        except Conflict as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(a,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["Conflict", "granted"]
    assert BenefitApplication.objects.filter(status=A.GRANTED).count() == 1
    assert BenefitApplication.objects.filter(status=A.PENDING).count() == 1
