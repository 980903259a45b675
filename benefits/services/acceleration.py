"""The merchant acceleration plan (商家加速计划): a seller at or above the GMV bar applies and signs the
merchant marketing support payment agreement in one step; operations approve or reject the plan."""

import hashlib
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_ipv46_address
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.groups import staff_with_perm
from marketplace.accounts.models import SellerMembership, User
from marketplace.accounts.roles import seller_users
from marketplace.core import calendar
from marketplace.core.errors import Conflict, ValidationFailed, require_perm
from marketplace.core.services import notify
from marketplace.core.state import lock, move, record

from .. import agreement, selectors
from ..models import AccelerationPlan, AgreementSignature
from .applications import _seller_admin

P = AccelerationPlan.Status


def plan_threshold() -> Decimal:
    return Decimal(settings.MARKETPLACE["ACCELERATION_PLAN_GMV"])


def current_plan(seller_id: int) -> AccelerationPlan | None:
    """The seller's plan that holds (pending or approved), else its latest rejected one, else None."""
    plans = AccelerationPlan.objects.filter(seller_id=seller_id).select_related("signature")
    return plans.filter(status__in=AccelerationPlan.HELD).first() or plans.order_by("-created_at", "-id").first()


def approved_plan(seller_id: int) -> AccelerationPlan | None:
    return AccelerationPlan.objects.filter(seller_id=seller_id, status=P.APPROVED).first()


def year_gmv(seller_id: int, now: datetime | None = None) -> Decimal:
    start, end = selectors.year_window(calendar.today(now).year)
    return selectors.gmv(seller_id=seller_id, start=start, end=end)


def plan_apply(
    *,
    actor: User,
    signer_name: str,
    signer_role: str,
    agreed: bool,
    ip: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> AccelerationPlan:
    """Apply to the plan and sign the agreement: refused below the GMV bar (the message says how far),
    when a plan is pending or approved already, or without a typed name, a role and the consent box.
    The signature (exact text, name, role, time, IP) and its PDF are written once, with the plan."""
    now = now or timezone.now()
    membership = _seller_admin(actor)
    signer_name, signer_role = (signer_name or "").strip(), (signer_role or "").strip()
    errors = {}
    if not signer_name:
        errors["signer_name"] = [_("Type your full name to sign.")]
    elif len(signer_name) > 100:
        errors["signer_name"] = [_("At most 100 characters.")]
    if not signer_role:
        errors["signer_role"] = [_("Say in what role you sign (for example: general manager).")]
    elif len(signer_role) > 100:
        errors["signer_role"] = [_("At most 100 characters.")]
    if not agreed:
        errors["agreed"] = [_("Read the agreement and tick the box to agree to it.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)
    try:
        validate_ipv46_address(ip or "")
    except ValidationError:
        ip = None
    threshold = plan_threshold()
    gmv = year_gmv(membership.seller_id, now)
    if gmv < threshold:
        raise Conflict(
            _(
                "The acceleration plan needs a GMV of CNY %(threshold)s this year; "
                "yours is CNY %(gmv)s (CNY %(missing)s to go)."
            )
            % {"threshold": f"{threshold:,.2f}", "gmv": f"{gmv:,.2f}", "missing": f"{threshold - gmv:,.2f}"}
        )
    seller = membership.seller
    text_zh, text_en = agreement.texts(seller_name=seller.name, threshold=threshold)
    text_sha256 = agreement.digest(text_zh, text_en)
    document = agreement.pdf(
        text_zh=text_zh,
        text_en=text_en,
        text_sha256=text_sha256,
        version=agreement.VERSION,
        seller_name=seller.name,
        signer_name=signer_name,
        signer_role=signer_role,
        signed_at=now,
        ip=ip,
    )
    stored = ContentFile(document, name="agreement.pdf")
    signature = None
    try:
        with transaction.atomic():
            plan = AccelerationPlan.objects.create(
                seller=seller, applied_by=actor, gmv_at_application=gmv, created_at=now
            )
            signature = AgreementSignature(
                plan=plan,
                seller=seller,
                signer=actor,
                version=agreement.VERSION,
                text_zh=text_zh,
                text_en=text_en,
                text_sha256=text_sha256,
                signer_name=signer_name,
                signer_role=signer_role,
                signed_at=now,
                ip=ip,
                user_agent=(user_agent or "")[:300],
                pdf=stored,
                pdf_sha256=hashlib.sha256(document).hexdigest(),
            )
            signature.save()
            record(
                plan,
                actor=actor,
                from_status="",
                note=gettext_noop("Applied and signed the agreement as %(name)s (%(role)s)"),
                params={"name": signer_name, "role": signer_role},
                at=now,
            )
    except BaseException as exc:
        # Nothing was written: the PDF stored with the row goes too.
        if signature is not None and signature.pdf and signature.pdf.name != "agreement.pdf":
            signature.pdf.storage.delete(signature.pdf.name)
        if isinstance(exc, IntegrityError):
            raise Conflict(_("You have applied to the acceleration plan already.")) from exc
        raise
    notify(
        users=staff_with_perm("benefits.decide_accelerationplan"),
        subject=gettext_lazy("Acceleration plan application: %(seller)s"),
        subject_params={"seller": seller.name},
        template="notifications/acceleration_plan_applied.txt",
        context={"plan": plan},
        link=reverse("admin:benefits_accelerationplan_change", args=[plan.pk]),
    )
    return plan


def _decided(actor: User, plan_id) -> AccelerationPlan:
    require_perm(actor, "benefits.decide_accelerationplan")
    return lock(AccelerationPlan.objects.select_related("seller"), plan_id, _("No such application."))


def plan_approve(*, actor: User, plan_id, now=None) -> AccelerationPlan:
    now = now or timezone.now()
    with transaction.atomic():
        plan = _decided(actor, plan_id)
        plan.decided_at = now
        move(plan, P.APPROVED, actor=actor, note=gettext_noop("Approved"), fields=("decided_at",), at=now)
        _tell_seller(plan, gettext_lazy("You joined the merchant acceleration plan"))
    return plan


def plan_reject(*, actor: User, plan_id, reason: str, now=None) -> AccelerationPlan:
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why."), field_errors={"reason": [_("Say why.")]})
    with transaction.atomic():
        plan = _decided(actor, plan_id)
        plan.decided_at, plan.rejection_reason = now, reason[:2000]
        move(
            plan,
            P.REJECTED,
            actor=actor,
            note=gettext_noop("Rejected"),
            message=reason,
            fields=("decided_at", "rejection_reason"),
            at=now,
        )
        _tell_seller(plan, gettext_lazy("Acceleration plan application rejected"))
    return plan


def _tell_seller(plan: AccelerationPlan, subject) -> None:
    notify(
        users=seller_users(plan.seller_id, [SellerMembership.Role.ADMIN]),
        subject=subject,
        template="notifications/acceleration_plan_decided.txt",
        context={"plan": plan},
        link=reverse("seller:acceleration_plan"),
    )
