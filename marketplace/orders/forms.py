from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Order, OrderType, Subscription


class OrderFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Order.Status.choices]
    )
    order_type = forms.ChoiceField(
        label=_("Order type"), required=False, choices=[("", _("All order types")), *OrderType.choices]
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):  # dates far outside any order would overflow the time zone maths
            day = data.get(name)
            if day is not None and not date(2000, 1, 1) <= day <= date(2100, 12, 31):
                self.add_error(name, _("Enter a date between 2000 and 2100."))
        return data


class SellerOrderFilterForm(OrderFilterForm):
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("All products"))] + [(p.pk, p.name) for p in products]


class CheckoutForm(forms.Form):
    plan = forms.IntegerField(widget=forms.HiddenInput)
    order_type = forms.ChoiceField(choices=OrderType.choices, widget=forms.HiddenInput, required=False)

    def clean_order_type(self):
        return self.cleaned_data.get("order_type") or OrderType.NEW

    period_count = forms.IntegerField(label=_("Periods"), min_value=1, max_value=36, initial=1, required=False)

    def clean_period_count(self):
        return self.cleaned_data.get("period_count") or 1

    subscription = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SubscriptionFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Subscription.Status.choices]
    )
