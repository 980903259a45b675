"""Sync calls for joint-operation SaaS (ISV interface section 2), over real HTTP to the sample ISV:
what an instance made, a release, a secret rotation, app access, members and organisation units send,
signed with x-timestamp/x-nonce/x-sign, in order, in batches of at most 500 users, retried and parked
like other calls, and retried by the tenant's administrator."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import Application

from marketplace.accounts import services as accounts
from marketplace.accounts.models import BuyerMembership, OrgUnit, User
from marketplace.catalog.models import TradeMode
from marketplace.core.errors import NotAllowed, NotFound
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.provisioning import protocol, services
from marketplace.provisioning.models import Instance, ProduceMessage
from marketplace.provisioning.sample_isv import SYNC_CALLS
from marketplace.sso import services as sso
from marketplace.sso.models import AppAccess, AppRegistration
from marketplace.sso.sync import failed_syncs, sync_app_credentials, sync_instances_made
from refunds.services import refund_record
from tests.factories import EnterpriseFactory, PlanFactory, ProductFactory, UserFactory
from tests.isv_fixtures import ACCESS_KEY

pytestmark = pytest.mark.django_db

SECRET = "joint-app-client-secret-2026"
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch, settings):
    monkeypatch.setitem(services.RULES, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setitem(services.RULES, "TOTAL_TIMEOUT", 2.0)
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def joint_product(saas_product):
    saas_product.trade_mode = TradeMode.JOINT
    saas_product.save(update_fields=["trade_mode"])
    return saas_product


@pytest.fixture
def joint_plan(joint_product):
    return PlanFactory(product=joint_product, sku_code="JOINT-STD")


@pytest.fixture
def registration(seller_user, integration, isv, joint_product):
    """The app registered for single sign-on; the seller uploaded the sample ISV's RSA public key, so
    applicationSync carries the secret encrypted for it."""
    integration.rsa_public_key = isv.public_key_pem
    integration.save(update_fields=["rsa_public_key"])
    registration, _secret = sso.app_register(
        actor=seller_user, product_id=joint_product.pk, redirect_uris=isv.oauth_callback_url, secret=SECRET
    )
    return registration


def enterprise(prefix: str):
    """A tenant: root > sales > east; its administrator (root), alice (east, given access to apps by
    the tests), bob (sales, no access)."""
    admin = UserFactory(email=f"{prefix}-admin@example.test", name="Admin", mobile="13800000000")
    tenant = EnterpriseFactory(member=admin, name=f"{prefix.title()} Corp")
    root = OrgUnit.objects.get(buyer=tenant)
    sales = OrgUnit.objects.create(buyer=tenant, parent=root, name="Sales", code="sales")
    east = OrgUnit.objects.create(buyer=tenant, parent=sales, name="East", code="east")
    alice = BuyerMembership.objects.create(
        buyer=tenant, user=UserFactory(email=f"{prefix}-alice@example.test", name="Alice"), org_unit=east
    )
    bob = BuyerMembership.objects.create(
        buyer=tenant, user=UserFactory(email=f"{prefix}-bob@example.test", name="Bob"), org_unit=sales
    )
    return tenant, admin.buyer_membership, alice, bob


@pytest.fixture
def acme(joint_product):
    tenant, admin, alice, bob = enterprise("acme")
    AppAccess.objects.create(membership=alice, product=joint_product)
    return tenant, admin, alice, bob


@pytest.fixture
def buy(django_capture_on_commit_callbacks):
    """Place and pay an order as this user; the calls it causes are delivered after commit."""

    def pay(plan, user) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            order = orders.order_create(actor=user, plan_id=plan.pk)
            orders.order_pay(actor=user, order_id=order.pk, method="online")
        order.refresh_from_db()
        return order

    return pay


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service and then its after-commit callbacks (the deliveries), as a request would."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def syncs(isv, since: int = 0):
    return [r for r in isv.received[since:] if r.activity in SYNC_CALLS]


def calls(isv, since: int = 0):
    """(call, flag, user names) of every sync call received after ``since`` requests."""
    return [
        (r.activity, r.payload.get("flag"), [u["userName"] for u in r.payload.get("userList", [])])
        for r in syncs(isv, since)
    ]


def sync_messages(**filters):
    return ProduceMessage.objects.filter(kind=ProduceMessage.Kind.SYNC, **filters).order_by("pk")


def message_state():
    return list(
        ProduceMessage.objects.order_by("pk").values_list(
            "pk", "status", "attempts", "next_attempt_at", "created_at", "finished_at"
        )
    )


# --- an instance made --------------------------------------------------------------------------------


def test_an_instance_made_sends_tenant_app_organisation_and_users_signed_and_in_order(
    isv, registration, joint_plan, acme, buy
):
    tenant, admin, _alice, _bob = acme

    order = buy(joint_plan, admin.user)

    instance = Instance.objects.get()
    received = syncs(isv)
    assert [r.activity for r in received] == ["tenantSync", "applicationSync", "allOrgSync", "authSync"]
    for request in received:
        assert request.path == f"/produceAPI/v2/{request.activity}"
        assert (request.http_status, request.result_code) == (200, "000000")
        headers = request.headers
        assert headers["x-sign"] == protocol.sync_signature(
            ACCESS_KEY, headers["x-nonce"], headers["x-timestamp"], request.body
        )
        assert abs(int(headers["x-timestamp"]) - protocol.now_ms()) < 60_000
    assert len({r.headers["x-nonce"] for r in received}) == 4
    stamp = received[0].payload["timeStamp"]
    assert len(stamp) == 14 and stamp.isdigit()
    assert received[0].payload == {
        "instanceId": instance.instance_id,
        "orderId": order.number,
        "tenantId": tenant.code,
        "tenantCode": tenant.code,
        "name": "Acme Corp",
        "domainName": settings.SITE_URL,
        "flag": "1",
        "testFlag": "0",
        "timeStamp": stamp,
    }
    app = received[1].payload
    assert (app["instanceId"], app["tenantId"], app["appId"], app["clientId"], app["flag"], app["testFlag"]) == (
        instance.instance_id,
        tenant.code,
        str(joint_plan.product_id),
        registration.application.client_id,
        "1",
        "0",
    )
    assert app["clientSecret"] == registration.secret_for_seller and SECRET not in received[1].body.decode()
    # only the seller's server can read the secret, and it did
    assert isv.applications[(tenant.code, str(joint_plan.product_id))]["clientSecret"] == SECRET
    assert received[2].payload["orgInfoList"] == [
        {"orgCode": "root", "orgName": "Acme Corp", "parentCode": ""},
        {"orgCode": "sales", "orgName": "Sales", "parentCode": "root"},
        {"orgCode": "east", "orgName": "East", "parentCode": "sales"},
    ]
    auth = received[3].payload
    assert (auth["instanceId"], auth["tenantId"], auth["appId"], auth["flag"]) == (
        instance.instance_id,
        tenant.code,
        str(joint_plan.product_id),
        "1",
    )
    # the administrator and the user given access; not bob
    assert auth["userList"] == [
        {
            "userName": "acme-admin@example.test",
            "name": "Admin",
            "orgCode": "root",
            "role": "admin",
            "enable": True,
            "mobile": "13800000000",
            "email": "acme-admin@example.test",
        },
        {
            "userName": "acme-alice@example.test",
            "name": "Alice",
            "orgCode": "east",
            "role": "user",
            "enable": True,
            "mobile": "",
            "email": "acme-alice@example.test",
        },
    ]
    # the seller's server now knows the tenant, its tree and who may sign in
    assert isv.tenants[tenant.code]["flag"] == "1"
    assert {code for (t, code) in isv.organizations if t == tenant.code} == {"root", "sales", "east"}
    assert sorted(u for (_t, _a, u) in isv.authorizations) == ["acme-admin@example.test", "acme-alice@example.test"]
    # every call is an outbox message of the instance, delivered once, with its attempt logged
    messages = list(sync_messages())
    assert [(m.activity, m.status, m.attempts, m.instance_id, m.order_line_id, m.seller_id) for m in messages] == [
        (call, "succeeded", 1, instance.pk, order.lines.get().pk, joint_plan.product.seller_id)
        for call in ("tenantSync", "applicationSync", "allOrgSync", "authSync")
    ]
    assert all(m.attempt_log.get().outcome == "success" for m in messages)
    assert not failed_syncs(tenant=tenant).exists()


def test_1201_users_are_added_in_three_auth_sync_calls_of_500_500_and_201(isv, registration, joint_plan, buy):
    tenant, admin, _alice, _bob = enterprise("big")
    BuyerMembership.objects.filter(buyer=tenant).exclude(pk=admin.pk).delete()
    users = User.objects.bulk_create([User(email=f"member{i:04d}@big.test", name=f"Member {i}") for i in range(1200)])
    members = BuyerMembership.objects.bulk_create([BuyerMembership(buyer=tenant, user=u) for u in users])
    AppAccess.objects.bulk_create([AppAccess(membership=m, product=joint_plan.product) for m in members])

    buy(joint_plan, admin.user)

    auth = [r.payload for r in isv.received_for("authSync")]
    assert [len(p["userList"]) for p in auth] == [500, 500, 201]
    names = [u["userName"] for p in auth for u in p["userList"]]
    assert len(set(names)) == 1201 and "big-admin@example.test" in names
    assert len(isv.authorizations) == 1201
    assert sync_messages(activity="authSync", status="succeeded").count() == 3


# --- changes in the tenant -------------------------------------------------------------------------


def test_app_access_given_and_taken_away_sends_auth_sync_1_then_3(isv, registration, joint_plan, acme, buy, committed):
    tenant, admin, alice, bob = acme
    buy(joint_plan, admin.user)
    start = len(isv.received)

    committed(sso.app_access_set, actor=admin.user, product_id=joint_plan.product_id, membership_ids=[alice.pk, bob.pk])
    assert calls(isv, start) == [("authSync", "1", ["acme-bob@example.test"])]
    assert (tenant.code, str(joint_plan.product_id), "acme-bob@example.test") in isv.authorizations

    committed(sso.app_access_set, actor=admin.user, product_id=joint_plan.product_id, membership_ids=[])
    assert calls(isv, start)[1:] == [("authSync", "3", ["acme-alice@example.test", "acme-bob@example.test"])]
    assert sorted(u for (_t, _a, u) in isv.authorizations) == ["acme-admin@example.test"]


def test_members_joining_changing_and_leaving_are_synced(isv, registration, joint_plan, acme, buy, committed):
    tenant, admin, alice, bob = acme
    buy(joint_plan, admin.user)
    start = len(isv.received)
    sales = OrgUnit.objects.get(buyer=tenant, code="sales")

    # a user given access moves to another unit: modified
    committed(accounts.buyer_member_update, actor=admin.user, membership_id=alice.pk, role="user", org_unit_id=sales.pk)
    assert calls(isv, start) == [("authSync", "2", ["acme-alice@example.test"])]
    assert (
        isv.authorizations[(tenant.code, str(joint_plan.product_id), "acme-alice@example.test")]["orgCode"] == "sales"
    )
    # bob, without access, becomes an administrator: added (administrators use every app)
    committed(accounts.buyer_member_update, actor=admin.user, membership_id=bob.pk, role="admin", org_unit_id=sales.pk)
    # and back to a plain user: revoked
    committed(accounts.buyer_member_update, actor=admin.user, membership_id=bob.pk, role="user", org_unit_id=sales.pk)
    # nothing changed: nothing sent
    committed(accounts.buyer_member_update, actor=admin.user, membership_id=bob.pk, role="user", org_unit_id=sales.pk)
    assert calls(isv, start)[1:] == [
        ("authSync", "1", ["acme-bob@example.test"]),
        ("authSync", "3", ["acme-bob@example.test"]),
    ]
    assert isv.authorizations.get((tenant.code, str(joint_plan.product_id), "acme-bob@example.test")) is None

    # invited people join: an administrator is added, a plain user (no access yet) is not sent
    for email, role in (("acme-carol@example.test", "admin"), ("acme-dave@example.test", "user")):
        issued = accounts.invitation_create(actor=admin.user, email=email, role=role, buyer=tenant)
        committed(accounts.invitation_accept, token=issued.token, password="A-long-pass-2026!", name="New member")
    assert calls(isv, start)[3:] == [("authSync", "1", ["acme-carol@example.test"])]
    assert isv.authorizations[(tenant.code, str(joint_plan.product_id), "acme-carol@example.test")]["role"] == "admin"

    # a member with access leaves: deleted; one without access leaves: nothing to tell
    committed(accounts.buyer_member_remove, actor=admin.user, membership_id=alice.pk)
    committed(accounts.buyer_member_remove, actor=admin.user, membership_id=bob.pk)
    assert calls(isv, start)[4:] == [("authSync", "0", ["acme-alice@example.test"])]
    assert sorted(u for (_t, _a, u) in isv.authorizations) == ["acme-admin@example.test", "acme-carol@example.test"]
    assert sync_messages().exclude(status="succeeded").count() == 0


def test_organisation_units_created_and_deleted_send_single_org_sync(
    isv, registration, joint_plan, acme, buy, committed
):
    tenant, admin, _alice, _bob = acme
    buy(joint_plan, admin.user)
    start = len(isv.received)
    sales = OrgUnit.objects.get(buyer=tenant, code="sales")

    unit = committed(accounts.org_unit_create, actor=admin.user, name="West", code="west", parent_id=sales.pk)

    (created,) = syncs(isv, start)
    instance = Instance.objects.get()
    assert created.activity == "singleOrgSync"
    assert {k: v for k, v in created.payload.items() if k != "timeStamp"} == {
        "instanceId": instance.instance_id,
        "tenantId": tenant.code,
        "orgCode": "west",
        "orgName": "West",
        "parentCode": "sales",
        "flag": "1",
        "testFlag": "0",
    }
    assert isv.organizations[(tenant.code, "west")] == {"orgCode": "west", "orgName": "West", "parentCode": "sales"}

    committed(accounts.org_unit_delete, actor=admin.user, unit_id=unit.pk)

    assert calls(isv, start)[1:] == [("singleOrgSync", "0", [])]
    assert syncs(isv, start)[1].payload["orgCode"] == "west"
    assert (tenant.code, "west") not in isv.organizations


def test_a_unit_that_is_not_created_sends_nothing(isv, registration, joint_plan, acme, buy):
    _tenant, admin, _alice, _bob = acme
    buy(joint_plan, admin.user)
    before = ProduceMessage.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        accounts.org_unit_create(actor=admin.user, name="Ghost", code="ghost", parent_id=None)
        raise RuntimeError("the request failed after the unit was made")

    assert ProduceMessage.objects.count() == before
    assert not OrgUnit.objects.filter(code="ghost").exists()


# --- the app and the instance ----------------------------------------------------------------------


def test_a_secret_rotation_sends_application_sync_2_to_every_live_instance(
    seller_user, isv, registration, joint_plan, acme, buy, committed
):
    _tenant, acme_admin, _alice, _bob = acme
    globex, globex_admin, _a, _b = enterprise("globex")
    initech, initech_admin, _c, _d = enterprise("initech")
    for user in (acme_admin.user, globex_admin.user, initech_admin.user):
        buy(joint_plan, user)
    released = Instance.objects.get(subscription__buyer=initech)
    committed(services.provisioning_release, instance=released, scene="UNSUBSCRIBED")
    released.refresh_from_db()
    assert released.status == "released" and initech.code not in isv.tenants
    start = len(isv.received)

    _registration, secret = committed(sso.app_rotate_secret, actor=seller_user, product_id=joint_plan.product_id)

    received = syncs(isv, start)
    live = Instance.objects.exclude(status="released").order_by("pk")
    assert [(r.activity, r.payload["flag"], r.payload["instanceId"]) for r in received] == [
        ("applicationSync", "2", i.instance_id) for i in live
    ]
    assert secret != SECRET
    assert {k: v["clientSecret"] for k, v in isv.applications.items() if k[0] != initech.code} == {
        (acme_admin.buyer.code, str(joint_plan.product_id)): secret,
        (globex.code, str(joint_plan.product_id)): secret,
    }


def test_a_release_sends_tenant_sync_0(isv, registration, joint_plan, acme, buy, django_capture_on_commit_callbacks):
    tenant, admin, _alice, _bob = acme
    order = buy(joint_plan, admin.user)
    instance = Instance.objects.get()
    assert tenant.code in isv.tenants

    with django_capture_on_commit_callbacks(execute=True):
        refund_record(line_id=order.lines.get().pk, amount="100.00", reason="The buyer withdrew")

    assert [r.activity for r in isv.received[-2:]] == ["releaseInstance", "tenantSync"]
    release = isv.received[-1].payload
    assert (release["flag"], release["instanceId"], release["tenantId"], release["orderId"]) == (
        "0",
        instance.instance_id,
        tenant.code,
        order.number,
    )
    assert tenant.code not in isv.tenants
    instance.refresh_from_db()
    assert instance.status == "released"
    # a released instance hears nothing more
    start = len(isv.received)
    with django_capture_on_commit_callbacks(execute=True):
        accounts.org_unit_create(actor=admin.user, name="West", code="west", parent_id=None)
    assert syncs(isv, start) == []


def test_a_renewal_sends_tenant_sync_2_with_its_order_after_the_refresh(
    isv, registration, joint_plan, acme, buy, django_capture_on_commit_callbacks
):
    tenant, admin, _alice, _bob = acme
    first = buy(joint_plan, admin.user)
    instance = Instance.objects.get()
    subscription = first.lines.get().subscription
    start = len(isv.received)

    with django_capture_on_commit_callbacks(execute=True):
        renewal = orders.order_create(
            actor=admin.user, plan_id=joint_plan.pk, order_type="RENEW", subscription_id=subscription.pk
        )
        orders.order_pay(actor=admin.user, order_id=renewal.pk, method="online")

    assert [r.activity for r in isv.received[start:]] == ["refreshInstance", "tenantSync"]
    changed = isv.received[-1].payload
    assert (changed["flag"], changed["instanceId"], changed["tenantId"], changed["orderId"]) == (
        "2",
        instance.instance_id,
        tenant.code,
        renewal.number,
    )
    assert isv.tenants[tenant.code]["flag"] == "2"


def test_a_refresh_of_a_product_without_single_sign_on_sends_no_tenant_sync(
    isv, integration, joint_plan, acme, buy, django_capture_on_commit_callbacks
):
    _tenant, admin, _alice, _bob = acme
    first = buy(joint_plan, admin.user)  # joint SaaS, but never registered for single sign-on
    with django_capture_on_commit_callbacks(execute=True):
        renewal = orders.order_create(
            actor=admin.user,
            plan_id=joint_plan.pk,
            order_type="RENEW",
            subscription_id=first.lines.get().subscription_id,
        )
        orders.order_pay(actor=admin.user, order_id=renewal.pk, method="online")
    assert isv.count("refreshInstance") == 1
    assert syncs(isv) == []
    assert not sync_messages().exists()


# --- retries, parking, the tenant's retry ---------------------------------------------------------


def test_a_sync_answered_with_500_is_retried_and_the_rest_wait_behind_it(isv, registration, joint_plan, acme, buy):
    _tenant, admin, _alice, _bob = acme
    isv.set_behaviour("error500", times=1, activities=["tenantSync"])

    buy(joint_plan, admin.user)

    # the first call failed: the others of the instance wait behind it (their order matters)
    tenant_sync = sync_messages().get(activity="tenantSync")
    assert (tenant_sync.status, tenant_sync.attempts, tenant_sync.error) == ("pending", 1, "HTTP 500")
    assert calls(isv) == [("tenantSync", "1", [])]
    assert sync_messages(status="pending", attempts=0).count() == 3
    assert services.messages_deliver_due(now=tenant_sync.created_at + 9 * MINUTE) == 0

    # ten minutes later it goes through, then the others, in order
    later = tenant_sync.next_attempt_at
    assert later - tenant_sync.created_at >= 10 * MINUTE
    while services.messages_deliver_due(now=later):
        pass

    assert [c for c, _f, _u in calls(isv)] == ["tenantSync", "tenantSync", "applicationSync", "allOrgSync", "authSync"]
    tenant_sync.refresh_from_db()
    assert list(tenant_sync.attempt_log.values_list("outcome", "status_code")) == [("retry", 500), ("success", 200)]
    assert set(sync_messages().values_list("status", flat=True)) == {"succeeded"}


def test_a_sync_failing_for_an_hour_is_parked_and_the_tenant_admin_retries_it(
    isv, registration, joint_plan, acme, buy, committed, client
):
    tenant, admin, alice, _bob = acme
    other_tenant, other_admin, _o1, _o2 = enterprise("globex")
    isv.set_behaviour("000005", activities=["applicationSync"])

    with time_machine.travel(timezone.now(), tick=False):  # the first attempt at the very time it was queued
        buy(joint_plan, admin.user)
    message = sync_messages().get(activity="applicationSync")
    start = message.created_at
    results = [services.message_deliver(message_id=message.pk, now=start + k * 10 * MINUTE) for k in range(1, 7)]

    # tried at 0, 10, ... 60 minutes, then parked for operations; the calls behind it go on
    assert results == ["retry"] * 5 + ["failure"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.result_code, message.finished_at) == (
        "parked",
        7,
        "000005",
        start + 60 * MINUTE,
    )
    assert list(message.attempt_log.values_list("outcome", flat=True)) == ["retry"] * 6 + ["failure"]
    services.messages_deliver_due(now=message.finished_at)
    services.messages_deliver_due(now=message.finished_at)
    assert list(sync_messages().values_list("activity", "status")) == [
        ("tenantSync", "succeeded"),
        ("applicationSync", "parked"),
        ("allOrgSync", "succeeded"),
        ("authSync", "succeeded"),
    ]
    # the tenant's administrator sees it; the other tenant does not
    assert list(failed_syncs(tenant=tenant)) == [message]
    assert not failed_syncs(tenant=other_tenant).exists()
    isv.behaviour = "normal"
    before = message_state()

    # neither another tenant's administrator nor a plain user of the tenant may retry it
    with pytest.raises(NotFound):
        committed(services.message_retry, actor=other_admin.user, message_id=message.pk)
    with pytest.raises(NotAllowed):
        committed(services.message_retry, actor=alice.user, message_id=message.pk)
    # nor may a tenant's administrator retry a produce call
    new_instance = ProduceMessage.objects.get(activity="newInstance")
    with pytest.raises(NotFound):
        committed(services.message_retry, actor=admin.user, message_id=new_instance.pk)
    assert message_state() == before
    assert isv.count("applicationSync") == 7

    # its administrator retries it: sent again now, delivered
    committed(services.message_retry, actor=admin.user, message_id=message.pk)

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("succeeded", 8)
    assert isv.applications[(tenant.code, str(joint_plan.product_id))]["clientSecret"] == SECRET
    assert not failed_syncs(tenant=tenant).exists()


def test_the_seller_and_operations_still_retry_sync_messages(
    seller_user, other_seller_user, ops_user, isv, registration, joint_plan, acme, buy, committed
):
    _tenant, admin, _alice, _bob = acme
    isv.set_behaviour("error500", activities=["authSync"])
    buy(joint_plan, admin.user)
    message = sync_messages().get(activity="authSync")
    assert (message.status, message.attempts) == ("pending", 1)
    before = message_state()

    with pytest.raises(NotFound):
        committed(services.message_retry, actor=other_seller_user, message_id=message.pk)
    assert message_state() == before

    committed(services.message_retry, actor=seller_user, message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 2)
    isv.behaviour = "normal"
    committed(services.message_retry, actor=ops_user, message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("succeeded", 3)


# --- who gets no sync calls --------------------------------------------------------------------------


def test_no_sync_calls_for_products_without_single_sign_on(isv, integration, joint_plan, acme, buy, committed):
    _tenant, admin, alice, _bob = acme
    general = ProductFactory(seller=joint_plan.product.seller, status="published")
    for plan in (joint_plan, PlanFactory(product=general)):
        buy(plan, admin.user)
    committed(accounts.org_unit_create, actor=admin.user, name="West", code="west", parent_id=None)
    committed(accounts.buyer_member_remove, actor=admin.user, membership_id=alice.pk)

    assert Instance.objects.count() == 2
    assert not sync_messages().exists()
    assert syncs(isv) == []


def test_no_sync_calls_when_the_seller_has_no_sync_url(
    isv, integration, registration, joint_plan, acme, buy, committed
):
    _tenant, admin, _alice, _bob = acme
    integration.sync_base_url = ""
    integration.save(update_fields=["sync_base_url"])

    order = buy(joint_plan, admin.user)
    committed(accounts.org_unit_create, actor=admin.user, name="West", code="west", parent_id=None)
    committed(sso.app_access_set, actor=admin.user, product_id=joint_plan.product_id, membership_ids=[])
    with transaction.atomic():
        refund_record(line_id=order.lines.get().pk, amount="100.00", reason="The buyer withdrew")
    services.messages_deliver_due()

    assert Instance.objects.get().status == "released"
    assert not sync_messages().exists()
    assert syncs(isv) == []


def test_no_application_sync_while_the_secret_is_not_encrypted_for_the_seller(isv, integration, joint_plan, acme, buy):
    _tenant, admin, _alice, _bob = acme
    application = Application.objects.create(
        client_id="no-key-app",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=isv.oauth_callback_url,
    )
    registration = AppRegistration.objects.create(product=joint_plan.product, application=application)
    assert registration.secret_for_seller == ""

    buy(joint_plan, admin.user)

    # the secret cannot be encrypted for the seller: it is not sent at all
    assert [c for c, _f, _u in calls(isv)] == ["tenantSync", "allOrgSync", "authSync"]
    assert sync_app_credentials(registration=registration, flag="2") == []


def test_the_syncs_of_a_batch_of_instances_take_the_same_queries_whatever_its_size(
    seller_user, isv, integration, joint_plan, buy
):
    # given six tenants' instances, made before the app was registered (registering syncs them once)
    for n in range(6):
        buy(joint_plan, enterprise(f"tenant{n}")[1].user)
    general = PlanFactory(product=ProductFactory(seller=joint_plan.product.seller, status="published"))
    buy(general, enterprise("plain")[1].user)
    integration.rsa_public_key = isv.public_key_pem
    integration.save(update_fields=["rsa_public_key"])
    sso.app_register(actor=seller_user, product_id=joint_plan.product_id, redirect_uris=isv.oauth_callback_url)
    made = list(Instance.objects.select_related("order_line__order").order_by("pk"))
    joint, plain = made[:6], made[6:]
    assert sync_messages(activity="tenantSync").count() == 6

    def queries(instances) -> int:
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            sync_instances_made(instances=instances)
        return len(captured)

    # then one instance or five cost the same handful of queries; a product without SSO costs one
    assert queries(joint[:1]) == queries(joint[1:]) <= 12
    assert queries(plain) == 1 + 2  # the savepoint's two statements
    assert sync_messages(activity="tenantSync").count() == 6 + 6
