"""Writes for people and accounts. Every function is keyword-only and atomic."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from marketplace.core import audit, calendar
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, as_id, require_perm
from marketplace.core.services import email_queue, notify
from marketplace.core.state import check_transition, lock, move
from marketplace.core.uploads import validate_upload
from marketplace.core.validators import validate_uscc

from .models import (
    ApiToken,
    Buyer,
    BuyerMembership,
    Invitation,
    OrgUnit,
    Seller,
    SellerApplication,
    SellerApplicationDocument,
    SellerMembership,
    User,
)

# --- sign-up -------------------------------------------------------------------------------


def user_signup(
    *, email: str, password: str, name: str = "", kind: str = Buyer.Kind.INDIVIDUAL, company_name: str = ""
) -> User:
    """A new buyer: an individual account, or an enterprise tenant with the user as its admin."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            _("An account with this e-mail already exists."), field_errors={"email": [_("Already registered.")]}
        )
    if kind == Buyer.Kind.ENTERPRISE and not company_name.strip():
        raise ValidationFailed(
            _("An enterprise account needs the company name."), field_errors={"company_name": [_("Required.")]}
        )
    candidate = User(email=email, name=name)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field_errors={"password": exc.messages}) from exc
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email, password=password, name=name)
        except IntegrityError as exc:  # the same e-mail signed up a moment ago
            raise Conflict(
                _("An account with this e-mail already exists."), field_errors={"email": [_("Already registered.")]}
            ) from exc
        if kind == Buyer.Kind.ENTERPRISE:
            buyer = Buyer.objects.create(kind=kind, name=company_name.strip())
            root = OrgUnit.objects.create(buyer=buyer, name=buyer.name, code="root")
            BuyerMembership.objects.create(buyer=buyer, user=user, role=BuyerMembership.Role.ADMIN, org_unit=root)
        else:
            buyer = Buyer.objects.create(kind=Buyer.Kind.INDIVIDUAL, name=name or email)
            BuyerMembership.objects.create(buyer=buyer, user=user, role=BuyerMembership.Role.ADMIN)
    return user


def token_hash(token: str) -> str:
    """What is stored of a secret token (invitations, API tokens): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- API tokens ----------------------------------------------------------------------------

API_TOKENS_KEPT = 20  # a user's newest tokens; older ones stop working


def api_token_issue(*, user: User) -> str:
    """A new API token for ``user``: returned once, stored only as its hash. Each sign-in through
    the API issues one (one per script or device); beyond the newest API_TOKENS_KEPT, the oldest
    are revoked."""
    token = secrets.token_hex(20)
    with transaction.atomic():
        ApiToken.objects.create(user=user, token_hash=token_hash(token), prefix=token[:8])
        stale = list(ApiToken.objects.filter(user=user).values_list("pk", flat=True)[API_TOKENS_KEPT:])
        ApiToken.objects.filter(pk__in=stale).delete()
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()


# --- invitations ---------------------------------------------------------------------------


@dataclass
class IssuedInvitation:
    invitation: Invitation
    token: str


def invitation_create(
    *,
    actor: User,
    email: str,
    role: str,
    buyer: Buyer | None = None,
    seller: Seller | None = None,
    org_unit: OrgUnit | None = None,
) -> IssuedInvitation:
    """Invite someone by e-mail to the actor's tenant or seller. Only administrators may."""
    email = email.strip().lower()
    if buyer is not None:
        membership = getattr(actor, "buyer_membership", None)
        if membership is None or membership.buyer_id != buyer.pk or membership.role != BuyerMembership.Role.ADMIN:
            raise NotAllowed(_("Only the tenant's administrators can invite users."))
        if not buyer.is_enterprise:
            raise ValidationFailed(_("Only enterprise tenants can invite users."))
        if role not in BuyerMembership.Role.values:
            raise ValidationFailed(_("Unknown role."), field_errors={"role": [_("Unknown role.")]})
        if org_unit is not None and org_unit.buyer_id != buyer.pk:
            raise NotFound(_("No such organisation unit."))
        target_name = buyer.name
    elif seller is not None:
        membership = getattr(actor, "seller_membership", None)
        if membership is None or membership.seller_id != seller.pk or membership.role != SellerMembership.Role.ADMIN:
            raise NotAllowed(_("Only the seller's administrators can invite colleagues."))
        if role not in SellerMembership.Role.values:
            raise ValidationFailed(_("Unknown role."), field_errors={"role": [_("Unknown role.")]})
        target_name = seller.name
    else:
        raise ValidationFailed(_("An invitation is for a tenant or a seller."))

    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        if seller is not None and hasattr(existing, "seller_membership"):
            raise Conflict(
                _("This user already belongs to a seller."), field_errors={"email": [_("Already a member.")]}
            )
        if buyer is not None and hasattr(existing, "buyer_membership"):
            raise Conflict(
                _("This user already has a buyer account and cannot join another tenant."),
                field_errors={"email": [_("Already has a buyer account.")]},
            )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email,
            buyer=buyer,
            seller=seller,
            role=role,
            org_unit=org_unit,
            token_hash=token_hash(token),
            invited_by=actor,
            expires_at=timezone.now() + timedelta(days=settings.MARKETPLACE["INVITATION_TTL_DAYS"]),
        )
        body = render_to_string(
            "notifications/invitation.txt",
            {
                "inviter": actor,
                "target": target_name,
                "link": settings.SITE_URL + reverse("accounts:invitation", args=[token]),
            },
        )
        email_queue(
            to=email, subject=_("You are invited to join %(name)s") % {"name": target_name}, body=body, sensitive=True
        )
    return IssuedInvitation(invitation=invitation, token=token)


def invitation_lookup(*, token: str) -> Invitation:
    invitation = Invitation.objects.select_related("buyer", "seller").filter(token_hash=token_hash(token)).first()
    if invitation is None or not invitation.is_open():
        raise NotFound(_("This invitation is invalid, was used already, or has expired."))
    return invitation


def invitation_accept(*, token: str, user: User | None = None, password: str = "", name: str = "") -> User:
    """Join through an invitation: as the signed-in user, or as a new user with a password."""
    with transaction.atomic():
        invitation = invitation_lookup(token=token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_open():
            raise NotFound(_("This invitation is invalid, was used already, or has expired."))
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise Conflict(_("An account with this e-mail exists: sign in first, then open the invitation again."))
            candidate = User(email=invitation.email, name=name)
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as exc:
                raise ValidationFailed(" ".join(exc.messages), field_errors={"password": exc.messages}) from exc
            user = User.objects.create_user(email=invitation.email, password=password, name=name)
        elif user.email.lower() != invitation.email.lower():
            raise NotAllowed(_("This invitation was sent to another e-mail address."))
        try:
            if invitation.buyer_id:
                if hasattr(user, "buyer_membership"):
                    raise Conflict(_("You already have a buyer account and cannot join another tenant."))
                joined = BuyerMembership.objects.create(
                    buyer=invitation.buyer, user=user, role=invitation.role, org_unit=invitation.org_unit
                )
                audit.permission(
                    "buyermembership.granted",
                    joined,
                    actor=user,
                    changes={"role": [None, joined.role], "invitation": invitation.pk},
                )
                from marketplace.sso.sync import sync_members_changed

                sync_members_changed(tenant=invitation.buyer, memberships=[joined], flag="1")  # admins: every app
            else:
                if hasattr(user, "seller_membership"):
                    raise Conflict(_("You already belong to a seller."))
                joined = SellerMembership.objects.create(seller=invitation.seller, user=user, role=invitation.role)
                audit.permission(
                    "sellermembership.granted",
                    joined,
                    actor=user,
                    changes={"role": [None, joined.role], "invitation": invitation.pk},
                )
        except IntegrityError as exc:
            raise Conflict(_("You already belong to an account of this kind.")) from exc
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return user


def invitation_revoke(*, actor: User, invitation_id: int) -> None:
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().filter(pk=as_id(invitation_id, _("No such invitation."))).first()
        )
        if invitation is None or not _is_admin_of(actor, buyer_id=invitation.buyer_id, seller_id=invitation.seller_id):
            raise NotFound(_("No such invitation."))
        if invitation.accepted_at is not None:
            raise Conflict(_("This invitation was accepted already."))
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


def _is_admin_of(user: User, *, buyer_id=None, seller_id=None) -> bool:
    if buyer_id:
        m = getattr(user, "buyer_membership", None)
        return m is not None and m.buyer_id == buyer_id and m.role == BuyerMembership.Role.ADMIN
    m = getattr(user, "seller_membership", None)
    return m is not None and m.seller_id == seller_id and m.role == SellerMembership.Role.ADMIN


# --- enterprise tenant: members and organisation tree --------------------------------------


def _tenant_admin(actor: User) -> Buyer:
    membership = getattr(actor, "buyer_membership", None)
    if membership is None or membership.role != BuyerMembership.Role.ADMIN or not membership.buyer.is_enterprise:
        raise NotAllowed(_("Only an enterprise tenant's administrators can do this."))
    return membership.buyer


def buyer_member_update(*, actor: User, membership_id: int, role: str, org_unit_id: int | None) -> BuyerMembership:
    buyer = _tenant_admin(actor)
    with transaction.atomic():
        membership = (
            BuyerMembership.objects.select_for_update()
            .filter(pk=as_id(membership_id, _("Not found.")), buyer=buyer)
            .first()
        )
        if membership is None:
            raise NotFound(_("No such user in your tenant."))
        if role not in BuyerMembership.Role.values:
            raise ValidationFailed(_("Unknown role."))
        unit = None
        if org_unit_id:
            unit = OrgUnit.objects.filter(pk=org_unit_id, buyer=buyer).first()
            if unit is None:
                raise NotFound(_("No such organisation unit."))
        if membership.role == BuyerMembership.Role.ADMIN and role != BuyerMembership.Role.ADMIN:
            _keep_one_admin(buyer.memberships.select_for_update(), BuyerMembership.Role.ADMIN)
        before = (membership.role, membership.org_unit_id)
        membership.role = role
        membership.org_unit = unit
        membership.save(update_fields=["role", "org_unit"])
        if role != before[0]:
            audit.permission(
                "buyermembership.role_changed", membership, actor=actor, changes={"role": [before[0], role]}
            )
        if (membership.role, membership.org_unit_id) != before:
            from marketplace.sso.sync import sync_member_updated

            sync_member_updated(membership=membership, old_role=before[0])  # the seller's apps: authSync
    return membership


def _keep_one_admin(memberships, admin_role) -> None:
    if memberships.filter(role=admin_role).count() <= 1:
        raise Conflict(_("The last administrator cannot be removed or demoted."))


def buyer_member_remove(*, actor: User, membership_id: int) -> None:
    buyer = _tenant_admin(actor)
    with transaction.atomic():
        membership = (
            BuyerMembership.objects.select_for_update()
            .filter(pk=as_id(membership_id, _("Not found.")), buyer=buyer)
            .first()
        )
        if membership is None:
            raise NotFound(_("No such user in your tenant."))
        if membership.role == BuyerMembership.Role.ADMIN:
            _keep_one_admin(buyer.memberships.select_for_update(), BuyerMembership.Role.ADMIN)
        from marketplace.sso.sync import sync_members_changed

        sync_members_changed(tenant=buyer, memberships=[membership], flag="0")  # before its app access goes
        audit.permission("buyermembership.removed", membership, actor=actor, changes={"role": [membership.role, None]})
        membership.delete()


def org_unit_create(*, actor: User, name: str, code: str, parent_id: int | None) -> OrgUnit:
    buyer = _tenant_admin(actor)
    name, code = name.strip(), code.strip()
    if not name or not code:
        raise ValidationFailed(_("Name and code are required."))
    parent = None
    if parent_id:
        parent = OrgUnit.objects.filter(pk=parent_id, buyer=buyer).first()
        if parent is None:
            raise NotFound(_("No such organisation unit."))
    if OrgUnit.objects.filter(buyer=buyer, code=code).exists():
        raise Conflict(_("Another unit already has this code."), field_errors={"code": [_("Already used.")]})
    from marketplace.sso.sync import sync_org_unit

    with transaction.atomic():
        unit = OrgUnit.objects.create(buyer=buyer, name=name, code=code, parent=parent)
        sync_org_unit(unit=unit, flag="1")
    return unit


def org_unit_delete(*, actor: User, unit_id: int) -> None:
    buyer = _tenant_admin(actor)
    with transaction.atomic():
        unit = (
            OrgUnit.objects.select_for_update()
            .filter(pk=as_id(unit_id, _("No such organisation unit.")), buyer=buyer)
            .first()
        )
        if unit is None:
            raise NotFound(_("No such organisation unit."))
        if unit.parent_id is None:
            raise Conflict(_("The root of the organisation tree cannot be deleted."))
        if unit.children.exists() or unit.members.exists():
            raise Conflict(_("Move this unit's sub-units and users elsewhere first."))
        from marketplace.sso.sync import sync_org_unit

        sync_org_unit(unit=unit, flag="0")
        unit.delete()


# --- seller team -----------------------------------------------------------------------------


def seller_member_update(*, actor: User, membership_id: int, role: str) -> SellerMembership:
    admin = getattr(actor, "seller_membership", None)
    if admin is None or admin.role != SellerMembership.Role.ADMIN:
        raise NotAllowed(_("Only the seller's administrators can change roles."))
    if role not in SellerMembership.Role.values:
        raise ValidationFailed(_("Unknown role."))
    with transaction.atomic():
        membership = (
            SellerMembership.objects.select_for_update()
            .filter(pk=as_id(membership_id, _("Not found.")), seller=admin.seller_id)
            .first()
        )
        if membership is None:
            raise NotFound(_("No such colleague."))
        if membership.role == SellerMembership.Role.ADMIN and role != SellerMembership.Role.ADMIN:
            _keep_one_admin(
                SellerMembership.objects.select_for_update().filter(seller=admin.seller_id), SellerMembership.Role.ADMIN
            )
        if membership.role != role:
            audit.permission(
                "sellermembership.role_changed", membership, actor=actor, changes={"role": [membership.role, role]}
            )
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def seller_member_remove(*, actor: User, membership_id: int) -> None:
    admin = getattr(actor, "seller_membership", None)
    if admin is None or admin.role != SellerMembership.Role.ADMIN:
        raise NotAllowed(_("Only the seller's administrators can remove colleagues."))
    with transaction.atomic():
        membership = (
            SellerMembership.objects.select_for_update()
            .filter(pk=as_id(membership_id, _("Not found.")), seller=admin.seller_id)
            .first()
        )
        if membership is None:
            raise NotFound(_("No such colleague."))
        if membership.role == SellerMembership.Role.ADMIN:
            _keep_one_admin(
                SellerMembership.objects.select_for_update().filter(seller=admin.seller_id), SellerMembership.Role.ADMIN
            )
        audit.permission("sellermembership.removed", membership, actor=actor, changes={"role": [membership.role, None]})
        membership.delete()


# --- seller onboarding -----------------------------------------------------------------------

APPLICATION_FIELDS = (
    "company_name",
    "credit_code",
    "established_on",
    "registered_capital",
    "staff_count",
    "support_days_per_week",
    "support_hours_per_day",
    "contact_name",
    "contact_phone",
    "bound_email",
    "address",
)


def onboarding_bar_failures(application: SellerApplication, *, today: date | None = None) -> list[str]:
    """What keeps this company below the public onboarding bar (DOMAIN.md section 1)."""
    rules = settings.MARKETPLACE
    today = today or calendar.today()
    failures = []
    min_age = rules["ONBOARDING_MIN_COMPANY_AGE_YEARS"]
    if application.established_on > today - relativedelta(years=min_age):
        failures.append(
            ngettext(
                "The company must be at least %(years)s year old.",
                "The company must be at least %(years)s years old.",
                min_age,
            )
            % {"years": min_age}
        )
    min_capital = Decimal(rules["ONBOARDING_MIN_REGISTERED_CAPITAL"])
    if application.registered_capital < min_capital:
        failures.append(_("Registered capital must be at least CNY %(amount)s.") % {"amount": f"{min_capital:,.0f}"})
    if application.staff_count < rules["ONBOARDING_MIN_STAFF"]:
        failures.append(
            _("At least %(n)s technical and support staff are required.") % {"n": rules["ONBOARDING_MIN_STAFF"]}
        )
    days, hours = rules["ONBOARDING_MIN_SUPPORT_DAYS"], rules["ONBOARDING_MIN_SUPPORT_HOURS_PER_DAY"]
    if application.support_days_per_week < days or application.support_hours_per_day < hours:
        failures.append(
            _("Support must be available at least %(days)s×%(hours)s hours.") % {"days": days, "hours": hours}
        )
    return failures


def _validate_application_fields(data: dict) -> None:
    errors: dict[str, list[str]] = {}
    try:
        validate_uscc(data.get("credit_code", ""))
    except ValidationError as exc:
        errors["credit_code"] = exc.messages
    if data.get("support_days_per_week") is not None and not 0 <= int(data["support_days_per_week"]) <= 7:
        errors["support_days_per_week"] = [_("Between 0 and 7.")]
    if data.get("support_hours_per_day") is not None and not 0 <= int(data["support_hours_per_day"]) <= 24:
        errors["support_hours_per_day"] = [_("Between 0 and 24.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)


def seller_application_save(
    *, actor: User, data: dict, documents: dict | None = None, application: SellerApplication | None = None
) -> SellerApplication:
    """Create or edit a draft (or rejected) application and attach documents by kind."""
    if hasattr(actor, "seller_membership"):
        raise Conflict(_("You already belong to a seller."))
    data = {k: data[k] for k in APPLICATION_FIELDS if k in data}
    if "credit_code" in data:
        data["credit_code"] = data["credit_code"].strip().upper()
    _validate_application_fields(data)
    for name, upload in (documents or {}).items():
        try:
            validate_upload(upload)
        except ValidationError as exc:
            raise ValidationFailed(exc.messages[0], field_errors={name: exc.messages}) from exc
    with transaction.atomic():
        if application is None:
            if SellerApplication.objects.filter(
                applicant=actor, status__in=[SellerApplication.Status.DRAFT, SellerApplication.Status.SUBMITTED]
            ).exists():
                raise Conflict(_("You already have an application in progress."))
            application = SellerApplication(applicant=actor, **data)
        else:
            application = SellerApplication.objects.select_for_update().get(pk=application.pk)
            if application.applicant_id != actor.pk:
                raise NotFound(_("No such application."))
            if application.status not in (SellerApplication.Status.DRAFT, SellerApplication.Status.REJECTED):
                raise Conflict(_("An application under review or approved cannot be changed."))
            for key, value in data.items():
                setattr(application, key, value)
        application.save()
        for kind, upload in (documents or {}).items():
            application.documents.filter(kind=kind).delete()
            SellerApplicationDocument.objects.create(
                application=application, kind=kind, file=upload, original_name=upload.name[:255], size=upload.size
            )
    return application


def seller_application_submit(*, actor: User, application_id: int, now=None) -> SellerApplication:
    now = now or timezone.now()
    with transaction.atomic():
        application = lock(SellerApplication.objects.filter(applicant=actor), application_id, _("No such application."))
        check_transition(
            SellerApplication.TRANSITIONS,
            application.status,
            SellerApplication.Status.SUBMITTED,
            choices=SellerApplication.Status,
        )
        failures = onboarding_bar_failures(application, today=calendar.today(now))
        if failures:
            raise ValidationFailed(_("The company does not meet the onboarding bar: ") + " ".join(failures))
        if not application.documents.filter(kind=SellerApplicationDocument.Kind.BUSINESS_LICENSE).exists():
            raise ValidationFailed(
                _("Upload the business licence before submitting."),
                field_errors={"business_license": [_("Required.")]},
            )
        if Seller.objects.filter(credit_code=application.credit_code).exists():
            raise Conflict(_("A seller with this unified social credit code is already registered."))
        application.submitted_at = now
        application.rejection_reason = ""
        move(application, SellerApplication.Status.SUBMITTED, actor=actor, fields=["submitted_at", "rejection_reason"])
    return application


def seller_application_approve(*, actor: User, application_id: int, now=None) -> Seller:
    """Operations approve: the seller is created and the applicant becomes its administrator."""
    require_perm(actor, "accounts.review_sellerapplication")
    now = now or timezone.now()
    with transaction.atomic():
        application = lock(SellerApplication.objects.all(), application_id, _("No such application."))
        check_transition(
            SellerApplication.TRANSITIONS,
            application.status,
            SellerApplication.Status.APPROVED,
            choices=SellerApplication.Status,
        )
        if hasattr(application.applicant, "seller_membership"):
            raise Conflict(_("The applicant already belongs to a seller."))
        if Seller.objects.filter(credit_code=application.credit_code).exists():
            raise Conflict(_("A seller with this unified social credit code is already registered."))
        try:
            with transaction.atomic():
                seller = Seller.objects.create(
                    name=application.company_name,
                    credit_code=application.credit_code,
                    established_on=application.established_on,
                    registered_capital=application.registered_capital,
                    staff_count=application.staff_count,
                    support_days_per_week=application.support_days_per_week,
                    support_hours_per_day=application.support_hours_per_day,
                    bound_email=application.bound_email,
                    contact_phone=application.contact_phone,
                    address=application.address,
                )
                SellerMembership.objects.create(
                    seller=seller, user=application.applicant, role=SellerMembership.Role.ADMIN
                )
        except IntegrityError as exc:  # a concurrent approval of the same company or applicant
            raise Conflict(_("A seller with this unified social credit code is already registered.")) from exc
        application.reviewer = actor
        application.reviewed_at = now
        application.seller = seller
        move(application, SellerApplication.Status.APPROVED, actor=actor, fields=["reviewer", "reviewed_at", "seller"])
        notify(
            users=[application.applicant],
            subject=gettext_lazy("Your seller application was approved"),
            template="notifications/application_approved.txt",
            context={"application": application},
            link=reverse("seller:dashboard"),
            extra_emails=[application.bound_email],
        )
    return seller


def seller_application_reject(*, actor: User, application_id: int, reason: str, now=None) -> SellerApplication:
    require_perm(actor, "accounts.review_sellerapplication")
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("A rejection needs a reason."), field_errors={"reason": [_("Required.")]})
    with transaction.atomic():
        application = lock(SellerApplication.objects.all(), application_id, _("No such application."))
        check_transition(
            SellerApplication.TRANSITIONS,
            application.status,
            SellerApplication.Status.REJECTED,
            choices=SellerApplication.Status,
        )
        application.rejection_reason = reason
        application.reviewer = actor
        application.reviewed_at = now
        move(
            application,
            SellerApplication.Status.REJECTED,
            actor=actor,
            message=reason,
            fields=["rejection_reason", "reviewer", "reviewed_at"],
        )
        notify(
            users=[application.applicant],
            subject=gettext_lazy("Your seller application was not approved"),
            template="notifications/application_rejected.txt",
            context={"application": application},
            link=reverse("accounts:seller_apply"),
            extra_emails=[application.bound_email],
        )
    return application


# --- seller suspension (operations) ------------------------------------------------------------


def seller_suspend(*, actor: User, seller_id, reason: str, now=None) -> Seller:
    """Operations suspend a seller: its center closes, its products leave the catalog, nothing of
    it can be bought. Existing services keep running."""
    require_perm(actor, "accounts.suspend_seller")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the seller is suspended."), field_errors={"reason": [_("Required.")]})
    with transaction.atomic():
        seller = lock(Seller.objects.all(), seller_id, _("No such seller."))
        move(seller, Seller.Status.SUSPENDED, actor=actor, message=reason, at=now)
        notify(
            users=[m.user for m in seller.memberships.select_related("user").filter(role="admin")],
            subject=gettext_lazy("Your seller account is suspended"),
            template="notifications/seller_suspended.txt",
            context={"seller": seller, "reason": reason},
            extra_emails=[seller.bound_email],
        )
    return seller


def seller_reinstate(*, actor: User, seller_id, now=None) -> Seller:
    require_perm(actor, "accounts.suspend_seller")
    with transaction.atomic():
        seller = lock(Seller.objects.all(), seller_id, _("No such seller."))
        move(seller, Seller.Status.ACTIVE, actor=actor, note=gettext_noop("Reinstated"), at=now)
    return seller
