"""Input parsing for the invoice pages (the rules are in services)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import InvoiceProfile, InvoiceRequest

# --- buyer -----------------------------------------------------------------------------------------


class BuyerInvoiceFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Request or invoice number")}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *InvoiceRequest.Status.choices]
    )


class InvoiceDeliveryForm(forms.Form):
    """The title an invoice is made out to and where it goes: for a new request and a corrected one.
    Which delivery fields a medium needs is the service's rule."""

    profile = forms.TypedChoiceField(
        label=_("Invoice title"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose an invoice profile.")},
    )
    medium = forms.ChoiceField(
        label=_("Invoice medium"),
        choices=InvoiceRequest.Medium.choices,
        widget=forms.RadioSelect,
        initial=InvoiceRequest.Medium.ELECTRONIC,
    )
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=50)
    recipient_phone = forms.CharField(label=_("Recipient phone"), required=False, max_length=30)
    mailing_address = forms.CharField(label=_("Mailing address"), required=False, max_length=200)
    recipient_email = forms.CharField(
        label=_("Recipient e-mail"),
        required=False,
        max_length=254,
        widget=forms.EmailInput,
        help_text=_("The invoice PDF is e-mailed here."),
    )

    def __init__(self, *args, profiles=(), **kwargs):
        super().__init__(*args, **kwargs)
        profiles = list(profiles)
        self.profiles = profiles
        self.fields["profile"].choices = [(p.pk, p.title) for p in profiles]
        if not self.is_bound and not self.initial.get("profile") and profiles:
            default = next((p for p in profiles if p.is_default), profiles[0])
            self.initial["profile"] = default.pk

    def delivery(self) -> dict:
        data = self.cleaned_data
        return {
            "profile_id": data["profile"],
            "medium": data["medium"],
            "recipient": data["recipient"],
            "recipient_phone": data["recipient_phone"],
            "mailing_address": data["mailing_address"],
            "recipient_email": data["recipient_email"],
        }


class InvoiceRequestForm(InvoiceDeliveryForm):
    """A new request: the paid orders to invoice, then the title and delivery."""

    orders = forms.TypedMultipleChoiceField(
        label=_("Orders"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one paid order."),
            "invalid_choice": _("Order %(value)s cannot be invoiced (any more)."),
        },
    )
    field_order = ["orders", "profile", "medium"]

    def __init__(self, *args, orders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["orders"].choices = [(o.pk, o.number) for o in orders]

    def chosen(self) -> set[str]:
        """The order ids ticked (as the page renders them), to keep them ticked on errors."""
        value = self["orders"].value() or []
        return {str(v) for v in (value if isinstance(value, (list, tuple)) else [value])}


class InvoiceReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the invoice is to be returned or voided, e.g. a refund or a wrong title."),
    )


class InvoiceProfileForm(forms.Form):
    kind = forms.ChoiceField(label=_("Title type"), choices=InvoiceProfile.Kind.choices, widget=forms.RadioSelect)
    title = forms.CharField(label=_("Invoice title"), max_length=100)
    tax_id = forms.CharField(
        label=_("Taxpayer id"),
        required=False,
        max_length=20,
        help_text=_("Companies: the 18-character unified social credit code."),
    )
    vat_kind = forms.ChoiceField(
        label=_("Invoice type"),
        required=False,  # general unless told
        choices=InvoiceProfile.VatKind.choices,
        widget=forms.RadioSelect,
        initial=InvoiceProfile.VatKind.GENERAL,
    )
    address = forms.CharField(label=_("Registered address"), required=False, max_length=200)
    phone = forms.CharField(label=_("Registered phone"), required=False, max_length=30)
    bank_name = forms.CharField(label=_("Bank"), required=False, max_length=100)
    bank_account = forms.CharField(label=_("Bank account"), required=False, max_length=40)
    is_default = forms.BooleanField(label=_("Use as the default title"), required=False)

    @classmethod
    def initial_for(cls, profile: InvoiceProfile | None) -> dict:
        if profile is None:
            return {"kind": InvoiceProfile.Kind.COMPANY, "vat_kind": InvoiceProfile.VatKind.GENERAL}
        return {field: getattr(profile, field) for field in cls.base_fields}


# --- seller ----------------------------------------------------------------------------------------
# Seller center > Invoice management (and the admin's issuing page, which takes the same form).


class SellerInvoiceFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Request, invoice or order number, title, buyer")}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *InvoiceRequest.Status.choices]
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class InvoiceIssueForm(forms.Form):
    """The invoice as issued: its number, code, date, amount and tax rate, with its PDF uploaded or
    drawn by the platform. The service checks the rules (the amount requested, no future date)."""

    invoice_number = forms.CharField(label=_("Invoice number"), max_length=32)
    invoice_code = forms.CharField(label=_("Invoice code"), max_length=32, required=False)
    issued_on = forms.DateField(
        label=_("Invoice date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    amount = forms.DecimalField(label=_("Amount (tax included, CNY)"), max_digits=18, decimal_places=2)
    tax_rate = forms.DecimalField(
        label=_("Tax rate"),
        max_digits=5,
        decimal_places=4,
        min_value=0,
        max_value=Decimal("0.9999"),
        initial=Decimal("0.06"),
        help_text=_("As a fraction: 0.06 for 6%."),
    )
    file = forms.FileField(
        label=_("Invoice PDF"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
        help_text=_("The PDF of the invoice you issued."),
    )
    generate = forms.BooleanField(label=_("No PDF at hand: let the platform draw the PDF"), required=False)

    def __init__(self, *args, request=None, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            self.fields["amount"].initial = request.amount
        if today is not None:
            self.fields["issued_on"].initial = today

    def clean(self):
        data = super().clean()
        if data.get("file") and data.get("generate"):
            self.add_error("generate", _("Upload a PDF or let the platform draw it, not both."))
        elif not data.get("file") and not data.get("generate") and "file" not in self.errors:
            self.add_error("file", _("Upload the invoice PDF, or let the platform draw it."))
        return data


class InvoiceMailForm(forms.Form):
    """A paper invoice handed to a courier."""

    courier = forms.CharField(label=_("Courier"), max_length=50)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=50)


class InvoiceRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the buyer should correct; they may resubmit the request."),
    )
