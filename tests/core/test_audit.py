"""The audit log: each change of money and each change of permissions writes one entry (who, what,
which object, the change, from where); entries are never changed or deleted (the model refuses, and
so does the database); operations and finance read them in the admin, nobody else does."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from benefits.models import AccelerationPlan, MarketingSupport
from benefits.services import marketing
from billing.services import ledger_adjust
from billing.services import statements as statement_services
from invoicing.services import seller_invoice_submit, seller_invoice_verify
from marketplace.accounts import services as accounts
from marketplace.accounts.models import BuyerMembership, SellerMembership
from marketplace.core import calendar
from marketplace.core.models import AuditEntry
from marketplace.orders import services as orders
from marketplace.orders.models import Order, Payment
from marketplace.provisioning import services as provisioning
from marketplace.provisioning.models import SellerIntegration
from refunds import services as refunds
from tests.billing.builders import make_statement, staff
from tests.factories import (
    BuyerFactory,
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
    bj,
    fresh,
    pdf_upload,
    seller_member,
)

pytestmark = pytest.mark.django_db


def entries_since(last_pk: int) -> list[tuple]:
    return list(
        AuditEntry.objects.filter(pk__gt=last_pk)
        .order_by("pk")
        .values_list("category", "action", "object_type", "object_id", "actor_id")
    )


def last() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def ops(db):
    return staff("operations")


@pytest.fixture
def finance(db):
    return staff("finance")


@pytest.fixture
def finance2(db):
    return staff("finance")


def paid_order(buyer_user, seller, *, delivery_kind="saas", price="100.00", method="online") -> Order:
    plan = PlanFactory(
        product=ProductFactory(seller=seller, status="published", delivery_kind=delivery_kind), price=Decimal(price)
    )
    order = orders.order_create(actor=fresh(buyer_user), plan_id=plan.pk)
    orders.order_pay(actor=fresh(buyer_user), order_id=order.pk, method=method)
    return Order.objects.get(pk=order.pk)


# --- money ----------------------------------------------------------------------------------------------


def test_paying_an_order_writes_one_entry(buyer_user, seller, published_product):
    order = orders.order_create(actor=fresh(buyer_user), plan_id=published_product.plans.get().pk)
    start = last()

    orders.order_pay(actor=fresh(buyer_user), order_id=order.pk, method="online")

    assert entries_since(start) == [("money", "order.paid", "orders.order", str(order.pk), buyer_user.pk)]
    entry = AuditEntry.objects.get(pk__gt=start)
    assert entry.changes["status"] == ["pending_payment", "paid"]
    assert entry.object_repr == str(order) and entry.actor_repr == buyer_user.email


def test_placing_an_order_is_not_a_money_change(buyer_user, published_product):
    start = last()

    orders.order_create(actor=fresh(buyer_user), plan_id=published_product.plans.get().pk)

    assert entries_since(start) == []


def test_credit_granted_limited_and_repaid_write_one_entry_each(ops, finance, seller):
    buyer = BuyerFactory()
    buyer_user = buyer.memberships.get().user
    start = last()

    orders.credit_grant_coupon(actor=finance, buyer_id=buyer.pk, amount="500.00", reason="Launch offer")
    orders.credit_set_limit(actor=finance, buyer_id=buyer.pk, limit="1000.00", reason="Good payer")

    assert [(*e[:3], e[4]) for e in entries_since(start)] == [
        ("money", "credit.coupon_granted", "orders.creditaccount", finance.pk),
        ("money", "credit.limit_set", "orders.creditaccount", finance.pk),
    ]
    granted, limited = AuditEntry.objects.filter(pk__gt=start).order_by("pk")
    assert granted.changes == {"coupon_balance": ["0.00", "500.00"], "reason": "Launch offer"}
    assert limited.changes == {"credit_limit": ["0.00", "1000.00"], "reason": "Good payer"}

    product = ProductFactory(seller=seller, status="published", trade_mode="joint", credit_line_enabled=True)
    plan = PlanFactory(product=product, price=Decimal("300.00"))
    order = orders.order_create(actor=fresh(buyer_user), plan_id=plan.pk)
    orders.order_pay(actor=fresh(buyer_user), order_id=order.pk, method="credit_line")
    payment = Payment.objects.get(order=order, status="succeeded")
    start = last()

    orders.credit_record_repayment(actor=finance, payment_id=payment.pk)

    assert entries_since(start) == [("money", "order.noted", "orders.order", str(order.pk), finance.pk)]
    assert AuditEntry.objects.get(pk__gt=start).changes["note"] == "Credit-line payment repaid"


def test_a_refund_request_approved_and_paid_back_is_audited(buyer_user, seller, seller_user):
    order = paid_order(buyer_user, seller, delivery_kind="manual")
    request = refunds.refund_request_create(
        actor=fresh(buyer_user), line_id=order.lines.get().pk, amount="40.00", reason_code="quality", reason_text="x"
    )
    start = last()

    refunds.refund_request_approve(actor=fresh(seller_user), request_id=request.pk)
    refunds.refund_pay(request_id=request.pk)

    assert entries_since(start) == [
        ("money", "refundrequest.approved", "refunds.refundrequest", str(request.pk), seller_user.pk),
        ("money", "order.noted", "orders.order", str(order.pk), None),  # CNY 40.00 of 100.00 refunded
        ("money", "refundrequest.paid", "refunds.refundrequest", str(request.pk), None),
    ]


def test_a_statements_way_to_payment_is_audited_step_by_step(ops, finance, finance2, seller, seller_user):
    statement = make_statement(ops, seller, "joint", "5000.00", month=(2024, 11))
    start = last()

    statement_services.statement_send(actor=ops, statement_id=statement.pk, now=bj(2024, 12, 4, 10))
    statement_services.statement_confirm(actor=fresh(seller_user), statement_id=statement.pk)
    statement_services.statement_countersign(actor=finance, statement_id=statement.pk)
    statement_services.statement_countersign(actor=finance2, statement_id=statement.pk)
    invoice = seller_invoice_submit(
        actor=fresh(seller_user),
        statement_id=statement.pk,
        number="INV-1",
        issued_on=calendar.today(),
        amount="5000.00",
        tax_rate="0.06",
        file=pdf_upload(),
    )
    seller_invoice_verify(actor=finance, invoice_id=invoice.pk)
    statement_services.statement_pay(actor=finance, statement_id=statement.pk, payout_reference="PAY-1")

    s = ("billing.statement", str(statement.pk))
    assert [(e[1], *e[2:]) for e in entries_since(start)] == [
        ("statement.awaiting_confirmation", *s, ops.pk),
        ("statement.countersigning", *s, seller_user.pk),
        ("statement.noted", *s, finance.pk),  # the first of two approvals
        ("statement.awaiting_invoice", *s, finance2.pk),
        ("statement.noted", *s, seller_user.pk),  # the seller's invoice arrived
        ("sellerinvoice.verified", "invoicing.sellerinvoice", str(invoice.pk), finance.pk),
        ("statement.payable", *s, finance.pk),
        ("statement.paid", *s, finance.pk),
    ]


def test_a_ledger_adjustment_writes_one_entry(ops, seller):
    start = last()

    entry = ledger_adjust(actor=ops, seller_id=seller.pk, trade_mode="general", amount="-25.00", reason="Correction")

    assert entries_since(start) == [("money", "ledger.adjusted", "billing.ledgerentry", str(entry.pk), ops.pk)]
    assert AuditEntry.objects.get(pk__gt=start).changes == {
        "seller": seller.pk,
        "trade_mode": "general",
        "amount": "-25.00",
        "reason": "Correction",
    }


def test_paying_marketing_support_writes_one_entry(ops, finance, seller, seller_user):
    AccelerationPlan.objects.create(
        seller=seller, applied_by=seller_user, gmv_at_application=Decimal("3000000"), status="approved"
    )
    today = calendar.today()
    application = marketing.marketing_save(
        actor=fresh(seller_user),
        data={
            "activity_name": "Spring sale",
            "starts_on": str(today + timedelta(days=10)),
            "ends_on": str(today + timedelta(days=20)),
            "channels": [MarketingSupport.Channel.values[0]],
            "budget": "50000",
            "proposal": "Ads.",
        },
        submit=True,
    )
    marketing.marketing_approve(actor=ops, application_id=application.pk, amount="40000")
    with time_machine.travel(timezone.now() + timedelta(days=30)):  # the activity is over: accepted, then paid
        marketing.marketing_submit_acceptance(
            actor=fresh(seller_user), application_id=application.pk, report="Done", files=[pdf_upload("proof.pdf")]
        )
        marketing.marketing_accept(actor=ops, application_id=application.pk)
        start = last()

        marketing.marketing_pay(actor=finance, application_id=application.pk, amount="40000", reference="PAY-7")

    assert entries_since(start) == [
        ("money", "marketingsupport.paid", "benefits.marketingsupport", str(application.pk), finance.pk)
    ]


# --- permissions -------------------------------------------------------------------------------------------


def test_seller_roles_changed_and_removed_write_one_entry_each(seller, seller_user):
    colleague = seller_member(seller, "developer").seller_membership
    start = last()

    accounts.seller_member_update(actor=fresh(seller_user), membership_id=colleague.pk, role="finance")
    accounts.seller_member_update(actor=fresh(seller_user), membership_id=colleague.pk, role="finance")  # no change
    accounts.seller_member_remove(actor=fresh(seller_user), membership_id=colleague.pk)

    assert entries_since(start) == [
        ("permission", "sellermembership.role_changed", "accounts.sellermembership", str(colleague.pk), seller_user.pk),
        ("permission", "sellermembership.removed", "accounts.sellermembership", str(colleague.pk), seller_user.pk),
    ]
    assert AuditEntry.objects.filter(pk__gt=start).order_by("pk").first().changes == {"role": ["developer", "finance"]}


def test_tenant_roles_and_invitations_write_one_entry_each():
    tenant = EnterpriseFactory()
    admin = tenant.memberships.get().user
    invited = accounts.invitation_create(actor=fresh(admin), email="new@tenant.test", role="user", buyer=tenant)
    start = last()

    joined = accounts.invitation_accept(token=invited.token, password="a-Long-pass-2026!", name="New")
    membership = BuyerMembership.objects.get(user=joined)
    accounts.buyer_member_update(actor=fresh(admin), membership_id=membership.pk, role="admin", org_unit_id=None)
    accounts.buyer_member_remove(actor=fresh(admin), membership_id=membership.pk)

    m = ("accounts.buyermembership", str(membership.pk))
    assert entries_since(start) == [
        ("permission", "buyermembership.granted", *m, joined.pk),
        ("permission", "buyermembership.role_changed", *m, admin.pk),
        ("permission", "buyermembership.removed", *m, admin.pk),
    ]


def test_a_seller_suspended_and_reinstated_writes_one_entry_each(ops, seller):
    start = last()

    accounts.seller_suspend(actor=ops, seller_id=seller.pk, reason="Unpaid fees")
    accounts.seller_reinstate(actor=ops, seller_id=seller.pk)

    assert entries_since(start) == [
        ("permission", "seller.suspended", "accounts.seller", str(seller.pk), ops.pk),
        ("permission", "seller.active", "accounts.seller", str(seller.pk), ops.pk),
    ]


def test_access_keys_issued_and_rotated_write_one_entry_each(seller, seller_user):
    SellerIntegration.objects.create(seller=seller, produce_url="https://isv.example.com/produce")
    start = last()

    first, _secret = provisioning.access_key_issue(seller=seller, purpose="open_api")
    second, _secret = provisioning.access_key_rotate(actor=fresh(seller_user), purpose="open_api")

    assert entries_since(start) == [
        ("permission", "accesskey.issued", "provisioning.accesskey", str(first.pk), None),
        ("permission", "accesskey.rotated", "provisioning.accesskey", str(second.pk), seller_user.pk),
    ]
    assert AuditEntry.objects.get(action="accesskey.rotated").changes["revoked"] == [first.key_id]
    assert first.secret not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


def test_staff_groups_permissions_and_flags_write_one_entry_each():
    user = UserFactory()
    group = Group.objects.get(name="finance")
    perm = Permission.objects.get(codename="view_auditentry")
    custom = Group.objects.create(name="auditors")
    start = last()

    user.groups.add(group)
    group.user_set.remove(user)
    user.user_permissions.add(perm)
    custom.permissions.add(perm)
    user.is_staff = True
    user.save()
    user.save()  # nothing changed: nothing written
    user.user_permissions.clear()

    assert [e[:4] for e in entries_since(start)] == [
        ("permission", "user.groups_added", "accounts.user", str(user.pk)),
        ("permission", "user.groups_removed", "accounts.user", str(user.pk)),
        ("permission", "user.permissions_added", "accounts.user", str(user.pk)),
        ("permission", "group.permissions_added", "auth.group", str(custom.pk)),
        ("permission", "user.flags_changed", "accounts.user", str(user.pk)),
        ("permission", "user.permissions_removed", "accounts.user", str(user.pk)),
    ]
    changes = [e.changes for e in AuditEntry.objects.filter(pk__gt=start).order_by("pk")]
    assert changes[0] == {"groups": ["finance"]} and changes[2] == {"permissions": ["core.view_auditentry"]}
    assert changes[4] == {"is_staff": [False, True]}


def test_an_entry_made_in_a_request_names_the_user_the_address_and_the_request(seller, seller_user):
    colleague = seller_member(seller, "support").seller_membership
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_REQUEST_ID="req-audit-1")
    client.force_login(seller_user)
    start = last()

    response = client.post(f"/seller/team/{colleague.pk}/", {"role": "finance"})

    assert response.status_code == 302
    entry = AuditEntry.objects.get(pk__gt=start)
    assert (entry.action, entry.actor_id, entry.ip, entry.request_id) == (
        "sellermembership.role_changed",
        seller_user.pk,
        "203.0.113.9",
        "req-audit-1",
    )
    assert SellerMembership.objects.get(pk=colleague.pk).role == "finance"


# --- append-only --------------------------------------------------------------------------------------------


@pytest.fixture
def entry(seller, seller_user):
    colleague = seller_member(seller, "support").seller_membership
    accounts.seller_member_update(actor=fresh(seller_user), membership_id=colleague.pk, role="finance")
    return AuditEntry.objects.latest("pk")


def test_the_model_refuses_to_change_or_delete_an_entry(entry):
    before = list(AuditEntry.objects.values())

    entry.action = "forged"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()

    assert list(AuditEntry.objects.values()) == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditentry SET action = 'forged' WHERE id = %s",
        "UPDATE core_auditentry SET changes = '{}' WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry(entry, sql):
    before = list(AuditEntry.objects.values())
    # SQLite ignores a DELETE (Django empties tables with DELETE there): the row stays all the same.
    ignored = connection.vendor == "sqlite" and sql.startswith("DELETE")

    with transaction.atomic(), connection.cursor() as cursor:
        if ignored:
            cursor.execute(sql, [entry.pk])
        else:
            with pytest.raises(DatabaseError), transaction.atomic():
                cursor.execute(sql, [entry.pk])

    assert list(AuditEntry.objects.values()) == before


# --- reading it: operations and finance in the admin ---------------------------------------------------------


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("group", ["operations", "finance"])
def test_operations_and_finance_read_the_log_with_filters_and_search(entry, group):
    client = admin_client(staff(group))

    listing = client.get("/admin/core/auditentry/")
    filtered = client.get("/admin/core/auditentry/", {"category": "permission", "action": entry.action})
    other = client.get("/admin/core/auditentry/", {"category": "money"})
    searched = client.get("/admin/core/auditentry/", {"q": entry.object_repr})
    detail = client.get(f"/admin/core/auditentry/{entry.pk}/change/")

    assert listing.status_code == filtered.status_code == searched.status_code == detail.status_code == 200
    assert list(filtered.context["cl"].result_list) == [entry]
    assert entry not in list(other.context["cl"].result_list)
    assert entry in list(searched.context["cl"].result_list)
    assert "&quot;role&quot;: [" in detail.content.decode()  # the change, shown as JSON
    assert 'name="_save"' not in detail.content.decode()  # read-only


@pytest.mark.parametrize("group", ["operations", "finance"])
def test_nobody_adds_changes_or_deletes_entries_in_the_admin(entry, group):
    client = admin_client(staff(group))
    before = list(AuditEntry.objects.values())

    assert client.get("/admin/core/auditentry/add/").status_code == 403
    assert client.post(f"/admin/core/auditentry/{entry.pk}/change/", {"action": "forged"}).status_code == 403
    assert client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403

    assert list(AuditEntry.objects.values()) == before


def test_seller_users_and_staff_without_the_permission_cannot_read_it(entry, seller_user):
    plain_staff = UserFactory(is_staff=True)

    response = admin_client(seller_user).get("/admin/core/auditentry/")
    assert (response.status_code, response["Location"].startswith("/admin/login/")) == (302, True)
    assert admin_client(plain_staff).get("/admin/core/auditentry/").status_code == 403
    assert admin_client(seller_user).get(f"/admin/core/auditentry/{entry.pk}/change/").status_code == 302


# --- the settings money is computed with -----------------------------------------------------------------


def test_the_settlement_settings_edited_in_the_admin_are_audited_field_by_field(ops):
    from billing.models import BillingSettings

    settings_row = BillingSettings.current()
    client = admin_client(ops)
    page = client.get(f"/admin/billing/billingsettings/{settings_row.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["confirmation_cutoff_0"], data["confirmation_cutoff_1"] = "2026-01-01", "00:00:00"
    data.pop("confirmation_cutoff", None)
    data["minimum_payout"] = "2000.00"
    response = client.post(f"/admin/billing/billingsettings/{settings_row.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    entry = AuditEntry.objects.get(action="billingsettings.changed")
    assert entry.category == AuditEntry.Category.MONEY
    assert entry.actor == ops and entry.object_id == str(settings_row.pk)
    assert entry.changes["minimum_payout"] == ["1000.00", "2000.00"]


def test_fee_tiers_created_changed_and_deleted_are_audited_and_an_unchanged_save_is_not():
    from billing.models import FeeTier

    tier = FeeTier.objects.create(effective_from="2026-01-01", threshold=Decimal("100000"), extra_share=Decimal("0.02"))
    tier.save()  # nothing changed
    tier.extra_share = Decimal("0.03")
    tier.save()
    pk = tier.pk
    tier.delete()
    entries = list(AuditEntry.objects.filter(object_type="billing.feetier").order_by("pk"))
    assert [e.action for e in entries] == ["feetier.created", "feetier.changed", "feetier.deleted"]
    assert entries[1].changes == {"extra_share": ["0.0200", "0.0300"]}
    assert entries[2].changes["threshold"] == ["100000.00", None] and entries[2].object_id == str(pk)
