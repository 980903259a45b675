"""App registration and its secret, test accounts, and the workbench: who of a tenant sees and opens
which app, and who decides."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import translation
from oauth2_provider.models import Application

from marketplace.accounts.models import BuyerMembership
from marketplace.catalog.models import DeliveryKind, TradeMode
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from marketplace.orders import services as orders
from marketplace.provisioning import protocol
from marketplace.provisioning.models import Instance
from marketplace.sso import services
from marketplace.sso.models import AppAccess, AppRegistration, TestTenant
from tests.factories import EnterpriseFactory, PlanFactory, ProductFactory, UserFactory, seller_member

pytestmark = pytest.mark.django_db

REDIRECT = "https://crm.example.com/oauth/callback"


@pytest.fixture
def joint_app(seller, integration, isv):
    integration.rsa_public_key = isv.public_key_pem
    integration.save()
    return ProductFactory(
        seller=seller, status="published", trade_mode=TradeMode.JOINT, delivery_kind=DeliveryKind.SAAS
    )


@pytest.fixture
def registered(joint_app, seller_user):
    registration, secret = services.app_register(actor=seller_user, product_id=joint_app.pk, redirect_uris=REDIRECT)
    return registration, secret


def rows():
    return (
        list(Application.objects.values_list("client_id", "client_secret", "redirect_uris")),
        list(AppRegistration.objects.values_list("product_id", "secret_for_seller")),
    )


# --- registration --------------------------------------------------------------------------------------


def test_registering_shows_the_secret_once_keeps_a_hash_and_a_copy_only_the_seller_can_read(registered, joint_app, isv):
    registration, secret = registered
    application = registration.application
    assert application.client_secret != secret and check_password(secret, application.client_secret)
    assert protocol.rsa_decrypt(isv.private_key, registration.secret_for_seller) == secret
    assert (application.redirect_uris, application.skip_authorization, application.algorithm) == (
        REDIRECT,
        True,
        "RS256",
    )
    assert application.authorization_grant_type == "authorization-code"


@pytest.mark.parametrize(
    ("uris", "error"),
    [
        ("", "at least one redirect URI"),
        ("ftp://crm.example.com/cb", "is not a redirect URI"),
        ("https://crm.example.com/cb#top", "is not a redirect URI"),
        ("/oauth/callback", "is not a redirect URI"),
    ],
)
def test_bad_redirect_uris_are_refused_and_nothing_is_registered(joint_app, seller_user, uris, error):
    with translation.override("en"), pytest.raises(ValidationFailed, match=error):
        services.app_register(actor=seller_user, product_id=joint_app.pk, redirect_uris=uris)
    assert rows() == ([], [])


def test_only_joint_saas_of_ones_own_with_an_rsa_key_is_registered_once(
    seller, seller_user, other_seller_user, joint_app, integration
):
    general = ProductFactory(seller=seller, trade_mode=TradeMode.GENERAL, delivery_kind=DeliveryKind.SAAS)
    with translation.override("en"), pytest.raises(ValidationFailed, match="joint-operation SaaS"):
        services.app_register(actor=seller_user, product_id=general.pk, redirect_uris=REDIRECT)
    with pytest.raises(NotFound):
        services.app_register(actor=other_seller_user, product_id=joint_app.pk, redirect_uris=REDIRECT)
    with pytest.raises(NotAllowed):
        services.app_register(actor=seller_member(seller, "finance"), product_id=joint_app.pk, redirect_uris=REDIRECT)
    integration.rsa_public_key = ""
    integration.save()
    with translation.override("en"), pytest.raises(ValidationFailed, match="RSA public key"):
        services.app_register(actor=seller_user, product_id=joint_app.pk, redirect_uris=REDIRECT)
    assert rows() == ([], [])


def test_a_second_registration_is_refused(registered, joint_app, seller_user):
    before = rows()
    with pytest.raises(Conflict):
        services.app_register(actor=seller_user, product_id=joint_app.pk, redirect_uris=REDIRECT)
    assert rows() == before


def test_rotating_the_secret_stops_the_old_one_at_once(registered, joint_app, seller_user, isv):
    registration, old = registered

    registration, new = services.app_rotate_secret(actor=seller_user, product_id=joint_app.pk)

    registration.application.refresh_from_db()
    assert new != old
    assert check_password(new, registration.application.client_secret)
    assert not check_password(old, registration.application.client_secret)
    assert protocol.rsa_decrypt(isv.private_key, registration.secret_for_seller) == new


def test_the_seller_page_registers_and_shows_the_secret_once(client, seller_user, joint_app, other_seller_user):
    client.force_login(seller_user)
    page = client.get("/seller/app-tools/sso/")
    assert page.status_code == 200 and joint_app.name_zh in page.content.decode()

    response = client.post(
        "/seller/app-tools/sso/", {"action": "register", "product": joint_app.pk, "redirect_uris": REDIRECT}
    )
    assert response.status_code == 302
    shown = client.get("/seller/app-tools/sso/").content.decode()
    application = Application.objects.get()
    assert 'data-testid="new-client-secret"' in shown and application.client_id in shown
    assert 'data-testid="new-client-secret"' not in client.get("/seller/app-tools/sso/").content.decode()

    # another seller sees nothing of it and cannot rotate it
    client.force_login(other_seller_user)
    assert application.client_id not in client.get("/seller/app-tools/sso/").content.decode()
    before = rows()
    client.post("/seller/app-tools/sso/", {"action": "rotate", "product": joint_app.pk})
    assert rows() == before


# --- test accounts -------------------------------------------------------------------------------------


def signs_in(user, password) -> bool:
    user.refresh_from_db()
    return user.check_password(password)


def test_test_accounts_sign_in_and_asking_again_gives_new_passwords(seller, seller_user):
    tenant, accounts = services.test_tenant_create(actor=seller_user)

    assert TestTenant.objects.get(seller=seller) == tenant
    assert sorted(m.role for m in tenant.buyer.memberships.all()) == ["admin", "user"]
    for user, password in accounts:
        assert signs_in(user, password)

    again, new_accounts = services.test_tenant_create(actor=seller_user)
    assert again == tenant and TestTenant.objects.count() == 1
    for (user, old), (_same, new) in zip(accounts, new_accounts, strict=True):
        assert not signs_in(user, old) and signs_in(user, new)


def test_only_app_administrators_make_test_accounts(seller):
    with pytest.raises(NotAllowed):
        services.test_tenant_create(actor=seller_member(seller, "support"))
    assert not TestTenant.objects.exists()


# --- the workbench -------------------------------------------------------------------------------------


@pytest.fixture
def tenant(registered, joint_app, django_capture_on_commit_callbacks):
    """An enterprise holding a running instance of the app: an administrator and two users."""
    admin = UserFactory()
    tenant = EnterpriseFactory(member=admin)
    plan = PlanFactory(product=joint_app, price=100)
    with django_capture_on_commit_callbacks(execute=True):
        order = orders.order_create(actor=admin, plan_id=plan.pk)
        orders.order_pay(actor=admin, order_id=order.pk, method="online")
    assert Instance.objects.get(subscription__buyer=tenant).status == "active"
    for _n in range(2):
        BuyerMembership.objects.create(buyer=tenant, user=UserFactory(), role="user")
    return tenant


def members(tenant, role):
    return list(tenant.memberships.filter(role=role).select_related("user").order_by("pk"))


def test_an_administrator_sees_the_app_and_opens_it_signed_in(client, tenant, joint_app, registered):
    (admin,) = members(tenant, "admin")
    client.force_login(admin.user)

    page = client.get("/buyer/workbench/").content.decode()
    assert joint_app.name_zh in page and f"/buyer/workbench/apps/{joint_app.pk}/access/" in page

    response = client.get(f"/buyer/workbench/apps/{joint_app.pk}/open/")
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert target.path == "/api/v1/oauth2/authorize"
    assert (query["client_id"], query["redirect_uri"], query["response_type"]) == (
        [registered[0].application.client_id],
        [REDIRECT],
        ["code"],
    )
    assert len(query["state"][0]) >= 16


def test_a_user_sees_and_opens_the_app_only_once_given_access(client, tenant, joint_app):
    (admin,) = members(tenant, "admin")
    alice, bob = members(tenant, "user")
    client.force_login(alice.user)
    assert joint_app.name_zh not in client.get("/buyer/workbench/").content.decode()
    assert client.get(f"/buyer/workbench/apps/{joint_app.pk}/open/")["Location"] == "/buyer/workbench/"
    assert client.get(f"/buyer/workbench/apps/{joint_app.pk}/access/").status_code == 403

    client.force_login(admin.user)
    response = client.post(f"/buyer/workbench/apps/{joint_app.pk}/access/", {"members": [alice.pk]})
    assert response.status_code == 302
    assert list(AppAccess.objects.values_list("membership_id", flat=True)) == [alice.pk]

    client.force_login(alice.user)
    assert joint_app.name_zh in client.get("/buyer/workbench/").content.decode()
    assert urlsplit(client.get(f"/buyer/workbench/apps/{joint_app.pk}/open/")["Location"]).path == (
        "/api/v1/oauth2/authorize"
    )
    client.force_login(bob.user)
    assert joint_app.name_zh not in client.get("/buyer/workbench/").content.decode()

    # and when the administrator takes it back
    client.force_login(admin.user)
    client.post(f"/buyer/workbench/apps/{joint_app.pk}/access/", {"members": []})
    assert not AppAccess.objects.exists()


def test_another_tenants_administrator_can_neither_see_nor_manage_the_app(client, tenant, joint_app):
    alice, _bob = members(tenant, "user")
    stranger = UserFactory()
    EnterpriseFactory(member=stranger)
    client.force_login(stranger)

    assert joint_app.name_zh not in client.get("/buyer/workbench/").content.decode()
    assert client.get(f"/buyer/workbench/apps/{joint_app.pk}/open/").status_code == 404
    assert client.get(f"/buyer/workbench/apps/{joint_app.pk}/access/").status_code == 404
    assert client.post(f"/buyer/workbench/apps/{joint_app.pk}/access/", {"members": [alice.pk]}).status_code == 404
    with pytest.raises(NotFound):
        services.app_access_set(actor=stranger, product_id=joint_app.pk, membership_ids=[alice.pk])
    assert not AppAccess.objects.exists()


def test_registering_an_app_tenants_already_run_syncs_each_of_them_in_full(
    joint_app, seller_user, isv, django_capture_on_commit_callbacks
):
    admin = UserFactory()
    tenant = EnterpriseFactory(member=admin)
    plan = PlanFactory(product=joint_app, price=100)
    with django_capture_on_commit_callbacks(execute=True):
        order = orders.order_create(actor=admin, plan_id=plan.pk)
        orders.order_pay(actor=admin, order_id=order.pk, method="online")
    assert isv.count("tenantSync") == 0  # no single sign-on yet: nothing to sync

    with django_capture_on_commit_callbacks(execute=True):
        _registration, secret = services.app_register(
            actor=seller_user, product_id=joint_app.pk, redirect_uris=REDIRECT
        )

    calls = [r.activity for r in isv.received if r.activity.endswith("Sync")]
    assert calls == ["tenantSync", "applicationSync", "allOrgSync", "authSync"]
    assert isv.tenants[tenant.code]["flag"] == "1"
    assert isv.applications[(tenant.code, str(joint_app.pk))]["clientSecret"] == secret
