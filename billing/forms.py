from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import TradeMode

from .models import ExportJob, Statement


class StatementFilterForm(forms.Form):
    mode = forms.ChoiceField(choices=TradeMode.choices, required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Statement.Status.choices]
    )
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)


class LineSearchForm(forms.Form):
    q = forms.CharField(label=_("Order number"), required=False, max_length=40)


class DisputeForm(forms.Form):
    reason = forms.CharField(label=_("What is wrong?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class SellerInvoiceForm(forms.Form):
    number = forms.CharField(label=_("Invoice number"), max_length=32)
    issued_on = forms.DateField(label=_("Invoice date"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("Amount (tax included)"), max_digits=18, decimal_places=2)
    tax_rate = forms.DecimalField(
        label=_("Tax rate"), max_digits=5, decimal_places=4, initial="0.06", help_text=_("e.g. 0.06 for 6%")
    )
    file = forms.FileField(label=_("Invoice PDF"))


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=ExportJob.Format.choices)
