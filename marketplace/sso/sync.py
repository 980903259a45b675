"""Sync calls for joint-operation SaaS (ISV interface section 2): what the seller's server must know
about the tenants, users and organisation trees that use its app.

Every call is a ``ProduceMessage`` of kind SYNC, written in the transaction of the change that
causes it and delivered after commit through the same outbox, signing (``x-sign`` headers),
retries (every 10 minutes for an hour, then parked) and message log as produce calls. Calls about
one instance reach the seller in the order they were queued (``provisioning.services._due``); after
commit each instance's new messages are handed to the worker as one Celery chain, so they go out one
after another without waiting for the minute sweep.

Only instances that are live (not released), of a product with an ``AppRegistration``, sold by a
seller with a sync base URL, get sync calls. The tenant id on the wire is ``Buyer.code`` (the
``customerId`` of newInstance).

| cause | calls |
|---|---|
| an instance made | tenantSync 1, applicationSync 1, allOrgSync, authSync 1 (admins and users given access) |
| an instance renewed, converted or upgraded (refreshInstance succeeded) | tenantSync 2 (its order) |
| an instance released | tenantSync 0 |
| the client secret issued or rotated | applicationSync 1 / 2 to every live instance |
| app access given / taken away | authSync 1 / 3 |
| a member joined (an administrator) / changed / left | authSync 1 / 2 (1 or 3 when a new role changes the apps) / 0 |
| an organisation unit created / deleted | singleOrgSync 1 / 0 |
"""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from marketplace.accounts.models import Buyer, BuyerMembership, OrgUnit
from marketplace.core.resilience import send_after_commit
from marketplace.provisioning.models import Instance, ProduceMessage, SellerIntegration
from marketplace.provisioning.services import beijing_stamp

from .models import AppAccess, AppRegistration

MAX_USERS = 500  # authSync: users per call
ADMIN = BuyerMembership.Role.ADMIN
SYNC = ProduceMessage.Kind.SYNC


# --- queueing --------------------------------------------------------------------------------------


def _message(instance: Instance, activity: str, body: dict, now) -> ProduceMessage:
    return ProduceMessage(
        seller_id=instance.seller_id,
        kind=SYNC,
        activity=activity,
        instance=instance,
        order_line_id=instance.order_line_id,
        payload=body,
        next_attempt_at=now,
        created_at=now,
    )


def _queue_many(messages: list[ProduceMessage]) -> list[ProduceMessage]:
    """Write the messages in one INSERT (in the caller's transaction); after commit, deliver each
    instance's messages one after another (a Celery chain of ``deliver_message``: the next one is due
    only once the one before it is done)."""
    if not messages:
        return []
    ProduceMessage.objects.bulk_create(messages)
    queues: dict[int, list[int]] = defaultdict(list)
    for message in messages:
        queues[message.instance_id].append(message.pk)
    send_after_commit(lambda: _deliver_in_order(list(queues.values())))
    return messages


def _deliver_in_order(queues: list[list[int]]) -> None:
    from celery import chain

    from marketplace.provisioning.tasks import deliver_message

    for pks in queues:
        chain(*(deliver_message.si(pk) for pk in sorted(pks))).delay()


# --- what the calls say ----------------------------------------------------------------------------


def _common(instance: Instance, tenant: Buyer) -> dict:
    return {"instanceId": instance.instance_id, "tenantId": tenant.code}


def _tail(now) -> dict:
    return {"testFlag": "0", "timeStamp": beijing_stamp(now)}


def _tenant_sync(instance: Instance, tenant: Buyer, order_number: str, flag: str, now) -> ProduceMessage:
    body = {
        "instanceId": instance.instance_id,
        "orderId": order_number,
        "tenantId": tenant.code,
        "tenantCode": tenant.code,
        "name": tenant.name,
        "domainName": settings.SITE_URL,
        "flag": flag,
        **_tail(now),
    }
    return _message(instance, "tenantSync", body, now)


def _application_sync(instance: Instance, tenant: Buyer, registration: AppRegistration, flag: str, now):
    body = {
        **_common(instance, tenant),
        "appId": str(registration.product_id),
        "clientId": registration.application.client_id,
        "clientSecret": registration.secret_for_seller,
        "flag": flag,
        **_tail(now),
    }
    return _message(instance, "applicationSync", body, now)


def _org_entry(unit: OrgUnit, codes: dict[int, str]) -> dict:
    return {"orgCode": unit.code, "orgName": unit.name, "parentCode": codes.get(unit.parent_id, "")}


def _org_tree(units: Iterable[OrgUnit]) -> list[dict]:
    """A tenant's organisation tree, parents before their children."""
    units = sorted(units, key=lambda u: u.code)
    codes = {u.pk: u.code for u in units}
    children: dict[int | None, list[OrgUnit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id if unit.parent_id in codes else None].append(unit)
    ordered, level = [], children[None]
    while level:
        ordered.extend(level)
        level = [child for unit in level for child in children[unit.pk]]
    return [_org_entry(u, codes) for u in ordered]


def _all_org_sync(instance: Instance, tenant: Buyer, orgs: list[dict], now) -> ProduceMessage:
    return _message(instance, "allOrgSync", {**_common(instance, tenant), "orgInfoList": orgs, **_tail(now)}, now)


def _single_org_sync(instance: Instance, tenant: Buyer, unit: OrgUnit, parent_code: str, flag: str, now):
    body = {
        **_common(instance, tenant),
        "orgCode": unit.code,
        "orgName": unit.name,
        "parentCode": parent_code,
        "flag": flag,
        **_tail(now),
    }
    return _message(instance, "singleOrgSync", body, now)


def _user_entry(membership: BuyerMembership) -> dict:
    user = membership.user
    return {
        "userName": user.email,
        "name": user.name or user.email,
        "orgCode": membership.org_unit.code if membership.org_unit_id else "",
        "role": "admin" if membership.role == ADMIN else "user",
        "enable": bool(user.is_active),
        "mobile": user.mobile,
        "email": user.email,
    }


def _auth_syncs(instance: Instance, tenant: Buyer, product_id: int, users: list[dict], flag: str, now):
    """authSync in calls of at most MAX_USERS users."""
    users = sorted(users, key=lambda u: u["userName"])
    return [
        _message(
            instance,
            "authSync",
            {
                **_common(instance, tenant),
                "appId": str(product_id),
                "userList": users[i : i + MAX_USERS],
                "flag": flag,
                **_tail(now),
            },
            now,
        )
        for i in range(0, len(users), MAX_USERS)
    ]


# --- who gets calls ------------------------------------------------------------------------------


def _syncing_sellers(seller_ids) -> set[int]:
    return set(
        SellerIntegration.objects.filter(seller_id__in=set(seller_ids))
        .exclude(sync_base_url="")
        .values_list("seller_id", flat=True)
    )


def _live_joint_instances(**filters) -> list[Instance]:
    """Live instances of products with single sign-on, of sellers with a sync base URL."""
    return list(
        Instance.objects.filter(subscription__product__sso_app__isnull=False, **filters)
        .filter(seller__integration__sync_base_url__gt="")
        .exclude(status=Instance.Status.RELEASED)
        .select_related("subscription__buyer")
        .order_by("pk")
    )


def _may_use(memberships, product_ids) -> set[tuple[int, int]]:
    """(membership id, product id) of the app access given to these members."""
    return set(
        AppAccess.objects.filter(membership__in=[m.pk for m in memberships], product_id__in=product_ids).values_list(
            "membership_id", "product_id"
        )
    )


# --- the calls ---------------------------------------------------------------------------------------


def sync_instances_made(*, instances, now=None) -> list[ProduceMessage]:
    """New instances of joint SaaS: the seller learns the tenant (tenantSync 1), the app's client id
    and secret (applicationSync 1), the organisation tree (allOrgSync) and the users who may use the
    app (authSync 1: the tenant's administrators and the users given access). A fixed handful of
    queries for any number of instances; one when none of their products has single sign-on."""
    instances = [i for i in instances if i.pk]
    if not instances:
        return []
    now = now or timezone.now()
    product_of = {i.pk: i.order_line.product_id for i in instances}
    registrations = {
        r.product_id: r
        for r in AppRegistration.objects.filter(product_id__in=set(product_of.values())).select_related("application")
    }
    if not registrations:
        return []
    instances = [i for i in instances if product_of[i.pk] in registrations]
    syncing = _syncing_sellers(i.seller_id for i in instances)
    instances = [i for i in instances if i.seller_id in syncing]
    if not instances:
        return []
    tenant_of = {i.pk: i.order_line.order.buyer_id for i in instances}
    tenants = Buyer.objects.in_bulk(set(tenant_of.values()))
    trees: dict[int, list[OrgUnit]] = defaultdict(list)
    for unit in OrgUnit.objects.filter(buyer_id__in=tenants.keys()):
        trees[unit.buyer_id].append(unit)
    access = AppAccess.objects.filter(membership__buyer_id__in=tenants.keys(), product_id__in=registrations.keys())
    granted = set(access.values_list("membership_id", "product_id"))
    members: dict[int, list[BuyerMembership]] = defaultdict(list)
    for membership in (
        BuyerMembership.objects.filter(buyer_id__in=tenants.keys())
        .filter(Q(role=ADMIN) | Q(pk__in=access.values("membership_id")))
        .select_related("user", "org_unit")
    ):
        members[membership.buyer_id].append(membership)
    messages = []
    for instance in instances:
        tenant, product_id = tenants[tenant_of[instance.pk]], product_of[instance.pk]
        registration = registrations[product_id]
        messages.append(_tenant_sync(instance, tenant, instance.order_line.order.number, "1", now))
        if registration.secret_for_seller:
            messages.append(_application_sync(instance, tenant, registration, "1", now))
        messages.append(_all_org_sync(instance, tenant, _org_tree(trees[tenant.pk]), now))
        users = [_user_entry(m) for m in members[tenant.pk] if m.role == ADMIN or (m.pk, product_id) in granted]
        messages.extend(_auth_syncs(instance, tenant, product_id, users, "1", now))
    return _queue_many(messages)


def _sync_tenant(instance, flag: str, order_number: str | None, now) -> list[ProduceMessage]:
    """tenantSync ``flag`` about an instance the seller's server was told about by sync calls."""
    now = now or timezone.now()
    if not ProduceMessage.objects.filter(instance_id=instance.pk, kind=SYNC).exists():
        return []  # not joint SaaS, no sync URL, or never synced
    if not _syncing_sellers([instance.seller_id]):
        return []
    instance = Instance.objects.select_related("subscription__buyer", "order_line__order").get(pk=instance.pk)
    tenant = instance.subscription.buyer
    return _queue_many([_tenant_sync(instance, tenant, order_number or instance.order_line.order.number, flag, now)])


def sync_instance_released(*, instance, now=None) -> list[ProduceMessage]:
    """A released instance: tenantSync 0."""
    return _sync_tenant(instance, "0", None, now)


def sync_instance_changed(*, instance, order_number: str, now=None) -> list[ProduceMessage]:
    """An instance renewed, converted from a trial or upgraded (its refreshInstance succeeded):
    tenantSync 2 with the order that changed it."""
    return _sync_tenant(instance, "2", order_number, now)


def sync_app_credentials(*, registration, flag, now=None) -> list[ProduceMessage]:
    """The app's client id and secret (encrypted for the seller) to every live instance of it:
    applicationSync ``flag`` (1 registered, 2 the secret rotated). Nothing while the seller has not
    uploaded its RSA public key (the secret cannot be sent)."""
    if not registration.secret_for_seller:
        return []
    now = now or timezone.now()
    instances = _live_joint_instances(subscription__product_id=registration.product_id)
    if not instances:
        return []
    return _queue_many([_application_sync(i, i.subscription.buyer, registration, str(flag), now) for i in instances])


def sync_app_registered(*, registration, now=None) -> list[ProduceMessage]:
    """An app registered while tenants already run it: each live instance is synced as if it had
    just been made (tenant, credentials, organisation tree, users)."""
    instances = (
        Instance.objects.filter(subscription__product_id=registration.product_id)
        .exclude(status=Instance.Status.RELEASED)
        .select_related("order_line__order")
    )
    return sync_instances_made(instances=list(instances), now=now)


def sync_users(*, tenant, product, memberships, flag, now=None) -> list[ProduceMessage]:
    """authSync ``flag`` (0 delete, 1 add, 2 modify, 3 revoke) of these users to the tenant's live
    instances of the app, at most MAX_USERS per call."""
    memberships = list(memberships)
    if not memberships:
        return []
    now = now or timezone.now()
    product_id = getattr(product, "pk", product)
    instances = _live_joint_instances(subscription__buyer_id=tenant.pk, subscription__product_id=product_id)
    users = [_user_entry(m) for m in memberships]
    return _queue_many(
        [message for i in instances for message in _auth_syncs(i, tenant, product_id, users, str(flag), now)]
    )


def sync_members_changed(*, tenant, memberships, flag, now=None) -> list[ProduceMessage]:
    """Members joined (1), changed (2) or are leaving (0; call it before deleting them): authSync to
    every app of the tenant each member may use (administrators every app, the others the apps they
    were given)."""
    memberships = list(memberships)
    if not memberships:
        return []
    now = now or timezone.now()
    instances = _live_joint_instances(subscription__buyer_id=tenant.pk)
    if not instances:
        return []
    product_ids = {i.subscription.product_id for i in instances}
    granted = _may_use(memberships, product_ids)
    messages = []
    for instance in instances:
        product_id = instance.subscription.product_id
        users = [_user_entry(m) for m in memberships if m.role == ADMIN or (m.pk, product_id) in granted]
        messages.extend(_auth_syncs(instance, tenant, product_id, users, str(flag), now))
    return _queue_many(messages)


def sync_member_updated(*, membership, old_role, now=None) -> list[ProduceMessage]:
    """A member's role or unit changed: authSync 2 to the apps it could and still can use; a new
    administrator is added (1) to the apps it was not given, a former one revoked (3) from them."""
    now = now or timezone.now()
    tenant = membership.buyer
    instances = _live_joint_instances(subscription__buyer_id=tenant.pk)
    if not instances:
        return []
    granted = {p for _m, p in _may_use([membership], {i.subscription.product_id for i in instances})}
    was_admin, is_admin = old_role == ADMIN, membership.role == ADMIN
    user = [_user_entry(membership)]
    messages = []
    for instance in instances:
        product_id = instance.subscription.product_id
        before, after = was_admin or product_id in granted, is_admin or product_id in granted
        flag = "2" if before and after else "1" if after else "3" if before else None
        if flag:
            messages.extend(_auth_syncs(instance, tenant, product_id, user, flag, now))
    return _queue_many(messages)


def sync_org_unit(*, unit, flag, now=None) -> list[ProduceMessage]:
    """singleOrgSync ``flag`` (0 deleted, 1 created, 2 changed) to every live joint SaaS instance of
    the unit's tenant (call it before deleting the unit)."""
    now = now or timezone.now()
    instances = _live_joint_instances(subscription__buyer_id=unit.buyer_id)
    if not instances:
        return []
    tenant = instances[0].subscription.buyer
    parent_code = (
        OrgUnit.objects.filter(pk=unit.parent_id).values_list("code", flat=True).first() or "" if unit.parent_id else ""
    )
    return _queue_many([_single_org_sync(i, tenant, unit, parent_code, str(flag), now) for i in instances])


# --- the tenant's view -------------------------------------------------------------------------------


def failed_syncs(*, tenant) -> QuerySet[ProduceMessage]:
    """Sync calls about the tenant's instances that the seller's server did not accept: failed,
    parked, or waiting for their next try after a failed one. Its administrators may retry them
    (``provisioning.services.message_retry``)."""
    tenant_id = getattr(tenant, "pk", tenant)
    return (
        ProduceMessage.objects.filter(kind=SYNC, instance__subscription__buyer_id=tenant_id)
        .filter(
            Q(status__in=(ProduceMessage.Status.FAILED, ProduceMessage.Status.PARKED))
            | Q(status=ProduceMessage.Status.PENDING, attempts__gt=0)
        )
        .order_by("-created_at", "-pk")
    )
