"""Seller center > settlement > bill management."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invoicing.services import seller_invoice_submit
from marketplace.catalog.models import TradeMode
from marketplace.core.errors import ServiceError
from marketplace.core.pagecache import page_cache
from marketplace.core.uploads import private_storage
from marketplace.core.views import message_error, paginate, querystring_without_page
from marketplace.portal.access import seller_required

from . import selectors, services
from .forms import DisputeForm, ExportForm, LineSearchForm, SellerInvoiceForm, StatementFilterForm
from .models import BillingSettings, Statement
from .pdf import statement_pdf
from .services.exports import export_file_for, export_request


@page_cache
@seller_required("settlement.view")
def bill_management(request):
    form = StatementFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    mode = filters.get("mode") or TradeMode.GENERAL
    statements = selectors.seller_statements(
        seller_id=request.seller.pk, trade_mode=mode, status=filters.get("status", ""), year=filters.get("year")
    )
    return render(
        request,
        "billing/bill_management.html",
        {
            "form": form,
            "mode": mode,
            "tabs": selectors.trade_mode_tabs(seller_id=request.seller.pk, active=mode),
            "page": paginate(request, statements),
            "qs": querystring_without_page(request),
            "rules": BillingSettings.current(),
        },
    )


def _statement_or_404(request, pk) -> Statement:
    statement = selectors.seller_statement(seller_id=request.seller.pk, statement_id=pk)
    if statement is None:
        raise Http404
    return statement


@seller_required("settlement.view")
def statement_detail(request, pk):
    statement = _statement_or_404(request, pk)
    search = LineSearchForm(request.GET or None)
    q = search.cleaned_data.get("q", "") if search.is_valid() else ""
    lines = paginate(request, selectors.statement_entries(statement=statement, q=q), per_page=50)
    return render(
        request,
        "billing/statement_detail.html",
        {
            "statement": statement,
            "page": lines,
            "search": search,
            "qs": querystring_without_page(request),
            "dispute_form": DisputeForm(),
            "invoice_form": SellerInvoiceForm(initial={"amount": statement.net_payable}),
            "open_dispute": next((d for d in statement.disputes.all() if d.status == "open"), None),
        },
    )


@seller_required("settlement.view")
def statement_pdf_view(request, pk):
    statement = _statement_or_404(request, pk)
    response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{statement.period:%Y-%m}-{statement.trade_mode}.pdf"'
    )
    return response


@require_POST
@seller_required("settlement.view")
def statement_action(request, pk, action):
    statement = _statement_or_404(request, pk)
    back = redirect("seller:statement", pk=statement.pk)
    try:
        if action == "confirm":
            services.statement_confirm(actor=request.user, statement_id=statement.pk)
            messages.success(request, _("Statement confirmed."))
        elif action == "dispute":
            form = DisputeForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Say what is wrong."))
                return back
            services.statement_dispute(
                actor=request.user, statement_id=statement.pk, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Your dispute was sent to operations."))
        elif action == "invoice":
            form = SellerInvoiceForm(request.POST, request.FILES)
            if not form.is_valid():
                for errors in form.errors.values():
                    messages.error(request, " ".join(errors))
                return back
            seller_invoice_submit(actor=request.user, statement_id=statement.pk, **form.cleaned_data)
            messages.success(request, _("Invoice submitted. Operations will verify it."))
        elif action == "export":
            form = ExportForm(request.POST)
            if not form.is_valid():
                raise Http404
            export_request(actor=request.user, statement_id=statement.pk, fmt=form.cleaned_data["format"])
            messages.success(request, _("The export is being produced; it appears below when ready."))
            return redirect("seller:exports")
        else:
            raise Http404
    except ServiceError as exc:
        message_error(request, exc)
    return back


@seller_required("settlement.view")
def exports(request):
    page = paginate(request, selectors.seller_exports(seller_id=request.seller.pk))
    return render(request, "billing/exports.html", {"page": page, "rules": BillingSettings.current()})


@seller_required("settlement.view")
def export_status(request, pk):
    job = selectors.seller_exports(seller_id=request.seller.pk).filter(pk=pk).first()
    if job is None:
        raise Http404
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "progress": job.progress,
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "download": reverse("seller:export_download", args=[job.pk]) if job.status == "done" else None,
        }
    )


@seller_required("settlement.view")
def export_download(request, pk):
    try:
        job = export_file_for(actor=request.user, job_id=pk)
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404 from exc
        message_error(request, exc)
        return redirect("seller:exports")
    name = job.file_path.rsplit("/", 1)[-1]
    content_type = (
        "text/csv" if job.format == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return FileResponse(
        private_storage().open(job.file_path, "rb"), as_attachment=True, filename=name, content_type=content_type
    )
