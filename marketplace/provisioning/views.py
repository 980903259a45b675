"""Seller center > app tools (keys, interface settings, produce messages, interface debugging,
developer guide) and the buyer's side of delivery (instances, credentials, licenses, deployment)."""

import json
from datetime import timedelta
from pathlib import Path

import markdown
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.orders.models import OrderLine
from marketplace.portal.access import buyer_required, seller_required

from . import debugging, licenses, selectors, services
from .deployments import deployment_start
from .forms import DebugForm, DeploymentForm, IntegrationForm, MessageFilterForm, ReauthForm, RSAKeyForm
from .models import AccessKey, Instance

# --- seller: app tools --------------------------------------------------------------------------------


@seller_required("apptools.manage")
def app_tools(request):
    """Interface settings, keys (shown once), the RSA public key."""
    integration = selectors.seller_integration(seller_id=request.seller.pk)
    initial = (
        {k: getattr(integration, k) for k in ("produce_url", "sync_base_url", "deploy_url")} if integration else {}
    )
    form = IntegrationForm(request.POST if "save_urls" in request.POST else None, initial=initial)
    rsa_form = RSAKeyForm(
        request.POST if "save_rsa" in request.POST else None,
        initial={"rsa_public_key": integration.rsa_public_key if integration else ""},
    )
    if request.method == "POST":
        try:
            if "save_urls" in request.POST and form.is_valid():
                services.integration_update(actor=request.user, **form.cleaned_data)
                messages.success(request, _("Interface settings saved."))
                return redirect("seller:app_tools")
            if "save_rsa" in request.POST and rsa_form.is_valid():
                services.rsa_key_update(actor=request.user, public_key_pem=rsa_form.cleaned_data["rsa_public_key"])
                messages.success(request, _("RSA public key saved."))
                return redirect("seller:app_tools")
            if "rotate" in request.POST:
                key, secret = services.access_key_rotate(actor=request.user, purpose=request.POST.get("rotate", ""))
                # Shown once, on the next page, then gone: only its encrypted form is kept.
                request.session["new_secret"] = {
                    "purpose": key.get_purpose_display(),
                    "key_id": key.key_id,
                    "secret": secret,
                }
                return redirect("seller:app_tools")
        except ServiceError as exc:
            form_error(rsa_form if "save_rsa" in request.POST else form, exc)
    return render(
        request,
        "provisioning/app_tools.html",
        {
            "form": form,
            "rsa_form": rsa_form,
            "keys": {k.purpose: k for k in selectors.active_keys(seller_id=request.seller.pk)},
            "purposes": AccessKey.Purpose.choices,
            "new_secret": request.session.pop("new_secret", None),
            "conformance": debugging.conformance_passed(request.seller.pk),
        },
    )


@seller_required("apptools.manage")
def produce_messages(request):
    form = MessageFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.seller_messages(seller_id=request.seller.pk, **filters))
    return render(
        request, "provisioning/messages.html", {"form": form, "page": page, "qs": querystring_without_page(request)}
    )


@seller_required("apptools.manage")
def produce_message(request, pk):
    message = selectors.seller_message(seller_id=request.seller.pk, message_id=pk)
    if message is None:
        raise Http404
    return render(request, "provisioning/message.html", {"message": message})


@require_POST
@seller_required("apptools.manage")
def produce_message_retry(request, pk):
    if selectors.seller_message(seller_id=request.seller.pk, message_id=pk) is None:
        raise Http404
    try:
        services.message_retry(actor=request.user, message_id=pk)
        messages.success(request, _("Sent again."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("seller:produce_message", pk=pk)


@seller_required("apptools.manage")
def interface_debugging(request):
    """接口调试: edit a call, send it with testFlag=1, see everything; run the conformance checks."""
    activity = request.GET.get("activity", "newInstance")
    if activity not in ("newInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance", "queryInstance"):
        activity = "newInstance"
    result = None
    form = DebugForm(
        request.POST or None,
        initial={
            "activity": activity,
            "payload": json.dumps(debugging.sample_payload(activity), ensure_ascii=False, indent=2),
        },
    )
    if request.method == "POST":
        try:
            if "conformance" in request.POST:
                run = debugging.conformance_run(actor=request.user)
                (messages.success if run.passed else messages.error)(
                    request,
                    _("Conformance run passed.") if run.passed else _("Conformance run failed: see the report."),
                )
                return redirect("seller:interface_debugging")
            if form.is_valid():
                payload = {**form.cleaned_data["payload"], "activity": form.cleaned_data["activity"]}
                result = debugging.debug_call(actor=request.user, payload=payload)
        except ServiceError as exc:
            form_error(form, exc)
    return render(
        request,
        "provisioning/debugging.html",
        {
            "form": form,
            "result": result,
            "activity": activity,
            "runs": selectors.conformance_runs(seller_id=request.seller.pk)[:5],
        },
    )


DOCS = Path(settings.BASE_DIR) / "docs"


def guide_path(language: str) -> Path:
    """docs/isv-interface.<language>.md when there is one, else the English docs/isv-interface.md."""
    translated = DOCS / f"isv-interface.{language.lower()}.md"
    return translated if translated.exists() else DOCS / "isv-interface.md"


@seller_required("apptools.manage")
def developer_guide(request):
    """The ISV interface, rendered from docs/isv-interface*.md (the same text sellers read on GitHub)."""
    text = guide_path(get_language() or "").read_text(encoding="utf-8")
    text = text.replace("{{LICENSE_PUBLIC_KEY}}", licenses.public_key_pem().strip())
    html = markdown.markdown(text, extensions=["tables", "fenced_code", "toc"])
    return render(request, "provisioning/guide.html", {"guide": mark_safe(html)})  # noqa: S308 - our own file


# --- buyer: instances, credentials, licenses, deployment --------------------------------------------

REAUTH_SECONDS = 300


def _buyer_line(request, line_id) -> OrderLine:
    line = selectors.buyer_line(user=request.user, line_id=line_id)
    if line is None:
        raise Http404
    return line


@buyer_required
def instance_credentials(request, line_id):
    """The instance's user name and password, after the buyer re-enters its password."""
    line = _buyer_line(request, line_id)
    instance = Instance.objects.filter(order_line=line).first()
    if instance is None:
        raise Http404
    unlocked = request.session.get("credentials_unlocked_until", 0) > timezone.now().timestamp()
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if authenticate(request, username=request.user.email, password=form.cleaned_data["password"]):
            request.session["credentials_unlocked_until"] = (
                timezone.now() + timedelta(seconds=REAUTH_SECONDS)
            ).timestamp()
            unlocked = True
        else:
            form.add_error("password", _("The password is wrong."))
    return render(
        request,
        "provisioning/credentials.html",
        {"line": line, "instance": instance, "form": form, "unlocked": unlocked},
    )


@buyer_required
def license_file(request, line_id):
    """The License file of a line, signed by the platform (Ed25519)."""
    line = _buyer_line(request, line_id)
    if line.product.delivery_kind != "license" or line.order.status != "paid":
        raise Http404
    response = JsonResponse(licenses.license_document(line), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="license-{line.order.number}-{line.pk}.json"'
    return response


@buyer_required
def deployment(request, line_id):
    """Start deployment of a License with auto-deployment, and follow it."""
    line = _buyer_line(request, line_id)
    if line.product.delivery_kind != "license" or not line.product.auto_deploy:
        raise Http404
    form = DeploymentForm(request.POST or None, specs=line.product.deploy_parameters or [])
    if request.method == "POST" and form.is_valid():
        try:
            deployment_start(actor=request.user, line_id=line.pk, parameters=form.cleaned_data)
            messages.success(request, _("Deployment started. The seller's system reports its progress here."))
            return redirect("buyer:deployment", line_id=line.pk)
        except ServiceError as exc:
            form_error(form, exc)
    return render(
        request,
        "provisioning/deployment.html",
        {"line": line, "form": form, "deployments": line.deployments.all()[:10]},
    )
