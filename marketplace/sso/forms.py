from django import forms
from django.utils.translation import gettext_lazy as _


class RedirectUrisForm(forms.Form):
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://app.example.com/oauth/callback"}),
        help_text=_("One per line; matched exactly, character for character."),
        max_length=5000,
    )
