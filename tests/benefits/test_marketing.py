"""Merchant marketing support, the services: open only in an approved acceleration plan; drafts,
field checks and submission; the whole state machine (every move in the table works, every other
pair is refused and changes nothing); amounts against the budget and the approval, also in the
database; acceptance after the activity with evidence; payment by finance only; uploads checked and
cleaned up when the transaction fails; isolation between sellers; events and notices at each step.

The clock is pinned to Monday 9 March 2026, 01:00 Beijing time (still 8 March in UTC). The standard
activity ends on 9 March, so its acceptance materials may follow at once.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from benefits import services
from benefits.models import (
    AccelerationPlan,
    MarketingSupport,
    MarketingSupportAttachment,
    MarketingSupportEvent,
)
from marketplace.accounts.models import Seller, User
from marketplace.core.calendar import BEIJING
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.models import Notification
from tests.benefits.test_services import NOW, _pinned_clock, admin_of, staff_in  # noqa: F401
from tests.factories import PDF_BYTES, PNG_BYTES, SellerFactory, UserFactory, fresh, pdf_upload, seller_member

S = MarketingSupport.Status
K = MarketingSupportAttachment.Kind

DATA = {
    "activity_name": "春季云上促销",
    "starts_on": "2026-03-02",
    "ends_on": "2026-03-09",  # Beijing's today
    "channels": ["social", "marketplace"],
    "budget": "50000",
    "proposal": "首页推荐位与社交媒体投放，为期一周。",
}
REQUIRED = ["starts_on", "ends_on", "channels", "budget", "proposal"]


def approved_plan(seller: Seller, status=AccelerationPlan.Status.APPROVED) -> AccelerationPlan:
    return AccelerationPlan.objects.create(
        seller=seller,
        applied_by=admin_of(seller),
        gmv_at_application=Decimal("2000000"),
        status=status,
        decided_at=None if status == AccelerationPlan.Status.PENDING else NOW,
    )


def accelerated_seller() -> Seller:
    seller = SellerFactory()
    approved_plan(seller)
    return seller


def png_upload(name="shot.png", content=PNG_BYTES):
    return SimpleUploadedFile(name, content, content_type="image/png")


def stored(media, folder="marketing") -> list[str]:
    root = media / folder
    return sorted(str(p.relative_to(media)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@dataclass
class World:
    seller: Seller
    operator: User
    finance: User
    media: object

    @property
    def owner(self) -> User:
        return fresh(admin_of(self.seller))

    def draft(self, **overrides) -> MarketingSupport:
        data = {**DATA, **overrides}
        return services.marketing_save(actor=self.owner, data={k: v for k, v in data.items() if v is not None})

    def at(self, status: str, **overrides) -> MarketingSupport:
        """A fresh application brought to ``status`` through the services."""
        application = self.draft(**overrides)
        for step in PATHS[status]:
            MOVES[step](self, application.pk)
        application.refresh_from_db()
        assert application.status == status
        return application

    def snapshot(self, application) -> tuple:
        return (
            MarketingSupport.objects.filter(pk=application.pk).values().get(),
            list(MarketingSupportEvent.objects.filter(application_id=application.pk).values_list("pk", flat=True)),
            list(MarketingSupportAttachment.objects.filter(application_id=application.pk).values_list("pk", flat=True)),
            Notification.objects.count(),
            stored(self.media),
        )


# The service that performs each move, called as it would be with valid input.
MOVES = {
    S.SUBMITTED: lambda w, pk: services.marketing_submit(actor=w.owner, application_id=pk),
    S.WITHDRAWN: lambda w, pk: services.marketing_withdraw(actor=w.owner, application_id=pk),
    S.APPROVED: lambda w, pk: services.marketing_approve(actor=fresh(w.operator), application_id=pk, amount="40000"),
    S.REJECTED: lambda w, pk: services.marketing_reject(actor=fresh(w.operator), application_id=pk, reason="Off-brand"),
    S.CHANGES_REQUESTED: lambda w, pk: services.marketing_request_changes(
        actor=fresh(w.operator), application_id=pk, reason="Break the budget down"
    ),
    S.ACCEPTANCE_SUBMITTED: lambda w, pk: services.marketing_submit_acceptance(
        actor=w.owner, application_id=pk, report="1.2M impressions, 3,400 sign-ups", files=[pdf_upload("proof.pdf")]
    ),
    S.ACCEPTANCE_RETURNED: lambda w, pk: services.marketing_return(
        actor=fresh(w.operator), application_id=pk, reason="Screenshots unreadable"
    ),
    S.ACCEPTED: lambda w, pk: services.marketing_accept(actor=fresh(w.operator), application_id=pk),
    S.PAID: lambda w, pk: services.marketing_pay(
        actor=fresh(w.finance), application_id=pk, amount="40000", reference="PAY-2026-0001"
    ),
}
PATHS = {
    S.DRAFT: [],
    S.SUBMITTED: [S.SUBMITTED],
    S.CHANGES_REQUESTED: [S.SUBMITTED, S.CHANGES_REQUESTED],
    S.APPROVED: [S.SUBMITTED, S.APPROVED],
    S.REJECTED: [S.SUBMITTED, S.REJECTED],
    S.ACCEPTANCE_SUBMITTED: [S.SUBMITTED, S.APPROVED, S.ACCEPTANCE_SUBMITTED],
    S.ACCEPTANCE_RETURNED: [S.SUBMITTED, S.APPROVED, S.ACCEPTANCE_SUBMITTED, S.ACCEPTANCE_RETURNED],
    S.ACCEPTED: [S.SUBMITTED, S.APPROVED, S.ACCEPTANCE_SUBMITTED, S.ACCEPTED],
    S.PAID: [S.SUBMITTED, S.APPROVED, S.ACCEPTANCE_SUBMITTED, S.ACCEPTED, S.PAID],
    S.WITHDRAWN: [S.WITHDRAWN],
}


@pytest.fixture
def world(db, private_media) -> World:
    return World(accelerated_seller(), staff_in("operations"), staff_in("finance"), private_media)


def test_the_tables_cover_every_status_and_move():
    assert set(PATHS) == set(S.values) == set(MarketingSupport.TRANSITIONS)
    assert set(MOVES) == {t for targets in MarketingSupport.TRANSITIONS.values() for t in targets}


# --- closed until the plan is approved ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("plan", [None, AccelerationPlan.Status.PENDING, AccelerationPlan.Status.REJECTED])
def test_closed_until_the_acceleration_plan_is_approved(private_media, plan):
    seller = SellerFactory()
    if plan is not None:
        approved_plan(seller, plan)
    assert services.not_open_reason(seller.pk)
    with pytest.raises(Conflict):
        services.marketing_save(actor=fresh(admin_of(seller)), data=DATA, files=[pdf_upload()], submit=True)
    assert not MarketingSupport.objects.exists() and not MarketingSupportEvent.objects.exists()
    assert not MarketingSupportAttachment.objects.exists() and stored(private_media) == []


@pytest.mark.django_db
def test_opens_when_operations_approve_the_plan(private_media):
    seller = SellerFactory()
    plan = approved_plan(seller, AccelerationPlan.Status.PENDING)
    services.plan_approve(actor=fresh(staff_in("operations")), plan_id=plan.pk)
    assert services.not_open_reason(seller.pk) == ""
    application = services.marketing_save(actor=fresh(admin_of(seller)), data=DATA)
    assert (application.plan_id, application.seller_id, application.status) == (plan.pk, seller.pk, S.DRAFT)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_only_the_sellers_administrators_apply(world, role):
    member = seller_member(world.seller, role)
    with pytest.raises(NotAllowed):
        services.marketing_save(actor=fresh(member), data=DATA)
    application = world.draft()
    with pytest.raises(NotAllowed):
        services.marketing_submit(actor=fresh(member), application_id=application.pk)
    assert MarketingSupport.objects.get().status == S.DRAFT


# --- drafting ----------------------------------------------------------------------------------------------


def test_a_draft_may_be_incomplete_but_needs_a_name(world):
    application = services.marketing_save(actor=world.owner, data={"activity_name": "  Idea  "})
    application.refresh_from_db()
    assert (application.status, application.activity_name, application.starts_on, application.ends_on) == (
        S.DRAFT,
        "Idea",
        None,
        None,
    )
    assert (application.channels, application.budget, application.proposal) == ([], None, "")
    assert (application.created_by_id, application.created_at, application.submitted_at) == (
        world.owner.pk,
        NOW,
        None,
    )
    event = application.events.get()
    assert (event.from_status, event.to_status, event.actor_id) == ("", S.DRAFT, world.owner.pk)
    for data in ({}, {"activity_name": "   "}, {"activity_name": "x" * 121}):
        with pytest.raises(ValidationFailed) as exc:
            services.marketing_save(actor=world.owner, data={**DATA, **data} if data else {})
        assert "activity_name" in exc.value.field_errors
    assert MarketingSupport.objects.count() == 1


@pytest.mark.parametrize(
    "field, value",
    [
        ("starts_on", "2026-13-01"),
        ("starts_on", "next week"),
        ("ends_on", "09/03/2026"),
        ("budget", "lots"),
        ("budget", "0"),
        ("budget", "-100"),
        ("budget", "NaN"),
        ("budget", "Infinity"),
        ("budget", "100000001"),
        ("channels", ["marketplace", "television"]),
        ("channels", {"marketplace": True}),
        ("channels", 7),
        ("proposal", "p" * 20001),
    ],
)
def test_malformed_fields_are_field_errors(world, field, value):
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_save(actor=world.owner, data={**DATA, field: value}, files=[pdf_upload()])
    assert set(exc.value.field_errors) == {field}
    assert not MarketingSupport.objects.exists() and stored(world.media) == []


def test_fields_are_normalised(world):
    application = world.draft(budget="1,234.565", channels=["social", "marketplace", "social"], ends_on="2026-03-20")
    application.refresh_from_db()
    assert application.budget == Decimal("1234.57")
    assert application.channels == ["marketplace", "social"]  # the list's order, once each
    assert application.ends_on.isoformat() == "2026-03-20"
    assert world.draft(channels="email").channels == ["email"]


def test_an_activity_cannot_end_before_it_starts(world):
    with pytest.raises(ValidationFailed) as exc:
        world.draft(starts_on="2026-04-10", ends_on="2026-04-01")
    assert set(exc.value.field_errors) == {"ends_on"}
    assert world.draft(starts_on="2026-04-10", ends_on="2026-04-10").status == S.DRAFT


def test_a_draft_is_edited_with_its_files(world):
    application = world.draft(budget=None)
    services.marketing_save(
        actor=world.owner,
        application_id=application.pk,
        data={**DATA, "activity_name": "Renamed", "budget": "60000"},
        files=[pdf_upload("plan.pdf"), png_upload("poster.png")],
    )
    application.refresh_from_db()
    assert (application.activity_name, application.budget, application.status) == ("Renamed", Decimal("60000"), S.DRAFT)
    files = list(application.attachments.all())
    assert [(f.kind, f.name, f.size, f.uploaded_by_id) for f in files] == [
        (K.PROPOSAL, "plan.pdf", len(PDF_BYTES), world.owner.pk),
        (K.PROPOSAL, "poster.png", len(PNG_BYTES), world.owner.pk),
    ]
    with files[0].file.open("rb") as f:
        assert f.read() == PDF_BYTES
    assert len(stored(world.media)) == 2
    assert application.events.count() == 1  # editing is not a move


# --- submitting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", REQUIRED)
def test_submitting_needs_every_field(world, missing):
    application = world.draft(**{missing: None})
    before = world.snapshot(application)
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_submit(actor=world.owner, application_id=application.pk)
    assert set(exc.value.field_errors) == {missing}
    assert world.snapshot(application) == before


def test_submitting_an_empty_draft_names_every_missing_field(world):
    application = services.marketing_save(actor=world.owner, data={"activity_name": "Idea"})
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_submit(actor=world.owner, application_id=application.pk)
    assert set(exc.value.field_errors) == set(REQUIRED)


def test_an_activity_already_over_is_not_submitted(world):
    application = world.draft(starts_on="2026-03-01", ends_on="2026-03-08")  # yesterday in Beijing
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_submit(actor=world.owner, application_id=application.pk)
    assert set(exc.value.field_errors) == {"ends_on"}
    application.refresh_from_db()
    assert application.status == S.DRAFT


def test_saving_and_submitting_at_once(world):
    application = services.marketing_save(actor=world.owner, data=DATA, files=[pdf_upload()], submit=True)
    application.refresh_from_db()
    assert (application.status, application.submitted_at) == (S.SUBMITTED, NOW)
    assert [e.to_status for e in application.events.all()] == [S.DRAFT, S.SUBMITTED]
    with pytest.raises(InvalidTransition):
        services.marketing_save(actor=world.owner, application_id=application.pk, data={**DATA, "budget": "1"})
    application.refresh_from_db()
    assert application.budget == Decimal("50000")


def test_changes_requested_are_made_and_submitted_again(world):
    application = world.at(S.CHANGES_REQUESTED)
    assert application.review_note == "Break the budget down"
    services.marketing_save(
        actor=world.owner,
        application_id=application.pk,
        data={**DATA, "budget": "45000", "proposal": "Ads 30,000; events 15,000."},
        submit=True,
    )
    application.refresh_from_db()
    assert (application.status, application.budget) == (S.SUBMITTED, Decimal("45000"))
    assert [e.to_status for e in application.events.all()] == [S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.SUBMITTED]


# --- the state machine --------------------------------------------------------------------------------------

PAIRS = [(source, target) for source in S.values for target in MOVES]


@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_every_move_in_the_table_works_and_every_other_is_refused(world, source, target):
    application = world.at(source)
    actor = world.finance if target == S.PAID else world.operator
    if target in (S.SUBMITTED, S.WITHDRAWN, S.ACCEPTANCE_SUBMITTED):
        actor = admin_of(world.seller)
    if target in MarketingSupport.TRANSITIONS[source]:
        MOVES[target](world, application.pk)
        application.refresh_from_db()
        assert application.status == target
        event = application.events.last()
        assert (event.from_status, event.to_status, event.actor_id) == (source, target, actor.pk)
    else:
        before = world.snapshot(application)
        with pytest.raises(InvalidTransition):
            MOVES[target](world, application.pk)
        assert world.snapshot(application) == before


@pytest.mark.parametrize("status", [s for s in S.values if s not in MarketingSupport.EDITABLE])
def test_only_editable_applications_are_edited_or_lose_files(world, status):
    application = world.at(status)
    proposal = MarketingSupportAttachment.objects.create(
        application=application, kind=K.PROPOSAL, file=pdf_upload(), name="plan.pdf", size=1, uploaded_by=world.owner
    )
    before = world.snapshot(application)
    with pytest.raises(InvalidTransition):
        services.marketing_save(actor=world.owner, application_id=application.pk, data=DATA, files=[pdf_upload()])
    with pytest.raises(InvalidTransition):
        services.marketing_attachment_remove(actor=world.owner, attachment_id=proposal.pk)
    assert world.snapshot(application) == before


# --- operations review ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [None, ""])
def test_approving_without_an_amount_grants_the_whole_budget(world, amount):
    application = world.at(S.SUBMITTED)
    services.marketing_approve(actor=fresh(world.operator), application_id=application.pk, amount=amount)
    application.refresh_from_db()
    assert (application.status, application.approved_amount) == (S.APPROVED, Decimal("50000"))
    event = application.events.last()
    assert (event.actor_id, event.params) == (world.operator.pk, {"amount": "50000.00"})


@pytest.mark.parametrize("amount", ["50000.01", "0", "-5", "0.001", "abc", "NaN"])
def test_approving_more_than_the_budget_or_nothing_is_refused(world, amount):
    application = world.at(S.SUBMITTED)
    before = world.snapshot(application)
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_approve(actor=fresh(world.operator), application_id=application.pk, amount=amount)
    assert set(exc.value.field_errors) == {"amount"}
    assert world.snapshot(application) == before
    services.marketing_approve(actor=fresh(world.operator), application_id=application.pk, amount="50000.00")
    application.refresh_from_db()
    assert application.approved_amount == Decimal("50000")


@pytest.mark.parametrize(
    "status, service",
    [
        (S.SUBMITTED, services.marketing_reject),
        (S.SUBMITTED, services.marketing_request_changes),
        (S.ACCEPTANCE_SUBMITTED, services.marketing_return),
    ],
)
def test_refusals_need_a_reason(world, status, service):
    application = world.at(status)
    before = world.snapshot(application)
    for reason in ("", "  \n ", None):
        with pytest.raises(ValidationFailed) as exc:
            service(actor=fresh(world.operator), application_id=application.pk, reason=reason)
        assert "reason" in exc.value.field_errors
    assert world.snapshot(application) == before
    service(actor=fresh(world.operator), application_id=application.pk, reason="  Not this time  ")
    event = application.events.last()
    assert (event.message, event.actor_id) == ("Not this time", world.operator.pk)


def test_reviewing_needs_the_permission(world):
    application = world.at(S.SUBMITTED)
    before = world.snapshot(application)
    for actor in (world.finance, staff_in("support"), UserFactory(is_staff=True), admin_of(world.seller)):
        with pytest.raises(NotAllowed):
            services.marketing_approve(actor=fresh(actor), application_id=application.pk)
        with pytest.raises(NotAllowed):
            services.marketing_reject(actor=fresh(actor), application_id=application.pk, reason="x")
        with pytest.raises(NotAllowed):
            services.marketing_request_changes(actor=fresh(actor), application_id=application.pk, reason="x")
    assert world.snapshot(application) == before
    accepted = world.at(S.ACCEPTANCE_SUBMITTED)
    before = world.snapshot(accepted)
    for actor in (world.finance, admin_of(world.seller)):
        with pytest.raises(NotAllowed):
            services.marketing_accept(actor=fresh(actor), application_id=accepted.pk)
        with pytest.raises(NotAllowed):
            services.marketing_return(actor=fresh(actor), application_id=accepted.pk, reason="x")
    assert world.snapshot(accepted) == before


# --- acceptance ---------------------------------------------------------------------------------------------


def test_acceptance_materials_only_after_the_activity(world):
    application = world.at(S.APPROVED, ends_on="2026-03-20")
    before = world.snapshot(application)
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_submit_acceptance(
            actor=world.owner, application_id=application.pk, report="Done early", files=[pdf_upload()]
        )
    assert "2026-03-20" in exc.value.message and set(exc.value.field_errors) == {"report"}
    assert world.snapshot(application) == before
    # 00:30 on 20 March in Beijing is still 19 March in UTC: the Beijing date counts.
    with time_machine.travel(datetime(2026, 3, 20, 0, 30, tzinfo=BEIJING), tick=False):
        services.marketing_submit_acceptance(
            actor=world.owner, application_id=application.pk, report="Done", files=[pdf_upload()]
        )
    application.refresh_from_db()
    assert (application.status, application.acceptance_report) == (S.ACCEPTANCE_SUBMITTED, "Done")


def test_acceptance_needs_a_report_and_evidence(world):
    application = world.at(S.APPROVED)
    MarketingSupportAttachment.objects.create(
        application=application, kind=K.PROPOSAL, file=pdf_upload(), name="plan.pdf", size=1, uploaded_by=world.owner
    )
    before = world.snapshot(application)
    for report in ("", "   "):
        with pytest.raises(ValidationFailed) as exc:
            services.marketing_submit_acceptance(
                actor=world.owner, application_id=application.pk, report=report, files=[pdf_upload()]
            )
        assert set(exc.value.field_errors) == {"report"}
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_submit_acceptance(actor=world.owner, application_id=application.pk, report="r" * 20001)
    assert set(exc.value.field_errors) == {"report"}
    with pytest.raises(ValidationFailed) as exc:  # the plan's files are no evidence
        services.marketing_submit_acceptance(actor=world.owner, application_id=application.pk, report="Done")
    assert set(exc.value.field_errors) == {"files"}
    assert world.snapshot(application) == before

    services.marketing_submit_acceptance(
        actor=world.owner, application_id=application.pk, report="Done", files=[pdf_upload("a.pdf"), png_upload()]
    )
    assert application.attachments.filter(kind=K.ACCEPTANCE).count() == 2
    services.marketing_return(actor=fresh(world.operator), application_id=application.pk, reason="Sign the report")
    # Handed in again: the evidence handed in before still counts.
    services.marketing_submit_acceptance(actor=world.owner, application_id=application.pk, report="Done, signed")
    application.refresh_from_db()
    assert (application.status, application.acceptance_report) == (S.ACCEPTANCE_SUBMITTED, "Done, signed")
    assert application.attachments.filter(kind=K.ACCEPTANCE).count() == 2
    services.marketing_accept(actor=fresh(world.operator), application_id=application.pk)
    application.refresh_from_db()
    assert (application.status, application.acceptance_note) == (S.ACCEPTED, "")


# --- payment ------------------------------------------------------------------------------------------------


def test_only_finance_records_the_payment(world):
    application = world.at(S.ACCEPTED)
    before = world.snapshot(application)
    for actor in (world.operator, staff_in("support"), UserFactory(is_staff=True), admin_of(world.seller)):
        with pytest.raises(NotAllowed):
            services.marketing_pay(actor=fresh(actor), application_id=application.pk, amount="1", reference="R")
    assert not world.operator.has_perm("benefits.pay_marketingsupport")
    assert world.snapshot(application) == before


@pytest.mark.parametrize(
    "amount, reference, keys",
    [
        ("40000.01", "PAY-1", {"amount"}),
        ("", "PAY-1", {"amount"}),
        (None, "PAY-1", {"amount"}),
        ("0", "PAY-1", {"amount"}),
        ("-1", "PAY-1", {"amount"}),
        ("39000", "", {"reference"}),
        ("39000", "   ", {"reference"}),
        ("39000", "R" * 101, {"reference"}),
        ("99999", None, {"amount", "reference"}),
    ],
)
def test_the_payment_is_checked(world, amount, reference, keys):
    application = world.at(S.ACCEPTED)
    before = world.snapshot(application)
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_pay(
            actor=fresh(world.finance), application_id=application.pk, amount=amount, reference=reference
        )
    assert set(exc.value.field_errors) == keys
    assert world.snapshot(application) == before


def test_paying_at_most_the_approved_amount_once(world, django_capture_on_commit_callbacks):
    application = world.at(S.ACCEPTED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.marketing_pay(
            actor=fresh(world.finance), application_id=application.pk, amount="38500.5", reference=" PAY-77 "
        )
    application.refresh_from_db()
    assert (application.status, application.paid_amount, application.payment_reference, application.paid_at) == (
        S.PAID,
        Decimal("38500.50"),
        "PAY-77",
        NOW,
    )
    event = application.events.last()
    assert (event.actor_id, event.params) == (world.finance.pk, {"amount": "38500.50", "reference": "PAY-77"})
    assert [m.to for m in mail.outbox] == [[admin_of(world.seller).email]]
    assert "PAY-77" in mail.outbox[0].body
    before = world.snapshot(application)
    with pytest.raises(InvalidTransition):
        services.marketing_pay(actor=fresh(world.finance), application_id=application.pk, amount="1", reference="X")
    assert world.snapshot(application) == before


# --- the database holds the amounts too -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"paid_amount": Decimal("40000.01")}, id="paid-above-approved"),
        pytest.param({"paid_amount": Decimal("0")}, id="paid-zero"),
        pytest.param({"approved_amount": Decimal("50000.01")}, id="approved-above-budget"),
        pytest.param({"approved_amount": Decimal("-1")}, id="approved-negative"),
        pytest.param({"budget": Decimal("0")}, id="budget-zero"),
        pytest.param({"budget": Decimal("39999.99")}, id="budget-below-approved"),
    ],
)
def test_the_database_checks_the_amounts(world, changes):
    application = world.at(S.PAID)
    before = world.snapshot(application)
    with pytest.raises(IntegrityError), transaction.atomic():
        MarketingSupport.objects.filter(pk=application.pk).update(**changes)
    assert world.snapshot(application) == before


# --- uploads ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        pytest.param([SimpleUploadedFile("tool.exe", b"MZ" + b"\x00" * 50)], id="type"),
        pytest.param([SimpleUploadedFile("plan.docx", b"PK\x03\x04" + b"\x00" * 50)], id="docx"),
        pytest.param([pdf_upload("fake.pdf", PNG_BYTES)], id="content-not-pdf"),
        pytest.param([png_upload("fake.png", PDF_BYTES)], id="content-not-png"),
        pytest.param([pdf_upload("empty.pdf", b"")], id="empty"),
        pytest.param([pdf_upload("big.pdf", PDF_BYTES + b"0" * 2048)], id="size"),
        pytest.param([pdf_upload(f"p{i}.pdf") for i in range(11)], id="too-many"),
    ],
)
def test_uploads_are_checked(world, settings, files):
    settings.UPLOAD_MAX_BYTES = 1024
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_save(actor=world.owner, data=DATA, files=files)
    assert set(exc.value.field_errors) == {"files"}
    assert not MarketingSupport.objects.exists() and stored(world.media) == []
    application = world.at(S.APPROVED)
    before = world.snapshot(application)
    for f in files:
        f.seek(0)
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_submit_acceptance(
            actor=world.owner, application_id=application.pk, report="Done", files=files
        )
    assert set(exc.value.field_errors) == {"files"}
    assert world.snapshot(application) == before


def test_files_of_a_failed_transaction_are_deleted(world):
    with pytest.raises(ValidationFailed) as exc:
        services.marketing_save(
            actor=world.owner, data={**DATA, "budget": ""}, files=[pdf_upload(), png_upload()], submit=True
        )
    assert set(exc.value.field_errors) == {"budget"}
    assert not MarketingSupport.objects.exists() and not MarketingSupportAttachment.objects.exists()
    assert stored(world.media) == []

    application = services.marketing_save(actor=world.owner, data={**DATA, "proposal": ""}, files=[pdf_upload()])
    kept = stored(world.media)
    assert len(kept) == 1
    with pytest.raises(ValidationFailed):
        services.marketing_save(
            actor=world.owner,
            application_id=application.pk,
            data={**DATA, "proposal": ""},
            files=[png_upload()],
            submit=True,
        )
    assert stored(world.media) == kept
    assert application.attachments.count() == 1
    application.refresh_from_db()
    assert application.status == S.DRAFT


def test_a_file_is_removed_from_a_draft(world, django_capture_on_commit_callbacks):
    application = services.marketing_save(actor=world.owner, data=DATA, files=[pdf_upload("plan.pdf"), png_upload()])
    first, second = application.attachments.all()
    with django_capture_on_commit_callbacks(execute=True):
        services.marketing_attachment_remove(actor=world.owner, attachment_id=first.pk)
    assert list(application.attachments.all()) == [second]
    assert stored(world.media) == [second.file.name]
    event = application.events.last()
    assert (event.actor_id, event.params, event.to_status) == (world.owner.pk, {"name": "plan.pdf"}, S.DRAFT)


def test_acceptance_files_are_not_removed(world):
    application = world.at(S.ACCEPTANCE_RETURNED)
    evidence = application.attachments.get(kind=K.ACCEPTANCE)
    before = world.snapshot(application)
    with pytest.raises(InvalidTransition):
        services.marketing_attachment_remove(actor=world.owner, attachment_id=evidence.pk)
    assert world.snapshot(application) == before


# --- isolation ------------------------------------------------------------------------------------------------


def test_another_seller_cannot_touch_the_application_or_its_files(world):
    application = world.at(S.APPROVED)
    MarketingSupportAttachment.objects.create(
        application=application, kind=K.PROPOSAL, file=pdf_upload(), name="plan.pdf", size=1, uploaded_by=world.owner
    )
    draft = world.draft()
    services.marketing_save(actor=world.owner, application_id=draft.pk, data=DATA, files=[pdf_upload()])
    other = fresh(admin_of(accelerated_seller()))
    snapshots = {a.pk: world.snapshot(a) for a in (application, draft)}
    for target in (application, draft):
        for call in (
            lambda pk: services.marketing_save(actor=other, application_id=pk, data=DATA),
            lambda pk: services.marketing_submit(actor=other, application_id=pk),
            lambda pk: services.marketing_withdraw(actor=other, application_id=pk),
            lambda pk: services.marketing_submit_acceptance(
                actor=other, application_id=pk, report="Mine", files=[pdf_upload()]
            ),
        ):
            with pytest.raises(NotFound):
                call(target.pk)
    for attachment in MarketingSupportAttachment.objects.all():
        with pytest.raises(NotFound):
            services.marketing_attachment_remove(actor=other, attachment_id=attachment.pk)
    for pk in ("abc", -1, 0, None, 10**30):
        with pytest.raises(NotFound):
            services.marketing_submit(actor=world.owner, application_id=pk)
    assert {a.pk: world.snapshot(a) for a in (application, draft)} == snapshots
    assert not MarketingSupport.objects.filter(created_by=other).exists()


# --- events and notices -------------------------------------------------------------------------------------


def test_every_move_is_an_event_with_its_actor_and_a_notice(world, django_capture_on_commit_callbacks):
    """The long way round: changes requested, materials returned once. The seller's administrators
    hear of operations' decisions; operations (only those who review) of the seller's submissions;
    finance of an accepted activity whose support is due."""
    owner, operator, finance = admin_of(world.seller), world.operator, world.finance
    colleague = seller_member(world.seller, "finance")
    support = staff_in("support")
    application = world.draft()
    steps = [
        (S.SUBMITTED, owner, operator),
        (S.CHANGES_REQUESTED, operator, owner),
        (S.SUBMITTED, owner, operator),
        (S.APPROVED, operator, owner),
        (S.ACCEPTANCE_SUBMITTED, owner, operator),
        (S.ACCEPTANCE_RETURNED, operator, owner),
        (S.ACCEPTANCE_SUBMITTED, owner, operator),
        (S.ACCEPTED, operator, owner),
        (S.PAID, finance, owner),
    ]
    mail.outbox.clear()
    for target, actor, told in steps:
        Notification.objects.all().delete()
        with django_capture_on_commit_callbacks(execute=True):
            MOVES[target](world, application.pk)
        application.refresh_from_db()
        if target == S.ACCEPTED:  # finance hear the support is due to be paid
            due = Notification.objects.get(user=finance)
            assert application.number in due.title
            assert due.link == reverse("admin:benefits_marketingsupport_change", args=[application.pk])
            assert mail.outbox.pop().to == [finance.email]
            due.delete()
        notice = Notification.objects.get()
        assert notice.user_id == told.pk, target
        assert application.number in notice.title
        if told == owner:
            assert notice.link == reverse("seller:marketing_support_detail", args=[application.pk])
        else:
            assert notice.link == reverse("admin:benefits_marketingsupport_change", args=[application.pk])
        assert mail.outbox[-1].to == [told.email]
    assert len(mail.outbox) == len(steps)
    assert not Notification.objects.filter(user__in=[colleague, support]).exists()
    events = [(e.from_status, e.to_status, e.actor_id) for e in application.events.all()]
    assert events == [("", S.DRAFT, owner.pk)] + [
        (source, target, actor.pk)
        for (source, (target, actor, _told)) in zip([S.DRAFT] + [t for t, _a, _n in steps[:-1]], steps, strict=True)
    ]
    assert all(e.created_at == NOW for e in application.events.all())


def test_the_seller_is_told_why(world):
    application = world.at(S.SUBMITTED)
    Notification.objects.all().delete()
    services.marketing_reject(actor=fresh(world.operator), application_id=application.pk, reason="Off-brand visuals")
    assert "Off-brand visuals" in Notification.objects.get(user=admin_of(world.seller)).body


def test_withdrawing_an_application_under_review_tells_operations_but_a_draft_tells_no_one(world):
    draft, submitted = world.draft(), world.at(S.SUBMITTED)
    Notification.objects.all().delete()
    services.marketing_withdraw(actor=world.owner, application_id=draft.pk)
    assert not Notification.objects.exists()
    services.marketing_withdraw(actor=world.owner, application_id=submitted.pk)
    notice = Notification.objects.get()
    assert notice.user_id == world.operator.pk
    assert submitted.number in notice.title
