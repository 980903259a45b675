"""Pages through the Django test client: forms, redirects, messages, the outbox."""

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.accounts.models import Buyer, SellerApplication, User
from marketplace.catalog.models import Product
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders.models import Order
from tests.factories import PASSWORD, EnterpriseFactory, PlanFactory, ProductFactory, UserFactory, seller_member

pytestmark = pytest.mark.django_db


def test_sign_up_as_an_enterprise_and_land_in_the_buyer_center(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "NEW@Example.com",
            "name": "New",
            "password": "a-long-pass-2026",
            "kind": "enterprise",
            "company_name": "ACME",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/buyer/"
    user = User.objects.get(email="new@example.com")
    assert user.buyer_membership.role == "admin"
    assert user.buyer_membership.buyer.kind == Buyer.Kind.ENTERPRISE
    assert client.get("/buyer/").status_code == 200


def test_sign_up_errors_are_shown_on_the_form_and_nothing_is_created(client, buyer_user):
    response = client.post(
        "/accounts/signup/",
        {"email": buyer_user.email, "name": "X", "password": "a-long-pass-2026", "kind": "individual"},
    )
    assert response.status_code == 200
    assert "errors" in response.content.decode()
    assert User.objects.filter(email=buyer_user.email).count() == 1


def test_login_with_email_then_logout(client, buyer_user):
    response = client.post("/accounts/login/", {"username": buyer_user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/buyer/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/buyer/").status_code == 302


def test_password_reset_by_e_mail(client, buyer_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": buyer_user.email})
    assert OutboundEmail.objects.get().status == "sent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [buyer_user.email]
    link = re.search(r"http://\S+/accounts/password/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("127.0.0.1:8000", 1)[1]
    form_url = client.get(path)["Location"]
    response = client.post(form_url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"})
    assert response.status_code == 302
    response = client.post("/accounts/login/", {"username": buyer_user.email, "password": "brand-new-pass-77"})
    assert response.status_code == 302 and client.get("/buyer/").status_code == 200


def test_unknown_email_reset_sends_nothing_but_looks_the_same(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert not OutboundEmail.objects.exists()


def test_language_switch_sets_the_cookie_and_the_users_preference(client, buyer_user):
    client.force_login(buyer_user)
    assert client.get("/buyer/")["Content-Language"] == "zh-hans"
    response = client.post("/accounts/language/", {"language": "en", "next": "/buyer/"})
    assert response.status_code == 302 and response["Location"] == "/buyer/"
    assert response.cookies["django_language"].value == "en"
    buyer_user.refresh_from_db()
    assert buyer_user.language == "en"
    assert client.get("/buyer/")["Content-Language"] == "en"


def test_language_switch_refuses_foreign_redirects(client):
    response = client.post("/accounts/language/", {"language": "en", "next": "https://evil.example.com/"})
    assert response["Location"] == "/"


def test_pages_default_to_chinese_whatever_the_browser_asks(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"


def test_seller_application_through_the_page(client, private_media):
    user = UserFactory()
    client.force_login(user)
    data = {
        "company_name": "Page Co",
        "credit_code": "91110108MA00000019",
        "established_on": "2018-01-01",
        "registered_capital": "800000",
        "staff_count": "30",
        "support_days_per_week": "5",
        "support_hours_per_day": "8",
        "contact_name": "Li",
        "contact_phone": "13800000000",
        "bound_email": "bound@page.example.com",
        "address": "Beijing",
        "business_license": SimpleUploadedFile("licence.pdf", b"%PDF-1.4 licence", content_type="application/pdf"),
        "submit": "1",
    }
    from marketplace.core.validators import uscc_check_char

    data["credit_code"] = data["credit_code"][:17] + uscc_check_char(data["credit_code"][:17])
    response = client.post("/accounts/seller-apply/", data)
    assert response.status_code == 302
    application = SellerApplication.objects.get(applicant=user)
    assert application.status == "submitted"
    document = application.documents.get()
    download = client.get(f"/accounts/seller-apply/documents/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    client.force_login(UserFactory())
    assert client.get(f"/accounts/seller-apply/documents/{document.pk}/").status_code == 404


def test_credit_settings_page_switches_and_refuses(client, seller, seller_user):
    joint = ProductFactory(seller=seller, trade_mode="joint", status="published")
    general = ProductFactory(seller=seller, trade_mode="general", status="published")
    client.force_login(seller_user)
    page = client.get("/seller/credit-settings/").content.decode()
    assert joint.name_zh in page and general.name_zh in page

    client.post("/seller/credit-settings/", {"product": joint.pk, "field": "coupon", "value": "on"})
    joint.refresh_from_db()
    assert joint.credit_coupon_enabled

    response = client.post(
        "/seller/credit-settings/", {"product": general.pk, "field": "credit_line", "value": "on"}, follow=True
    )
    general.refresh_from_db()
    assert not general.credit_line_enabled
    assert "error" in response.content.decode()

    assert client.post(
        "/seller/credit-settings/", {"product": "abc", "field": "coupon", "value": "on"}
    ).status_code in (302, 404)


def test_finance_user_cannot_open_credit_settings(client, seller):
    client.force_login(seller_member(seller, "finance"))
    assert client.get("/seller/credit-settings/").status_code == 403
    assert client.get("/seller/orders/").status_code == 200


def test_buy_through_the_pages(client, buyer_user, plan):
    client.force_login(buyer_user)
    assert client.get(f"/buyer/checkout/?plan={plan.pk}&order_type=NEW").status_code == 200
    response = client.post("/buyer/checkout/", {"plan": plan.pk, "order_type": "NEW", "period_count": 2})
    order = Order.objects.get()
    assert response["Location"] == f"/buyer/orders/{order.pk}/pay/"
    assert client.post(f"/buyer/orders/{order.pk}/pay/", {"method": "online"})["Location"].endswith("/pay/sandbox/")
    client.post(f"/buyer/orders/{order.pk}/pay/sandbox/", {"outcome": "succeed"})
    order.refresh_from_db()
    assert order.status == "paid" and order.amount == 200
    assert plan.product.name_zh in client.get("/buyer/services/").content.decode()


def test_checkout_with_nonsense_is_404_not_500(client, buyer_user):
    client.force_login(buyer_user)
    assert client.get("/buyer/checkout/?plan=abc").status_code == 404
    assert client.get("/buyer/checkout/?plan=999999").status_code == 404
    assert client.get("/buyer/checkout/").status_code == 404


def test_notifications_page_and_mark_read(client, seller, seller_user, ops_user, published_product):
    product = ProductFactory(seller=seller, status="pending_review")
    PlanFactory(product=product)
    from marketplace.catalog import services

    services.product_approve(actor=ops_user, product_id=product.pk)
    client.force_login(seller_user)
    notice = Notification.objects.get(user=seller_user)
    assert notice.title in client.get("/notifications/").content.decode()
    client.post("/notifications/read/", {"id": notice.pk, "next": notice.link})
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert Product.objects.get(pk=product.pk).status == "published"


def test_tenant_admin_workbench_invites_and_the_invitee_joins(client, django_capture_on_commit_callbacks):
    tenant = EnterpriseFactory()
    admin = tenant.memberships.get().user
    client.force_login(admin)
    assert client.get("/buyer/workbench/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/buyer/workbench/invite/", {"email": "joiner@example.com", "role": "user", "org_unit": ""})
    link = re.search(r"/accounts/invitation/\S+/", mail.outbox[-1].body).group(0)
    client.logout()
    response = client.post(link, {"name": "Joiner", "password": "joiner-pass-2026"})
    assert response.status_code == 302
    joiner = User.objects.get(email="joiner@example.com")
    assert joiner.buyer_membership.buyer == tenant and joiner.buyer_membership.role == "user"
    # The plain user opens the workbench but not its administration part.
    page = client.get("/buyer/workbench/")
    assert page.status_code == 200
    assert b"/buyer/workbench/invite/" not in page.content
    assert client.post("/buyer/workbench/invite/", {"email": "x@example.com", "role": "user"}).status_code == 403
