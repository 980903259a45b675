"""Writes for invoices: the seller's invoice to the platform for a joint-flow statement."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from billing.models import Statement
from billing.services import statement_invoice_verified
from marketplace.accounts.models import User
from marketplace.accounts.roles import seller_users
from marketplace.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed, require_perm
from marketplace.core.money import quantize
from marketplace.core.services import notify
from marketplace.core.state import lock, move, record
from marketplace.core.uploads import validate_upload

from ..models import SellerInvoice


def seller_invoice_submit(
    *, actor: User, statement_id, number: str, issued_on: date, amount, tax_rate, file, now: datetime | None = None
) -> SellerInvoice:
    """The seller uploads its VAT invoice for the statement's net payable (one per statement)."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    number = (number or "").strip()
    if not number:
        errors["number"] = [_("Required.")]
    elif len(number) > 32:
        errors["number"] = [_("At most 32 characters.")]
    if not isinstance(issued_on, date):
        errors["issued_on"] = [_("Enter the invoice date.")]
    elif issued_on > timezone.localdate(now):
        errors["issued_on"] = [_("The invoice date cannot be in the future.")]
    try:
        amount = quantize(Decimal(str(amount)))
    except (InvalidOperation, ValueError, TypeError, ArithmeticError):
        errors["amount"] = [_("Enter an amount.")]
    try:
        tax_rate = Decimal(str(tax_rate))
        if not tax_rate.is_finite() or not Decimal(0) <= tax_rate < 1:
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        errors["tax_rate"] = [_("Enter a rate such as 0.06.")]
    if file is None:
        errors["file"] = [_("Upload the invoice as a PDF.")]
    else:
        try:
            validate_upload(file, allowed=(".pdf",))
        except ValidationError as exc:
            errors["file"] = exc.messages
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    membership = getattr(actor, "seller_membership", None)
    with transaction.atomic():
        statement = lock(Statement.objects.select_related("seller"), statement_id, _("No such statement."))
        if membership is None or membership.seller_id != statement.seller_id:
            raise NotFound(_("No such statement."))
        if membership.role not in ("admin", "finance"):
            raise NotAllowed(_("Only the seller's administrators and finance staff can submit invoices."))
        if statement.status != Statement.Status.AWAITING_INVOICE:
            raise Conflict(_("This statement is not waiting for an invoice."))
        if statement.seller_invoices.exclude(status=SellerInvoice.Status.REJECTED).exists():
            raise Conflict(_("An invoice for this statement was submitted already."))
        if amount != statement.net_payable:
            raise ValidationFailed(
                _("The invoice amount must equal the statement's net payable, CNY %(amount)s.")
                % {"amount": statement.net_payable},
                field_errors={"amount": [_("Must equal the net payable.")]},
            )
        invoice = SellerInvoice.objects.create(
            statement=statement,
            number=number,
            issued_on=issued_on,
            amount=amount,
            tax_rate=tax_rate,
            file=file,
            submitted_by=actor,
            submitted_at=now,
        )
        record(invoice, actor=actor, from_status="", at=now)
        record(
            statement,
            actor=actor,
            note=gettext_noop("Invoice %(number)s submitted"),
            params={"number": invoice.number},
            at=now,
        )
    return invoice


def _reviewed(actor, invoice_id) -> SellerInvoice:
    require_perm(actor, "invoicing.verify_sellerinvoice")
    return lock(SellerInvoice.objects.select_related("statement__seller"), invoice_id, _("No such invoice."))


def seller_invoice_verify(*, actor: User, invoice_id, now: datetime | None = None) -> SellerInvoice:
    """Operations checked the invoice: the statement can be paid."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice = _reviewed(actor, invoice_id)
        statement = Statement.objects.select_for_update().get(pk=invoice.statement_id)
        invoice.reviewed_by, invoice.reviewed_at = actor, now
        move(invoice, SellerInvoice.Status.VERIFIED, actor=actor, fields=["reviewed_by", "reviewed_at"], at=now)
        statement_invoice_verified(statement=statement, actor=actor, now=now)
    return invoice


def seller_invoice_reject(*, actor: User, invoice_id, reason: str, now: datetime | None = None) -> SellerInvoice:
    """Operations refuse the invoice with a reason; the seller can upload a corrected one."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("A rejection needs a reason."), field_errors={"reason": [_("Required.")]})
    with transaction.atomic():
        invoice = _reviewed(actor, invoice_id)
        invoice.reviewed_by, invoice.reviewed_at, invoice.rejection_reason = actor, now, reason
        move(
            invoice,
            SellerInvoice.Status.REJECTED,
            actor=actor,
            message=reason,
            fields=["reviewed_by", "reviewed_at", "rejection_reason"],
            at=now,
        )
        statement = invoice.statement
        record(
            statement,
            actor=actor,
            note=gettext_noop("Invoice %(number)s rejected"),
            params={"number": invoice.number},
            message=reason,
            at=now,
        )
        people = seller_users(statement.seller_id, ["admin", "finance"])
        notify(
            users=people,
            subject=gettext_lazy("Your invoice %(number)s was rejected"),
            subject_params={"number": invoice.number},
            template="notifications/seller_invoice_rejected.txt",
            context={"invoice": invoice},
            link=reverse("seller:statement", args=[statement.pk]),
            extra_emails=[statement.seller.bound_email],
        )
    return invoice
