from django import forms
from django.utils.translation import gettext_lazy as _


class IntegrationForm(forms.Form):
    produce_url = forms.URLField(label=_("Produce URL"), required=False, assume_scheme="https")
    sync_base_url = forms.URLField(label=_("Sync base URL"), required=False, assume_scheme="https")
