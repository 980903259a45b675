"""Merchant marketing support (商家营销支持): applications of sellers in the approved acceleration
plan. The seller drafts and submits; operations approve (with the support granted), reject or ask for
changes; after the activity the seller hands in acceptance materials, operations accept or return
them; finance records the support paid. Every step is a move in the state machine with an event and
a notice."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.groups import staff_with_perm
from marketplace.accounts.models import User
from marketplace.accounts.roles import SELLER_CAPABILITIES, seller_users
from marketplace.core import calendar
from marketplace.core.errors import Conflict, InvalidTransition, ValidationFailed, require_perm
from marketplace.core.money import quantize
from marketplace.core.services import notify
from marketplace.core.state import lock, move, record
from marketplace.core.uploads import clean_files, files_kept_only_on_success

from ..models import MarketingSupport, MarketingSupportAttachment
from .acceleration import approved_plan
from .applications import _seller_admin

S = MarketingSupport.Status
MAX_FILES = 10
MAX_BUDGET = Decimal("100000000")


# --- the seller's side -----------------------------------------------------------------------------


def _seller_application(actor: User, application_id) -> MarketingSupport:
    membership = _seller_admin(actor)
    return lock(
        MarketingSupport.objects.filter(seller_id=membership.seller_id), application_id, _("No such application.")
    )


def _money(value, field: str, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = quantize(Decimal(str(value).replace(",", "").strip()))
    except (InvalidOperation, ArithmeticError, ValueError, TypeError):
        errors[field] = [_("Enter an amount such as 50000.00.")]
        return None
    if amount <= 0:
        errors[field] = [_("Enter an amount above zero.")]
        return None
    if amount > MAX_BUDGET:
        errors[field] = [_("At most CNY %(max)s.") % {"max": f"{MAX_BUDGET:,.0f}"}]
        return None
    return amount


def _date(value, field: str, errors: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def _fields(data: dict) -> tuple[dict, dict]:
    """The application's fields from a form or a request body, with the errors of what is malformed
    (what is missing is checked only when submitting: a draft may be incomplete)."""
    errors: dict = {}
    name = str(data.get("activity_name") or "").strip()
    if not name:
        errors["activity_name"] = [_("Name the activity.")]
    elif len(name) > 120:
        errors["activity_name"] = [_("At most 120 characters.")]
    channels = data.get("channels") or []
    if isinstance(channels, str):
        channels = [channels]
    valid = set(MarketingSupport.Channel.values)
    if not isinstance(channels, list | tuple) or any(str(c) not in valid for c in channels):
        errors["channels"] = [_("Choose channels from the list.")]
        channels = []
    proposal = str(data.get("proposal") or "").strip()
    if len(proposal) > 20000:
        errors["proposal"] = [_("At most 20,000 characters.")]
    values = {
        "activity_name": name,
        "starts_on": _date(data.get("starts_on"), "starts_on", errors),
        "ends_on": _date(data.get("ends_on"), "ends_on", errors),
        "channels": sorted({str(c) for c in channels}, key=MarketingSupport.Channel.values.index),
        "budget": _money(data.get("budget"), "budget", errors),
        "proposal": proposal,
    }
    if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = [_("The activity ends before it starts.")]
    return values, errors


def _fail(errors: dict):
    raise ValidationFailed(next(iter(errors.values()))[0], field_errors=errors)


def marketing_save(
    *, actor: User, data: dict, files=(), application_id=None, submit: bool = False, now: datetime | None = None
) -> MarketingSupport:
    """Create a marketing-support application or change one the seller may still edit (a draft, or one
    operations asked to change), with attachments to its plan; with ``submit`` also submit it."""
    now = now or timezone.now()
    membership = _seller_admin(actor)
    plan = approved_plan(membership.seller_id)
    if plan is None:
        raise Conflict(_("Marketing support opens once your acceleration plan application is approved."))
    values, errors = _fields(data)
    if errors:
        _fail(errors)
    files = clean_files(files, max_files=MAX_FILES)
    with files_kept_only_on_success() as stored, transaction.atomic():
        if application_id is None:
            application = MarketingSupport.objects.create(
                seller_id=membership.seller_id, plan=plan, created_by=actor, created_at=now, updated_at=now, **values
            )
            record(application, actor=actor, from_status="", note=gettext_noop("Draft created"), at=now)
        else:
            application = _seller_application(actor, application_id)
            if application.status not in MarketingSupport.EDITABLE:
                raise InvalidTransition(_("This application can no longer be changed."))
            for field, value in values.items():
                setattr(application, field, value)
            application.updated_at = now
            application.save(update_fields=[*values, "updated_at"])
        MarketingSupportAttachment.store(
            files,
            uploaded_by=actor,
            created_at=now,
            stored=stored,
            application=application,
            kind=MarketingSupportAttachment.Kind.PROPOSAL,
        )
        if submit:
            _submit(application, actor, now)
    return application


def _submit(application: MarketingSupport, actor: User, now) -> None:
    errors = {}
    if not application.starts_on:
        errors["starts_on"] = [_("Say when the activity starts.")]
    if not application.ends_on:
        errors["ends_on"] = [_("Say when the activity ends.")]
    elif application.ends_on < calendar.today(now):
        errors["ends_on"] = [_("The activity is over already; apply before it ends.")]
    if not application.channels:
        errors["channels"] = [_("Choose at least one channel.")]
    if not application.budget:
        errors["budget"] = [_("Say what the activity's budget is.")]
    if not application.proposal:
        errors["proposal"] = [_("Describe the activity's plan.")]
    if errors:
        _fail(errors)
    application.submitted_at = now
    move(application, S.SUBMITTED, actor=actor, note=gettext_noop("Submitted"), fields=("submitted_at",), at=now)
    _tell_operations(application, gettext_lazy("Marketing support to review: %(number)s"))


def marketing_submit(*, actor: User, application_id, now=None) -> MarketingSupport:
    now = now or timezone.now()
    with transaction.atomic():
        application = _seller_application(actor, application_id)
        if application.status not in MarketingSupport.EDITABLE:
            raise InvalidTransition(_("Only drafts and applications returned for changes are submitted."))
        if approved_plan(application.seller_id) is None:
            raise Conflict(_("Marketing support opens once your acceleration plan application is approved."))
        _submit(application, actor, now)
    return application


def marketing_withdraw(*, actor: User, application_id, now=None) -> MarketingSupport:
    now = now or timezone.now()
    with transaction.atomic():
        application = _seller_application(actor, application_id)
        previous = move(application, S.WITHDRAWN, actor=actor, note=gettext_noop("Withdrawn"), at=now)
        if previous == S.SUBMITTED:  # operations were reviewing it
            _tell_operations(application, gettext_lazy("Marketing support withdrawn: %(number)s"))
    return application


def marketing_attachment_remove(*, actor: User, attachment_id, now=None) -> MarketingSupport:
    """Remove a file from the plan of an application the seller may still edit."""
    membership = _seller_admin(actor)
    with transaction.atomic():
        attachment = lock(
            MarketingSupportAttachment.objects.filter(application__seller_id=membership.seller_id),
            attachment_id,
            _("No such file."),
        )
        application = _seller_application(actor, attachment.application_id)
        if application.status not in MarketingSupport.EDITABLE or attachment.kind != attachment.Kind.PROPOSAL:
            raise InvalidTransition(_("This file can no longer be removed."))
        name = attachment.file.name
        attachment.delete()
        record(
            application,
            actor=actor,
            note=gettext_noop("File removed: %(name)s"),
            params={"name": attachment.name},
            at=now,
        )
        transaction.on_commit(lambda: attachment.file.storage.delete(name))
    return application


def marketing_submit_acceptance(*, actor: User, application_id, report: str, files=(), now=None) -> MarketingSupport:
    """After the activity: the report and the evidence (at least one file, new or handed in before)."""
    now = now or timezone.now()
    report = (report or "").strip()
    files = clean_files(files, max_files=MAX_FILES)
    with files_kept_only_on_success() as stored, transaction.atomic():
        application = _seller_application(actor, application_id)
        if application.status not in MarketingSupport.ACCEPTANCE_OPEN:
            raise InvalidTransition(_("Acceptance materials are handed in once the application is approved."))
        errors = {}
        if application.ends_on and calendar.today(now) < application.ends_on:
            errors["report"] = [
                _("Hand in the materials after the activity, from %(date)s.")
                % {"date": application.ends_on.isoformat()}
            ]
        elif not report:
            errors["report"] = [_("Write the activity's report.")]
        elif len(report) > 20000:
            errors["report"] = [_("At most 20,000 characters.")]
        kind = MarketingSupportAttachment.Kind.ACCEPTANCE
        if not errors and not files and not application.attachments.filter(kind=kind).exists():
            errors["files"] = [_("Add the activity's evidence (at least one file).")]
        if errors:
            _fail(errors)
        MarketingSupportAttachment.store(
            files, uploaded_by=actor, created_at=now, stored=stored, application=application, kind=kind
        )
        application.acceptance_report = report
        move(
            application,
            S.ACCEPTANCE_SUBMITTED,
            actor=actor,
            note=gettext_noop("Acceptance materials submitted"),
            fields=("acceptance_report",),
            at=now,
        )
        _tell_operations(application, gettext_lazy("Acceptance materials to check: %(number)s"))
    return application


# --- operations' side ------------------------------------------------------------------------------


def _reviewed(actor: User, application_id, perm="benefits.review_marketingsupport") -> MarketingSupport:
    require_perm(actor, perm)
    return lock(MarketingSupport.objects.select_related("seller"), application_id, _("No such application."))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why."), field_errors={"reason": [_("Say why.")]})
    return reason[:2000]


def marketing_approve(*, actor: User, application_id, amount=None, now=None) -> MarketingSupport:
    """Approve, granting support of ``amount`` (at most the budget; the whole budget when not given)."""
    now = now or timezone.now()
    with transaction.atomic():
        application = _reviewed(actor, application_id)
        if application.status != S.SUBMITTED:
            raise InvalidTransition(_("Only applications under review are approved."))
        errors: dict = {}
        granted = _money(amount, "amount", errors) if amount not in (None, "") else application.budget
        if not errors and granted > application.budget:
            errors["amount"] = [_("At most the budget, CNY %(budget)s.") % {"budget": application.budget}]
        if errors:
            _fail(errors)
        application.approved_amount, application.review_note = granted, ""
        move(
            application,
            S.APPROVED,
            actor=actor,
            note=gettext_noop("Approved with support of CNY %(amount)s"),
            params={"amount": granted},
            fields=("approved_amount", "review_note"),
            at=now,
        )
        _tell_seller(application, gettext_lazy("Marketing support approved: %(number)s"))
    return application


def _decide_with_reason(actor, application_id, reason, target, note, subject, now) -> MarketingSupport:
    now = now or timezone.now()
    reason = _reason(reason)
    with transaction.atomic():
        application = _reviewed(actor, application_id)
        if application.status != S.SUBMITTED:
            raise InvalidTransition(_("Only applications under review are decided."))
        application.review_note = reason
        move(application, target, actor=actor, note=note, message=reason, fields=("review_note",), at=now)
        _tell_seller(application, subject)
    return application


def marketing_reject(*, actor: User, application_id, reason: str, now=None) -> MarketingSupport:
    return _decide_with_reason(
        actor,
        application_id,
        reason,
        S.REJECTED,
        gettext_noop("Rejected"),
        gettext_lazy("Marketing support rejected: %(number)s"),
        now,
    )


def marketing_request_changes(*, actor: User, application_id, reason: str, now=None) -> MarketingSupport:
    return _decide_with_reason(
        actor,
        application_id,
        reason,
        S.CHANGES_REQUESTED,
        gettext_noop("Changes requested"),
        gettext_lazy("Marketing support needs changes: %(number)s"),
        now,
    )


def marketing_accept(*, actor: User, application_id, now=None) -> MarketingSupport:
    now = now or timezone.now()
    with transaction.atomic():
        application = _reviewed(actor, application_id)
        if application.status != S.ACCEPTANCE_SUBMITTED:
            raise InvalidTransition(_("Only materials handed in are accepted."))
        application.acceptance_note = ""
        move(
            application,
            S.ACCEPTED,
            actor=actor,
            note=gettext_noop("Activity accepted"),
            fields=("acceptance_note",),
            at=now,
        )
        _tell_seller(application, gettext_lazy("Marketing support activity accepted: %(number)s"))
        _tell_operations(
            application, gettext_lazy("Marketing support to pay: %(number)s"), perm="benefits.pay_marketingsupport"
        )
    return application


def marketing_return(*, actor: User, application_id, reason: str, now=None) -> MarketingSupport:
    now = now or timezone.now()
    reason = _reason(reason)
    with transaction.atomic():
        application = _reviewed(actor, application_id)
        if application.status != S.ACCEPTANCE_SUBMITTED:
            raise InvalidTransition(_("Only materials handed in are returned."))
        application.acceptance_note = reason
        move(
            application,
            S.ACCEPTANCE_RETURNED,
            actor=actor,
            note=gettext_noop("Acceptance materials returned"),
            message=reason,
            fields=("acceptance_note",),
            at=now,
        )
        _tell_seller(application, gettext_lazy("Acceptance materials returned: %(number)s"))
    return application


def marketing_pay(*, actor: User, application_id, amount, reference: str, now=None) -> MarketingSupport:
    """Record the support paid (finance): at most the amount approved, with the payment's reference.
    Recorded once; the event keeps amount, reference and who recorded it."""
    now = now or timezone.now()
    reference = (reference or "").strip()
    with transaction.atomic():
        application = _reviewed(actor, application_id, perm="benefits.pay_marketingsupport")
        if application.status != S.ACCEPTED:
            if application.status == S.PAID:
                raise InvalidTransition(_("The support is paid already."))
            raise InvalidTransition(_("Support is paid once the activity is accepted."))
        errors: dict = {}
        paid = _money(amount, "amount", errors)
        if paid is None and not errors:
            errors["amount"] = [_("Enter the amount paid.")]
        if paid is not None and paid > application.approved_amount:
            errors["amount"] = [
                _("At most the support approved, CNY %(amount)s.") % {"amount": application.approved_amount}
            ]
        if not reference:
            errors["reference"] = [_("Enter the payment's reference.")]
        elif len(reference) > 100:
            errors["reference"] = [_("At most 100 characters.")]
        if errors:
            _fail(errors)
        application.paid_amount, application.payment_reference, application.paid_at = paid, reference, now
        move(
            application,
            S.PAID,
            actor=actor,
            note=gettext_noop("Support of CNY %(amount)s paid, reference %(reference)s"),
            params={"amount": paid, "reference": reference},
            fields=("paid_amount", "payment_reference", "paid_at"),
            at=now,
        )
        _tell_seller(application, gettext_lazy("Marketing support paid: %(number)s"))
    return application


# --- notices ---------------------------------------------------------------------------------------


def _tell_seller(application: MarketingSupport, subject) -> None:
    notify(
        users=seller_users(application.seller_id, SELLER_CAPABILITIES["cooperation.manage"]),
        subject=subject,
        subject_params={"number": application.number},
        template="notifications/marketing_support.txt",
        context={"application": application},
        link=reverse("seller:marketing_support_detail", args=[application.pk]),
    )


def _tell_operations(application: MarketingSupport, subject, perm: str = "benefits.review_marketingsupport") -> None:
    """Staff holding ``perm`` (reviewers by default; finance for payments due)."""
    notify(
        users=staff_with_perm(perm),
        subject=subject,
        subject_params={"number": application.number},
        template="notifications/marketing_support.txt",
        context={"application": application},
        link=reverse("admin:benefits_marketingsupport_change", args=[application.pk]),
    )


def not_open_reason(seller_id: int) -> str:
    """Why marketing support is closed to this seller ('' when it is open)."""
    if approved_plan(seller_id) is None:
        return _("Marketing support opens once your acceleration plan application is approved.")
    return ""
