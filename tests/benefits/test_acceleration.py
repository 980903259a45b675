"""The merchant acceleration plan, the services: the GMV bar (net of refunds, this year only), the
signed agreement (exact text, digests, the PDF's signature block), which the model and the database
both refuse to change or delete, one plan at a time (also under concurrent applications), and
operations' decisions with their permissions, reasons, terminal states and notices.

The clock is pinned to Monday 9 March 2026, 01:00 Beijing time (still 8 March in UTC), so the PDF's
signing time shows Beijing's date, not UTC's.
"""

import hashlib
import io
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from benefits import agreement, services
from benefits.models import AccelerationPlan, AccelerationPlanEvent, AgreementSignature, ImmutableRecord
from billing.models import LedgerEntry
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from marketplace.core.models import Notification
from tests.benefits.test_services import NOW, _pinned_clock, admin_of, ledger, staff_in  # noqa: F401
from tests.factories import BuyerFactory, SellerFactory, UserFactory, fresh, seller_member

P = AccelerationPlan.Status
THRESHOLD = Decimal("2000000")


def accelerated_seller(gmv=THRESHOLD):
    seller = SellerFactory()
    ledger(seller, gmv)
    return seller


def sign(seller, *, actor=None, **overrides) -> AccelerationPlan:
    arguments = {
        "signer_name": "张伟",
        "signer_role": "总经理",
        "agreed": True,
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (pytest)",
    }
    arguments.update(overrides)
    return services.plan_apply(actor=fresh(actor or admin_of(seller)), **arguments)


def stored_files(private_media, folder="agreements") -> list:
    root = private_media / folder
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def nothing_written(private_media):
    assert not AccelerationPlan.objects.exists()
    assert not AgreementSignature.objects.exists()
    assert not AccelerationPlanEvent.objects.exists()
    assert stored_files(private_media) == []


def plan_state(plan: AccelerationPlan) -> tuple:
    return (
        AccelerationPlan.objects.filter(pk=plan.pk).values().get(),
        AccelerationPlanEvent.objects.filter(plan=plan).count(),
    )


@pytest.fixture
def operator(db):
    return staff_in("operations")


# --- the GMV bar -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_below_the_bar_is_refused_with_the_amount_to_go(private_media):
    seller = accelerated_seller("1500000")
    ledger(seller, "900000", period=date(2025, 12, 1))  # last year: not counted
    with translation.override("en"), pytest.raises(Conflict) as exc:
        sign(seller)
    message = str(exc.value.message)
    assert "2,000,000.00" in message and "1,500,000.00" in message and "500,000.00 to go" in message
    nothing_written(private_media)


@pytest.mark.django_db
def test_exactly_at_the_bar_is_allowed(private_media):
    seller = accelerated_seller(THRESHOLD)
    plan = sign(seller)
    assert (plan.status, plan.seller_id, plan.applied_by_id, plan.gmv_at_application, plan.created_at) == (
        P.PENDING,
        seller.pk,
        admin_of(seller).pk,
        THRESHOLD,
        NOW,
    )
    event = plan.events.get()
    assert (event.from_status, event.to_status, event.actor_id) == ("", P.PENDING, admin_of(seller).pk)
    assert event.params == {"name": "张伟", "role": "总经理"}
    assert len(stored_files(private_media)) == 1


@pytest.mark.django_db
def test_refunds_lowering_the_gmv_below_the_bar_refuse(private_media):
    seller = accelerated_seller("2100000")
    ledger(seller, "-100000.01", kind=LedgerEntry.Kind.REFUND, period=date(2026, 2, 1))
    with translation.override("en"), pytest.raises(Conflict) as exc:
        sign(seller)
    assert "1,999,999.99" in exc.value.message and "0.01 to go" in exc.value.message
    nothing_written(private_media)
    ledger(seller, "0.01", period=date(2026, 3, 1))
    assert sign(seller).gmv_at_application == THRESHOLD


@pytest.mark.django_db
def test_the_bar_is_read_from_the_settings(settings):
    settings.MARKETPLACE = {**settings.MARKETPLACE, "ACCELERATION_PLAN_GMV": "10"}
    seller = accelerated_seller("10")
    plan = sign(seller)
    _text_zh, text_en = agreement.texts(seller_name=seller.name, threshold=Decimal("10"))
    assert plan.signature.text_en == text_en and "CNY 10.00" in text_en


# --- signing -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, keys",
    [
        ({"signer_name": ""}, {"signer_name"}),
        ({"signer_name": "   "}, {"signer_name"}),
        ({"signer_name": "x" * 101}, {"signer_name"}),
        ({"signer_role": ""}, {"signer_role"}),
        ({"signer_role": "y" * 101}, {"signer_role"}),
        ({"agreed": False}, {"agreed"}),
        ({"signer_name": None, "signer_role": None, "agreed": False}, {"signer_name", "signer_role", "agreed"}),
    ],
)
def test_a_name_a_role_and_consent_are_needed(private_media, overrides, keys):
    seller = accelerated_seller()
    with pytest.raises(ValidationFailed) as exc:
        sign(seller, **overrides)
    assert set(exc.value.field_errors) == keys
    nothing_written(private_media)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_only_the_sellers_administrators_apply(private_media, role):
    seller = accelerated_seller()
    with pytest.raises(NotAllowed):
        sign(seller, actor=seller_member(seller, role))
    nothing_written(private_media)


@pytest.mark.django_db
def test_buyers_and_staff_cannot_apply(private_media, operator):
    for actor in (BuyerFactory().memberships.get().user, operator, UserFactory(is_superuser=True, is_staff=True)):
        with pytest.raises(NotAllowed):
            services.plan_apply(actor=fresh(actor), signer_name="A", signer_role="B", agreed=True)
    nothing_written(private_media)


@pytest.mark.django_db
def test_one_plan_at_a_time_and_again_after_a_rejection(private_media, operator):
    seller = accelerated_seller()
    first = sign(seller)
    with pytest.raises(Conflict):
        sign(seller)
    assert AccelerationPlan.objects.count() == AgreementSignature.objects.count() == 1
    assert len(stored_files(private_media)) == 1

    services.plan_reject(actor=fresh(operator), plan_id=first.pk, reason="Documents missing")
    second = sign(seller, signer_name="李娜")
    assert second.pk != first.pk and second.status == P.PENDING
    assert services.current_plan(seller.pk) == second

    services.plan_approve(actor=fresh(operator), plan_id=second.pk)
    with pytest.raises(Conflict):
        sign(seller)
    assert AccelerationPlan.objects.count() == AgreementSignature.objects.count() == 2
    assert len(stored_files(private_media)) == 2
    assert services.approved_plan(seller.pk) == second


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ip, stored",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("not-an-ip", None),
        ("999.1.1.1", None),
        ("", None),
        (None, None),
    ],
)
def test_the_ip_is_stored_when_it_is_one(ip, stored):
    plan = sign(accelerated_seller(), ip=ip)
    assert AgreementSignature.objects.get(plan=plan).ip == stored


@pytest.mark.django_db
def test_the_signature_keeps_the_exact_text_and_its_digests():
    seller = accelerated_seller()
    plan = sign(seller, signer_name="  张伟  ", user_agent="U" * 400)
    signature = AgreementSignature.objects.get(plan=plan)
    text_zh, text_en = agreement.texts(seller_name=seller.name, threshold=THRESHOLD)
    assert (signature.text_zh, signature.text_en) == (text_zh, text_en)
    assert seller.name in text_zh and seller.name in text_en and "2,000,000.00" in text_zh
    assert signature.text_sha256 == agreement.digest(text_zh, text_en)
    assert signature.text_sha256 == agreement.digest(signature.text_zh, signature.text_en)
    assert signature.version == agreement.VERSION
    with signature.pdf.open("rb") as f:
        content = f.read()
    assert content.startswith(b"%PDF-")
    assert signature.pdf_sha256 == hashlib.sha256(content).hexdigest()
    assert (signature.seller_id, signature.signer_id, signature.signed_at) == (seller.pk, admin_of(seller).pk, NOW)
    assert (signature.signer_name, signature.signer_role) == ("张伟", "总经理")
    assert signature.user_agent == "U" * 300


@pytest.mark.django_db
@pytest.mark.parametrize("name, role, ip", [("张伟", "总经理", "203.0.113.7"), ("Li Na", "CEO", "2001:db8::1")])
def test_the_pdf_holds_the_signers_name_role_beijing_time_and_ip(name, role, ip):
    seller = accelerated_seller()
    plan = sign(seller, signer_name=name, signer_role=role, ip=ip)
    signature = AgreementSignature.objects.get(plan=plan)
    with signature.pdf.open("rb") as f:
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(f.read())).pages)
    assert name in text and role in text and ip in text and seller.name in text
    assert "2026-03-09 01:00:00" in text  # Beijing time; UTC is still 8 March
    assert "2026-03-08" not in text
    assert signature.text_sha256 in "".join(text.split())  # whatever the line breaks
    assert agreement.TITLE_ZH in text and agreement.TITLE_EN in text


# --- the signed record never changes --------------------------------------------------------------------


def _row(signature):
    return AgreementSignature.objects.filter(pk=signature.pk).values().get()


@pytest.mark.django_db
def test_the_model_refuses_to_change_or_delete_a_signature():
    signature = sign(accelerated_seller()).signature
    before = _row(signature)
    signature.signer_name = "Someone else"
    with pytest.raises(ImmutableRecord):
        signature.save()
    with pytest.raises(ImmutableRecord):
        signature.save(update_fields=["signer_name"])
    with pytest.raises(ImmutableRecord):
        signature.delete()
    assert _row(signature) == before


# SQLite (the no-Postgres fallback) refuses updates only: Django empties tables with DELETE there.
POSTGRES_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="deletes are refused on PostgreSQL")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(lambda qs: qs.update(signer_name="Someone else"), id="queryset-update"),
        pytest.param(lambda qs: qs.update(text_en="Nothing was agreed."), id="queryset-update-text"),
        pytest.param(lambda qs: qs.delete(), id="queryset-delete", marks=POSTGRES_ONLY),
        pytest.param(
            lambda qs: connection.cursor().execute(
                "UPDATE benefits_agreementsignature SET signer_role = %s WHERE id = %s", ["Intern", qs.get().pk]
            ),
            id="raw-update",
        ),
        pytest.param(
            lambda qs: connection.cursor().execute(
                "DELETE FROM benefits_agreementsignature WHERE id = %s", [qs.get().pk]
            ),
            id="raw-delete",
            marks=POSTGRES_ONLY,
        ),
    ],
)
def test_the_database_refuses_to_change_or_delete_a_signature(attempt):
    signature = sign(accelerated_seller()).signature
    before = _row(signature)
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        attempt(AgreementSignature.objects.filter(pk=signature.pk))
    assert _row(signature) == before


# --- operations decide -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_approving_opens_the_plan_and_tells_the_sellers_administrators(operator, django_capture_on_commit_callbacks):
    seller = accelerated_seller()
    colleague = seller_member(seller, "finance")
    plan = sign(seller)
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_approve(actor=fresh(operator), plan_id=plan.pk)
    plan.refresh_from_db()
    assert (plan.status, plan.decided_at, plan.rejection_reason) == (P.APPROVED, NOW, "")
    event = plan.events.get(to_status=P.APPROVED)
    assert (event.from_status, event.actor_id) == (P.PENDING, operator.pk)
    notice = Notification.objects.get()
    assert (notice.user_id, notice.link) == (admin_of(seller).pk, reverse("seller:acceleration_plan"))
    assert not Notification.objects.filter(user=colleague).exists()
    assert [m.to for m in mail.outbox] == [[admin_of(seller).email]]
    assert services.approved_plan(seller.pk) == plan


@pytest.mark.django_db
def test_rejecting_needs_a_reason_and_tells_the_seller_why(operator, django_capture_on_commit_callbacks):
    seller = accelerated_seller()
    plan = sign(seller)
    before = plan_state(plan)
    for reason in ("", "   ", None):
        with pytest.raises(ValidationFailed) as exc:
            services.plan_reject(actor=fresh(operator), plan_id=plan.pk, reason=reason)
        assert "reason" in exc.value.field_errors
    assert plan_state(plan) == before
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_reject(actor=fresh(operator), plan_id=plan.pk, reason="  GMV includes test orders  ")
    plan.refresh_from_db()
    assert (plan.status, plan.rejection_reason, plan.decided_at) == (P.REJECTED, "GMV includes test orders", NOW)
    event = plan.events.get(to_status=P.REJECTED)
    assert (event.message, event.actor_id) == ("GMV includes test orders", operator.pk)
    notice = Notification.objects.get(user=admin_of(seller))
    assert "GMV includes test orders" in notice.body
    assert len(mail.outbox) == 1 and "GMV includes test orders" in mail.outbox[0].body
    assert services.approved_plan(seller.pk) is None


@pytest.mark.django_db
def test_staff_without_the_permission_and_sellers_cannot_decide():
    seller = accelerated_seller()
    plan = sign(seller)
    before = plan_state(plan)
    finance = staff_in("finance")
    for actor in (staff_in("support"), finance, UserFactory(is_staff=True), admin_of(seller)):
        with pytest.raises(NotAllowed):
            services.plan_approve(actor=fresh(actor), plan_id=plan.pk)
        with pytest.raises(NotAllowed):
            services.plan_reject(actor=fresh(actor), plan_id=plan.pk, reason="No")
    assert plan_state(plan) == before


@pytest.mark.django_db
@pytest.mark.parametrize("final", [P.APPROVED, P.REJECTED])
def test_decided_plans_cannot_be_decided_again(operator, final):
    plan = sign(accelerated_seller())
    if final == P.APPROVED:
        services.plan_approve(actor=fresh(operator), plan_id=plan.pk)
    else:
        services.plan_reject(actor=fresh(operator), plan_id=plan.pk, reason="No")
    before = plan_state(plan)
    notices = Notification.objects.count()
    with pytest.raises(InvalidTransition):
        services.plan_approve(actor=fresh(operator), plan_id=plan.pk)
    with pytest.raises(InvalidTransition):
        services.plan_reject(actor=fresh(operator), plan_id=plan.pk, reason="Changed my mind")
    assert plan_state(plan) == before
    assert Notification.objects.count() == notices


@pytest.mark.django_db
def test_operations_are_told_of_an_application(django_capture_on_commit_callbacks):
    operator, support, finance = staff_in("operations"), staff_in("support"), staff_in("finance")
    inactive = staff_in("operations")
    inactive.is_active = False
    inactive.save()
    seller = accelerated_seller()
    with django_capture_on_commit_callbacks(execute=True):
        plan = sign(seller)
    notice = Notification.objects.get()
    assert notice.user_id == operator.pk
    assert notice.link == reverse("admin:benefits_accelerationplan_change", args=[plan.pk])
    assert seller.name in notice.title and seller.name in notice.body and "张伟" in notice.body
    assert not Notification.objects.filter(user__in=[support, finance, inactive, admin_of(seller)]).exists()
    assert [m.to for m in mail.outbox] == [[operator.email]]


# --- concurrency --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_applications_make_exactly_one_plan(private_media):
    """The seller's administrator double-clicks: two applications at the same moment, each in its own
    transaction; the database's one-plan rule lets exactly one through."""
    seller = accelerated_seller()
    user = admin_of(seller)
    barrier = threading.Barrier(2)
    outcomes = []

    def apply(name):
        try:
            actor = fresh(user)
            barrier.wait(timeout=10)
            services.plan_apply(actor=actor, signer_name=name, signer_role="总经理", agreed=True, ip="203.0.113.7")
            outcomes.append("applied")
        except Conflict as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(name,)) for name in ("张伟", "李娜")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["Conflict", "applied"]
    assert AccelerationPlan.objects.count() == AgreementSignature.objects.count() == 1
    assert AccelerationPlanEvent.objects.count() == 1
    assert len(stored_files(private_media)) == 1
