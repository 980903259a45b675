"""Buyers' invoices (DOMAIN.md sections 5 and 6): invoice profiles, requests over paid orders, the
issuer's invoice (the seller for general products, the platform for the others), delivery by post
or e-mail, returns and voids before a refund, and stamped explanation letters.

Keyword-only functions raising ``ServiceError``s; each runs in one transaction. Times are ``now=``.
"""

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from marketplace.accounts.groups import staff_with_perm
from marketplace.accounts.models import User
from marketplace.accounts.roles import SELLER_CAPABILITIES, buyer_is_admin, seller_can, seller_users
from marketplace.catalog.models import TradeMode
from marketplace.core import calendar
from marketplace.core.errors import Conflict, InvalidTransition, NotAllowed, NotFound, ValidationFailed, as_id
from marketplace.core.money import ZERO, quantize
from marketplace.core.resilience import send_after_commit
from marketplace.core.services import email_queue, notify
from marketplace.core.state import lock, move, record
from marketplace.core.uploads import validate_upload
from marketplace.core.validators import validate_uscc
from marketplace.orders.models import Order
from marketplace.orders.selectors import buyer_scope

from ..models import ExplanationLetter, InvoicedOrder, InvoiceProfile, InvoiceRequest

R = InvoiceRequest.Status
Medium = InvoiceRequest.Medium
Issuer = InvoiceRequest.Issuer
# Sellers issue their own invoices for general products ordered from this day on (Beijing time).
SELLER_ISSUES_FROM = date(2018, 11, 1)


def _rules() -> dict:
    return settings.MARKETPLACE["INVOICES"]


def _fail(field: str, message: str):
    raise ValidationFailed(message, field_errors={field: [message]})


# --- tax ids ---------------------------------------------------------------------------------------


def valid_credit_code(code: str) -> bool:
    """A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the last a
    check character over the first 17 (``marketplace.core.validators.validate_uscc``)."""
    try:
        validate_uscc(code)
    except ValidationError:
        return False
    return True


# --- profiles --------------------------------------------------------------------------------------

PROFILE_FIELDS = ("kind", "title", "tax_id", "address", "phone", "bank_name", "bank_account", "vat_kind")


def _buyer_admin(actor: User):
    membership = getattr(actor, "buyer_membership", None)
    if membership is None:
        raise NotAllowed(_("This is for buyer accounts."))
    if not buyer_is_admin(membership):
        raise NotAllowed(_("Only the tenant's administrators manage invoice profiles."))
    return membership


def profile_save(*, actor: User, data: dict, profile_id=None, is_default: bool | None = None) -> InvoiceProfile:
    """Create or change an invoice profile. A company needs a valid unified social credit code; a
    special VAT invoice needs a company with its address, phone, bank and account."""
    membership = _buyer_admin(actor)
    clean = {f: str(data.get(f) or "").strip() for f in PROFILE_FIELDS}
    clean["tax_id"] = clean["tax_id"].upper()
    clean["vat_kind"] = clean["vat_kind"] or InvoiceProfile.VatKind.GENERAL
    errors: dict[str, list] = {}
    if clean["kind"] not in InvoiceProfile.Kind.values:
        errors["kind"] = [_("Choose individual or company.")]
    if clean["vat_kind"] not in InvoiceProfile.VatKind.values:
        errors["vat_kind"] = [_("Choose the invoice type.")]
    if not clean["title"]:
        errors["title"] = [_("Required.")]
    if clean["kind"] == InvoiceProfile.Kind.COMPANY:
        try:
            validate_uscc(clean["tax_id"])
        except ValidationError as exc:
            errors["tax_id"] = exc.messages
    elif clean["tax_id"]:
        errors["tax_id"] = [_("An individual's invoice has no taxpayer id.")]
    if clean["vat_kind"] == InvoiceProfile.VatKind.SPECIAL:
        if clean["kind"] != InvoiceProfile.Kind.COMPANY:
            errors["vat_kind"] = [_("Special VAT invoices are for companies.")]
        for field in ("address", "phone", "bank_name", "bank_account"):
            if not clean[field]:
                errors[field] = [_("Required for a special VAT invoice.")]
    for field, limit in (("title", 100), ("address", 200), ("phone", 30), ("bank_name", 100), ("bank_account", 40)):
        if len(clean[field]) > limit:
            errors[field] = [_("At most %(n)s characters.") % {"n": limit}]
    if errors:
        raise ValidationFailed(_("Please correct the invoice profile."), field_errors=errors)
    with transaction.atomic():
        if profile_id is None:
            profile = InvoiceProfile(buyer_id=membership.buyer_id)
        else:
            profile = lock(
                InvoiceProfile.objects.filter(buyer_id=membership.buyer_id), profile_id, _("No such invoice profile.")
            )
        for field, value in clean.items():
            setattr(profile, field, value)
        others = InvoiceProfile.objects.filter(buyer_id=membership.buyer_id).exclude(pk=profile.pk)
        if is_default or (profile.pk is None and not others.exists()):
            others.filter(is_default=True).update(is_default=False)
            profile.is_default = True
        elif is_default is False and profile.is_default:
            profile.is_default = False
        profile.save()
    return profile


def profile_delete(*, actor: User, profile_id) -> None:
    membership = _buyer_admin(actor)
    with transaction.atomic():
        profile = lock(
            InvoiceProfile.objects.filter(buyer_id=membership.buyer_id), profile_id, _("No such invoice profile.")
        )
        was_default = profile.is_default
        profile.delete()
        if was_default:
            successor = InvoiceProfile.objects.filter(buyer_id=membership.buyer_id).order_by("pk").first()
            if successor is not None:
                successor.is_default = True
                successor.save(update_fields=["is_default"])


# --- requests --------------------------------------------------------------------------------------


def issuer_for(order: Order) -> str:
    """The seller issues for general products ordered from 2018-11-01 on; the platform for joint,
    strict-selection, self-operated and platform products (and older general orders)."""
    modes = {line.trade_mode for line in order.lines.all()}
    day = calendar.beijing(order.paid_at or order.created_at).date()
    if modes == {TradeMode.GENERAL} and day >= SELLER_ISSUES_FROM:
        return Issuer.SELLER
    return Issuer.PLATFORM


def invoiceable_amount(order: Order) -> Decimal:
    """What was paid and not refunded."""
    refunded = order.lines.aggregate(total=Sum("refunds__amount"))["total"] or ZERO
    return quantize(order.amount - refunded)


def _delivery(medium: str, recipient: str, phone: str, address: str, email: str) -> dict:
    if medium not in Medium.values:
        _fail("medium", _("Choose paper, electronic or digital all-electric."))
    recipient, phone, address, email = (v.strip() for v in (recipient or "", phone or "", address or "", email or ""))
    if medium == Medium.PAPER:
        errors = {
            f: [_("Required for a paper invoice.")]
            for f, v in (("recipient", recipient), ("recipient_phone", phone), ("mailing_address", address))
            if not v
        }
        if errors:
            raise ValidationFailed(_("Where should the paper invoice go?"), field_errors=errors)
        return {
            "recipient": recipient[:50],
            "recipient_phone": phone[:30],
            "mailing_address": address[:200],
            "recipient_email": "",
        }
    try:
        validate_email(email)
    except ValidationError:
        _fail("recipient_email", _("Enter the e-mail address the invoice goes to."))
    return {"recipient": "", "recipient_phone": "", "mailing_address": "", "recipient_email": email}


def _title_of(profile: InvoiceProfile) -> dict:
    return {
        "profile": profile,
        "title_kind": profile.kind,
        "title": profile.title,
        "tax_id": profile.tax_id,
        "vat_kind": profile.vat_kind,
        "title_details": {
            "address": profile.address,
            "phone": profile.phone,
            "bank_name": profile.bank_name,
            "bank_account": profile.bank_account,
        },
    }


def _profile_for(actor: User, profile_id) -> InvoiceProfile:
    membership = getattr(actor, "buyer_membership", None)
    if membership is None:
        raise NotAllowed(_("This is for buyer accounts."))
    profile = InvoiceProfile.objects.filter(
        buyer_id=membership.buyer_id, pk=as_id(profile_id, _("Choose an invoice profile."))
    ).first()
    if profile is None:
        _fail("profile", _("Choose an invoice profile."))
    return profile


def _new_number(now) -> str:
    return "I" + timezone.localtime(now).strftime("%Y%m%d") + f"{secrets.randbelow(10**8):08d}"


def invoice_request_submit(
    *,
    actor: User,
    order_ids,
    profile_id,
    medium: str,
    recipient: str = "",
    recipient_phone: str = "",
    mailing_address: str = "",
    recipient_email: str = "",
    now: datetime | None = None,
) -> InvoiceRequest:
    """Ask for one invoice over paid orders of one issuer. An order is never on two live requests:
    the database refuses the second (two requests racing for one order: one wins)."""
    now = now or timezone.now()
    ids = sorted({as_id(pk, _("No such order.")) for pk in (order_ids or [])})
    if not ids:
        _fail("orders", _("Choose at least one paid order."))
    profile = _profile_for(actor, profile_id)
    delivery = _delivery(medium, recipient, recipient_phone, mailing_address, recipient_email)
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(of=("self",)).filter(buyer_scope(actor), pk__in=ids).order_by("pk")
        )
        if len(orders) != len(ids):
            raise NotFound(_("No such order."))
        orders = list(Order.objects.filter(pk__in=ids).prefetch_related("lines").order_by("pk"))
        for order in orders:
            if order.status != Order.Status.PAID:
                raise Conflict(_("Order %(n)s is not paid; only paid orders are invoiced.") % {"n": order.number})
        if InvoicedOrder.objects.filter(order_id__in=ids, active=True).exists():
            raise Conflict(_("One of these orders is already invoiced or waiting for its invoice."))
        issuers = {issuer_for(o) for o in orders}
        if len(issuers) > 1:
            raise ValidationFailed(
                _("These orders are invoiced by different issuers (a seller and the platform): request them apart.")
            )
        issuer = issuers.pop()
        sellers = {o.seller_id for o in orders}
        if issuer == Issuer.SELLER and len(sellers) > 1:
            raise ValidationFailed(_("Each seller issues its own invoices: request them apart."))
        amounts = {o.pk: invoiceable_amount(o) for o in orders}
        if any(a <= ZERO for a in amounts.values()):
            raise Conflict(_("An order refunded in full has nothing left to invoice."))
        request = InvoiceRequest.objects.create(
            number=_new_number(now),
            buyer_id=orders[0].buyer_id,
            requested_by=actor,
            issuer=issuer,
            seller_id=orders[0].seller_id if issuer == Issuer.SELLER else None,
            amount=sum(amounts.values(), ZERO),
            medium=medium,
            created_at=now,
            due_at=now + timedelta(days=_rules()["ISSUE_WITHIN_DAYS"]),
            **_title_of(profile),
            **delivery,
        )
        try:
            with transaction.atomic():
                InvoicedOrder.objects.bulk_create(
                    InvoicedOrder(request=request, order=o, amount=amounts[o.pk]) for o in orders
                )
        except IntegrityError as exc:
            raise Conflict(_("One of these orders is already invoiced or waiting for its invoice.")) from exc
        record(request, actor=actor, from_status="", note=gettext_noop("Invoice requested"), at=now)
        _tell_issuer(request, gettext_lazy("Invoice request %(number)s"), "notifications/invoice_requested.txt")
    return request


def invoice_request_resubmit(
    *,
    actor: User,
    request_id,
    profile_id,
    medium: str,
    recipient: str = "",
    recipient_phone: str = "",
    mailing_address: str = "",
    recipient_email: str = "",
    now: datetime | None = None,
) -> InvoiceRequest:
    """A rejected request, corrected and sent again (its orders must still be free)."""
    now = now or timezone.now()
    profile = _profile_for(actor, profile_id)
    delivery = _delivery(medium, recipient, recipient_phone, mailing_address, recipient_email)
    with transaction.atomic():
        request = _buyer_request(actor, request_id)
        if request.status != R.REJECTED:
            raise InvalidTransition(_("Only a rejected request is corrected and sent again."))
        for field, value in {**_title_of(profile), **delivery, "medium": medium}.items():
            setattr(request, field, value)
        request.rejection_reason = ""
        request.due_at = now + timedelta(days=_rules()["ISSUE_WITHIN_DAYS"])
        request.reminded_at = None
        kept = _refresh_amounts(request)
        try:
            with transaction.atomic():
                request.lines.filter(pk__in=kept).update(active=True)
        except IntegrityError as exc:
            raise Conflict(_("One of these orders was invoiced on another request meanwhile.")) from exc
        move(
            request,
            R.SUBMITTED,
            actor=actor,
            note=gettext_noop("Corrected and submitted again"),
            fields=(
                *_title_of(profile).keys(),
                *delivery.keys(),
                "medium",
                "rejection_reason",
                "due_at",
                "reminded_at",
            ),
            at=now,
        )
        _tell_issuer(request, gettext_lazy("Invoice request %(number)s"), "notifications/invoice_requested.txt")
    return request


def _refresh_amounts(request: InvoiceRequest) -> bool:
    """Bring the request's orders up to date before it is issued or resubmitted: what was paid and
    not refunded since (a refund may be paid while a request waits), orders no longer paid or fully
    refunded dropped. Conflict when nothing is left. Returns the ids of the lines kept."""
    lines = list(request.lines.filter(active=True).select_related("order").order_by("pk"))
    if request.status == R.REJECTED:  # resubmitting: its lines were let go
        lines = list(request.lines.select_related("order").order_by("pk"))
    kept, dropped = [], []
    for line in lines:
        left = invoiceable_amount(line.order) if line.order.status == Order.Status.PAID else ZERO
        if left > ZERO:
            line.amount = left
            kept.append(line)
        else:
            dropped.append(line.pk)
    if not kept:
        raise Conflict(_("Nothing is left to invoice on this request: its orders were refunded."))
    InvoicedOrder.objects.filter(pk__in=dropped).update(active=False)
    InvoicedOrder.objects.bulk_update(kept, ["amount"])
    request.amount = sum((line.amount for line in kept), ZERO)
    return [line.pk for line in kept]


# --- who may act -----------------------------------------------------------------------------------


def _buyer_request(actor: User, request_id) -> InvoiceRequest:
    membership = getattr(actor, "buyer_membership", None)
    scope = Q(pk__in=[])
    if membership is not None:
        scope = Q(buyer_id=membership.buyer_id)
        if not buyer_is_admin(membership):
            scope &= Q(requested_by_id=actor.pk)
    return lock(InvoiceRequest.objects.filter(scope), request_id, _("No such invoice request."))


def _issuer_request(actor: User, request_id) -> InvoiceRequest:
    """The request, for its issuer: the seller's administrators and finance staff, or operations
    staff allowed to issue the platform's invoices."""
    # No select_related("seller"): the seller is empty for the platform's requests, and PostgreSQL
    # refuses FOR UPDATE on the nullable side of an outer join.
    request = lock(InvoiceRequest.objects.all(), request_id, _("No such invoice request."))
    if request.issuer == Issuer.SELLER:
        membership = getattr(actor, "seller_membership", None)
        if membership is not None and membership.seller_id == request.seller_id:
            if seller_can(membership, "invoices.manage"):
                return request
            raise NotAllowed(_("Only the seller's administrators and finance staff issue invoices."))
        if actor.is_staff and actor.has_perm("invoicing.view_invoicerequest"):
            raise NotAllowed(_("The seller issues this invoice."))
    elif actor.is_staff:
        if actor.has_perm("invoicing.issue_invoicerequest"):
            return request
        raise NotAllowed(_("You do not have the permission for this action."))
    raise NotFound(_("No such invoice request."))


# --- issuing and delivery --------------------------------------------------------------------------


def _money(value, field: str) -> Decimal:
    try:
        amount = quantize(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        _fail(field, _("Enter an amount."))
    return amount


def invoice_issue(
    *,
    actor: User,
    request_id,
    invoice_number: str,
    invoice_code: str = "",
    issued_on: date | None = None,
    amount=None,
    tax_rate=None,
    file=None,
    generate: bool = False,
    now: datetime | None = None,
) -> InvoiceRequest:
    """Record the invoice: its number, code, date, amount and tax rate, with its PDF (uploaded, or
    drawn by the platform). Electronic and digital invoices are e-mailed to the recipient at once;
    paper ones wait for the courier."""
    now = now or timezone.now()
    invoice_number = (invoice_number or "").strip()
    if not invoice_number or len(invoice_number) > 32:
        _fail("invoice_number", _("Enter the invoice number."))
    invoice_code = (invoice_code or "").strip()[:32]
    issued_on = issued_on or calendar.today(now)
    if issued_on > calendar.today(now):
        _fail("issued_on", _("The invoice date cannot be in the future."))
    try:
        rate = Decimal(str(tax_rate)) if tax_rate not in (None, "") else Decimal("0.06")
    except (InvalidOperation, ValueError, TypeError):
        rate = Decimal("-1")
    if not rate.is_finite() or not Decimal("0") <= rate < Decimal("1") or rate.as_tuple().exponent < -4:
        _fail("tax_rate", _("A tax rate between 0 and 1, e.g. 0.06."))
    if file is None and not generate:
        _fail("file", _("Upload the invoice PDF, or let the platform draw it."))
    if file is not None:
        try:
            validate_upload(file, allowed=(".pdf",))
        except ValidationError as exc:
            _fail("file", exc.messages[0])
    with transaction.atomic():
        request = _issuer_request(actor, request_id)
        before = request.amount
        if request.status == R.SUBMITTED and _refresh_amounts(request) and request.amount != before:
            request.save(update_fields=["amount"])
            record(
                request,
                actor=actor,
                note=gettext_noop("Amount brought up to date after a refund: CNY %(amount)s"),
                params={"amount": request.amount},
                at=now,
            )
            if amount not in (None, ""):
                _fail("amount", _("A refund changed this request: it is now for CNY %(a)s.") % {"a": request.amount})
        amount = _money(amount, "amount") if amount not in (None, "") else request.amount
        if amount != request.amount:
            _fail("amount", _("The invoice is for CNY %(a)s, the amount requested.") % {"a": request.amount})
        request.invoice_number, request.invoice_code, request.issued_on = invoice_number, invoice_code, issued_on
        request.invoice_amount, request.tax_rate, request.issued_at = amount, rate, now
        move(
            request,
            R.ISSUED,
            actor=actor,
            note=gettext_noop("Invoice %(number)s issued"),
            params={"number": invoice_number},
            fields=("invoice_number", "invoice_code", "issued_on", "invoice_amount", "tax_rate", "issued_at"),
            at=now,
        )
        if file is None:
            from ..pdf import invoice_pdf

            file = ContentFile(invoice_pdf(request), name=f"{invoice_number}.pdf")
        request.file.save(f"{invoice_number}.pdf", file, save=False)
        request.save(update_fields=["file"])
        if request.medium == Medium.PAPER:
            _tell_buyer(request, gettext_lazy("Invoice %(number)s is issued"), "notifications/invoice_issued.txt")
        else:
            _send_by_email(request, actor, now)
    return request


def _send_by_email(request: InvoiceRequest, actor, now) -> None:
    from django.template.loader import render_to_string

    email_queue(
        to=request.recipient_email,
        subject=_("Your invoice %(number)s") % {"number": request.invoice_number},
        body=render_to_string("notifications/invoice_emailed.txt", {"request": request}),
        attachment=request.file.name,
        attachment_name=f"invoice-{request.invoice_number}.pdf",
    )
    request.delivered_at = now
    move(
        request,
        R.DELIVERED,
        actor=actor,
        note=gettext_noop("E-mailed to %(email)s"),
        params={"email": request.recipient_email},
        fields=("delivered_at",),
        at=now,
    )
    _tell_buyer(request, gettext_lazy("Invoice %(number)s is issued"), "notifications/invoice_issued.txt")


def invoice_deliver(*, actor: User, request_id, courier: str, tracking_number: str, now=None) -> InvoiceRequest:
    """A paper invoice handed to a courier (postage borne by the issuer from CNY 100)."""
    now = now or timezone.now()
    courier, tracking_number = (courier or "").strip(), (tracking_number or "").strip()
    if not courier:
        _fail("courier", _("Required."))
    if not tracking_number:
        _fail("tracking_number", _("Required."))
    with transaction.atomic():
        request = _issuer_request(actor, request_id)
        if request.medium != Medium.PAPER:
            raise InvalidTransition(_("Electronic invoices are e-mailed when they are issued."))
        request.courier, request.tracking_number, request.delivered_at = courier[:50], tracking_number[:50], now
        move(
            request,
            R.DELIVERED,
            actor=actor,
            note=gettext_noop("Mailed by %(courier)s, tracking number %(tracking)s"),
            params={"courier": request.courier, "tracking": request.tracking_number},
            fields=("courier", "tracking_number", "delivered_at"),
            at=now,
        )
        _tell_buyer(request, gettext_lazy("Invoice %(number)s is on its way"), "notifications/invoice_mailed.txt")
    return request


def invoice_reject(*, actor: User, request_id, reason: str, now=None) -> InvoiceRequest:
    """The issuer cannot issue as asked (a wrong title, say): the buyer may correct and resubmit."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        _fail("reason", _("Tell the buyer what to correct."))
    with transaction.atomic():
        request = _issuer_request(actor, request_id)
        request.rejection_reason = reason[:2000]
        move(
            request,
            R.REJECTED,
            actor=actor,
            note=gettext_noop("Rejected"),
            message=reason,
            fields=("rejection_reason",),
            at=now,
        )
        request.lines.update(active=False)  # the orders are free again until it is resubmitted
        _tell_buyer(
            request, gettext_lazy("Invoice request %(number)s was rejected"), "notifications/invoice_rejected.txt"
        )
    return request


# --- returns and voids -----------------------------------------------------------------------------


def invoice_return_start(*, actor: User, request_id, reason: str, now=None) -> InvoiceRequest:
    """The buyer sends an issued invoice back (paper) or asks for it to be voided (electronic), as
    a refund requires."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        _fail("reason", _("Required."))
    with transaction.atomic():
        request = _buyer_request(actor, request_id)
        request.return_reason = reason[:2000]
        move(
            request,
            R.RETURN_REQUESTED,
            actor=actor,
            note=gettext_noop("Return requested") if request.medium == Medium.PAPER else gettext_noop("Void requested"),
            message=reason,
            fields=("return_reason",),
            at=now,
        )
        _tell_issuer(request, gettext_lazy("Invoice %(number)s is to be returned"), "notifications/invoice_return.txt")
    return request


def invoice_return_confirm(*, actor: User, request_id, now=None) -> InvoiceRequest:
    """The issuer has the paper invoice back, or voided (red-lettered) the electronic one: its
    orders are free again, and a refund may be paid."""
    now = now or timezone.now()
    with transaction.atomic():
        request = _issuer_request(actor, request_id)
        target = R.RETURNED if request.medium == Medium.PAPER else R.VOIDED
        note = gettext_noop("Returned invoice received") if target == R.RETURNED else gettext_noop("Invoice voided")
        move(request, target, actor=actor, note=note, at=now)
        request.lines.update(active=False)
        _tell_buyer(request, gettext_lazy("Invoice %(number)s is cancelled"), "notifications/invoice_cancelled.txt")
    return request


def invoice_blocks_refund(*, order_id) -> bool:
    """Is an invoice of this order out (issued, delivered, or being returned)? A refund is paid only
    once it is returned or voided."""
    return InvoicedOrder.objects.filter(
        order_id=order_id, active=True, request__status__in=InvoiceRequest.INVOICE_OUT
    ).exists()


# --- deadline --------------------------------------------------------------------------------------


def invoices_remind_due(*, now=None) -> int:
    """The day before a request's 7-day deadline, its issuer is reminded (once)."""
    now = now or timezone.now()
    due = list(
        InvoiceRequest.objects.filter(status=R.SUBMITTED, reminded_at__isnull=True, due_at__lte=now + timedelta(days=1))
        .select_related("seller")
        .order_by("pk")[:1000]
    )
    for request in due:
        _tell_issuer(
            request, gettext_lazy("Invoice request %(number)s is due tomorrow"), "notifications/invoice_due.txt"
        )
    InvoiceRequest.objects.filter(pk__in=[r.pk for r in due]).update(reminded_at=now)
    return len(due)


# --- explanation letters ---------------------------------------------------------------------------


def letter_request(*, actor: User, request_id, now=None) -> ExplanationLetter:
    """Ask for a stamped explanation letter about an issued invoice. It is stamped in the
    background (``INVOICES["LETTER_STAMP_SECONDS"]``); one at a time per request."""
    from ..tasks import stamp_letter

    now = now or timezone.now()
    delay = _rules()["LETTER_STAMP_SECONDS"]
    with transaction.atomic():
        request = _buyer_request(actor, request_id)
        if request.status not in (R.ISSUED, R.DELIVERED):
            raise InvalidTransition(_("A letter is for an issued invoice."))
        if request.letters.filter(status=ExplanationLetter.Status.STAMPING).exists():
            raise Conflict(_("A letter for this request is being stamped; wait for it."))
        try:
            with transaction.atomic():
                letter = ExplanationLetter.objects.create(
                    request=request,
                    requested_by=actor,
                    verification_code=secrets.token_hex(8).upper(),
                    created_at=now,
                    expected_at=now + timedelta(seconds=delay),
                )
        except IntegrityError as exc:
            raise Conflict(_("A letter for this request is being stamped; wait for it.")) from exc
        record(
            request,
            actor=actor,
            note=gettext_noop("Explanation letter %(code)s requested"),
            params={"code": letter.verification_code},
            at=now,
        )
        send_after_commit(lambda: stamp_letter.apply_async((letter.pk,), countdown=delay))
    return letter


def letter_stamp(*, letter_id, now=None) -> bool:
    """Stamp a letter: draw the PDF with the platform's seal. Safe to run twice."""
    from ..pdf import letter_pdf

    now = now or timezone.now()
    with transaction.atomic():
        letter = (
            ExplanationLetter.objects.select_for_update(skip_locked=True)
            .select_related("request")
            .filter(pk=letter_id, status=ExplanationLetter.Status.STAMPING)
            .first()
        )
        if letter is None:
            return False
        letter.stamped_at = now
        letter.file.save(f"letter-{letter.verification_code}.pdf", ContentFile(letter_pdf(letter)), save=False)
        letter.status = ExplanationLetter.Status.STAMPED
        letter.save(update_fields=["file", "status", "stamped_at"])
        notify(
            users=[letter.requested_by],
            subject=gettext_lazy("Your explanation letter for %(number)s is stamped"),
            subject_params={"number": letter.request.number},
            template="notifications/letter_stamped.txt",
            context={"letter": letter},
            link=reverse("buyer:invoice_letters"),
        )
    return True


def letters_stamp_due(*, now=None) -> int:
    """Letters whose stamping is overdue (a lost task): stamp them now."""
    now = now or timezone.now()
    due = ExplanationLetter.objects.filter(
        status=ExplanationLetter.Status.STAMPING, expected_at__lte=now - timedelta(minutes=1)
    ).values_list("pk", flat=True)[:100]
    return sum(letter_stamp(letter_id=pk, now=now) for pk in list(due))


# --- notices ---------------------------------------------------------------------------------------


def _issuer_users(request: InvoiceRequest) -> list[User]:
    if request.issuer == Issuer.SELLER:
        return seller_users(request.seller_id, SELLER_CAPABILITIES["invoices.manage"])
    return staff_with_perm("invoicing.issue_invoicerequest")


def _tell_issuer(request: InvoiceRequest, subject, template: str) -> None:
    link = (
        reverse("seller:invoice_request", args=[request.pk])
        if request.issuer == Issuer.SELLER
        else reverse("admin:invoicing_invoicerequest_change", args=[request.pk])
    )
    notify(
        users=_issuer_users(request),
        subject=subject,
        subject_params={"number": request.number},
        template=template,
        context={"request": request},
        link=link,
        email=request.issuer == Issuer.SELLER,
    )


def _tell_buyer(request: InvoiceRequest, subject, template: str) -> None:
    notify(
        users=[request.requested_by],
        subject=subject,
        subject_params={"number": request.invoice_number or request.number},
        template=template,
        context={"request": request},
        link=reverse("buyer:invoice_request", args=[request.pk]),
    )
