"""The back office: every admin page opens, actions call services, permissions come from groups."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from marketplace.catalog.models import Product, ProductEvent
from marketplace.orders.models import CreditAccount, CreditTransaction
from tests.factories import BuyerFactory, PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet")


def staff_in(group: str):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_every_admin_list_and_change_page_opens(client, demo, ops_user):
    client.force_login(ops_user)
    assert client.get("/admin/").status_code == 200
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        if model_admin.search_fields:
            assert client.get(changelist, {"q": "demo"}).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


def test_the_front_page_shows_the_review_queues(client, ops_user):
    product = ProductFactory(status="pending_review")
    PlanFactory(product=product)
    client.force_login(ops_user)
    page = client.get("/admin/").content.decode()
    assert 'id="review-queues"' in page
    assert "?status__exact=pending_review" in page


def test_operator_approves_and_rejects_through_admin_actions(client):
    operator = staff_in("operations")
    ok = ProductFactory(status="pending_review")
    bad = ProductFactory(status="pending_review")
    client.force_login(operator)
    url = reverse("admin:catalog_product_changelist")

    client.post(url, {"action": "approve", "_selected_action": [ok.pk]})
    # The reject action asks for a reason first, then applies.
    form = client.post(url, {"action": "reject", "_selected_action": [bad.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    client.post(url, {"action": "reject", "_selected_action": [bad.pk], "apply": "1", "reason": "Screenshots missing"})

    ok.refresh_from_db()
    bad.refresh_from_db()
    assert ok.status == "published"
    assert (bad.status, bad.rejection_reason) == ("rejected", "Screenshots missing")


def test_support_staff_cannot_approve(client):
    support = staff_in("support")
    product = ProductFactory(status="pending_review")
    client.force_login(support)
    url = reverse("admin:catalog_product_changelist")
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "approve", "_selected_action": [product.pk]})
    product.refresh_from_db()
    assert product.status == "pending_review"
    assert response.status_code in (200, 302)
    assert not ProductEvent.objects.filter(product=product).exists()


def test_finance_grants_a_coupon_with_a_reason(client):
    finance = staff_in("finance")
    account = CreditAccount.objects.create(buyer=BuyerFactory())
    client.force_login(finance)
    url = reverse("admin:orders_creditaccount_changelist")
    client.post(
        url,
        {
            "action": "grant_coupon",
            "_selected_action": [account.pk],
            "apply": "1",
            "amount": "500",
            "reason": "Launch promotion",
        },
    )
    account.refresh_from_db()
    assert str(account.coupon_balance) == "500.00"
    tx = CreditTransaction.objects.get()
    assert (tx.kind, tx.actor, tx.reason) == ("coupon_grant", finance, "Launch promotion")


def test_money_and_status_fields_are_read_only_in_the_admin(client, ops_user):
    product = ProductFactory(status="pending_review")
    client.force_login(ops_user)
    change = reverse("admin:catalog_product_change", args=[product.pk])
    page = client.get(change).content.decode()
    assert 'name="status"' not in page
    account = CreditAccount.objects.create(buyer=BuyerFactory())
    page = client.get(reverse("admin:orders_creditaccount_change", args=[account.pk])).content.decode()
    assert 'name="coupon_balance"' not in page and 'name="credit_limit"' not in page
    assert Product.objects.get(pk=product.pk).status == "pending_review"
