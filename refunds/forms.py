"""Input parsing for the refund pages (the rules are in services)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import RefundRequest


class RefundFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Refund or order number")}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), ("open", pgettext_lazy("refunds", "Open")), *RefundRequest.Status.choices],
    )


class RefundRequestForm(forms.Form):
    """The buyer's request. The amount is asked only for a negotiated refund: a full refund is the
    fixed amount the rules give."""

    reason_code = forms.ChoiceField(
        label=_("Reason"), choices=[("", _("Choose a reason")), *RefundRequest.Reason.choices]
    )
    reason_text = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("What went wrong? The seller reads this.")}),
    )
    amount = forms.DecimalField(label=_("Amount to refund (CNY)"), max_digits=18, decimal_places=2)

    def __init__(self, *args, full: bool = False, max_amount=None, **kwargs):
        super().__init__(*args, **kwargs)
        if full:
            del self.fields["amount"]
        else:
            # The browser helps; the service decides (its refusal comes back as this field's error).
            self.fields["amount"].widget.attrs.update({"min": "0.01", "step": "0.01"})
            if max_amount is not None:
                self.fields["amount"].widget.attrs["max"] = f"{max_amount}"


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason for rejecting"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ProposeForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount you propose (CNY)"),
        max_digits=18,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"min": "0.01", "step": "0.01"}),
    )
