"""Cooperation applications in the seller center: the merchant acceleration plan (GMV progress, signing
the agreement, the signed PDF) and merchant marketing support (closed before the plan is approved;
drafts, edits, submitting, withdrawing, files, acceptance materials), with isolation between sellers,
the role check, and no 500 on bad input.

Pages run on the real clock, so GMV is booked in the current calendar year (Beijing). The default
language is Chinese: assertions go by data-testid, numbers and what the user typed.
"""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from benefits import services
from benefits.models import (
    AccelerationPlan,
    AgreementSignature,
    MarketingSupport,
    MarketingSupportAttachment,
    MarketingSupportEvent,
)
from marketplace.core import calendar
from tests.benefits.test_services import ledger, staff_in
from tests.factories import PDF_BYTES, PNG_BYTES, SellerFactory, fresh, seller_member

TODAY = calendar.today()
PERIOD = date(TODAY.year, 1, 1)
PLAN_URL = reverse("seller:acceleration_plan")
PDF_URL = reverse("seller:acceleration_agreement_pdf")
HUB_URL = reverse("seller:cooperation")
LIST_URL = reverse("seller:marketing_support")
NEW_URL = reverse("seller:marketing_support_new")
SIGN = {"signer_name": "Zhang Wei", "signer_role": "General manager", "agreed": "on"}


def png(name="poster.png"):
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def pdf(name="plan.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def form_data(**overrides) -> dict:
    data = {
        "activity_name": "Spring cloud festival",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=20)).isoformat(),
        "channels": ["marketplace", "social"],
        "budget": "80000",
        "proposal": "Landing page, two webinars, social posts.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def rich(seller):
    ledger(seller, "2500000", period=PERIOD)
    return seller


@pytest.fixture
def client_of(client, seller_user):
    client.force_login(seller_user)
    return client


@pytest.fixture
def in_plan(rich, seller_user):
    """The seller signed and operations approved: marketing support is open."""
    plan = services.plan_apply(actor=fresh(seller_user), signer_name="Zhang Wei", signer_role="CEO", agreed=True)
    services.plan_approve(actor=staff_in("operations"), plan_id=plan.pk)
    return plan


def make_application(seller_user, *, submit=False, **overrides) -> MarketingSupport:
    data = form_data(**overrides)
    return services.marketing_save(actor=fresh(seller_user), data=data, submit=submit)


def errors_of(response, form="form") -> dict:
    return response.context[form].errors


# --- the hub ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_hub_shows_plan_progress_and_marketing_closed(client_of, seller):
    ledger(seller, "500000", period=PERIOD)
    response = client_of.get(HUB_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="plan-card"' in html and 'data-testid="marketing-card"' in html
    assert "500,000.00" in html and "2,000,000.00" in html
    assert 'data-testid="closed-reason"' in html
    assert reverse("seller:benefits") in html and PLAN_URL in html and LIST_URL in html
    assert 'href="/seller/cooperation/"' in html  # the sidebar entry


@pytest.mark.django_db
def test_hub_counts_applications_by_status_once_open(client_of, in_plan, seller_user):
    make_application(seller_user)
    make_application(seller_user, submit=True)
    make_application(seller_user, submit=True)
    response = client_of.get(HUB_URL)
    html = response.content.decode()
    assert 'data-testid="closed-reason"' not in html
    counts = response.context["by_status"]
    assert [(row["status"], row["n"]) for row in counts] == [("draft", 1), ("submitted", 2)]
    assert NEW_URL in html


# --- the acceleration plan -------------------------------------------------------------------------


@pytest.mark.django_db
def test_below_the_threshold_the_page_says_how_far_and_offers_no_form(client_of, seller):
    ledger(seller, "1200000", period=PERIOD)
    ledger(seller, "5000000", period=date(TODAY.year - 1, 6, 1))  # last year does not count
    response = client_of.get(PLAN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="to-go"' in html and "800,000.00" in html
    assert 'data-testid="sign-form"' not in html and "signer_name" not in html
    assert response.context["progress"]["percent"] == 60

    # and posting anyway is refused, with nothing written
    response = client_of.post(PLAN_URL, SIGN)
    assert response.status_code == 409
    assert 'data-testid="page-error"' in response.content.decode()
    assert not AccelerationPlan.objects.exists() and not AgreementSignature.objects.exists()


@pytest.mark.django_db
def test_signing_applies_records_the_signature_and_the_pdf_downloads(client_of, rich, seller_user):
    page = client_of.get(PLAN_URL).content.decode()
    assert 'data-testid="sign-form"' in page and 'data-testid="agreement-text"' in page
    assert "商家营销支持支付协议" in page and "Merchant Marketing Support Payment Agreement" in page
    assert rich.name in page and "data-confirm=" in page

    response = client_of.post(PLAN_URL, SIGN, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Test browser")
    assert response.status_code == 302 and response["Location"] == PLAN_URL
    plan = AccelerationPlan.objects.get()
    signature = AgreementSignature.objects.get()
    assert (plan.seller_id, plan.status, plan.applied_by_id) == (rich.pk, "pending", seller_user.pk)
    assert (signature.plan_id, signature.signer_name, signature.signer_role) == (
        plan.pk,
        "Zhang Wei",
        "General manager",
    )
    assert (signature.ip, signature.user_agent) == ("203.0.113.9", "Test browser")

    html = client_of.get(PLAN_URL).content.decode()
    assert 'data-testid="sign-form"' not in html
    assert 'data-testid="signature"' in html and 'data-testid="pending-notice"' in html
    assert "Zhang Wei" in html and "203.0.113.9" in html and signature.text_sha256 in html
    assert signature.version in html and PDF_URL in html and 'data-testid="timeline"' in html

    download = client_of.get(PDF_URL)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Cache-Control"] == "private, no-store"
    body = b"".join(download.streaming_content)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert "Zhang Wei" in text and "203.0.113.9" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "missing, field",
    [("signer_name", "signer_name"), ("signer_role", "signer_role"), ("agreed", "agreed")],
)
def test_a_missing_name_role_or_consent_is_a_field_error_and_nothing_is_written(client_of, rich, missing, field):
    data = {k: v for k, v in SIGN.items() if k != missing}
    response = client_of.post(PLAN_URL, data)
    assert response.status_code == 400
    assert list(errors_of(response)) == [field]
    assert 'data-testid="sign-form"' in response.content.decode()
    assert not AccelerationPlan.objects.exists() and not AgreementSignature.objects.exists()


@pytest.mark.django_db
def test_blank_whitespace_name_is_refused(client_of, rich):
    response = client_of.post(PLAN_URL, {**SIGN, "signer_name": "   ", "signer_role": "x" * 101})
    assert response.status_code == 400
    assert set(errors_of(response)) == {"signer_name", "signer_role"}
    assert not AccelerationPlan.objects.exists()


@pytest.mark.django_db
def test_signing_twice_is_refused(client_of, rich):
    assert client_of.post(PLAN_URL, SIGN).status_code == 302
    response = client_of.post(PLAN_URL, {**SIGN, "signer_name": "Li Lei"})
    assert response.status_code == 409
    assert 'data-testid="page-error"' in response.content.decode()
    assert AccelerationPlan.objects.count() == 1 and AgreementSignature.objects.get().signer_name == "Zhang Wei"


@pytest.mark.django_db
def test_after_a_rejection_the_reason_shows_and_the_seller_may_sign_again(client_of, rich, seller_user):
    plan = services.plan_apply(actor=fresh(seller_user), signer_name="Zhang Wei", signer_role="CEO", agreed=True)
    services.plan_reject(actor=staff_in("operations"), plan_id=plan.pk, reason="Licence number missing")
    html = client_of.get(PLAN_URL).content.decode()
    assert 'data-testid="rejected-notice"' in html and "Licence number missing" in html
    assert 'data-testid="sign-form"' in html
    assert client_of.post(PLAN_URL, SIGN).status_code == 302
    assert list(AccelerationPlan.objects.values_list("status", flat=True).order_by("id")) == ["rejected", "pending"]


@pytest.mark.django_db
def test_approved_plan_page_links_to_marketing_support(client_of, in_plan):
    html = client_of.get(PLAN_URL).content.decode()
    assert 'data-testid="approved-notice"' in html and LIST_URL in html


@pytest.mark.django_db
def test_no_pdf_before_signing(client_of, rich):
    assert client_of.get(PDF_URL).status_code == 404


# --- isolation and roles ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_seller_sees_and_downloads_nothing_of_ours(client, in_plan, seller_user, other_seller_user):
    application = make_application(seller_user)
    services.marketing_save(actor=fresh(seller_user), data=form_data(), files=[png()], application_id=application.pk)
    attachment = MarketingSupportAttachment.objects.get()
    before = (MarketingSupport.objects.values().get(), MarketingSupportAttachment.objects.count())

    client.force_login(other_seller_user)
    # the other seller has no plan: their PDF link is a 404, never ours
    assert client.get(PDF_URL).status_code == 404
    assert "Zhang Wei" not in client.get(PLAN_URL).content.decode()
    assert application.activity_name not in client.get(LIST_URL).content.decode()
    pk = application.pk
    for url in [
        reverse("seller:marketing_support_detail", args=[pk]),
        reverse("seller:marketing_support_edit", args=[pk]),
        reverse("seller:marketing_support_file", args=[attachment.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for url, data in [
        (reverse("seller:marketing_support_edit", args=[pk]), form_data(activity_name="Hijacked")),
        (reverse("seller:marketing_support_submit", args=[pk]), {}),
        (reverse("seller:marketing_support_withdraw", args=[pk]), {}),
        (reverse("seller:marketing_support_acceptance", args=[pk]), {"report": "x"}),
        (reverse("seller:marketing_support_file_remove", args=[attachment.pk]), {}),
    ]:
        assert client.post(url, data).status_code == 404, url
    assert (MarketingSupport.objects.values().get(), MarketingSupportAttachment.objects.count()) == before


@pytest.mark.django_db
def test_unknown_and_huge_ids_are_404(client_of, in_plan):
    for pk in (999999, 2**63 + 5):
        assert client_of.get(f"/seller/cooperation/marketing-support/{pk}/").status_code == 404
        assert client_of.get(f"/seller/cooperation/marketing-support/files/{pk}/").status_code == 404
        assert client_of.post(f"/seller/cooperation/marketing-support/{pk}/submit/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_other_seller_roles_are_refused(client, rich, role):
    user = seller_member(rich, role)
    client.force_login(user)
    for url in [HUB_URL, PLAN_URL, PDF_URL, LIST_URL, NEW_URL]:
        assert client.get(url).status_code == 403, url
    assert client.post(PLAN_URL, SIGN).status_code == 403
    assert client.post(NEW_URL, form_data()).status_code == 403
    assert not AccelerationPlan.objects.exists() and not MarketingSupport.objects.exists()


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client):
    response = client.get(PLAN_URL)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_post_only_views_refuse_get(client_of, in_plan, seller_user):
    application = make_application(seller_user)
    for name in ("marketing_support_submit", "marketing_support_withdraw", "marketing_support_acceptance"):
        assert client_of.get(reverse(f"seller:{name}", args=[application.pk])).status_code == 405


# --- marketing support: closed before the plan is approved -----------------------------------------


@pytest.mark.django_db
def test_marketing_support_is_closed_before_the_plan_is_approved(client_of, rich, seller_user):
    services.plan_apply(actor=fresh(seller_user), signer_name="Zhang Wei", signer_role="CEO", agreed=True)  # pending
    html = client_of.get(LIST_URL).content.decode()
    assert 'data-testid="closed-reason"' in html and PLAN_URL in html
    assert 'data-testid="new-application"' not in html

    response = client_of.get(NEW_URL)
    assert response.status_code == 302 and response["Location"] == LIST_URL
    response = client_of.post(NEW_URL, form_data(), follow=False)
    assert response.status_code == 302
    assert not MarketingSupport.objects.exists() and not MarketingSupportAttachment.objects.exists()


# --- marketing support: the seller's applications ---------------------------------------------------


@pytest.mark.django_db
def test_create_a_draft_with_files_edit_it_and_remove_a_file(client_of, in_plan, seller_user):
    html = client_of.get(LIST_URL).content.decode()
    assert 'data-testid="new-application"' in html
    form_page = client_of.get(NEW_URL)
    assert form_page.status_code == 200
    assert 'name="save"' in form_page.content.decode() and 'name="submit"' in form_page.content.decode()

    response = client_of.post(NEW_URL, {**form_data(), "save": "1", "files": [png(), pdf()]})
    application = MarketingSupport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("seller:marketing_support_detail", args=[application.pk])
    assert (application.status, application.activity_name, application.budget) == (
        "draft",
        "Spring cloud festival",
        Decimal("80000.00"),
    )
    assert application.channels == ["marketplace", "social"] and application.plan_id == in_plan.pk
    assert sorted(application.attachments.values_list("name", "kind")) == [
        ("plan.pdf", "proposal"),
        ("poster.png", "proposal"),
    ]

    edit_url = reverse("seller:marketing_support_edit", args=[application.pk])
    edit = client_of.get(edit_url).content.decode()
    assert "poster.png" in edit and 'value="Spring cloud festival"' in edit and 'value="80000.00"' in edit
    assert 'value="social" id="id_channels_2" checked' in edit or 'value="social" checked' in edit

    response = client_of.post(
        edit_url, form_data(activity_name="Summer festival", budget="60,000.50", channels="email")
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.activity_name, application.budget, application.channels) == (
        "Summer festival",
        Decimal("60000.50"),
        ["email"],
    )
    assert application.status == "draft"

    poster = application.attachments.get(name="poster.png")
    response = client_of.post(reverse("seller:marketing_support_file_remove", args=[poster.pk]))
    assert response.status_code == 302 and response["Location"].startswith(edit_url)
    assert list(application.attachments.values_list("name", flat=True)) == ["plan.pdf"]
    assert MarketingSupportEvent.objects.filter(application=application, params__name="poster.png").exists()

    # the remaining file downloads for its seller
    remaining = application.attachments.get()
    download = client_of.get(reverse("seller:marketing_support_file", args=[remaining.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_BYTES


@pytest.mark.django_db
def test_submit_from_the_form(client_of, in_plan):
    response = client_of.post(NEW_URL, {**form_data(), "submit": "1"})
    application = MarketingSupport.objects.get()
    assert response.status_code == 302
    assert application.status == "submitted" and application.submitted_at is not None
    # now it cannot be edited: the edit page sends back to the detail
    edit = client_of.get(reverse("seller:marketing_support_edit", args=[application.pk]))
    assert edit.status_code == 302
    assert edit["Location"] == reverse("seller:marketing_support_detail", args=[application.pk])
    response = client_of.post(reverse("seller:marketing_support_edit", args=[application.pk]), form_data(budget="1"))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.budget == Decimal("80000.00")


@pytest.mark.django_db
def test_submitting_an_incomplete_application_shows_what_is_missing_and_creates_nothing(client_of, in_plan):
    response = client_of.post(NEW_URL, {"activity_name": "Half done", "submit": "1"})
    assert response.status_code == 400
    assert set(errors_of(response)) == {"starts_on", "ends_on", "channels", "budget", "proposal"}
    assert not MarketingSupport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"activity_name": ""}, "activity_name"),
        ({"starts_on": "2026-02-31"}, "starts_on"),
        ({"ends_on": "tomorrow"}, "ends_on"),
        ({"budget": "lots"}, "budget"),
        ({"budget": "-5"}, "budget"),
        ({"budget": "1e400"}, "budget"),
        ({"channels": ["marketplace", "<script>"]}, "channels"),
        ({"starts_on": "2026-06-10", "ends_on": "2026-06-01"}, "ends_on"),
    ],
)
def test_bad_input_is_a_field_error_never_a_500(client_of, in_plan, overrides, field):
    response = client_of.post(NEW_URL, {**form_data(**overrides), "save": "1"})
    assert response.status_code == 400
    assert field in errors_of(response)
    assert not MarketingSupport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "upload",
    [
        lambda: SimpleUploadedFile("run.exe", b"MZ\x90\x00" * 10, content_type="application/octet-stream"),
        lambda: SimpleUploadedFile("fake.png", PDF_BYTES, content_type="image/png"),
    ],
)
def test_bad_upload_types_are_refused(client_of, in_plan, private_media, upload):
    response = client_of.post(NEW_URL, {**form_data(), "save": "1", "files": [upload()]})
    assert response.status_code == 400
    assert "files" in errors_of(response)
    assert not MarketingSupport.objects.exists() and not MarketingSupportAttachment.objects.exists()
    assert not [p for p in private_media.rglob("*") if p.is_file() and "marketing" in p.parts]


@pytest.mark.django_db
def test_submit_and_withdraw_from_the_detail_page(client_of, in_plan, seller_user):
    application = make_application(seller_user)
    detail_url = reverse("seller:marketing_support_detail", args=[application.pk])
    html = client_of.get(detail_url).content.decode()
    assert 'data-testid="edit"' in html and 'data-testid="submit"' in html and 'data-testid="withdraw"' in html

    response = client_of.post(reverse("seller:marketing_support_submit", args=[application.pk]))
    assert response.status_code == 302 and response["Location"] == detail_url
    application.refresh_from_db()
    assert application.status == "submitted"
    html = client_of.get(detail_url).content.decode()
    assert 'data-testid="edit"' not in html and 'data-testid="withdraw"' in html

    # submitting again changes nothing
    client_of.post(reverse("seller:marketing_support_submit", args=[application.pk]))
    assert MarketingSupportEvent.objects.filter(application=application, to_status="submitted").count() == 1

    response = client_of.post(reverse("seller:marketing_support_withdraw", args=[application.pk]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "withdrawn"
    html = client_of.get(detail_url).content.decode()
    assert 'data-testid="withdraw"' not in html and 'data-testid="submit"' not in html


@pytest.mark.django_db
def test_submitting_an_incomplete_draft_from_the_detail_sends_to_the_form(client_of, in_plan, seller_user):
    application = services.marketing_save(actor=fresh(seller_user), data={"activity_name": "Bare"})
    response = client_of.post(reverse("seller:marketing_support_submit", args=[application.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("seller:marketing_support_edit", args=[application.pk])
    application.refresh_from_db()
    assert application.status == "draft"


@pytest.mark.django_db
def test_changes_requested_shows_the_reason_on_the_form_and_resubmits(client_of, in_plan, seller_user):
    application = make_application(seller_user, submit=True)
    services.marketing_request_changes(
        actor=staff_in("operations"), application_id=application.pk, reason="Split the budget by channel"
    )
    edit_url = reverse("seller:marketing_support_edit", args=[application.pk])
    html = client_of.get(edit_url).content.decode()
    assert 'data-testid="review-note"' in html and "Split the budget by channel" in html
    response = client_of.post(edit_url, {**form_data(proposal="Ads 40000, social 40000"), "submit": "1"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.proposal) == ("submitted", "Ads 40000, social 40000")


@pytest.mark.django_db
def test_approved_detail_shows_the_amount_and_takes_acceptance_materials(client_of, in_plan, seller_user):
    application = make_application(seller_user, submit=True, starts_on=TODAY.isoformat(), ends_on=TODAY.isoformat())
    services.marketing_approve(actor=staff_in("operations"), application_id=application.pk, amount="50000")
    detail_url = reverse("seller:marketing_support_detail", args=[application.pk])
    html = client_of.get(detail_url).content.decode()
    assert 'data-status="approved"' in html and "50,000.00" in html
    assert 'data-testid="acceptance-form"' in html and 'data-testid="withdraw"' not in html

    # no evidence: refused on the field
    acceptance_url = reverse("seller:marketing_support_acceptance", args=[application.pk])
    response = client_of.post(acceptance_url, {"report": "Reached 10,000 visitors."})
    assert response.status_code == 400 and list(errors_of(response, "acceptance_form")) == ["files"]
    application.refresh_from_db()
    assert application.status == "approved"

    response = client_of.post(acceptance_url, {"report": "Reached 10,000 visitors.", "files": [png("stand.png")]})
    assert response.status_code == 302 and response["Location"] == detail_url
    application.refresh_from_db()
    assert (application.status, application.acceptance_report) == ("acceptance", "Reached 10,000 visitors.")
    evidence = application.attachments.get()
    assert (evidence.kind, evidence.name) == ("acceptance", "stand.png")
    html = client_of.get(detail_url).content.decode()
    assert 'data-testid="acceptance-files"' in html and "stand.png" in html
    assert 'data-testid="acceptance-form"' not in html
    # an acceptance file cannot be removed
    response = client_of.post(reverse("seller:marketing_support_file_remove", args=[evidence.pk]))
    assert response.status_code == 302 and application.attachments.count() == 1


@pytest.mark.django_db
def test_acceptance_waits_until_the_activity_ends(client_of, in_plan, seller_user):
    ends = TODAY + timedelta(days=5)
    application = make_application(seller_user, submit=True, ends_on=ends.isoformat())
    services.marketing_approve(actor=staff_in("operations"), application_id=application.pk)
    detail_url = reverse("seller:marketing_support_detail", args=[application.pk])
    html = client_of.get(detail_url).content.decode()
    assert 'data-testid="acceptance-waits"' in html and ends.isoformat() in html
    assert 'data-testid="acceptance-form"' not in html
    response = client_of.post(
        reverse("seller:marketing_support_acceptance", args=[application.pk]),
        {"report": "Too early", "files": [png()]},
    )
    assert response.status_code == 400 and "report" in errors_of(response, "acceptance_form")
    assert not application.attachments.exists()


@pytest.mark.django_db
def test_paid_detail_shows_payment_and_timeline(client_of, in_plan, seller_user):
    application = make_application(seller_user, submit=True, ends_on=TODAY.isoformat())
    operator = staff_in("operations")
    services.marketing_approve(actor=operator, application_id=application.pk, amount="40000")
    services.marketing_submit_acceptance(
        actor=fresh(seller_user), application_id=application.pk, report="Done", files=[pdf("report.pdf")]
    )
    services.marketing_accept(actor=operator, application_id=application.pk)
    payer = staff_in("finance")
    services.marketing_pay(actor=payer, application_id=application.pk, amount="39000", reference="PAY-778")
    html = client_of.get(reverse("seller:marketing_support_detail", args=[application.pk])).content.decode()
    assert 'data-status="paid"' in html and "39,000.00" in html and "PAY-778" in html
    assert html.count('data-testid="timeline"') == 1
    assert "report.pdf" in html


@pytest.mark.django_db
def test_the_list_filters_searches_and_pages_in_a_bounded_number_of_queries(
    client_of, in_plan, seller_user, django_assert_max_num_queries
):
    for n in range(25):
        make_application(seller_user, activity_name=f"Campaign {n:02d}", submit=n % 5 == 0)
    other = SellerFactory()
    ledger(other, "3000000", period=PERIOD)

    with django_assert_max_num_queries(10):
        response = client_of.get(LIST_URL)
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="ms-row"') == 20
    page2 = client_of.get(LIST_URL + "?page=2").content.decode()
    assert page2.count('data-testid="ms-row"') == 5

    submitted = client_of.get(LIST_URL + "?status=submitted").content.decode()
    assert submitted.count('data-testid="ms-row"') == 5
    found = client_of.get(LIST_URL + "?q=campaign 07").content.decode()
    assert found.count('data-testid="ms-row"') == 1 and "Campaign 07" in found
    nothing = client_of.get(LIST_URL + "?q=zzz&status=nonsense")
    assert nothing.status_code == 200


@pytest.mark.django_db
def test_empty_list_when_open(client_of, in_plan):
    html = client_of.get(LIST_URL).content.decode()
    assert 'class="empty"' in html and 'data-testid="closed-reason"' not in html


@pytest.mark.django_db
def test_the_pages_read_in_english_too(client_of, in_plan, seller_user):
    application = make_application(seller_user)
    client_of.cookies["django_language"] = "en"
    assert "Merchant acceleration plan" in client_of.get(PLAN_URL).content.decode()
    detail = client_of.get(reverse("seller:marketing_support_detail", args=[application.pk])).content.decode()
    assert "Draft created" in detail and "Marketplace promotion" in detail
    assert "Save draft" in client_of.get(NEW_URL).content.decode()


@pytest.mark.django_db
def test_the_detail_page_reads_in_a_bounded_number_of_queries(
    client_of, in_plan, seller_user, django_assert_max_num_queries
):
    application = services.marketing_save(
        actor=fresh(seller_user), data=form_data(ends_on=TODAY.isoformat()), files=[png(f"p{n}.png") for n in range(6)]
    )
    services.marketing_submit(actor=fresh(seller_user), application_id=application.pk)
    services.marketing_approve(actor=staff_in("operations"), application_id=application.pk)
    url = reverse("seller:marketing_support_detail", args=[application.pk])
    with django_assert_max_num_queries(10):
        response = client_of.get(url)
    html = response.content.decode()
    assert html.count('data-testid="file-link"') == 6 and 'data-testid="acceptance-form"' in html
