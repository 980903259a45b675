"""Cooperation applications in the back office: operations list and open acceleration plans, signed
agreements and marketing-support applications, decide them through actions (with a form where a
reason or an amount is asked), finance alone records payments; the agreement PDF and the sellers'
files download only for staff allowed to see them; signed agreements are never edited or deleted.

Pages render in the default language (Chinese): only data, never English labels, are asserted.
"""

import hashlib
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from benefits.models import AccelerationPlan, AgreementSignature, MarketingSupport, MarketingSupportAttachment
from tests.benefits.test_acceleration import accelerated_seller, sign
from tests.benefits.test_marketing import DATA, World
from tests.benefits.test_marketing import accelerated_seller as marketing_seller
from tests.benefits.test_services import _pinned_clock, admin_of, staff_in  # noqa: F401
from tests.factories import UserFactory, fresh, pdf_upload

pytestmark = pytest.mark.django_db
P = AccelerationPlan.Status
S = MarketingSupport.Status
PLANS = reverse("admin:benefits_accelerationplan_changelist")
SIGNATURES = reverse("admin:benefits_agreementsignature_changelist")
MARKETING = reverse("admin:benefits_marketingsupport_changelist")


@pytest.fixture
def operator():
    return staff_in("operations")


@pytest.fixture
def world(private_media, operator) -> World:
    return World(marketing_seller(), operator, staff_in("finance"), private_media)


def offered(client, url) -> set[str]:
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["action_form"]  # None when no action is offered at all
    return {value for value, _label in form.fields["action"].choices if value} if form else set()


def row(obj) -> dict:
    return type(obj).objects.filter(pk=obj.pk).values().get()


def content(response) -> bytes:
    return b"".join(response.streaming_content)


# --- lists and pages -------------------------------------------------------------------------------------


def test_operations_list_and_open_plans_signatures_and_applications(client, operator, world):
    pending = sign(accelerated_seller(), signer_name="王芳", signer_role="市场总监", ip="198.51.100.4")
    unsigned = world.seller.acceleration_plans.get()  # made without the seller's signature
    application = world.at(S.SUBMITTED)
    proposal_file = MarketingSupportAttachment.objects.create(
        application=application, kind="proposal", file=pdf_upload(), name="方案.pdf", size=80, uploaded_by=world.owner
    )
    client.force_login(operator)

    page = client.get(PLANS)
    assert page.status_code == 200
    assert [p.pk for p in page.context["cl"].result_list] == [unsigned.pk, pending.pk]  # arrival order
    assert "王芳" in page.content.decode()
    assert client.get(PLANS, {"status__exact": "pending", "q": "王芳"}).context["cl"].result_count == 1
    page = client.get(reverse("admin:benefits_accelerationplan_change", args=[pending.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "王芳" in text and "市场总监" in text and "198.51.100.4" in text
    assert "2026-03-09 01:00:00" in text  # Beijing time, as on the PDF
    assert reverse("admin:benefits_agreement_pdf", args=[pending.signature.pk]) in text
    assert client.get(reverse("admin:benefits_accelerationplan_change", args=[unsigned.pk])).status_code == 200

    page = client.get(SIGNATURES)
    assert page.status_code == 200
    assert [s.pk for s in page.context["cl"].result_list] == [pending.signature.pk]
    page = client.get(reverse("admin:benefits_agreementsignature_change", args=[pending.signature.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert pending.signature.text_sha256 in text and pending.signature.pdf_sha256 in text
    assert reverse("admin:benefits_agreement_pdf", args=[pending.signature.pk]) in text

    draft = world.draft(activity_name="Draft only")
    page = client.get(MARKETING)
    assert page.status_code == 200
    assert {a.pk for a in page.context["cl"].result_list} == {application.pk, draft.pk}
    assert application.number in page.content.decode()
    assert client.get(MARKETING, {"status__exact": "submitted"}).context["cl"].result_count == 1
    page = client.get(reverse("admin:benefits_marketingsupport_change", args=[application.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert DATA["activity_name"] in text and "方案.pdf" in text
    assert reverse("admin:benefits_marketing_file", args=[proposal_file.pk]) in text


# --- the acceleration plan's actions -------------------------------------------------------------------


def test_approve_plan_through_the_action(client, operator):
    plan = sign(accelerated_seller())
    client.force_login(operator)
    assert {"approve_plan", "reject_plan"} <= offered(client, PLANS)
    response = client.post(PLANS, {"action": "approve_plan", "_selected_action": [plan.pk]})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == P.APPROVED
    assert plan.events.get(to_status=P.APPROVED).actor_id == operator.pk
    before = row(plan)
    response = client.post(PLANS, {"action": "reject_plan", "_selected_action": [plan.pk], "apply": "1", "reason": "x"})
    assert row(plan) == before  # decided already: the service refuses, the admin says so


def test_reject_plan_asks_for_the_reason(client, operator):
    plan = sign(accelerated_seller())
    client.force_login(operator)
    form = client.post(PLANS, {"action": "reject_plan", "_selected_action": [plan.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    before = row(plan)
    page = client.post(PLANS, {"action": "reject_plan", "_selected_action": [plan.pk], "apply": "1", "reason": ""})
    assert page.status_code == 200 and b'name="reason"' in page.content
    assert row(plan) == before
    client.post(
        PLANS, {"action": "reject_plan", "_selected_action": [plan.pk], "apply": "1", "reason": "GMV not verified"}
    )
    plan.refresh_from_db()
    assert (plan.status, plan.rejection_reason) == (P.REJECTED, "GMV not verified")


def test_staff_without_the_permission_only_look_at_plans(client):
    plan = sign(accelerated_seller())
    before = row(plan)
    for user in (staff_in("support"), staff_in("finance")):
        client.force_login(user)
        assert not offered(client, PLANS) & {"approve_plan", "reject_plan"}
        client.post(PLANS, {"action": "approve_plan", "_selected_action": [plan.pk]})
        client.post(PLANS, {"action": "reject_plan", "_selected_action": [plan.pk], "apply": "1", "reason": "x"})
    assert row(plan) == before


# --- marketing support's actions ----------------------------------------------------------------------------


def test_approve_with_an_amount_through_the_action(client, operator, world):
    partial, whole, too_much = (world.at(S.SUBMITTED) for _ in range(3))
    client.force_login(operator)
    assert {"approve", "reject", "ask_changes", "accept", "return_materials"} <= offered(client, MARKETING)
    form = client.post(MARKETING, {"action": "approve", "_selected_action": [partial.pk]})
    assert form.status_code == 200 and b'name="amount"' in form.content
    client.post(MARKETING, {"action": "approve", "_selected_action": [partial.pk], "apply": "1", "amount": "30000"})
    client.post(MARKETING, {"action": "approve", "_selected_action": [whole.pk], "apply": "1", "amount": ""})
    before = row(too_much)
    response = client.post(
        MARKETING,
        {"action": "approve", "_selected_action": [too_much.pk], "apply": "1", "amount": "50000.01"},
        follow=True,
    )
    assert any(m.level_tag == "error" and too_much.activity_name in str(m) for m in response.context["messages"])
    assert row(too_much) == before
    for application, amount in ((partial, "30000"), (whole, "50000")):
        application.refresh_from_db()
        assert (application.status, application.approved_amount) == (S.APPROVED, Decimal(amount))
        assert application.events.last().actor_id == operator.pk


@pytest.mark.parametrize(
    "action, source, target, note_field",
    [
        ("reject", S.SUBMITTED, S.REJECTED, "review_note"),
        ("ask_changes", S.SUBMITTED, S.CHANGES_REQUESTED, "review_note"),
        ("return_materials", S.ACCEPTANCE_SUBMITTED, S.ACCEPTANCE_RETURNED, "acceptance_note"),
    ],
)
def test_actions_with_a_reason(client, operator, world, action, source, target, note_field):
    application = world.at(source)
    client.force_login(operator)
    form = client.post(MARKETING, {"action": action, "_selected_action": [application.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    before = row(application)
    client.post(MARKETING, {"action": action, "_selected_action": [application.pk], "apply": "1", "reason": " "})
    assert row(application) == before
    client.post(MARKETING, {"action": action, "_selected_action": [application.pk], "apply": "1", "reason": "Why"})
    application.refresh_from_db()
    assert (application.status, getattr(application, note_field)) == (target, "Why")
    event = application.events.last()
    assert (event.to_status, event.actor_id, event.message) == (target, operator.pk, "Why")


def test_accept_through_the_action(client, operator, world):
    application, not_yet = world.at(S.ACCEPTANCE_SUBMITTED), world.at(S.APPROVED)
    client.force_login(operator)
    before = row(not_yet)
    client.post(MARKETING, {"action": "accept", "_selected_action": [application.pk, not_yet.pk]})
    application.refresh_from_db()
    assert application.status == S.ACCEPTED
    assert row(not_yet) == before


def test_only_finance_is_offered_and_records_the_payment(client, operator, world):
    application = world.at(S.ACCEPTED)
    client.force_login(operator)
    assert "pay" not in offered(client, MARKETING)
    assert not operator.has_perm("benefits.pay_marketingsupport")
    before = row(application)
    client.post(
        MARKETING,
        {"action": "pay", "_selected_action": [application.pk], "apply": "1", "amount": "40000", "reference": "R"},
    )
    assert row(application) == before

    client.force_login(world.finance)
    actions = offered(client, MARKETING)
    assert "pay" in actions and not actions & {"approve", "reject", "ask_changes", "accept", "return_materials"}
    form = client.post(MARKETING, {"action": "pay", "_selected_action": [application.pk]})
    assert form.status_code == 200 and b'name="amount"' in form.content and b'name="reference"' in form.content
    client.post(
        MARKETING,
        {"action": "pay", "_selected_action": [application.pk], "apply": "1", "amount": "40000.01", "reference": "R"},
    )
    assert row(application) == before
    client.post(
        MARKETING,
        {"action": "pay", "_selected_action": [application.pk], "apply": "1", "amount": "39000", "reference": "BANK-9"},
    )
    application.refresh_from_db()
    assert (application.status, application.paid_amount, application.payment_reference) == (
        S.PAID,
        Decimal("39000"),
        "BANK-9",
    )
    assert application.events.last().actor_id == world.finance.pk


def test_support_staff_only_look_at_marketing_support(client, world):
    application = world.at(S.SUBMITTED)
    client.force_login(staff_in("support"))
    assert offered(client, MARKETING) == set()
    assert client.get(reverse("admin:benefits_marketingsupport_change", args=[application.pk])).status_code == 200
    before = row(application)
    client.post(MARKETING, {"action": "approve", "_selected_action": [application.pk], "apply": "1", "amount": ""})
    assert row(application) == before


# --- downloads ---------------------------------------------------------------------------------------------


def test_the_agreement_pdf_downloads_for_staff_allowed_to_see_it(client, operator):
    seller = accelerated_seller()
    signature = sign(seller).signature
    url = reverse("admin:benefits_agreement_pdf", args=[signature.pk])
    for user in (operator, staff_in("support"), staff_in("finance")):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert f"agreement-{seller.pk}-20260309.pdf" in response["Content-Disposition"]  # Beijing's date
        assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}
        assert hashlib.sha256(content(response)).hexdigest() == signature.pdf_sha256
    client.force_login(operator)
    assert client.get(reverse("admin:benefits_agreement_pdf", args=[signature.pk + 1000])).status_code == 404
    client.force_login(UserFactory(is_staff=True))  # staff, without the view permission
    assert client.get(url).status_code == 404
    client.force_login(admin_of(seller))  # the seller signed it, but this is the back office
    assert client.get(url).status_code == 302
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_the_sellers_files_download_for_staff_allowed_to_see_them(client, operator, world):
    application = world.at(S.ACCEPTANCE_SUBMITTED)
    evidence = application.attachments.get()
    url = reverse("admin:benefits_marketing_file", args=[evidence.pk])
    client.force_login(operator)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "proof.pdf" in response["Content-Disposition"]
    with evidence.file.open("rb") as f:
        assert content(response) == f.read()
    assert client.get(reverse("admin:benefits_marketing_file", args=[evidence.pk + 1000])).status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 404
    client.force_login(admin_of(world.seller))
    assert client.get(url).status_code == 302
    client.logout()
    assert client.get(url).status_code == 302


# --- signed agreements are never edited -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["operations", "superuser"])
def test_signed_agreements_cannot_be_added_changed_or_deleted_in_the_admin(client, who):
    user = UserFactory(is_staff=True, is_superuser=True) if who == "superuser" else staff_in("operations")
    signature = sign(accelerated_seller()).signature
    before = row(signature)
    model_admin = admin.site._registry[AgreementSignature]
    request = RequestFactory().get(SIGNATURES)
    request.user = fresh(user)
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_delete_permission(request, signature)
    assert not model_admin.has_change_permission(request, signature)
    assert not model_admin.has_add_permission(request)
    assert model_admin.has_view_permission(request, signature)

    client.force_login(user)
    page = client.get(reverse("admin:benefits_agreementsignature_change", args=[signature.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content and b'name="_continue"' not in page.content
    assert reverse("admin:benefits_agreementsignature_delete", args=[signature.pk]).encode() not in page.content
    assert "delete_selected" not in offered(client, SIGNATURES)
    response = client.post(
        reverse("admin:benefits_agreementsignature_change", args=[signature.pk]),
        {"signer_name": "Someone else", "signer_role": "Intern", "_save": "1"},
    )
    assert response.status_code == 403
    delete_url = reverse("admin:benefits_agreementsignature_delete", args=[signature.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:benefits_agreementsignature_add")).status_code == 403
    client.post(SIGNATURES, {"action": "delete_selected", "_selected_action": [signature.pk], "post": "yes"})
    assert row(signature) == before
    assert AgreementSignature.objects.count() == 1
