from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.catalog.models import Plan, Product
from marketplace.core.errors import ServiceError
from marketplace.core.pagecache import page_cache
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.portal.access import buyer_required, seller_required
from marketplace.provisioning.models import Instance

from . import selectors, services
from .forms import CheckoutForm, OrderFilterForm, SellerOrderFilterForm, SubscriptionFilterForm
from .models import Order, OrderLine, OrderType, PaymentMethod, Subscription

# --- buyer center ----------------------------------------------------------------------------


@buyer_required
def checkout(request):
    """Confirm a purchase (new, trial, renewal, upgrade, trial conversion) and place the order."""
    form = CheckoutForm(request.POST or request.GET or None)
    plan = subscription = None
    if form.is_valid():
        sub_id = form.cleaned_data.get("subscription")
        if sub_id:
            subscription = selectors.buyer_subscriptions(user=request.user).filter(pk=sub_id).first()
        plans = Plan.objects.select_related("product__seller").filter(is_active=True)
        if subscription is not None:
            plans = plans.filter(product=subscription.product_id)  # the buyer's own service's product
        else:
            plans = plans.filter(product__status=Product.Status.PUBLISHED)  # nothing unpublished leaks
        plan = plans.filter(pk=form.cleaned_data["plan"]).first()
    if plan is None or (form.cleaned_data.get("subscription") and subscription is None):
        raise Http404
    if request.method == "POST":
        try:
            order = services.order_create(
                actor=request.user,
                plan_id=plan.pk,
                order_type=form.cleaned_data["order_type"],
                period_count=form.cleaned_data["period_count"],
                subscription_id=subscription.pk if subscription else None,
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            if order.status == order.Status.PAID:
                messages.success(request, _("Done: the service is ready in your purchased services."))
                return redirect("buyer:services")
            return redirect("buyer:order_pay", pk=order.pk)
    order_type = form.cleaned_data.get("order_type", OrderType.NEW)
    preview = None
    if order_type == OrderType.CHANGE and subscription is not None:
        try:
            preview = services.change_price(subscription=subscription, target=plan, now=timezone.now())
        except (TypeError, ZeroDivisionError, ValueError):
            preview = None
    return render(
        request,
        "orders/buyer/checkout.html",
        {
            "form": form,
            "plan": plan,
            "product": plan.product,
            "subscription": subscription,
            "order_type": OrderType(order_type),
            "change_preview": preview,
            "periodic": plan.charging_mode == Plan.ChargingMode.PERIOD,
        },
    )


@page_cache
@buyer_required
def buyer_order_list(request):
    form = OrderFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.buyer_orders(user=request.user, **{k: v for k, v in filters.items() if v}))
    return render(
        request, "orders/buyer/order_list.html", {"form": form, "page": page, "qs": querystring_without_page(request)}
    )


def _buyer_order_or_404(request, pk):
    order = selectors.buyer_order_detail(user=request.user, order_id=pk)
    if order is None:
        raise Http404
    return order


@buyer_required
def buyer_order_detail(request, pk):
    order = _buyer_order_or_404(request, pk)
    return render(request, "orders/buyer/order_detail.html", {"order": order})


@buyer_required
def buyer_order_pay(request, pk):
    """Choose a payment method. Online payment goes through the sandbox cashier."""
    order = _buyer_order_or_404(request, pk)
    if order.status != order.Status.PENDING_PAYMENT:
        return redirect("buyer:order_detail", pk=pk)
    methods = services.available_payment_methods(order)
    if request.method == "POST":
        method = request.POST.get("method", "")
        if method == PaymentMethod.ONLINE:
            return redirect("buyer:sandbox_cashier", pk=pk)
        try:
            services.order_pay(actor=request.user, order_id=pk, method=method)
        except ServiceError as exc:
            message_error(request, exc)
        else:
            messages.success(request, _("Paid. Thank you!"))
            return redirect("buyer:order_detail", pk=pk)
    return render(
        request,
        "orders/buyer/pay.html",
        {
            "order": order,
            "methods": [PaymentMethod(m) for m in methods],
            "credit": selectors.buyer_credit(user=request.user),
        },
    )


@buyer_required
def sandbox_cashier(request, pk):
    """The sandbox gateway's payment page: pay, or simulate a declined card."""
    order = _buyer_order_or_404(request, pk)
    if order.status != order.Status.PENDING_PAYMENT:
        return redirect("buyer:order_detail", pk=pk)
    if request.method == "POST":
        outcome = "fail" if request.POST.get("outcome") == "fail" else "succeed"
        try:
            services.order_pay(actor=request.user, order_id=pk, method=PaymentMethod.ONLINE, sandbox_outcome=outcome)
        except ServiceError as exc:
            message_error(request, exc)
            return redirect("buyer:order_pay", pk=pk)
        messages.success(request, _("Paid. Thank you!"))
        return redirect("buyer:order_detail", pk=pk)
    return render(request, "orders/buyer/sandbox_cashier.html", {"order": order})


@require_POST
@buyer_required
def buyer_order_cancel(request, pk):
    if not Order.objects.filter(selectors.buyer_scope(request.user), pk=pk).exists():
        raise Http404
    try:
        services.order_cancel(actor=request.user, order_id=pk)
        messages.success(request, _("The order was cancelled."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("buyer:order_detail", pk=pk)


@require_POST
@buyer_required
def buyer_accept_delivery(request, pk, line_id):
    order = _buyer_order_or_404(request, pk)
    if not any(line.pk == line_id for line in order.lines.all()):
        raise Http404
    try:
        services.supervision_accept(actor=request.user, line_id=line_id)
        messages.success(request, _("Delivery accepted. The seller has been told."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("buyer:order_detail", pk=pk)


@page_cache
@buyer_required
def buyer_services(request):
    form = SubscriptionFilterForm(request.GET or None)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    services = selectors.buyer_subscriptions(user=request.user, status=status).prefetch_related(
        Prefetch("instances", queryset=Instance.objects.exclude(status=Instance.Status.RELEASED), to_attr="live"),
        Prefetch("lines", queryset=OrderLine.objects.order_by("id"), to_attr="ordered_lines"),
    )
    page = paginate(request, services)
    # Upgrade targets: other periodic plans of the same product with the same period, priced higher.
    product_ids = {s.product_id for s in page}
    plans = Plan.objects.filter(product_id__in=product_ids, is_active=True).order_by("price")
    by_product: dict[int, list[Plan]] = {}
    for p in plans:
        by_product.setdefault(p.product_id, []).append(p)
    for sub in page:
        options = by_product.get(sub.product_id, [])
        sub.upgrade_plans = [
            p
            for p in options
            if p.charging_mode == Plan.ChargingMode.PERIOD
            and p.period_type == sub.plan.period_type
            and p.price > sub.plan.price
        ]
        sub.convert_plans = [p for p in options if p.charging_mode != Plan.ChargingMode.ON_DEMAND]
    return render(
        request,
        "orders/buyer/services.html",
        {"page": page, "form": form, "Status": Subscription.Status, "qs": querystring_without_page(request)},
    )


# --- seller center -----------------------------------------------------------------------------


@page_cache
@seller_required("orders.view")
def seller_order_list(request):
    products = Product.objects.filter(seller=request.seller).only("pk", "name_zh", "name_en")
    form = SellerOrderFilterForm(request.GET or None, products=products)
    filters = form.cleaned_data if form.is_valid() else {}
    product_id = filters.pop("product", None)
    page = paginate(
        request,
        selectors.seller_orders(
            seller_id=request.seller.pk, product_id=product_id, **{k: v for k, v in filters.items() if v}
        ),
    )
    return render(
        request, "orders/seller/order_list.html", {"form": form, "page": page, "qs": querystring_without_page(request)}
    )


@seller_required("orders.view")
def seller_order_detail(request, pk):
    order = selectors.seller_order_detail(seller_id=request.seller.pk, order_id=pk)
    if order is None:
        raise Http404
    return render(request, "orders/seller/order_detail.html", {"order": order})
