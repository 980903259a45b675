"""Accounts services: sign-up, invitations, tenant and seller teams, seller onboarding."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from marketplace.accounts import services
from marketplace.accounts.models import (
    Buyer,
    BuyerMembership,
    Invitation,
    OrgUnit,
    Seller,
    SellerApplication,
    SellerApplicationDocument,
    SellerApplicationEvent,
    SellerMembership,
    User,
)
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed
from marketplace.core.models import Notification, OutboundEmail
from tests.factories import (
    BuyerFactory,
    EnterpriseFactory,
    SellerFactory,
    UserFactory,
    application_data,
    pdf_upload,
    seller_member,
)

pytestmark = pytest.mark.django_db

STRONG = "Tr0ub4dor&3-horse"


def account_counts() -> dict:
    return {
        "users": User.objects.count(),
        "buyers": Buyer.objects.count(),
        "buyer_memberships": BuyerMembership.objects.count(),
        "org_units": OrgUnit.objects.count(),
        "sellers": Seller.objects.count(),
        "seller_memberships": SellerMembership.objects.count(),
        "invitations": Invitation.objects.count(),
        "emails": OutboundEmail.objects.count(),
        "notifications": Notification.objects.count(),
        "applications": SellerApplication.objects.count(),
        "documents": SellerApplicationDocument.objects.count(),
        "application_events": SellerApplicationEvent.objects.count(),
    }


def tenant_admin_and_root():
    tenant = EnterpriseFactory()
    admin = tenant.memberships.get().user
    return tenant, admin, tenant.org_units.get(code="root")


def add_tenant_user(tenant, role=BuyerMembership.Role.USER, unit=None) -> BuyerMembership:
    return BuyerMembership.objects.create(buyer=tenant, user=UserFactory(), role=role, org_unit=unit)


def reviewer():
    """An operations manager in the operations group (not a superuser)."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="operations"))
    return User.objects.get(pk=user.pk)  # fresh permission cache


# --- sign-up -------------------------------------------------------------------------------------


def test_signup_of_an_individual_creates_a_buyer_administered_by_the_user():
    user = services.user_signup(email="  Wang.Fang@Example.test ", password=STRONG, name="Wang Fang")

    assert user.email == "wang.fang@example.test"
    assert user.check_password(STRONG)
    membership = user.buyer_membership
    assert membership.role == BuyerMembership.Role.ADMIN
    assert membership.buyer.kind == Buyer.Kind.INDIVIDUAL
    assert membership.buyer.name == "Wang Fang"
    assert membership.org_unit is None
    assert OrgUnit.objects.count() == 0


def test_signup_of_an_enterprise_creates_a_tenant_with_a_root_unit():
    user = services.user_signup(
        email="cto@acme.test", password=STRONG, name="Zhao", kind=Buyer.Kind.ENTERPRISE, company_name=" Acme Ltd "
    )

    membership = user.buyer_membership
    assert membership.role == BuyerMembership.Role.ADMIN
    assert membership.buyer.kind == Buyer.Kind.ENTERPRISE
    assert membership.buyer.name == "Acme Ltd"
    root = OrgUnit.objects.get(buyer=membership.buyer)
    assert (root.name, root.code, root.parent_id) == ("Acme Ltd", "root", None)
    assert membership.org_unit == root


def test_signup_of_an_enterprise_without_company_name_is_refused_and_creates_nothing():
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.user_signup(
            email="cto@acme.test", password=STRONG, name="Zhao", kind=Buyer.Kind.ENTERPRISE, company_name="  "
        )

    assert set(exc.value.field_errors) == {"company_name"}
    assert account_counts() == before


def test_signup_with_a_registered_email_is_refused_whatever_its_case():
    UserFactory(email="taken@example.test")
    before = account_counts()

    with pytest.raises(Conflict) as exc:
        services.user_signup(email="TAKEN@example.test", password=STRONG, name="Someone")

    assert set(exc.value.field_errors) == {"email"}
    assert account_counts() == before


@pytest.mark.parametrize("password", ["short1", "12345678901", "password123", "signup.person@example.test"])
def test_signup_with_a_weak_password_is_refused_and_creates_nothing(password):
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.user_signup(email="signup.person@example.test", password=password, name="Signup Person")

    assert set(exc.value.field_errors) == {"password"}
    assert account_counts() == before


# --- invitations ---------------------------------------------------------------------------------


def test_tenant_admin_invites_a_user_and_the_email_carries_the_token(django_capture_on_commit_callbacks, mailoutbox):
    tenant, admin, root = tenant_admin_and_root()

    with django_capture_on_commit_callbacks(execute=True):
        issued = services.invitation_create(
            actor=admin,
            email=" New.Colleague@Example.test",
            role=BuyerMembership.Role.USER,
            buyer=tenant,
            org_unit=root,
        )

    invitation = issued.invitation
    assert (invitation.email, invitation.buyer, invitation.seller, invitation.role, invitation.org_unit) == (
        "new.colleague@example.test",
        tenant,
        None,
        "user",
        root,
    )
    assert invitation.token_hash != issued.token  # only a hash is stored
    assert invitation.invited_by == admin
    assert invitation.is_open()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.colleague@example.test"]
    assert f"/accounts/invitation/{issued.token}/" in mailoutbox[0].body
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT


def test_a_plain_tenant_user_cannot_invite():
    tenant, _admin, _root = tenant_admin_and_root()
    plain = add_tenant_user(tenant).user
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.invitation_create(actor=plain, email="x@example.test", role="user", buyer=tenant)

    assert account_counts() == before


def test_the_admin_of_another_tenant_cannot_invite_into_this_one():
    tenant, _admin, _root = tenant_admin_and_root()
    _other, other_admin, _ = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.invitation_create(actor=other_admin, email="x@example.test", role="user", buyer=tenant)

    assert account_counts() == before


def test_an_individual_buyer_cannot_invite():
    buyer = BuyerFactory()
    user = buyer.memberships.get().user
    before = account_counts()

    with pytest.raises(ValidationFailed):
        services.invitation_create(actor=user, email="x@example.test", role="user", buyer=buyer)

    assert account_counts() == before


def test_an_invitation_into_another_tenants_unit_is_refused():
    tenant, admin, _root = tenant_admin_and_root()
    _other, _other_admin, other_root = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(NotFound):
        services.invitation_create(actor=admin, email="x@example.test", role="user", buyer=tenant, org_unit=other_root)

    assert account_counts() == before


def test_a_user_who_already_has_a_buyer_account_cannot_be_invited_to_a_tenant(buyer_user):
    tenant, admin, _root = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(Conflict):
        services.invitation_create(actor=admin, email=buyer_user.email.upper(), role="user", buyer=tenant)

    assert account_counts() == before


def test_seller_admin_invites_a_colleague(seller, seller_user):
    issued = services.invitation_create(
        actor=seller_user, email="dev@seller.test", role=SellerMembership.Role.DEVELOPER, seller=seller
    )

    assert (issued.invitation.seller, issued.invitation.buyer, issued.invitation.role) == (seller, None, "developer")
    assert OutboundEmail.objects.get().to == "dev@seller.test"


@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_a_seller_member_who_is_not_admin_cannot_invite(seller, role):
    member = seller_member(seller, role)
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.invitation_create(actor=member, email="x@seller.test", role="developer", seller=seller)

    assert account_counts() == before


def test_the_admin_of_another_seller_cannot_invite_into_this_seller(seller, other_seller_user):
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.invitation_create(actor=other_seller_user, email="x@seller.test", role="developer", seller=seller)

    assert account_counts() == before


def test_an_invitation_with_an_unknown_role_is_refused(seller, seller_user):
    before = account_counts()

    with pytest.raises(ValidationFailed):
        services.invitation_create(actor=seller_user, email="x@seller.test", role="owner", seller=seller)

    assert account_counts() == before


def test_accepting_as_a_new_user_creates_the_account_and_the_membership():
    tenant, admin, root = tenant_admin_and_root()
    unit = OrgUnit.objects.create(buyer=tenant, parent=root, name="Sales", code="sales")
    issued = services.invitation_create(
        actor=admin, email="joiner@example.test", role="user", buyer=tenant, org_unit=unit
    )

    user = services.invitation_accept(token=issued.token, password=STRONG, name="Joiner")

    assert user.email == "joiner@example.test"
    assert user.name == "Joiner"
    assert user.check_password(STRONG)
    membership = user.buyer_membership
    assert (membership.buyer, membership.role, membership.org_unit) == (tenant, "user", unit)
    issued.invitation.refresh_from_db()
    assert issued.invitation.accepted_at is not None
    assert not issued.invitation.is_open()


def test_accepting_as_the_signed_in_user_adds_the_membership(seller, seller_user, buyer_user):
    issued = services.invitation_create(actor=seller_user, email=buyer_user.email, role="support", seller=seller)

    user = services.invitation_accept(token=issued.token, user=buyer_user)

    assert user == buyer_user
    assert SellerMembership.objects.get(user=buyer_user).role == "support"
    assert SellerMembership.objects.get(user=buyer_user).seller == seller
    assert User.objects.filter(email=buyer_user.email).count() == 1


def test_an_expired_invitation_is_refused_and_creates_nothing(seller, seller_user):
    issued = services.invitation_create(actor=seller_user, email="late@seller.test", role="support", seller=seller)
    before = account_counts()

    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1)), pytest.raises(NotFound):
        services.invitation_accept(token=issued.token, password=STRONG, name="Late")

    assert account_counts() == before
    issued.invitation.refresh_from_db()
    assert issued.invitation.accepted_at is None


def test_an_invitation_still_works_just_before_it_expires(seller, seller_user):
    issued = services.invitation_create(actor=seller_user, email="ontime@seller.test", role="support", seller=seller)

    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        user = services.invitation_accept(token=issued.token, password=STRONG, name="On Time")

    assert user.seller_membership.seller == seller


def test_a_revoked_invitation_is_refused(seller, seller_user):
    issued = services.invitation_create(actor=seller_user, email="revoked@seller.test", role="support", seller=seller)
    services.invitation_revoke(actor=seller_user, invitation_id=issued.invitation.pk)
    before = account_counts()

    with pytest.raises(NotFound):
        services.invitation_accept(token=issued.token, password=STRONG, name="Revoked")

    assert account_counts() == before


def test_a_used_invitation_cannot_be_used_again(seller, seller_user):
    issued = services.invitation_create(actor=seller_user, email="once@seller.test", role="support", seller=seller)
    services.invitation_accept(token=issued.token, password=STRONG, name="Once")
    accepted_at = Invitation.objects.get().accepted_at
    before = account_counts()

    with pytest.raises(NotFound):
        services.invitation_accept(token=issued.token, user=User.objects.get(email="once@seller.test"))

    assert account_counts() == before
    assert Invitation.objects.get().accepted_at == accepted_at


def test_an_unknown_token_is_refused():
    before = account_counts()

    with pytest.raises(NotFound):
        services.invitation_accept(token="not-a-token", password=STRONG, name="Nobody")

    assert account_counts() == before


def test_an_invitation_cannot_be_accepted_by_a_user_with_another_email(seller, seller_user, buyer_user):
    issued = services.invitation_create(actor=seller_user, email="intended@seller.test", role="support", seller=seller)
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.invitation_accept(token=issued.token, user=buyer_user)

    assert account_counts() == before
    issued.invitation.refresh_from_db()
    assert issued.invitation.is_open()


def test_accepting_as_new_user_when_the_email_is_registered_asks_to_sign_in(seller, seller_user):
    issued = services.invitation_create(actor=seller_user, email="known@seller.test", role="support", seller=seller)
    UserFactory(email="known@seller.test")
    before = account_counts()

    with pytest.raises(Conflict):
        services.invitation_accept(token=issued.token, password=STRONG, name="Known")

    assert account_counts() == before


def test_accepting_as_new_user_with_a_weak_password_is_refused(seller, seller_user):
    issued = services.invitation_create(actor=seller_user, email="weak@seller.test", role="support", seller=seller)
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.invitation_accept(token=issued.token, password="12345", name="Weak")

    assert set(exc.value.field_errors) == {"password"}
    assert account_counts() == before
    issued.invitation.refresh_from_db()
    assert issued.invitation.is_open()


def test_a_seller_member_cannot_accept_an_invitation_to_another_seller(seller, seller_user, other_seller):
    issued = services.invitation_create(actor=seller_user, email="moved@seller.test", role="support", seller=seller)
    colleague = UserFactory(email="moved@seller.test")
    SellerMembership.objects.create(seller=other_seller, user=colleague, role="developer")
    before = account_counts()

    with pytest.raises(Conflict):
        services.invitation_accept(token=issued.token, user=colleague)

    assert account_counts() == before
    assert colleague.seller_membership.seller == other_seller


def test_only_an_admin_of_the_inviting_seller_can_revoke(seller, seller_user, other_seller_user):
    issued = services.invitation_create(actor=seller_user, email="x@seller.test", role="support", seller=seller)

    with pytest.raises(NotFound):
        services.invitation_revoke(actor=other_seller_user, invitation_id=issued.invitation.pk)

    issued.invitation.refresh_from_db()
    assert issued.invitation.revoked_at is None


# --- enterprise tenant: members --------------------------------------------------------------------


def test_tenant_admin_changes_a_users_role_and_unit():
    tenant, admin, root = tenant_admin_and_root()
    unit = OrgUnit.objects.create(buyer=tenant, parent=root, name="Ops", code="ops")
    member = add_tenant_user(tenant, unit=root)

    services.buyer_member_update(actor=admin, membership_id=member.pk, role="admin", org_unit_id=unit.pk)

    member.refresh_from_db()
    assert (member.role, member.org_unit) == ("admin", unit)


def test_the_last_tenant_admin_cannot_be_demoted():
    _tenant, admin, root = tenant_admin_and_root()
    membership = admin.buyer_membership

    with pytest.raises(Conflict):
        services.buyer_member_update(actor=admin, membership_id=membership.pk, role="user", org_unit_id=None)

    membership.refresh_from_db()
    assert (membership.role, membership.org_unit) == ("admin", root)


def test_one_of_two_tenant_admins_can_be_demoted():
    tenant, admin, _root = tenant_admin_and_root()
    second = add_tenant_user(tenant, role="admin")

    services.buyer_member_update(actor=admin, membership_id=second.pk, role="user", org_unit_id=None)

    second.refresh_from_db()
    assert second.role == "user"


def test_the_last_tenant_admin_cannot_be_removed():
    _tenant, admin, _root = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(Conflict):
        services.buyer_member_remove(actor=admin, membership_id=admin.buyer_membership.pk)

    assert account_counts() == before


def test_tenant_admin_removes_a_user():
    tenant, admin, _root = tenant_admin_and_root()
    member = add_tenant_user(tenant)

    services.buyer_member_remove(actor=admin, membership_id=member.pk)

    assert not BuyerMembership.objects.filter(pk=member.pk).exists()
    assert User.objects.filter(pk=member.user_id).exists()


def test_a_plain_tenant_user_cannot_change_or_remove_members():
    tenant, admin, _root = tenant_admin_and_root()
    plain = add_tenant_user(tenant)

    with pytest.raises(NotAllowed):
        services.buyer_member_update(
            actor=plain.user, membership_id=admin.buyer_membership.pk, role="user", org_unit_id=None
        )
    with pytest.raises(NotAllowed):
        services.buyer_member_remove(actor=plain.user, membership_id=admin.buyer_membership.pk)

    assert BuyerMembership.objects.get(pk=admin.buyer_membership.pk).role == "admin"
    assert BuyerMembership.objects.get(pk=plain.pk).role == "user"


def test_a_tenant_admin_cannot_touch_another_tenants_members():
    _tenant, admin, _root = tenant_admin_and_root()
    other, _other_admin, _ = tenant_admin_and_root()
    victim = add_tenant_user(other)

    with pytest.raises(NotFound):
        services.buyer_member_update(actor=admin, membership_id=victim.pk, role="admin", org_unit_id=None)
    with pytest.raises(NotFound):
        services.buyer_member_remove(actor=admin, membership_id=victim.pk)

    victim.refresh_from_db()
    assert (victim.buyer, victim.role) == (other, "user")


def test_a_member_cannot_be_moved_into_another_tenants_unit():
    tenant, admin, root = tenant_admin_and_root()
    _other, _other_admin, other_root = tenant_admin_and_root()
    member = add_tenant_user(tenant, unit=root)

    with pytest.raises(NotFound):
        services.buyer_member_update(actor=admin, membership_id=member.pk, role="user", org_unit_id=other_root.pk)

    member.refresh_from_db()
    assert member.org_unit == root


def test_an_unknown_role_is_refused_for_a_tenant_member():
    tenant, admin, _root = tenant_admin_and_root()
    member = add_tenant_user(tenant)

    with pytest.raises(ValidationFailed):
        services.buyer_member_update(actor=admin, membership_id=member.pk, role="owner", org_unit_id=None)

    member.refresh_from_db()
    assert member.role == "user"


# --- enterprise tenant: organisation units ----------------------------------------------------------


def test_tenant_admin_creates_a_unit_under_a_parent():
    tenant, admin, root = tenant_admin_and_root()

    unit = services.org_unit_create(actor=admin, name=" Sales ", code=" sales ", parent_id=root.pk)

    assert (unit.buyer, unit.name, unit.code, unit.parent) == (tenant, "Sales", "sales", root)


@pytest.mark.parametrize(
    ("name", "code", "error"),
    [("", "x", ValidationFailed), ("Sales", " ", ValidationFailed), ("Again", "root", Conflict)],
)
def test_creating_a_unit_is_refused_without_name_code_or_with_a_used_code(name, code, error):
    _tenant, admin, root = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(error):
        services.org_unit_create(actor=admin, name=name, code=code, parent_id=root.pk)

    assert account_counts() == before


def test_creating_a_unit_under_another_tenants_unit_is_refused():
    _tenant, admin, _root = tenant_admin_and_root()
    _other, _other_admin, other_root = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(NotFound):
        services.org_unit_create(actor=admin, name="Sales", code="sales", parent_id=other_root.pk)

    assert account_counts() == before


def test_a_plain_user_or_an_individual_cannot_create_units():
    tenant, _admin, root = tenant_admin_and_root()
    plain = add_tenant_user(tenant).user
    individual = BuyerFactory().memberships.get().user
    before = account_counts()

    for actor in (plain, individual):
        with pytest.raises(NotAllowed):
            services.org_unit_create(actor=actor, name="Sales", code="sales", parent_id=root.pk)

    assert account_counts() == before


def test_tenant_admin_deletes_an_empty_leaf_unit():
    tenant, admin, root = tenant_admin_and_root()
    unit = OrgUnit.objects.create(buyer=tenant, parent=root, name="Sales", code="sales")

    services.org_unit_delete(actor=admin, unit_id=unit.pk)

    assert list(OrgUnit.objects.filter(buyer=tenant)) == [root]


def test_the_root_unit_cannot_be_deleted():
    _tenant, admin, root = tenant_admin_and_root()
    before = account_counts()

    with pytest.raises(Conflict):
        services.org_unit_delete(actor=admin, unit_id=root.pk)

    assert account_counts() == before


def test_a_unit_with_sub_units_or_members_cannot_be_deleted():
    tenant, admin, root = tenant_admin_and_root()
    parent = OrgUnit.objects.create(buyer=tenant, parent=root, name="Sales", code="sales")
    OrgUnit.objects.create(buyer=tenant, parent=parent, name="North", code="north")
    staffed = OrgUnit.objects.create(buyer=tenant, parent=root, name="Ops", code="ops")
    add_tenant_user(tenant, unit=staffed)
    before = account_counts()

    for unit in (parent, staffed):
        with pytest.raises(Conflict):
            services.org_unit_delete(actor=admin, unit_id=unit.pk)

    assert account_counts() == before


def test_another_tenants_unit_cannot_be_deleted():
    _tenant, admin, _root = tenant_admin_and_root()
    other, _other_admin, other_root = tenant_admin_and_root()
    unit = OrgUnit.objects.create(buyer=other, parent=other_root, name="Sales", code="sales")
    before = account_counts()

    with pytest.raises(NotFound):
        services.org_unit_delete(actor=admin, unit_id=unit.pk)

    assert account_counts() == before


# --- seller team ---------------------------------------------------------------------------------------


def test_seller_admin_changes_a_colleagues_role(seller, seller_user):
    colleague = seller_member(seller, "developer")

    services.seller_member_update(actor=seller_user, membership_id=colleague.seller_membership.pk, role="finance")

    assert SellerMembership.objects.get(user=colleague).role == "finance"


def test_the_last_seller_admin_cannot_be_demoted(seller, seller_user):
    seller_member(seller, "developer")
    membership = seller_user.seller_membership

    with pytest.raises(Conflict):
        services.seller_member_update(actor=seller_user, membership_id=membership.pk, role="developer")

    membership.refresh_from_db()
    assert membership.role == "admin"


def test_the_last_seller_admin_cannot_be_removed(seller, seller_user):
    before = account_counts()

    with pytest.raises(Conflict):
        services.seller_member_remove(actor=seller_user, membership_id=seller_user.seller_membership.pk)

    assert account_counts() == before


def test_one_of_two_seller_admins_can_step_down(seller, seller_user):
    seller_member(seller, "admin")

    services.seller_member_update(actor=seller_user, membership_id=seller_user.seller_membership.pk, role="finance")

    assert SellerMembership.objects.get(user=seller_user).role == "finance"


def test_seller_admin_removes_a_colleague(seller, seller_user):
    colleague = seller_member(seller, "support")

    services.seller_member_remove(actor=seller_user, membership_id=colleague.seller_membership.pk)

    assert not SellerMembership.objects.filter(user=colleague).exists()


@pytest.mark.parametrize("role", ["finance", "support", "developer"])
def test_a_seller_member_who_is_not_admin_cannot_change_or_remove_colleagues(seller, seller_user, role):
    member = seller_member(seller, role)
    target = seller_user.seller_membership

    with pytest.raises(NotAllowed):
        services.seller_member_update(actor=member, membership_id=target.pk, role="developer")
    with pytest.raises(NotAllowed):
        services.seller_member_remove(actor=member, membership_id=target.pk)

    target.refresh_from_db()
    assert target.role == "admin"


def test_a_seller_admin_cannot_touch_another_sellers_members(seller_user, other_seller):
    victim = seller_member(other_seller, "developer").seller_membership

    with pytest.raises(NotFound):
        services.seller_member_update(actor=seller_user, membership_id=victim.pk, role="admin")
    with pytest.raises(NotFound):
        services.seller_member_remove(actor=seller_user, membership_id=victim.pk)

    victim.refresh_from_db()
    assert (victim.seller, victim.role) == (other_seller, "developer")


def test_an_unknown_seller_role_is_refused(seller, seller_user):
    colleague = seller_member(seller, "developer")

    with pytest.raises(ValidationFailed):
        services.seller_member_update(actor=seller_user, membership_id=colleague.seller_membership.pk, role="owner")

    assert SellerMembership.objects.get(user=colleague).role == "developer"


# --- seller onboarding --------------------------------------------------------------------------------


@pytest.fixture
def applicant(db):
    return UserFactory(email="applicant@example.test")


@pytest.fixture
def draft(applicant, private_media):
    return services.seller_application_save(
        actor=applicant, data=application_data(), documents={"business_license": pdf_upload()}
    )


@pytest.fixture
def submitted(applicant, draft):
    return services.seller_application_submit(actor=applicant, application_id=draft.pk)


def test_saving_a_draft_stores_the_fields_and_the_document(applicant, private_media):
    application = services.seller_application_save(
        actor=applicant,
        data={**application_data(), "credit_code": application_data()["credit_code"].lower(), "status": "approved"},
        documents={"business_license": pdf_upload("My Licence.PDF")},
    )

    application.refresh_from_db()
    assert application.status == SellerApplication.Status.DRAFT  # not settable through data
    assert application.applicant == applicant
    assert application.credit_code == application_data()["credit_code"]
    assert application.registered_capital == Decimal("2000000.00")
    document = application.documents.get()
    assert (document.kind, document.original_name, document.size) == (
        "business_license",
        "My Licence.PDF",
        pdf_upload().size,
    )
    assert document.file.name.startswith("onboarding/")
    assert "Licence" not in document.file.name
    assert (private_media / document.file.name).read_bytes().startswith(b"%PDF-")
    assert SellerApplicationEvent.objects.count() == 0


def test_uploading_a_document_again_replaces_the_previous_one(applicant, draft):
    services.seller_application_save(
        actor=applicant,
        data=application_data(),
        documents={"business_license": pdf_upload("v2.pdf")},
        application=draft,
    )

    assert list(draft.documents.values_list("original_name", flat=True)) == ["v2.pdf"]


def test_a_second_application_while_one_is_in_progress_is_refused(applicant, draft):
    before = account_counts()

    with pytest.raises(Conflict):
        services.seller_application_save(actor=applicant, data=application_data(9000002))

    assert account_counts() == before


def test_a_seller_member_cannot_apply(seller_user, private_media):
    before = account_counts()

    with pytest.raises(Conflict):
        services.seller_application_save(actor=seller_user, data=application_data())

    assert account_counts() == before


def test_an_invalid_credit_code_is_refused(applicant):
    code = application_data()["credit_code"]
    wrong_check = code[:17] + ("0" if code[17] != "0" else "1")
    before = account_counts()

    for bad in (wrong_check, code[:17], "91440300MB000000I0"):
        with pytest.raises(ValidationFailed) as exc:
            services.seller_application_save(actor=applicant, data=application_data(credit_code=bad))
        assert set(exc.value.field_errors) == {"credit_code"}

    assert account_counts() == before


def test_a_pdf_whose_content_is_not_a_pdf_is_refused(applicant, private_media):
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.seller_application_save(
            actor=applicant,
            data=application_data(),
            documents={"business_license": pdf_upload("licence.pdf", b"MZ\x90\x00 this is an executable")},
        )

    assert set(exc.value.field_errors) == {"business_license"}
    assert account_counts() == before
    assert not private_media.exists() or not any(private_media.rglob("*.pdf"))


def test_a_file_of_a_type_not_accepted_is_refused(applicant, private_media):
    before = account_counts()

    with pytest.raises(ValidationFailed):
        services.seller_application_save(
            actor=applicant, data=application_data(), documents={"business_license": pdf_upload("licence.exe")}
        )

    assert account_counts() == before


def test_an_oversized_file_is_refused(applicant, private_media, settings):
    settings.UPLOAD_MAX_BYTES = 64
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.seller_application_save(
            actor=applicant,
            data=application_data(),
            documents={"business_license": pdf_upload("big.pdf", b"%PDF-1.4\n" + b"0" * 64)},
        )

    assert set(exc.value.field_errors) == {"business_license"}
    assert account_counts() == before


def test_a_file_at_the_size_limit_is_accepted(applicant, private_media, settings):
    content = b"%PDF-1.4\n" + b"0" * 55
    settings.UPLOAD_MAX_BYTES = len(content)

    application = services.seller_application_save(
        actor=applicant, data=application_data(), documents={"business_license": pdf_upload("ok.pdf", content)}
    )

    assert application.documents.get().size == 64


def test_submitting_puts_the_application_under_review(applicant, draft):
    now = timezone.now()

    application = services.seller_application_submit(actor=applicant, application_id=draft.pk, now=now)

    application.refresh_from_db()
    assert application.status == SellerApplication.Status.SUBMITTED
    assert application.submitted_at == now
    event = application.events.get()
    assert (event.actor, event.from_status, event.to_status) == (applicant, "draft", "submitted")


@pytest.mark.parametrize(
    "below_the_bar",
    [
        {"established_on": date(2026, 1, 11)},  # one day short of a year on 2027-01-10
        {"registered_capital": Decimal("499999.99")},
        {"staff_count": 14},
        {"support_days_per_week": 4},
        {"support_hours_per_day": 7},
    ],
)
def test_submitting_below_any_part_of_the_onboarding_bar_is_refused(applicant, private_media, below_the_bar):
    application = services.seller_application_save(
        actor=applicant, data=application_data(**below_the_bar), documents={"business_license": pdf_upload()}
    )
    before = account_counts()

    with time_machine.travel("2027-01-10 12:00 +0800"), pytest.raises(ValidationFailed):
        services.seller_application_submit(actor=applicant, application_id=application.pk)

    assert account_counts() == before
    application.refresh_from_db()
    assert (application.status, application.submitted_at) == (SellerApplication.Status.DRAFT, None)


def test_a_company_exactly_at_the_onboarding_bar_can_submit(applicant, private_media):
    application = services.seller_application_save(
        actor=applicant,
        data=application_data(
            established_on=date(2026, 1, 10),
            registered_capital=Decimal("500000"),
            staff_count=15,
            support_days_per_week=5,
            support_hours_per_day=8,
        ),
        documents={"business_license": pdf_upload()},
    )

    with time_machine.travel("2027-01-10 12:00 +0800"):
        services.seller_application_submit(actor=applicant, application_id=application.pk)

    application.refresh_from_db()
    assert application.status == SellerApplication.Status.SUBMITTED


def test_submitting_without_a_business_licence_is_refused(applicant, private_media):
    application = services.seller_application_save(
        actor=applicant, data=application_data(), documents={"qualification": pdf_upload("cert.pdf")}
    )
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.seller_application_submit(actor=applicant, application_id=application.pk)

    assert set(exc.value.field_errors) == {"business_license"}
    assert account_counts() == before
    application.refresh_from_db()
    assert application.status == SellerApplication.Status.DRAFT


def test_submitting_with_the_credit_code_of_a_registered_seller_is_refused(applicant, draft):
    SellerFactory(credit_code=draft.credit_code)
    before = account_counts()

    with pytest.raises(Conflict):
        services.seller_application_submit(actor=applicant, application_id=draft.pk)

    assert account_counts() == before
    draft.refresh_from_db()
    assert draft.status == SellerApplication.Status.DRAFT


def test_submitting_while_under_review_is_refused_and_changes_nothing(applicant, submitted):
    submitted.refresh_from_db()
    before = account_counts()

    with pytest.raises(InvalidTransition):
        services.seller_application_submit(actor=applicant, application_id=submitted.pk)

    assert account_counts() == before
    fresh = SellerApplication.objects.get(pk=submitted.pk)
    assert (fresh.status, fresh.submitted_at) == (SellerApplication.Status.SUBMITTED, submitted.submitted_at)


def test_an_application_under_review_cannot_be_edited(applicant, submitted):
    before = account_counts()

    with pytest.raises(Conflict):
        services.seller_application_save(
            actor=applicant, data=application_data(company_name="Changed"), application=submitted
        )

    assert account_counts() == before
    assert SellerApplication.objects.get(pk=submitted.pk).company_name == application_data()["company_name"]


def test_someone_else_cannot_submit_or_edit_my_application(draft, buyer_user):
    before = account_counts()

    with pytest.raises(NotFound):
        services.seller_application_submit(actor=buyer_user, application_id=draft.pk)
    with pytest.raises(NotFound):
        services.seller_application_save(
            actor=buyer_user, data=application_data(company_name="Mine now"), application=draft
        )

    assert account_counts() == before
    draft.refresh_from_db()
    assert (draft.status, draft.company_name) == ("draft", application_data()["company_name"])


def test_approving_creates_the_seller_its_admin_a_notice_and_emails(
    applicant, submitted, django_capture_on_commit_callbacks, mailoutbox
):
    staff = reviewer()
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        seller = services.seller_application_approve(actor=staff, application_id=submitted.pk, now=now)

    data = application_data()
    assert (seller.name, seller.credit_code, seller.bound_email, seller.staff_count) == (
        data["company_name"],
        data["credit_code"],
        data["bound_email"],
        40,
    )
    assert seller.registered_capital == Decimal("2000000.00")
    assert SellerMembership.objects.get(user=applicant).seller == seller
    assert SellerMembership.objects.get(user=applicant).role == "admin"
    application = SellerApplication.objects.get(pk=submitted.pk)
    assert (application.status, application.reviewer, application.reviewed_at, application.seller) == (
        "approved",
        staff,
        now,
        seller,
    )
    assert application.events.last().to_status == "approved"
    notice = Notification.objects.get()
    assert notice.user == applicant
    assert notice.link == "/seller/"
    assert sorted(m.to[0] for m in mailoutbox) == sorted([applicant.email, data["bound_email"]])
    assert all(data["company_name"] in m.body for m in mailoutbox)


def test_approving_twice_is_refused_and_changes_nothing(submitted):
    staff = reviewer()
    services.seller_application_approve(actor=staff, application_id=submitted.pk)
    before = account_counts()

    with pytest.raises(InvalidTransition):
        services.seller_application_approve(actor=staff, application_id=submitted.pk)

    assert account_counts() == before


def test_a_draft_cannot_be_approved_or_rejected(draft):
    staff = reviewer()
    before = account_counts()

    with pytest.raises(InvalidTransition):
        services.seller_application_approve(actor=staff, application_id=draft.pk)
    with pytest.raises(InvalidTransition):
        services.seller_application_reject(actor=staff, application_id=draft.pk, reason="incomplete")

    assert account_counts() == before
    assert SellerApplication.objects.get(pk=draft.pk).status == "draft"


def test_an_approved_application_cannot_be_rejected(submitted):
    staff = reviewer()
    services.seller_application_approve(actor=staff, application_id=submitted.pk)
    before = account_counts()

    with pytest.raises(InvalidTransition):
        services.seller_application_reject(actor=staff, application_id=submitted.pk, reason="changed my mind")

    assert account_counts() == before
    application = SellerApplication.objects.get(pk=submitted.pk)
    assert (application.status, application.rejection_reason) == ("approved", "")


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rejecting_needs_a_reason(submitted, reason):
    staff = reviewer()
    before = account_counts()

    with pytest.raises(ValidationFailed) as exc:
        services.seller_application_reject(actor=staff, application_id=submitted.pk, reason=reason)

    assert set(exc.value.field_errors) == {"reason"}
    assert account_counts() == before
    assert SellerApplication.objects.get(pk=submitted.pk).status == "submitted"


def test_rejecting_records_the_reason_and_tells_the_applicant(
    applicant, submitted, django_capture_on_commit_callbacks, mailoutbox
):
    staff = reviewer()

    with django_capture_on_commit_callbacks(execute=True):
        services.seller_application_reject(
            actor=staff, application_id=submitted.pk, reason="  Licence photo unreadable "
        )

    application = SellerApplication.objects.get(pk=submitted.pk)
    assert (application.status, application.rejection_reason, application.reviewer) == (
        "rejected",
        "Licence photo unreadable",
        staff,
    )
    event = application.events.last()
    assert (event.from_status, event.to_status, event.message) == ("submitted", "rejected", "Licence photo unreadable")
    assert Notification.objects.get().user == applicant
    assert sorted(m.to[0] for m in mailoutbox) == sorted([applicant.email, application.bound_email])
    assert all("Licence photo unreadable" in m.body for m in mailoutbox)
    assert not Seller.objects.filter(credit_code=application.credit_code).exists()


def test_a_rejected_application_can_be_corrected_and_submitted_again(applicant, submitted):
    services.seller_application_reject(actor=reviewer(), application_id=submitted.pk, reason="Wrong address")

    services.seller_application_save(
        actor=applicant, data=application_data(address="2 Keji Road"), application=submitted
    )
    services.seller_application_submit(actor=applicant, application_id=submitted.pk)

    application = SellerApplication.objects.get(pk=submitted.pk)
    assert (application.status, application.address, application.rejection_reason) == (
        "submitted",
        "2 Keji Road",
        "",
    )


def test_staff_without_the_review_permission_cannot_approve_or_reject(submitted):
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="support"))
    staff = User.objects.get(pk=staff.pk)
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.seller_application_approve(actor=staff, application_id=submitted.pk)
    with pytest.raises(NotAllowed):
        services.seller_application_reject(actor=staff, application_id=submitted.pk, reason="no")

    assert account_counts() == before
    assert SellerApplication.objects.get(pk=submitted.pk).status == "submitted"


def test_a_non_staff_user_holding_the_permission_still_cannot_review(submitted):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="review_sellerapplication"))
    user = User.objects.get(pk=user.pk)
    assert user.has_perm("accounts.review_sellerapplication")
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.seller_application_approve(actor=user, application_id=submitted.pk)

    assert account_counts() == before


def test_a_buyer_cannot_approve_an_application(submitted, buyer_user):
    before = account_counts()

    with pytest.raises(NotAllowed):
        services.seller_application_approve(actor=buyer_user, application_id=submitted.pk)

    assert account_counts() == before


def test_approval_is_refused_when_the_credit_code_was_registered_meanwhile(submitted):
    SellerFactory(credit_code=submitted.credit_code)
    staff = reviewer()
    before = account_counts()

    with pytest.raises(Conflict):
        services.seller_application_approve(actor=staff, application_id=submitted.pk)

    assert account_counts() == before
    assert SellerApplication.objects.get(pk=submitted.pk).status == "submitted"
