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


# --- cooperation applications: the acceleration plan and marketing support -------------------------
# These forms parse and redisplay input; the services check it (their refusals come back as the
# fields' errors), so fields are lenient here and the browser's ``required`` only helps.


class SignForm(forms.Form):
    """Sign the merchant marketing support payment agreement (and apply to the acceleration plan)."""

    signer_name = forms.CharField(
        label=_("Your full name"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"required": True, "maxlength": 100, "autocomplete": "name"}),
    )
    signer_role = forms.CharField(
        label=_("Your role"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"required": True, "maxlength": 100, "placeholder": _("e.g. general manager")}),
    )
    agreed = forms.BooleanField(
        label=_("I have read the agreement above and agree to it on behalf of the merchant"),
        required=False,
        widget=forms.CheckboxInput(attrs={"required": True}),
    )


class MarketingFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("Activity name"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs):
        from .models import MarketingSupport

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All statuses")), *MarketingSupport.Status.choices]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks their type and size."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [f for f in data if f]
        return [data] if data else []


class LenientMultipleChoiceField(forms.MultipleChoiceField):
    """Checkboxes whose values the service checks (one error message, the service's)."""

    def validate(self, value):
        pass


class MarketingSupportForm(forms.Form):
    """A marketing-support application. Values go to ``services.marketing_save`` as typed: dates,
    the budget and the channels are checked there, so a malformed value is the service's field error."""

    activity_name = forms.CharField(
        label=_("Activity name"), required=False, widget=forms.TextInput(attrs={"maxlength": 120, "required": True})
    )
    starts_on = forms.CharField(
        label=_("Activity starts"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.CharField(label=_("Activity ends"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    channels = LenientMultipleChoiceField(label=_("Channels"), required=False, widget=forms.CheckboxSelectMultiple)
    budget = forms.CharField(
        label=_("Budget (CNY)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "50000.00"}),
    )
    proposal = forms.CharField(
        label=_("Activity plan"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "placeholder": _("Goals, audience, what you will do and when, how you measure it.")}
        ),
    )
    files = MultipleFileField(label=_("Attachments"), help_text=_("PDF, PNG or JPEG; at most 10 files at a time."))

    def __init__(self, *args, **kwargs):
        from .models import MarketingSupport

        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = MarketingSupport.Channel.choices

    def service_data(self) -> dict:
        """What the service takes, straight from the submitted data."""
        data = self.data
        return {
            "activity_name": data.get("activity_name", ""),
            "starts_on": data.get("starts_on", ""),
            "ends_on": data.get("ends_on", ""),
            "channels": data.getlist("channels") if hasattr(data, "getlist") else data.get("channels", []),
            "budget": data.get("budget", ""),
            "proposal": data.get("proposal", ""),
        }


class AcceptanceForm(forms.Form):
    report = forms.CharField(
        label=_("Activity report"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": _("What was done, reach and results, costs.")}),
    )
    files = MultipleFileField(
        label=_("Evidence"), help_text=_("Invoices, screenshots, photos: PDF, PNG or JPEG; at most 10 files at a time.")
    )
