import pytest
from django.contrib.auth.models import Group

from marketplace.accounts import services
from marketplace.core.errors import Conflict, NotAllowed
from marketplace.orders import services as order_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="operations"))
    return user


def test_a_suspended_seller_is_closed_and_off_the_catalog(client, operator, seller, seller_user, buyer_user, plan):
    services.seller_suspend(actor=operator, seller_id=seller.pk, reason="Unpaid penalties")
    seller.refresh_from_db()
    assert seller.status == "suspended"
    assert seller.events.get().message == "Unpaid penalties"

    client.force_login(seller_user)
    assert client.get("/seller/").status_code == 403
    assert client.get("/products/").content.decode().count(plan.product.name_zh) == 0
    assert client.get(f"/products/{plan.product_id}/").status_code == 404
    with pytest.raises(Conflict):
        order_services.order_create(actor=buyer_user, plan_id=plan.pk)

    services.seller_reinstate(actor=operator, seller_id=seller.pk)
    assert client.get("/seller/").status_code == 200
    assert order_services.order_create(actor=buyer_user, plan_id=plan.pk).status == "pending_payment"


def test_support_staff_cannot_suspend(seller):
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name="support"))
    with pytest.raises(NotAllowed):
        services.seller_suspend(actor=support, seller_id=seller.pk, reason="x")
    seller.refresh_from_db()
    assert seller.status == "active" and not seller.events.exists()
