"""Forms of the seller's merchant-benefits page."""

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _


class YearForm(forms.Form):
    """The calendar year the GMV page shows (the current one unless chosen)."""

    year = forms.TypedChoiceField(label=_("Year"), coerce=int, required=False)

    def __init__(self, *args, years: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, str(y)) for y in years]


class ApplyForm(forms.Form):
    """Apply for a benefit from a date; ``earliest`` (today + the lead time) bounds the date input."""

    wanted_from = forms.DateField(label=_("Wanted from"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, earliest: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if earliest:
            self.fields["wanted_from"].widget.attrs["min"] = earliest.isoformat()
            self.fields["wanted_from"].initial = earliest
