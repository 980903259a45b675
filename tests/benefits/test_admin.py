"""Merchant benefits in the back office: operations keep the catalog and decide the queue of
applications in arrival order through actions; staff without the permission only look."""

from datetime import date

import pytest
from django.urls import reverse

from benefits.models import Benefit, BenefitApplication
from tests.benefits.test_services import _pinned_clock, apply, make_benefit, rich_seller, staff_in, state  # noqa: F401
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
A = BenefitApplication.Status
QUEUE = reverse("admin:benefits_benefitapplication_changelist")


def test_operations_add_a_benefit_to_the_catalog(client):
    client.force_login(staff_in("operations"))
    response = client.post(
        reverse("admin:benefits_benefit_add"),
        {
            "name_zh": "联合营销",
            "name_en": "Co-marketing",
            "description_zh": "说明",
            "description_en": "About it",
            "gmv_threshold": "500000",
            "lead_days": "30",
            "quota_per_period": "3",
            "active_from": "2026-03-01",
            "active_until": "",
        },
    )
    assert response.status_code == 302
    benefit = Benefit.objects.get()
    assert (benefit.name_en, benefit.lead_days, benefit.quota_per_period) == ("Co-marketing", 30, 3)


def test_support_only_views_the_catalog(client):
    benefit = make_benefit()
    client.force_login(staff_in("support"))
    assert client.get(reverse("admin:benefits_benefit_changelist")).status_code == 200
    assert client.get(reverse("admin:benefits_benefit_add")).status_code == 403
    client.post(reverse("admin:benefits_benefit_change", args=[benefit.pk]), {"name_zh": "x"})
    benefit.refresh_from_db()
    assert benefit.name_zh == "流量扶持"


def test_the_queue_lists_in_arrival_order_with_positions(client):
    benefit = make_benefit()
    first, second = apply(rich_seller(), benefit), apply(rich_seller(), benefit)
    client.force_login(staff_in("operations"))
    page = client.get(QUEUE)
    assert page.status_code == 200
    rows = list(page.context["cl"].result_list)
    assert [r.pk for r in rows] == [first.pk, second.pk]
    assert [r.position for r in rows] == [1, 2]
    assert client.get(QUEUE, {"status__exact": "pending", "benefit__id__exact": benefit.pk}).status_code == 200
    assert client.get(reverse("admin:benefits_benefitapplication_change", args=[second.pk])).status_code == 200


def test_verify_grant_and_reject_through_the_actions(client):
    benefit = make_benefit()
    first, second, third = (apply(rich_seller(), benefit) for _ in range(3))
    client.force_login(staff_in("operations"))
    client.post(QUEUE, {"action": "verify", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.status == A.VERIFIED

    form = client.post(QUEUE, {"action": "grant", "_selected_action": [second.pk]})
    assert form.status_code == 200 and b'name="skip_reason"' in form.content
    before = state(second)
    response = client.post(
        QUEUE, {"action": "grant", "_selected_action": [second.pk], "apply": "1", "skip_reason": ""}, follow=True
    )
    assert state(second) == before  # earlier applications wait: the service demands a reason
    assert any(m.level_tag == "error" and "1" in str(m) for m in response.context["messages"])
    client.post(QUEUE, {"action": "grant", "_selected_action": [second.pk], "apply": "1", "skip_reason": "VIP"})
    second.refresh_from_db()
    assert (second.status, second.skip_reason) == (A.GRANTED, "VIP")

    before = state(third)
    client.post(QUEUE, {"action": "reject", "_selected_action": [third.pk], "apply": "1", "reason": ""})
    assert state(third) == before
    client.post(QUEUE, {"action": "reject", "_selected_action": [third.pk], "apply": "1", "reason": "Too late"})
    third.refresh_from_db()
    assert (third.status, third.rejection_reason) == (A.REJECTED, "Too late")


def test_staff_without_the_permission_cannot_decide(client):
    application = apply(rich_seller(), make_benefit(), date(2026, 3, 23))
    before = state(application)
    for user in (staff_in("support"), UserFactory(is_staff=True)):
        client.force_login(user)
        for action, extra in (("verify", {}), ("grant", {"apply": "1"}), ("reject", {"apply": "1", "reason": "x"})):
            client.post(QUEUE, {"action": action, "_selected_action": [application.pk], **extra})
    assert state(application) == before
