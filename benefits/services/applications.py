"""Every write about merchant benefits (DOMAIN.md section 9): applications, decided in arrival order.

Keyword-only functions raising ``ServiceError``s, each in one transaction; times are ``now=``.
"""

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.models import User
from marketplace.accounts.roles import seller_can, seller_users
from marketplace.core import calendar
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.core.services import notify
from marketplace.core.state import lock, move, record

from .. import selectors
from ..models import Benefit, BenefitApplication

A = BenefitApplication.Status


def _seller_admin(actor: User):
    membership = getattr(actor, "seller_membership", None)
    if not seller_can(membership, "cooperation.manage"):
        raise NotAllowed(_("Only the seller's administrators apply for benefits."))
    return membership


def benefit_apply(*, actor: User, benefit_id, wanted_from: date, now: datetime | None = None) -> BenefitApplication:
    """Apply for a benefit from a date. Refused below the GMV threshold (this calendar year) or
    inside the benefit's lead time (the message names the earliest allowed date)."""
    now = now or timezone.now()
    membership = _seller_admin(actor)
    today = calendar.today(now)
    benefit = selectors.active_benefits(today).filter(pk=as_id(benefit_id, _("No such benefit."))).first()
    if benefit is None:
        raise NotFound(_("No such benefit."))
    if not isinstance(wanted_from, date):
        raise ValidationFailed(_("Choose a date."), field_errors={"wanted_from": [_("Choose a date.")]})
    earliest = today + timedelta(days=benefit.lead_days)
    if wanted_from < earliest:
        message = _("This benefit needs %(days)s days' notice: the earliest date is %(date)s.") % {
            "days": benefit.lead_days,
            "date": earliest.isoformat(),
        }
        raise ValidationFailed(message, field_errors={"wanted_from": [message]})
    start, end = selectors.year_window(today.year)
    gmv = selectors.gmv(seller_id=membership.seller_id, start=start, end=end)
    if gmv < benefit.gmv_threshold:
        raise Conflict(
            _("This benefit needs a GMV of CNY %(threshold)s this year; yours is CNY %(gmv)s (CNY %(missing)s to go).")
            % {"threshold": benefit.gmv_threshold, "gmv": gmv, "missing": benefit.gmv_threshold - gmv}
        )
    try:
        with transaction.atomic():
            application = BenefitApplication.objects.create(
                benefit=benefit,
                seller_id=membership.seller_id,
                applied_by=actor,
                wanted_from=wanted_from,
                gmv_at_application=gmv,
                created_at=now,
            )
            record(application, actor=actor, from_status="", note=gettext_noop("Applied"), at=now)
    except IntegrityError as exc:
        raise Conflict(_("You already have an application for this benefit waiting.")) from exc
    return application


def benefit_withdraw(*, actor: User, application_id, now=None) -> BenefitApplication:
    now = now or timezone.now()
    membership = _seller_admin(actor)
    with transaction.atomic():
        application = lock(
            BenefitApplication.objects.filter(seller_id=membership.seller_id), application_id, _("No such application.")
        )
        move(application, A.WITHDRAWN, actor=actor, note=gettext_noop("Withdrawn"), at=now)
    return application


def _decided(actor: User, application_id) -> BenefitApplication:
    if not (actor.is_staff and actor.has_perm("benefits.decide_benefitapplication")):
        raise NotAllowed(_("You do not have the permission for this action."))
    return lock(BenefitApplication.objects.select_related("benefit"), application_id, _("No such application."))


def _ahead(application: BenefitApplication) -> int:
    """Waiting applications for the same benefit that arrived earlier."""
    return (selectors.queue_position(application) or 1) - 1


def benefit_verify(*, actor: User, application_id, now=None) -> BenefitApplication:
    now = now or timezone.now()
    with transaction.atomic():
        application = _decided(actor, application_id)
        move(application, A.VERIFIED, actor=actor, note=gettext_noop("Verified"), at=now)
    return application


def benefit_grant(*, actor: User, application_id, skip_reason: str = "", now=None) -> BenefitApplication:
    """Grant a benefit: in arrival order, unless a reason for skipping the earlier ones is recorded;
    never beyond the benefit's quota for the month the seller wants it from."""
    now = now or timezone.now()
    skip_reason = (skip_reason or "").strip()
    with transaction.atomic():
        application = _decided(actor, application_id)
        Benefit.objects.select_for_update().get(pk=application.benefit_id)  # grants of one benefit queue here
        if application.status not in BenefitApplication.WAITING:
            raise InvalidTransition(_("This application is decided already."))
        ahead = _ahead(application)
        if ahead and not skip_reason:
            raise ValidationFailed(
                _("%(n)s earlier applications are waiting: say why this one goes first.") % {"n": ahead},
                field_errors={"skip_reason": [_("Required when deciding out of arrival order.")]},
            )
        month = application.wanted_from.replace(day=1)
        next_month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        granted = BenefitApplication.objects.filter(
            benefit_id=application.benefit_id, status=A.GRANTED, wanted_from__gte=month, wanted_from__lt=next_month
        ).count()
        if granted >= application.benefit.quota_per_period:
            raise Conflict(
                _("The quota of %(n)s for %(month)s is used up.")
                % {"n": application.benefit.quota_per_period, "month": month.strftime("%Y-%m")}
            )
        application.decided_at, application.skip_reason = now, skip_reason[:2000] if ahead else ""
        move(
            application,
            A.GRANTED,
            actor=actor,
            note=gettext_noop("Granted"),
            message=application.skip_reason,
            fields=("decided_at", "skip_reason"),
            at=now,
        )
        _tell_seller(application, gettext_lazy("Benefit granted: %(benefit)s"))
    return application


def benefit_reject(*, actor: User, application_id, reason: str, now=None) -> BenefitApplication:
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why."), field_errors={"reason": [_("Say why.")]})
    with transaction.atomic():
        application = _decided(actor, application_id)
        application.rejection_reason, application.decided_at = reason[:2000], now
        move(
            application,
            A.REJECTED,
            actor=actor,
            note=gettext_noop("Rejected"),
            message=reason,
            fields=("rejection_reason", "decided_at"),
            at=now,
        )
        _tell_seller(application, gettext_lazy("Benefit application rejected: %(benefit)s"))
    return application


def _tell_seller(application: BenefitApplication, subject) -> None:
    notify(
        users=seller_users(application.seller_id, ["admin"]),
        subject=subject,
        subject_params={"benefit": application.benefit.name_zh},
        template="notifications/benefit_decided.txt",
        context={"application": application},
        link=reverse("seller:benefits"),
    )
