"""Input parsing for the ticket pages (the rules are in services)."""

from datetime import date, time

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import ReceptionWindow, Ticket


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks their type and size."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [f for f in data if f]
        return [data] if data else []


class TicketFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.TextInput(attrs={"placeholder": _("Number or title")})
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), ("open", pgettext_lazy("tickets", "Open")), *Ticket.Status.choices],
    )
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("All products"))] + [(p.pk, p.name) for p in products]


class SellerTicketFilterForm(TicketFilterForm):
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)


class TicketOpenForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Ticket.Category.choices)
    order = forms.TypedChoiceField(label=_("Order"), required=False, coerce=int, empty_value=None)
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=pgettext_lazy("ticket", "Description"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10000
    )
    files = MultipleFileField(label=_("Attachments"), help_text=_("PDF, PNG or JPEG; at most 5 files."))

    def __init__(self, *args, orders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [("", _("No particular order"))] + [(o.pk, o.number) for o in orders]


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)
    internal = forms.BooleanField(label=_("Internal note (the customer does not see it)"), required=False)
    files = MultipleFileField(label=_("Attachments"))


class ResolveForm(forms.Form):
    cause = forms.CharField(label=_("Cause"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)
    solution = forms.CharField(label=_("Solution"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)


class ConfirmForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you?"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("No rating")), *[(n, "★" * n) for n in range(5, 0, -1)]],
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=500)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


def _time(value: str) -> time:
    value = (value or "").strip()
    if value == "24:00":
        return time(0)
    hours, _sep, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


class ReceptionForm(forms.Form):
    """The weekly windows come as ``windows-<weekday>`` lines "09:00-12:00, 13:00-18:00"."""

    accepts_tickets = forms.BooleanField(label=_("Take tickets"), required=False)
    observe_public_holidays = forms.BooleanField(label=_("Closed on China's public holidays"), required=False)
    first_response_hours = forms.IntegerField(
        label=_("First response within (reception hours)"), min_value=1, max_value=72
    )
    resolution_hours = forms.IntegerField(label=_("Resolution within (reception hours)"), min_value=1, max_value=400)
    closed_dates = forms.CharField(
        label=_("Other closed dates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-31"}),
        help_text=_("One date per line (YYYY-MM-DD)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for day, label in ReceptionWindow.Weekday.choices:
            self.fields[f"windows_{day}"] = forms.CharField(
                label=label,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": _("Closed")}),
            )

    def day_fields(self):
        return [self[f"windows_{day}"] for day, _label in ReceptionWindow.Weekday.choices]

    def clean(self):
        data = super().clean()
        windows = []
        for day in ReceptionWindow.Weekday.values:
            text = data.get(f"windows_{day}") or ""
            for part in filter(None, (p.strip() for p in text.replace("，", ",").split(","))):
                start, sep, end = part.replace("–", "-").partition("-")
                try:
                    if not sep:
                        raise ValueError
                    windows.append((day, _time(start), _time(end)))
                except ValueError:
                    self.add_error(
                        f"windows_{day}",
                        _("Write windows as 09:00-12:00, separated by commas (%(part)s).") % {"part": part},
                    )
        data["windows"] = windows
        days = []
        for line in (data.get("closed_dates") or "").split():
            try:
                day = date.fromisoformat(line.strip())
            except ValueError:
                self.add_error("closed_dates", _("%(value)s is not a date (YYYY-MM-DD).") % {"value": line})
                continue
            if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
                self.add_error("closed_dates", _("Enter a date between 2000 and 2100."))
                continue
            days.append(day)
        data["closed_date_list"] = days
        return data

    @staticmethod
    def initial_for(reception) -> dict:
        if reception is None:
            return {"observe_public_holidays": True, "first_response_hours": 4, "resolution_hours": 40}
        initial = {
            "accepts_tickets": reception.accepts_tickets,
            "observe_public_holidays": reception.observe_public_holidays,
            "first_response_hours": reception.first_response_hours,
            "resolution_hours": reception.resolution_hours,
            "closed_dates": "\n".join(f"{c.day:%Y-%m-%d}" for c in reception.closed_dates.all()),
        }
        for day, _label in ReceptionWindow.Weekday.choices:
            initial[f"windows_{day}"] = ", ".join(
                f"{w.start:%H:%M}-{'24:00' if w.end == time(0) else w.end.strftime('%H:%M')}"
                for w in reception.windows.all()
                if w.weekday == day
            )
        return initial
