"""Cooperation applications over the API: the merchant acceleration plan
(/api/v1/seller/acceleration-plan/, its agreement.pdf) and merchant marketing support
(/api/v1/seller/marketing-support/, its files): happy paths, refusals that change nothing, bad input
that never answers 500, isolation between sellers, roles, anonymous callers, fixed query counts.

The services use the real clock: ledger periods are in this Beijing year and activity dates relative
to today; time_machine moves past an activity's end for the acceptance step.
"""

import hashlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benefits import agreement, services
from benefits.models import (
    AccelerationPlan,
    AgreementSignature,
    MarketingSupport,
    MarketingSupportAttachment,
    MarketingSupportEvent,
)
from marketplace.core import calendar
from tests.benefits.test_services import admin_of, ledger, staff_in
from tests.factories import PDF_BYTES, PNG_BYTES, SellerFactory, api, fresh, seller_member

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
P = AccelerationPlan.Status
S = MarketingSupport.Status
PLAN = "/api/v1/seller/acceleration-plan/"
PDF_URL = "/api/v1/seller/acceleration-plan/agreement.pdf"
MS = "/api/v1/seller/marketing-support/"
FILES = "/api/v1/seller/marketing-support/files/"
SIGN = {"signer_name": "张三", "signer_role": "总经理", "agreed": True}


# --- helpers ---------------------------------------------------------------------------------------


def today() -> date:
    return calendar.today()


def seller_with_gmv(gmv="2000000"):
    seller = SellerFactory()
    ledger(seller, gmv, period=date(today().year, 1, 1))
    return seller


def sign(seller) -> AccelerationPlan:
    return services.plan_apply(
        actor=fresh(admin_of(seller)), signer_name="李四", signer_role="总经理", agreed=True, ip="10.0.0.1"
    )


def approved_seller():
    seller = seller_with_gmv()
    services.plan_approve(actor=staff_in("operations"), plan_id=sign(seller).pk)
    return seller


def pdf(name="plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def png(name="photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def complete(**extra) -> dict:
    """A complete application body (JSON)."""
    return {
        "activity_name": "Spring launch",
        "starts_on": today().isoformat(),
        "ends_on": (today() + timedelta(days=7)).isoformat(),
        "channels": ["social", "search_ads"],
        "budget": "50000",
        "proposal": "Ads and posts for the launch.",
        **extra,
    }


def draft(seller, **data) -> MarketingSupport:
    return services.marketing_save(actor=fresh(admin_of(seller)), data={"activity_name": "Draft", **data})


def submitted(seller, files=()) -> MarketingSupport:
    return services.marketing_save(actor=fresh(admin_of(seller)), data=complete(), files=list(files), submit=True)


def counts() -> tuple:
    return (
        AccelerationPlan.objects.count(),
        AgreementSignature.objects.count(),
        MarketingSupport.objects.count(),
        MarketingSupportAttachment.objects.count(),
        MarketingSupportEvent.objects.count(),
    )


def state(application: MarketingSupport) -> tuple:
    return (
        MarketingSupport.objects.filter(pk=application.pk).values().get(),
        sorted(MarketingSupportAttachment.objects.filter(application=application).values_list("pk", flat=True)),
        MarketingSupportEvent.objects.filter(application=application).count(),
    )


def after(day: date) -> datetime:
    """10:00 Beijing time on that day."""
    return datetime.combine(day, time(10), tzinfo=BJ)


# --- the acceleration plan -------------------------------------------------------------------------


def test_plan_state_below_the_threshold():
    seller = seller_with_gmv("500000")
    ledger(seller, "9999999", period=date(today().year - 1, 6, 1))  # last year: not counted
    body = api(admin_of(seller)).get(PLAN).json()
    assert (body["threshold"], body["gmv"], body["missing"]) == ("2000000.00", "500000.00", "1500000.00")
    assert (body["eligible"], body["can_apply"], body["status"], body["plan"]) == (False, False, None, None)
    assert body["agreement"]["version"] == agreement.VERSION
    assert seller.name in body["agreement"]["text_zh"] and seller.name in body["agreement"]["text_en"]
    assert "2,000,000.00" in body["agreement"]["text_en"]


def test_sign_the_plan_then_read_it_and_download_the_pdf():
    seller = seller_with_gmv("2100000")
    client = api(admin_of(seller))
    before = client.get(PLAN).json()
    assert (before["eligible"], before["can_apply"], before["missing"]) == (True, True, "0.00")
    created = client.post(
        PLAN, {**SIGN, "signer_name": "  张三  "}, format="json", HTTP_USER_AGENT="Probe/1.0", REMOTE_ADDR="10.1.2.3"
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    signature = AgreementSignature.objects.get()
    assert (plan["id"], plan["status"], plan["gmv_at_application"]) == (signature.plan_id, "pending", "2100000.00")
    assert plan["signature"] == {
        "signer_name": "张三",
        "signer_role": "总经理",
        "signed_at": plan["signature"]["signed_at"],
        "ip": "10.1.2.3",
        "version": agreement.VERSION,
        "text_sha256": signature.text_sha256,
        "pdf_url": PDF_URL,
    }
    assert (signature.user_agent, signature.signer_id) == ("Probe/1.0", admin_of(seller).pk)
    state_now = client.get(PLAN).json()
    assert (state_now["status"], state_now["can_apply"], state_now["plan"]["id"]) == ("pending", False, plan["id"])
    assert state_now["plan"]["signature"]["text_sha256"] == signature.text_sha256
    download = client.get(PDF_URL)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    content = b"".join(download.streaming_content)
    assert content.startswith(b"%PDF-") and hashlib.sha256(content).hexdigest() == signature.pdf_sha256
    assert download["Cache-Control"] == "private, no-store"


def test_plan_refusals_change_nothing():
    poor = api(admin_of(seller_with_gmv("1999999.99")))
    too_poor = poor.post(PLAN, SIGN, format="json")
    assert too_poor.status_code == 409 and too_poor.json()["error"] == "conflict"
    assert "0.01" in too_poor.json()["detail"]
    assert poor.get(PDF_URL).status_code == 404  # nothing signed
    rich_seller = seller_with_gmv()
    rich = api(admin_of(rich_seller))
    missing = rich.post(PLAN, {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"signer_name", "signer_role", "agreed"}
    not_agreed = rich.post(PLAN, {**SIGN, "agreed": False}, format="json")
    assert (not_agreed.status_code, set(not_agreed.json()["fields"])) == (400, {"agreed"})
    blank = rich.post(PLAN, {**SIGN, "signer_name": "   "}, format="json")
    assert (blank.status_code, set(blank.json()["fields"])) == (400, {"signer_name"})
    too_long = rich.post(PLAN, {**SIGN, "signer_role": "x" * 101}, format="json")
    assert (too_long.status_code, set(too_long.json()["fields"])) == (400, {"signer_role"})
    for bad in (
        {**SIGN, "agreed": "maybe"},
        {**SIGN, "signer_name": {"a": 1}},
        {**SIGN, "signer_role": None},
        [SIGN],
        "text",
    ):
        response = rich.post(PLAN, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert response.json()["error"] == "invalid"
    assert rich.post(PLAN, b"{not json", content_type="application/json").status_code == 400
    assert rich.get(PDF_URL).status_code == 404
    assert counts() == (0, 0, 0, 0, 0)
    assert rich.post(PLAN, SIGN, format="json").status_code == 201
    snapshot = counts()
    again = rich.post(PLAN, SIGN, format="json")
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    assert counts() == snapshot


def test_a_rejected_plan_is_shown_and_the_seller_may_apply_again():
    seller = seller_with_gmv()
    plan = sign(seller)
    services.plan_reject(actor=staff_in("operations"), plan_id=plan.pk, reason="Documents missing")
    client = api(admin_of(seller))
    body = client.get(PLAN).json()
    assert (body["status"], body["can_apply"]) == ("rejected", True)
    assert (body["plan"]["rejection_reason"], body["plan"]["decided_at"] is not None) == ("Documents missing", True)
    assert client.get(PDF_URL).status_code == 200  # the signed copy of the rejected plan
    second = client.post(PLAN, SIGN, format="json")
    assert second.status_code == 201 and second.json()["id"] != plan.pk
    assert client.get(PLAN).json()["plan"]["id"] == second.json()["id"]
    services.plan_approve(actor=staff_in("operations"), plan_id=second.json()["id"])
    assert client.get(PLAN).json()["status"] == "approved"


def test_plan_isolation_roles_and_anonymous():
    seller = seller_with_gmv()
    sign(seller)
    other = api(admin_of(seller_with_gmv()))
    body = other.get(PLAN).json()
    assert (body["status"], body["plan"], body["can_apply"]) == (None, None, True)
    assert other.get(PDF_URL).status_code == 404
    snapshot = counts()
    roles = [api(seller_member(seller, role)) for role in ("finance", "support", "developer")]
    for client in (*roles, api(staff_in("operations"))):
        assert client.get(PLAN).status_code == 403
        assert client.post(PLAN, SIGN, format="json").status_code == 403
        assert client.get(PDF_URL).status_code == 403
    anonymous = api()
    assert anonymous.get(PLAN).status_code in (401, 403)
    assert anonymous.post(PLAN, SIGN, format="json").status_code in (401, 403)
    assert anonymous.get(PDF_URL).status_code in (401, 403)
    assert counts() == snapshot


# --- marketing support: closed until the plan is approved ------------------------------------------


def test_marketing_support_is_closed_until_the_plan_is_approved():
    seller = seller_with_gmv()
    client = api(admin_of(seller))
    assert client.get(MS).json()["results"] == []
    refused = client.post(MS, complete(), format="json")
    assert (refused.status_code, refused.json()["error"]) == (409, "conflict")
    sign(seller)  # pending: still closed
    assert client.post(MS, complete(submit=True), format="json").status_code == 409
    assert MarketingSupport.objects.count() == 0


# --- marketing support: the seller's side ----------------------------------------------------------


def test_draft_edit_and_submit_over_json():
    seller = approved_seller()
    client = api(admin_of(seller))
    created = client.post(MS, {"activity_name": "Spring launch"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["editable"], body["budget"], body["channels"]) == ("draft", True, None, [])
    assert body["number"] == f"MS-{body['id']:06d}" and [e["to_status"] for e in body["events"]] == ["draft"]
    url = f"{MS}{body['id']}/"

    patched = client.patch(url, {"budget": "50000.5", "channels": ["social", "marketplace"]}, format="json")
    assert patched.status_code == 200, patched.content
    patched = patched.json()
    assert (patched["activity_name"], patched["budget"]) == ("Spring launch", "50000.50")
    assert patched["channels"] == ["marketplace", "social"]  # in the list's order

    incomplete = client.post(f"{url}submit/")
    assert incomplete.status_code == 400
    assert {"starts_on", "ends_on", "proposal"} <= set(incomplete.json()["fields"])
    assert client.get(url).json()["status"] == "draft"

    replaced = client.put(url, complete(budget=80000), format="json")
    assert replaced.status_code == 200, replaced.content
    replaced = replaced.json()
    assert (replaced["budget"], replaced["ends_on"]) == ("80000.00", (today() + timedelta(days=7)).isoformat())
    assert replaced["channels"] == ["search_ads", "social"] and replaced["proposal"] == "Ads and posts for the launch."

    done = client.post(f"{url}submit/")
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["editable"], done.json()["submitted_at"] is not None) == (
        "submitted",
        False,
        True,
    )
    application = MarketingSupport.objects.get()
    before = state(application)
    assert client.patch(url, {"budget": "1"}, format="json").status_code == 409
    assert client.put(url, complete(), format="json").status_code == 409
    assert client.post(f"{url}submit/").status_code == 409
    assert state(application) == before

    other = client.post(MS, {"activity_name": "Autumn"}, format="json").json()
    assert [r["id"] for r in client.get(MS).json()["results"]] == [other["id"], body["id"]]  # newest first
    assert [r["id"] for r in client.get(MS, {"status": "submitted"}).json()["results"]] == [body["id"]]
    assert [r["id"] for r in client.get(MS, {"status": "draft"}).json()["results"]] == [other["id"]]
    assert client.get(MS, {"status": "nonsense"}).status_code == 400
    assert client.get(MS, {"page_size": 1}).json()["count"] == 2
    assert len(client.get(MS, {"page_size": 1}).json()["results"]) == 1


def test_create_over_multipart_with_files_and_submit_at_once():
    seller = approved_seller()
    client = api(admin_of(seller))
    body = complete()
    created = client.post(
        MS,
        {**body, "channels": ["events", "email"], "files": [pdf("plan.pdf"), png("poster.png")], "submit": "true"},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["budget"], body["channels"]) == ("submitted", "50000.00", ["events", "email"])
    assert [(a["name"], a["kind"], a["size"]) for a in body["attachments"]] == [
        ("plan.pdf", "proposal", len(PDF_BYTES)),
        ("poster.png", "proposal", len(PNG_BYTES)),
    ]
    assert [e["to_status"] for e in body["events"]] == ["draft", "submitted"]
    first = body["attachments"][0]
    assert first["download_url"] == f"{FILES}{first['id']}/"
    download = client.get(first["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    # Under review: the plan's files can no longer be removed.
    application = MarketingSupport.objects.get()
    before = state(application)
    refused = client.delete(first["download_url"])
    assert (refused.status_code, refused.json()["error"]) == (409, "invalid_transition")
    assert state(application) == before


def test_a_draft_file_is_added_and_removed(private_media, django_capture_on_commit_callbacks):
    seller = approved_seller()
    client = api(admin_of(seller))
    application = draft(seller)
    url = f"{MS}{application.pk}/"
    added = client.patch(url, {"files": [pdf()]}, format="multipart")
    assert added.status_code == 200, added.content
    (attachment,) = added.json()["attachments"]
    assert added.json()["activity_name"] == "Draft"  # the fields not sent are kept
    stored = MarketingSupportAttachment.objects.get().file.name
    assert (private_media / stored).exists()
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the removal commits
        removed = client.delete(f"{FILES}{attachment['id']}/")
    assert removed.status_code == 200, removed.content
    assert removed.json()["attachments"] == [] and not MarketingSupportAttachment.objects.exists()
    assert not (private_media / stored).exists()
    assert client.get(f"{FILES}{attachment['id']}/").status_code == 404
    assert client.delete(f"{FILES}{attachment['id']}/").status_code == 404


def test_withdraw():
    seller = approved_seller()
    client = api(admin_of(seller))
    application = draft(seller)
    url = f"{MS}{application.pk}/"
    withdrawn = client.post(f"{url}withdraw/")
    assert (withdrawn.status_code, withdrawn.json()["status"], withdrawn.json()["editable"]) == (
        200,
        "withdrawn",
        False,
    )
    before = state(application)
    again = client.post(f"{url}withdraw/")
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")
    assert client.post(f"{url}submit/").status_code == 409
    assert client.patch(url, {"activity_name": "Again"}, format="json").status_code == 409
    assert state(application) == before
    under_review = submitted(seller)
    assert client.post(f"{MS}{under_review.pk}/withdraw/").json()["status"] == "withdrawn"


def test_bad_input_is_refused_without_a_500_and_changes_nothing():
    seller = approved_seller()
    client = api(admin_of(seller))
    application = draft(seller, budget="100")
    url = f"{MS}{application.pk}/"
    snapshot, before = counts(), state(application)
    bad_bodies = [
        {"activity_name": ""},
        {"activity_name": "x" * 121},
        {"activity_name": {"a": 1}},
        {"activity_name": "A", "channels": "social"},
        {"activity_name": "A", "channels": {"social": True}},
        {"activity_name": "A", "channels": ["social", "carrier pigeons"]},
        {"activity_name": "A", "channels": [["social"]]},
        {"activity_name": "A", "budget": "1e30"},
        {"activity_name": "A", "budget": "99999999999999999999999"},
        {"activity_name": "A", "budget": "100000000.01"},
        {"activity_name": "A", "budget": "NaN"},
        {"activity_name": "A", "budget": "Infinity"},
        {"activity_name": "A", "budget": "abc"},
        {"activity_name": "A", "budget": "0"},
        {"activity_name": "A", "budget": -5},
        {"activity_name": "A", "budget": "1.001"},
        {"activity_name": "A", "budget": [1]},
        {"activity_name": "A", "starts_on": "2026-13-45"},
        {"activity_name": "A", "starts_on": 20260101},
        {"activity_name": "A", "ends_on": "tomorrow"},
        {"activity_name": "A", "starts_on": "2030-05-02", "ends_on": "2030-05-01"},
        {"activity_name": "A", "proposal": "x" * 20001},
        {"activity_name": "A", "submit": "perhaps"},
        ["activity_name"],
    ]
    for body in bad_bodies:
        for response in (client.post(MS, body, format="json"), client.put(url, body, format="json")):
            assert response.status_code == 400, (body, response.status_code, response.content)
            assert response.json()["error"] == "invalid"
        if isinstance(body, dict) and len(body) > 1:
            body = {k: v for k, v in body.items() if k != "activity_name"}
            response = client.patch(url, body, format="json")
            assert response.status_code == 400, (body, response.content)
    over_max = client.post(MS, {"activity_name": "A", "budget": "100000001"}, format="json")
    assert (over_max.status_code, set(over_max.json()["fields"])) == (400, {"budget"})
    past = client.post(MS, complete(ends_on=(today() - timedelta(days=1)).isoformat(), submit=True), format="json")
    assert (past.status_code, set(past.json()["fields"])) == (400, {"ends_on"})
    wrong_type = client.post(
        MS, {"activity_name": "A", "files": [SimpleUploadedFile("a.pdf", b"not a pdf")]}, format="multipart"
    )
    assert (wrong_type.status_code, set(wrong_type.json()["fields"])) == (400, {"files"})
    eleven = [pdf(f"{n}.pdf") for n in range(11)]
    too_many = client.post(MS, {"activity_name": "A", "files": eleven}, format="multipart")
    assert too_many.status_code == 400
    not_a_file = client.post(MS, {"activity_name": "A", "files": ["text"]}, format="multipart")
    assert not_a_file.status_code == 400
    assert client.post(MS, b"{oops", content_type="application/json").status_code == 400
    for pk in ("abc", "0", "99999999999999999999", "-1", "1.5"):
        for path in (f"{MS}{pk}/", f"{MS}{pk}/submit/", f"{FILES}{pk}/"):
            response = client.post(path) if path.endswith("submit/") else client.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert response.json()["error"] == "not_found"
    assert client.get(f"{MS}99999999/").status_code == 404
    assert client.delete(f"{FILES}99999999/").status_code == 404
    assert client.get(f"{FILES}{2**63}/").status_code == 404
    assert counts() == snapshot and state(application) == before


# --- isolation, roles, anonymous -------------------------------------------------------------------


def test_isolation_between_two_sellers():
    seller, intruder_seller = approved_seller(), approved_seller()
    mine = submitted(seller, files=[pdf()])
    services.marketing_approve(actor=staff_in("operations"), application_id=mine.pk)
    my_draft = draft(seller)
    draft_file = services.marketing_save(
        actor=fresh(admin_of(seller)), data={"activity_name": "Draft"}, application_id=my_draft.pk, files=[pdf()]
    ).attachments.get()
    theirs = draft(intruder_seller)
    intruder = api(admin_of(intruder_seller))
    snapshot, before = counts(), (state(mine), state(my_draft))
    assert [r["id"] for r in intruder.get(MS).json()["results"]] == [theirs.pk]
    assert intruder.get(MS, {"status": "approved"}).json()["results"] == []
    for application in (mine, my_draft):
        url = f"{MS}{application.pk}/"
        assert intruder.get(url).status_code == 404
        assert intruder.patch(url, {"activity_name": "Mine now"}, format="json").status_code == 404
        assert intruder.put(url, complete(), format="json").status_code == 404
        assert intruder.post(f"{url}submit/").status_code == 404
        assert intruder.post(f"{url}withdraw/").status_code == 404
        materials = {"report": "x", "files": [pdf()]}
        assert intruder.post(f"{url}acceptance/", materials, format="multipart").status_code == 404
    for attachment in (mine.attachments.get(), draft_file):
        assert intruder.get(f"{FILES}{attachment.pk}/").status_code == 404
        assert intruder.delete(f"{FILES}{attachment.pk}/").status_code == 404
    assert counts() == snapshot and (state(mine), state(my_draft)) == before
    owner = api(admin_of(seller))
    assert owner.get(f"{MS}{theirs.pk}/").status_code == 404
    assert owner.get(f"{FILES}{draft_file.pk}/").status_code == 200


def test_roles_and_anonymous_are_refused():
    seller = approved_seller()
    application = submitted(seller, files=[pdf()])
    attachment = application.attachments.get()
    url = f"{MS}{application.pk}/"
    snapshot, before = counts(), state(application)
    anonymous = api()
    others = [api(seller_member(seller, role)) for role in ("finance", "support", "developer")]
    others.append(api(staff_in("operations")))
    for client in [*others, anonymous]:
        codes = (403,) if client is not anonymous else (401, 403)
        responses = [
            client.get(MS),
            client.post(MS, complete(), format="json"),
            client.get(url),
            client.patch(url, {"activity_name": "X"}, format="json"),
            client.put(url, complete(), format="json"),
            client.post(f"{url}submit/"),
            client.post(f"{url}withdraw/"),
            client.post(f"{url}acceptance/", {"report": "x"}, format="json"),
            client.get(f"{FILES}{attachment.pk}/"),
            client.delete(f"{FILES}{attachment.pk}/"),
        ]
        assert [r.status_code in codes for r in responses] == [True] * len(responses), [
            r.status_code for r in responses
        ]
    assert counts() == snapshot and state(application) == before


# --- the whole way, seen through the API -----------------------------------------------------------


def test_the_whole_way_from_draft_to_paid():
    seller = approved_seller()
    client = api(admin_of(seller))
    operations, finance = staff_in("operations"), staff_in("finance")
    body = client.post(MS, complete(activity_name="Launch week", budget="60000"), format="json").json()
    pk, url = body["id"], f"{MS}{body['id']}/"
    assert client.post(f"{url}submit/").json()["status"] == "submitted"

    services.marketing_request_changes(actor=operations, application_id=pk, reason="Add the poster")
    seen = client.get(url).json()
    assert (seen["status"], seen["review_note"], seen["editable"]) == ("changes", "Add the poster", True)
    resubmitted = client.patch(url, {"files": [png("poster.png")], "submit": "true"}, format="multipart")
    assert resubmitted.status_code == 200, resubmitted.content
    assert resubmitted.json()["status"] == "submitted"

    services.marketing_approve(actor=operations, application_id=pk, amount="45000")
    seen = client.get(url).json()
    assert (seen["status"], seen["approved_amount"], seen["acceptance_open"]) == ("approved", "45000.00", True)
    assert client.patch(url, {"budget": "1"}, format="json").status_code == 409
    assert client.post(f"{url}withdraw/").status_code == 409

    application = MarketingSupport.objects.get(pk=pk)
    before = state(application)
    too_early = client.post(f"{url}acceptance/", {"report": "Done", "files": [pdf("evidence.pdf")]}, format="multipart")
    assert (too_early.status_code, set(too_early.json()["fields"])) == (400, {"report"})
    assert state(application) == before

    ends_on = date.fromisoformat(seen["ends_on"])
    with time_machine.travel(after(ends_on + timedelta(days=1)), tick=False):
        no_files = client.post(f"{url}acceptance/", {"report": "Done"}, format="json")
        assert (no_files.status_code, set(no_files.json()["fields"])) == (400, {"files"})
        no_report = client.post(f"{url}acceptance/", {"report": " ", "files": [pdf()]}, format="multipart")
        assert (no_report.status_code, set(no_report.json()["fields"])) == (400, {"report"})
        assert client.post(f"{url}acceptance/", {"files": [pdf()]}, format="multipart").status_code == 400
        assert state(application) == before
        handed_in = client.post(
            f"{url}acceptance/", {"report": "12,000 visits", "files": [pdf("evidence.pdf")]}, format="multipart"
        )
        assert handed_in.status_code == 200, handed_in.content
        seen = handed_in.json()
        assert (seen["status"], seen["acceptance_report"]) == ("acceptance", "12,000 visits")
        assert seen["acceptance_open"] is False
        assert [a["kind"] for a in seen["attachments"]] == ["proposal", "acceptance"]
        assert client.post(f"{url}acceptance/", {"report": "Again"}, format="json").status_code == 409

        services.marketing_return(actor=operations, application_id=pk, reason="Add the invoices")
        seen = client.get(url).json()
        assert (seen["status"], seen["acceptance_note"], seen["acceptance_open"]) == (
            "returned",
            "Add the invoices",
            True,
        )
        # The evidence handed in before counts: a new report is enough.
        again = client.post(f"{url}acceptance/", {"report": "12,000 visits, invoices attached"}, format="json")
        assert again.status_code == 200 and again.json()["status"] == "acceptance"

        services.marketing_accept(actor=operations, application_id=pk)
        assert client.get(url).json()["status"] == "accepted"
        services.marketing_pay(actor=finance, application_id=pk, amount="45000", reference="BANK-2026-001")
        seen = client.get(url).json()
        assert (seen["status"], seen["paid_amount"], seen["payment_reference"]) == ("paid", "45000.00", "BANK-2026-001")
        assert seen["paid_at"] is not None and seen["approved_amount"] == "45000.00" and seen["budget"] == "60000.00"
    assert [e["to_status"] for e in seen["events"]] == [
        "draft",
        "submitted",
        "changes",
        "submitted",
        "approved",
        "acceptance",
        "returned",
        "acceptance",
        "accepted",
        "paid",
    ]
    assert all(e["message"] for e in seen["events"])
    row = client.get(MS, {"status": "paid"}).json()["results"]
    assert [(r["id"], r["paid_amount"]) for r in row] == [(pk, "45000.00")]
    for attachment in seen["attachments"]:
        assert client.get(attachment["download_url"]).status_code == 200


# --- query counts ----------------------------------------------------------------------------------


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_list_and_detail_take_a_fixed_number_of_queries():
    seller = approved_seller()
    client = api(admin_of(seller))
    first = submitted(seller, files=[pdf()])
    paths = (MS, f"{MS}{first.pk}/", PLAN)
    before = {path: _count(client, path) for path in paths}
    for _n in range(3):
        submitted(seller, files=[pdf(), png()])
        services.marketing_save(
            actor=fresh(admin_of(seller)), data={"activity_name": "More"}, files=[pdf()], submit=False
        )
    services.marketing_request_changes(actor=staff_in("operations"), application_id=first.pk, reason="More")
    services.marketing_save(
        actor=fresh(admin_of(seller)), data=complete(), application_id=first.pk, files=[png()], submit=True
    )
    assert {path: _count(client, path) for path in paths} == before
