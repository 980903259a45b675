from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error
from marketplace.portal.access import seller_required

from . import selectors, services
from .forms import IntegrationForm


@seller_required("apptools.manage")
def app_tools(request):
    """App tools: where produce and sync calls go, and the keys that sign them."""
    integration = selectors.seller_integration(seller_id=request.seller.pk)
    initial = (
        {"produce_url": integration.produce_url, "sync_base_url": integration.sync_base_url} if integration else {}
    )
    form = IntegrationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.integration_update(actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Interface settings saved."))
            return redirect("seller:app_tools")
    return render(
        request,
        "provisioning/app_tools.html",
        {"form": form, "keys": selectors.active_keys(seller_id=request.seller.pk)},
    )
