"""Merchant benefits in the seller center: the GMV page (chart, transaction details) and the
seller's side of benefit applications (DOMAIN.md section 9)."""

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.db.models import Max, Min
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.core import calendar
from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error, message_error, paginate, querystring_without_page
from marketplace.portal.access import seller_required

from .. import selectors, services
from ..forms import ApplyForm, YearForm
from ..models import BenefitApplication

# The monthly chart's drawing box (SVG user units).
CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM, CHART_LEFT = 720, 240, 16, 28, 8


def _years(seller_id: int, this_year: int) -> list[int]:
    """The years the selector offers, newest first: this one and every year with GMV entries."""
    span = selectors.gmv_entries(
        seller_id=seller_id, start=selectors.year_window(1)[0], end=selectors.year_window(9998)[1]
    ).aggregate(first=Min("period"), last=Max("period"))
    first = min(span["first"].year, this_year) if span["first"] else this_year
    last = max(span["last"].year, this_year) if span["last"] else this_year
    return list(range(last, first - 1, -1))


def _chart(months) -> dict:
    """Bars for the monthly GMV, scaled to the largest month (negative months draw no bar)."""
    top = max((value for _month, value in months), default=Decimal(0))
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = (CHART_WIDTH - 2 * CHART_LEFT) / max(len(months), 1)
    bars = []
    for index, (month, value) in enumerate(months):
        height = float(value / top) * plot if top > 0 and value > 0 else 0.0
        bars.append(
            {
                "month": month,
                "value": value,
                "x": round(CHART_LEFT + index * slot + slot * 0.18, 1),
                "width": round(slot * 0.64, 1),
                "y": round(CHART_TOP + plot - height, 1),
                "height": round(height, 1),
                "label_x": round(CHART_LEFT + index * slot + slot / 2, 1),
            }
        )
    return {
        "bars": bars,
        "max": top,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": CHART_HEIGHT - CHART_BOTTOM,
        "label_y": CHART_HEIGHT - 9,
        "right": CHART_WIDTH - CHART_LEFT,
        "left": CHART_LEFT,
    }


def _page(request, *, bound_form=None, bound_benefit_id=None, status=200):
    seller_id = request.seller.pk
    today = calendar.today()
    years = _years(seller_id, today.year)
    year_form = YearForm(request.GET or None, years=years, initial={"year": today.year})
    year = (year_form.cleaned_data.get("year") if year_form.is_valid() else None) or today.year
    start, end = selectors.year_window(year)
    tab = "details" if request.GET.get("tab") == "details" else "gmv"
    context = {
        "tab": tab,
        "year": year,
        "this_year": today.year,
        "year_form": year_form,
        "gmv": selectors.gmv(seller_id=seller_id, start=start, end=end),
        "qs": querystring_without_page(request),
    }
    if tab == "details":
        entries = (
            selectors.gmv_entries(seller_id=seller_id, start=start, end=end)
            .select_related("order_line__order", "order_line__product")
            .order_by("period", "occurred_at", "id")
        )
        context["page"] = paginate(request, entries)
        return render(request, "benefits/seller/benefits.html", context, status=status)

    months = selectors.gmv_by_month(seller_id=seller_id, start=start, end=end)
    context["chart"] = _chart(months)
    # Benefits are applied for against this calendar year's GMV, whatever year the chart shows.
    this_start, this_end = selectors.year_window(today.year)
    current_gmv = (
        context["gmv"] if year == today.year else selectors.gmv(seller_id=seller_id, start=this_start, end=this_end)
    )
    applications = list(selectors.seller_applications(seller_id=seller_id)[:50])
    positions = selectors.queue_positions(applications)
    for application in applications:
        application.position = positions.get(application.pk)
    waiting = {a.benefit_id for a in applications if a.status in BenefitApplication.WAITING}
    benefits = []
    for benefit in selectors.active_benefits(today):
        earliest = today + timedelta(days=benefit.lead_days)
        threshold = benefit.gmv_threshold
        percent = 100 if threshold <= 0 else int(min(Decimal(100), max(current_gmv, 0) * 100 / threshold))
        benefits.append(
            {
                "benefit": benefit,
                "percent": percent,
                "reached": current_gmv >= threshold,
                "to_go": max(threshold - current_gmv, Decimal(0)),
                "earliest": earliest,
                "waiting": benefit.pk in waiting,
                "form": bound_form
                if bound_benefit_id == benefit.pk and bound_form is not None
                else ApplyForm(earliest=earliest, prefix=f"b{benefit.pk}"),
            }
        )
    context.update(
        {
            "current_gmv": current_gmv,
            "benefits": benefits,
            "applications": applications,
            "waiting_count": sum(1 for a in applications if a.position),
        }
    )
    return render(request, "benefits/seller/benefits.html", context, status=status)


@seller_required("cooperation.manage")
def seller_benefits(request):
    return _page(request)


@require_POST
@seller_required("cooperation.manage")
def seller_benefit_apply(request, benefit_id):
    benefit = selectors.active_benefits(calendar.today()).filter(pk=benefit_id).first()
    if benefit is None:
        messages.error(request, _("No such benefit."))
        return redirect("seller:benefits")
    earliest = calendar.today() + timedelta(days=benefit.lead_days)
    form = ApplyForm(request.POST, earliest=earliest, prefix=f"b{benefit.pk}")
    if form.is_valid():
        try:
            services.benefit_apply(
                actor=request.user, benefit_id=benefit.pk, wanted_from=form.cleaned_data["wanted_from"]
            )
        except ServiceError as exc:
            if exc.field_errors:
                form_error(form, exc)
            else:
                message_error(request, exc)
                return redirect("seller:benefits")
        else:
            messages.success(request, _("Applied. Operations decide applications in arrival order."))
            return redirect(reverse("seller:benefits") + "#applications")
    return _page(request, bound_form=form, bound_benefit_id=benefit.pk)


@require_POST
@seller_required("cooperation.manage")
def seller_benefit_withdraw(request, pk):
    try:
        services.benefit_withdraw(actor=request.user, application_id=pk)
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Application withdrawn."))
    return redirect(reverse("seller:benefits") + "#applications")
