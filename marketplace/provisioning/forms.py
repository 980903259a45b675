import json

from django import forms
from django.utils.translation import gettext_lazy as _

from . import protocol
from .models import ProduceMessage


class IntegrationForm(forms.Form):
    produce_url = forms.URLField(label=_("Produce URL"), required=False, assume_scheme="https")
    sync_base_url = forms.URLField(label=_("Sync base URL"), required=False, assume_scheme="https")
    deploy_url = forms.URLField(
        label=_("Deployment URL"), required=False, assume_scheme="https", help_text=_("License auto-deployment.")
    )


class RSAKeyForm(forms.Form):
    rsa_public_key = forms.CharField(
        label=_("RSA public key (PEM, at least 3072 bits)"), widget=forms.Textarea(attrs={"rows": 6, "class": "mono"})
    )


class DebugForm(forms.Form):
    activity = forms.ChoiceField(label=_("Activity"), choices=[(a, a) for a in protocol.ACTIVITIES])
    payload = forms.CharField(
        label=_("Parameters (JSON)"), widget=forms.Textarea(attrs={"rows": 16, "class": "mono", "spellcheck": "false"})
    )

    def clean_payload(self):
        try:
            data = json.loads(self.cleaned_data["payload"])
        except ValueError as exc:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": exc}) from exc
        if not isinstance(data, dict):
            raise forms.ValidationError(_("The parameters must be a JSON object."))
        return data


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *ProduceMessage.Status.choices],
    )
    activity = forms.ChoiceField(
        label=_("Activity"),
        required=False,
        choices=[("", _("All activities")), *[(a, a) for a in (*protocol.ACTIVITIES, "deploy", "queryDeployment")]],
    )
    q = forms.CharField(label=_("Order number"), required=False, max_length=40)


class DeploymentForm(forms.Form):
    """Built from the seller's parameter list."""

    def __init__(self, *args, specs=(), **kwargs):
        super().__init__(*args, **kwargs)
        for spec in specs:
            if isinstance(spec, dict) and spec.get("name"):
                self.fields[spec["name"]] = forms.CharField(
                    label=spec.get("label") or spec["name"],
                    required=spec.get("required", True),
                    max_length=500,
                    help_text=spec.get("help", ""),
                )


class ReauthForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
