from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.core.errors import ServiceError
from marketplace.core.pagecache import page_cache
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.portal.access import seller_required

from . import selectors, services
from .forms import CatalogFilterForm, PlanForm, ProductForm, ProductStatusFilterForm
from .models import CREDIT_CONTROL_MODES, Plan, Product

# --- public catalog ----------------------------------------------------------------------------


def home(request):
    featured = selectors.catalog_search()[:8]
    return render(
        request, "catalog/home.html", {"featured": featured, "categories": selectors.categories_with_counts()}
    )


@page_cache
def product_list(request):
    form = CatalogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.catalog_search(**{k: v for k, v in filters.items() if v}), per_page=12)
    return render(
        request,
        "catalog/product_list.html",
        {
            "form": form,
            "page": page,
            "categories": selectors.categories_with_counts(),
            "active_category": filters.get("category", ""),
            "qs": querystring_without_page(request),
        },
    )


def product_detail(request, pk):
    product = selectors.product_public_detail(product_id=pk)
    if product is None:
        raise Http404
    from tickets.selectors import accepting_seller_ids

    takes_tickets = bool(accepting_seller_ids([product.seller_id]))
    return render(request, "catalog/product_detail.html", {"product": product, "takes_tickets": takes_tickets})


# --- seller center: product management ---------------------------------------------------------


@seller_required("products.view")
def seller_product_list(request):
    form = ProductStatusFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.seller_products(seller_id=request.seller.pk, **filters))
    return render(
        request,
        "catalog/seller/product_list.html",
        {"form": form, "page": page, "qs": querystring_without_page(request)},
    )


@seller_required("products.manage")
def seller_product_create(request):
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, data=form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Draft created. Add a plan, then submit it for review."))
            return redirect("seller:product_detail", pk=product.pk)
    return render(request, "catalog/seller/product_form.html", {"form": form})


def _own_product_or_404(request, pk):
    product = selectors.seller_product_detail(seller_id=request.seller.pk, product_id=pk)
    if product is None:
        raise Http404
    return product


@seller_required("products.view")
def seller_product_detail(request, pk):
    product = _own_product_or_404(request, pk)
    return render(
        request,
        "catalog/seller/product_detail.html",
        {
            "product": product,
            "problems": services.publish_prerequisites(product) if product.status in Product.EDITABLE else [],
            "plan_form": PlanForm(initial={"charging_mode": "PERIOD", "period_type": "month", "is_active": True}),
        },
    )


@seller_required("products.manage")
def seller_product_edit(request, pk):
    product = _own_product_or_404(request, pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(actor=request.user, product_id=pk, data=form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect("seller:product_detail", pk=pk)
    return render(request, "catalog/seller/product_form.html", {"form": form, "product": product})


@seller_required("products.manage")
def seller_plan_edit(request, pk, plan_id=None):
    product = _own_product_or_404(request, pk)
    plan = None
    if plan_id is not None:
        plan = next((p for p in product.plans.all() if p.pk == plan_id), None)
        if plan is None:
            raise Http404
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_save(actor=request.user, product_id=pk, data=form.cleaned_data, plan_id=plan_id)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Plan saved."))
            return redirect("seller:product_detail", pk=pk)
    return render(request, "catalog/seller/plan_form.html", {"form": form, "product": product, "plan": plan})


@require_POST
@seller_required("products.manage")
def seller_plan_delete(request, pk, plan_id):
    if not Plan.objects.filter(pk=plan_id, product_id=pk, product__seller=request.seller).exists():
        raise Http404
    try:
        services.plan_delete(actor=request.user, product_id=pk, plan_id=plan_id)
        messages.success(request, _("Plan deleted."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("seller:product_detail", pk=pk)


ACTIONS = {
    "submit": (services.product_submit, gettext_lazy("Submitted for review. Operations will look at it shortly.")),
    "withdraw": (services.product_withdraw, gettext_lazy("Withdrawn from review.")),
    "delist": (services.product_delist, gettext_lazy("The product is off sale.")),
    "relist": (services.product_relist, gettext_lazy("The product is on sale again.")),
}


@require_POST
@seller_required("products.manage")
def seller_product_action(request, pk, action):
    if action not in ACTIONS or not Product.objects.filter(pk=pk, seller=request.seller).exists():
        raise Http404
    service, success = ACTIONS[action]
    kwargs = {"reason": request.POST.get("reason", "")} if action == "delist" else {}
    try:
        service(actor=request.user, product_id=pk, **kwargs)
        messages.success(request, success)
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("seller:product_detail", pk=pk)


@seller_required("products.credit")
def credit_settings(request):
    """商品管理 > 信控设置: switches per product, for joint-operation and platform products only."""
    if request.method == "POST":
        field = request.POST.get("field")
        value = request.POST.get("value") == "on"
        try:
            if field not in ("coupon", "credit_line"):
                raise Http404
            services.product_set_credit_control(
                actor=request.user, product_id=request.POST.get("product"), **{field: value}
            )
            messages.success(request, _("Credit-control setting saved."))
        except ServiceError as exc:
            message_error(request, exc)
        return redirect("seller:credit_settings")
    products = selectors.credit_control_products(seller_id=request.seller.pk)
    return render(
        request, "catalog/seller/credit_settings.html", {"products": products, "credit_modes": CREDIT_CONTROL_MODES}
    )
