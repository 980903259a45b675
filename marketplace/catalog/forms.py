from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DeliveryKind, Plan, Product, TradeMode
from .services import PLAN_FIELDS, PRODUCT_FIELDS


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    trade_mode = forms.ChoiceField(
        label=_("Trade mode"), required=False, choices=[("", _("All trade modes")), *TradeMode.choices]
    )
    delivery_kind = forms.ChoiceField(
        label=_("Delivery"), required=False, choices=[("", _("All delivery kinds")), *DeliveryKind.choices]
    )
    category = forms.CharField(required=False, widget=forms.HiddenInput)


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name_zh", "name_en", *(f for f in PRODUCT_FIELDS if f not in ("name_zh", "name_en"))]
        widgets = {
            "description_zh": forms.Textarea(attrs={"rows": 5}),
            "description_en": forms.Textarea(attrs={"rows": 5}),
        }


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = list(PLAN_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period_type"].required = False

    def _post_clean(self):
        # Business validation (and the model's constraints) live in the service; skip the model's.
        pass


class ProductStatusFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Product.Status.choices]
    )
