"""Cooperation applications in the seller center: the merchant acceleration plan (apply by signing
the merchant marketing support payment agreement) and merchant marketing support (applications for
activities, their review, acceptance materials and payment). Every write goes through the services;
the pages only parse input and show the services' refusals."""

from decimal import Decimal

from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.core import calendar
from marketplace.core.errors import ServiceError
from marketplace.core.views import form_error, message_error, paginate, private_download, querystring_without_page
from marketplace.portal.access import seller_required

from .. import agreement, services
from ..forms import AcceptanceForm, MarketingFilterForm, MarketingSupportForm, SignForm
from ..models import AccelerationPlan, AgreementSignature, MarketingSupport, MarketingSupportAttachment

P = AccelerationPlan.Status
S = MarketingSupport.Status


def _signature(plan: AccelerationPlan | None) -> AgreementSignature | None:
    if plan is None:
        return None
    try:
        return plan.signature
    except AgreementSignature.DoesNotExist:
        return None


def _progress(gmv: Decimal, threshold: Decimal) -> dict:
    percent = 100 if threshold <= 0 else int(min(Decimal(100), max(gmv, Decimal(0)) * 100 / threshold))
    return {
        "gmv": gmv,
        "threshold": threshold,
        "percent": percent,
        "reached": gmv >= threshold,
        "to_go": max(threshold - gmv, Decimal(0)),
    }


def _own_application(request, pk) -> MarketingSupport:
    application = MarketingSupport.objects.filter(seller_id=request.seller.pk, pk=pk).first()
    if application is None:
        raise Http404
    return application


# --- the hub ---------------------------------------------------------------------------------------


@seller_required("cooperation.manage")
def seller_cooperation(request):
    seller_id = request.seller.pk
    plan = services.current_plan(seller_id)
    labels = dict(S.choices)
    counts = {
        row["status"]: row["n"]
        for row in MarketingSupport.objects.filter(seller_id=seller_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    }
    by_status = [{"status": s, "label": labels[s], "n": counts[s]} for s in S.values if counts.get(s)]
    return render(
        request,
        "benefits/seller/cooperation.html",
        {
            "plan": plan,
            "progress": _progress(services.year_gmv(seller_id), services.plan_threshold()),
            "year": calendar.today().year,
            "closed_reason": services.not_open_reason(seller_id),
            "by_status": by_status,
            "total": sum(counts.values()),
        },
    )


# --- the merchant acceleration plan ----------------------------------------------------------------


def _plan_page(request, *, form=None, error="", fallback_error="", status=200):
    seller = request.seller
    threshold = services.plan_threshold()
    progress = _progress(services.year_gmv(seller.pk), threshold)
    plan = services.current_plan(seller.pk)
    held = plan is not None and plan.status in AccelerationPlan.HELD
    can_sign = not held and progress["reached"]
    if not can_sign and not error:
        error = fallback_error  # field errors with no form to show them on: say it on the page
    context = {
        "plan": plan,
        "held": held,
        "signature": _signature(plan),
        "events": list(plan.events.select_related("actor")) if plan is not None else [],
        "progress": progress,
        "year": calendar.today().year,
        "can_sign": can_sign,
        "error": error,
    }
    if can_sign:
        context["text_zh"], context["text_en"] = agreement.texts(seller_name=seller.name, threshold=threshold)
        context["version"] = agreement.VERSION
        context["form"] = form or SignForm()
    return render(request, "benefits/seller/acceleration_plan.html", context, status=status)


@seller_required("cooperation.manage")
def seller_acceleration_plan(request):
    if request.method != "POST":
        return _plan_page(request)
    form = SignForm(request.POST)
    try:
        services.plan_apply(
            actor=request.user,
            signer_name=request.POST.get("signer_name", ""),
            signer_role=request.POST.get("signer_role", ""),
            agreed=request.POST.get("agreed") in ("on", "true", "1", "yes"),
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except ServiceError as exc:
        if exc.field_errors:
            form_error(form, exc)
            return _plan_page(request, form=form, fallback_error=str(exc.message), status=exc.status)
        return _plan_page(request, form=form, error=str(exc.message), status=exc.status)
    messages.success(
        request, _("Agreement signed. Your application is waiting for the platform's operations to approve it.")
    )
    return redirect("seller:acceleration_plan")


@seller_required("cooperation.manage")
def seller_acceleration_agreement_pdf(request):
    signature = _signature(services.current_plan(request.seller.pk))
    if signature is None or not signature.pdf:
        raise Http404
    return private_download(signature.pdf, f"acceleration-plan-agreement-{signature.signed_at:%Y%m%d}.pdf")


# --- merchant marketing support --------------------------------------------------------------------


@seller_required("cooperation.manage")
def seller_marketing_support(request):
    seller_id = request.seller.pk
    form = MarketingFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    applications = MarketingSupport.objects.filter(seller_id=seller_id).order_by("-created_at", "-id")
    if filters.get("status"):
        applications = applications.filter(status=filters["status"])
    if filters.get("q"):
        applications = applications.filter(activity_name__icontains=filters["q"].strip())
    return render(
        request,
        "benefits/seller/marketing_support_list.html",
        {
            "form": form,
            "page": paginate(request, applications),
            "qs": querystring_without_page(request),
            "filtered": bool(filters.get("status") or filters.get("q")),
            "closed_reason": services.not_open_reason(seller_id),
        },
    )


def _form_page(request, application: MarketingSupport | None):
    form = MarketingSupportForm(
        initial={
            "activity_name": application.activity_name,
            "starts_on": application.starts_on.isoformat() if application.starts_on else "",
            "ends_on": application.ends_on.isoformat() if application.ends_on else "",
            "channels": application.channels,
            "budget": f"{application.budget:.2f}" if application.budget else "",
            "proposal": application.proposal,
        }
        if application is not None
        else None
    )
    status = 200
    if request.method == "POST":
        form = MarketingSupportForm(request.POST, request.FILES)
        submit = "submit" in request.POST
        try:
            saved = services.marketing_save(
                actor=request.user,
                data=form.service_data(),
                files=request.FILES.getlist("files"),
                application_id=application.pk if application is not None else None,
                submit=submit,
            )
        except ServiceError as exc:
            form_error(form, exc)
            status = exc.status
        else:
            if submit:
                messages.success(request, _("Submitted. The platform's operations review it and you are told."))
            else:
                messages.success(request, _("Draft saved."))
            return redirect("seller:marketing_support_detail", pk=saved.pk)
    files = (
        list(application.attachments.filter(kind=MarketingSupportAttachment.Kind.PROPOSAL))
        if application is not None
        else []
    )
    return render(
        request,
        "benefits/seller/marketing_support_form.html",
        {"form": form, "application": application, "files": files},
        status=status,
    )


@seller_required("cooperation.manage")
def seller_marketing_support_new(request):
    reason = services.not_open_reason(request.seller.pk)
    if reason:
        messages.error(request, reason)
        return redirect("seller:marketing_support")
    return _form_page(request, None)


@seller_required("cooperation.manage")
def seller_marketing_support_edit(request, pk):
    application = _own_application(request, pk)
    if application.status not in MarketingSupport.EDITABLE:
        messages.info(request, _("This application can no longer be changed."))
        return redirect("seller:marketing_support_detail", pk=application.pk)
    return _form_page(request, application)


def _detail_page(request, application: MarketingSupport, *, acceptance_form=None, status=200):
    files = list(application.attachments.select_related("uploaded_by"))
    kinds = MarketingSupportAttachment.Kind
    today = calendar.today()
    return render(
        request,
        "benefits/seller/marketing_support_detail.html",
        {
            "application": application,
            "proposal_files": [f for f in files if f.kind == kinds.PROPOSAL],
            "acceptance_files": [f for f in files if f.kind == kinds.ACCEPTANCE],
            "events": list(application.events.select_related("actor")),
            "editable": application.status in MarketingSupport.EDITABLE,
            "withdrawable": S.WITHDRAWN in MarketingSupport.TRANSITIONS.get(application.status, ()),
            "acceptance_open": application.status in MarketingSupport.ACCEPTANCE_OPEN,
            "acceptance_from": application.ends_on,
            "acceptance_waits": application.ends_on is not None and today < application.ends_on,
            "acceptance_form": acceptance_form or AcceptanceForm(initial={"report": application.acceptance_report}),
        },
        status=status,
    )


@seller_required("cooperation.manage")
def seller_marketing_support_detail(request, pk):
    return _detail_page(request, _own_application(request, pk))


@require_POST
@seller_required("cooperation.manage")
def seller_marketing_support_submit(request, pk):
    application = _own_application(request, pk)
    try:
        services.marketing_submit(actor=request.user, application_id=application.pk)
    except ServiceError as exc:
        if exc.field_errors:
            # Something is missing: the form shows where.
            message_error(request, exc)
            if application.status in MarketingSupport.EDITABLE:
                return redirect("seller:marketing_support_edit", pk=application.pk)
        else:
            message_error(request, exc)
    else:
        messages.success(request, _("Submitted. The platform's operations review it and you are told."))
    return redirect("seller:marketing_support_detail", pk=application.pk)


@require_POST
@seller_required("cooperation.manage")
def seller_marketing_support_withdraw(request, pk):
    application = _own_application(request, pk)
    try:
        services.marketing_withdraw(actor=request.user, application_id=application.pk)
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Application withdrawn."))
    return redirect("seller:marketing_support_detail", pk=application.pk)


@require_POST
@seller_required("cooperation.manage")
def seller_marketing_support_acceptance(request, pk):
    application = _own_application(request, pk)
    form = AcceptanceForm(request.POST, request.FILES)
    try:
        services.marketing_submit_acceptance(
            actor=request.user,
            application_id=application.pk,
            report=request.POST.get("report", ""),
            files=request.FILES.getlist("files"),
        )
    except ServiceError as exc:
        if not exc.field_errors:
            message_error(request, exc)
            return redirect("seller:marketing_support_detail", pk=application.pk)
        form_error(form, exc)
        return _detail_page(request, application, acceptance_form=form, status=exc.status)
    messages.success(request, _("Acceptance materials handed in. The platform's operations check them."))
    return redirect("seller:marketing_support_detail", pk=application.pk)


def _own_attachment(request, pk) -> MarketingSupportAttachment:
    attachment = (
        MarketingSupportAttachment.objects.filter(application__seller_id=request.seller.pk, pk=pk)
        .select_related("application")
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


@seller_required("cooperation.manage")
def seller_marketing_support_file(request, pk):
    attachment = _own_attachment(request, pk)
    return private_download(attachment.file, attachment.name)


@require_POST
@seller_required("cooperation.manage")
def seller_marketing_support_file_remove(request, pk):
    attachment = _own_attachment(request, pk)
    application = attachment.application
    try:
        services.marketing_attachment_remove(actor=request.user, attachment_id=attachment.pk)
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("File removed: %(name)s") % {"name": attachment.name})
    if application.status in MarketingSupport.EDITABLE:
        return redirect(reverse("seller:marketing_support_edit", args=[application.pk]) + "#files")
    return redirect("seller:marketing_support_detail", pk=application.pk)
