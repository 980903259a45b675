from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Buyer, BuyerMembership, SellerApplication, SellerApplicationDocument, SellerMembership
from .services import APPLICATION_FIELDS


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    name = forms.CharField(label=_("Your name"), max_length=100)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    kind = forms.ChoiceField(
        label=_("Account type"), choices=Buyer.Kind.choices, initial=Buyer.Kind.INDIVIDUAL, widget=forms.RadioSelect
    )
    company_name = forms.CharField(
        label=_("Company name"), max_length=200, required=False, help_text=_("Enterprise accounts only.")
    )


class InvitationAcceptForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=100)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class SellerApplicationForm(forms.ModelForm):
    business_license = forms.FileField(label=_("Business licence (PDF, PNG or JPEG)"), required=False)
    legal_rep_id = forms.FileField(label=_("Legal representative's ID (optional)"), required=False)
    qualification = forms.FileField(label=_("Qualification certificate (optional)"), required=False)

    class Meta:
        model = SellerApplication
        fields = list(APPLICATION_FIELDS)
        widgets = {"established_on": forms.DateInput(attrs={"type": "date"})}

    def documents(self) -> dict:
        return {
            kind: self.cleaned_data[kind]
            for kind in SellerApplicationDocument.Kind.values
            if self.cleaned_data.get(kind)
        }


class InviteBuyerForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=BuyerMembership.Role.choices, initial=BuyerMembership.Role.USER)
    org_unit = forms.TypedChoiceField(label=_("Organisation unit"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].choices = [("", "—")] + [(u.pk, u.name) for u in units]


class MemberForm(InviteBuyerForm):
    email = None


class InviteSellerForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=SellerMembership.Role.choices)


class OrgUnitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.SlugField(label=_("Code"), max_length=64)
    parent = forms.TypedChoiceField(label=_("Parent unit"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [(u.pk, u.name) for u in units]


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    mobile = forms.CharField(label=_("Mobile"), max_length=32, required=False)
