from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.core.errors import ServiceError, as_id
from marketplace.core.services import email_queue
from marketplace.core.uploads import content_type_for
from marketplace.core.views import form_error, message_error
from marketplace.portal.access import buyer_required, seller_required

from . import services
from .forms import (
    InvitationAcceptForm,
    InviteBuyerForm,
    InviteSellerForm,
    LoginForm,
    OrgUnitForm,
    ProfileForm,
    SellerApplicationForm,
    SignupForm,
)
from .models import BuyerMembership, Invitation, OrgUnit, SellerApplication, SellerApplicationDocument, SellerMembership
from .roles import SELLER_CAPABILITIES


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG:
            # Development only: the demo accounts of `seed_demo`, so a newcomer can try every role.
            context["demo_logins"] = DEMO_LOGINS
            context["demo_password"] = settings.MARKETPLACE["DEMO_PASSWORD"]
        return context


DEMO_LOGINS = [
    ("buyer@example.com", gettext_lazy("Buyer")),
    ("tenant-admin@example.com", gettext_lazy("Enterprise tenant administrator")),
    ("seller@example.com", gettext_lazy("Seller administrator")),
    ("ops@example.com", gettext_lazy("Operations manager")),
]


class OutboxPasswordResetForm(PasswordResetForm):
    """Password-reset e-mails go through the outbox like every other e-mail."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        with translation.override(context["user"].language or settings.LANGUAGE_CODE):  # the recipient's language
            subject = "".join(render_to_string(subject_template_name, context).splitlines())
            body = render_to_string(email_template_name, context)
        email_queue(to=to_email, subject=subject, body=body, sensitive=True)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = OutboxPasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_email_context = {"site_url": settings.SITE_URL}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_signup(**form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            login(request, user, backend="marketplace.accounts.backends.AccountBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("buyer:dashboard")
    return render(request, "accounts/signup.html", {"form": form})


def invitation(request, token):
    try:
        invite = services.invitation_lookup(token=token)
    except ServiceError as exc:
        return render(request, "accounts/invitation_invalid.html", {"message": exc.message}, status=404)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                user = services.invitation_accept(token=token, user=request.user)
            elif form.is_valid():
                user = services.invitation_accept(token=token, **form.cleaned_data)
                login(request, user, backend="marketplace.accounts.backends.AccountBackend")
            else:
                user = None
        except ServiceError as exc:
            form_error(form, exc)
        else:
            if user is not None:
                messages.success(request, _("You joined %(name)s.") % {"name": invite.buyer or invite.seller})
                return redirect("seller:dashboard" if invite.seller_id else "buyer:dashboard")
    return render(request, "accounts/invitation.html", {"invitation": invite, "form": form})


@login_required
def seller_apply(request):
    """The onboarding application: fill in, upload documents, check the bar, submit."""
    if hasattr(request.user, "seller_membership"):
        return redirect("seller:dashboard")
    application = (
        SellerApplication.objects.filter(applicant=request.user).prefetch_related("documents", "events").first()
    )
    editable = application is None or application.status in (
        SellerApplication.Status.DRAFT,
        SellerApplication.Status.REJECTED,
    )
    form = SellerApplicationForm(request.POST or None, request.FILES or None, instance=application)
    if request.method == "POST" and editable and form.is_valid():
        data = {k: form.cleaned_data[k] for k in services.APPLICATION_FIELDS}
        try:
            application = services.seller_application_save(
                actor=request.user, data=data, documents=form.documents(), application=application
            )
            if "submit" in request.POST:
                services.seller_application_submit(actor=request.user, application_id=application.pk)
                messages.success(request, _("Your application was submitted. Operations will review it."))
            else:
                messages.success(request, _("Draft saved."))
        except ServiceError as exc:
            form_error(form, exc)
        else:
            return redirect("accounts:seller_apply")
    failures = services.onboarding_bar_failures(application) if application else []
    return render(
        request,
        "accounts/seller_apply.html",
        {"form": form, "application": application, "editable": editable, "bar_failures": failures},
    )


@login_required
def application_document(request, pk):
    """A document of an onboarding application: only its applicant and operations may download it."""
    document = get_object_or_404(SellerApplicationDocument.objects.select_related("application"), pk=pk)
    if not (request.user.is_staff or document.application.applicant_id == request.user.pk):
        raise Http404
    response = FileResponse(document.file.open("rb"), content_type=content_type_for(document.file.name))
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}{document.file.name[-4:]}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, initial={"name": request.user.name, "mobile": request.user.mobile})
    if request.method == "POST" and form.is_valid():
        request.user.name = form.cleaned_data["name"]
        request.user.mobile = form.cleaned_data["mobile"]
        request.user.save(update_fields=["name", "mobile"])
        messages.success(request, _("Profile saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
def set_language(request):
    """Switch the UI language: a cookie for everyone, and the saved preference for e-mails."""
    code = request.POST.get("language", "")
    supported = {c for c, _n in settings.LANGUAGES}
    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        nxt = "/"
    response = HttpResponseRedirect(nxt)
    if code in supported:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure()
        )
        if request.user.is_authenticated and request.user.language != code:
            request.user.language = code
            request.user.save(update_fields=["language"])
    return response


def home_redirect(request):
    """After signing in: operations to the admin, sellers to the seller center, buyers to theirs."""
    user = request.user
    if not user.is_authenticated:
        return redirect(reverse("accounts:login"))
    if user.is_staff and not hasattr(user, "seller_membership") and not hasattr(user, "buyer_membership"):
        return redirect("admin:index")
    if hasattr(user, "seller_membership"):
        return redirect("seller:dashboard")
    return redirect("buyer:dashboard")


# --- buyer center: enterprise workbench (members and organisation tree) -------------------------


def _tree(units):
    """Nest organisation units: [(unit, depth)] in tree order."""
    children: dict = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered = []

    def walk(parent_id, depth):
        for unit in sorted(children.get(parent_id, []), key=lambda u: u.code):
            ordered.append((unit, depth))
            walk(unit.pk, depth + 1)

    walk(None, 0)
    return ordered


@buyer_required(enterprise=True)
def workbench(request):
    from marketplace.sso.selectors import workbench_apps
    from marketplace.sso.sync import failed_syncs

    buyer = request.buyer
    is_admin = request.buyer_membership.role == BuyerMembership.Role.ADMIN
    tree = _tree(OrgUnit.objects.filter(buyer=buyer))
    units = [unit for unit, _depth in tree]
    apps = workbench_apps(membership=request.buyer_membership)
    context = {"apps": apps if is_admin else [a for a in apps if a["may_open"]], "is_admin": is_admin, "tree": tree}
    if is_admin:
        context.update(
            syncs=failed_syncs(tenant=buyer).select_related("instance__subscription__product")[:20],
            members=BuyerMembership.objects.filter(buyer=buyer)
            .select_related("user", "org_unit")
            .order_by("user__email"),
            invitations=[
                i
                for i in Invitation.objects.filter(buyer=buyer, accepted_at__isnull=True, revoked_at__isnull=True)
                if i.is_open()
            ],
            invite_form=InviteBuyerForm(units=units),
            unit_form=OrgUnitForm(units=units),
        )
    return render(request, "accounts/buyer/workbench.html", context)


@require_POST
@buyer_required(admin=True, enterprise=True)
def workbench_invite(request):
    units = list(OrgUnit.objects.filter(buyer=request.buyer))
    form = InviteBuyerForm(request.POST, units=units)
    if form.is_valid():
        unit = next((u for u in units if u.pk == form.cleaned_data["org_unit"]), None)
        try:
            services.invitation_create(
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                buyer=request.buyer,
                org_unit=unit,
            )
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
        except ServiceError as exc:
            message_error(request, exc)
    else:
        messages.error(
            request, _("Check the invitation: ") + "; ".join(e for errs in form.errors.values() for e in errs)
        )
    return redirect("buyer:workbench")


@require_POST
@buyer_required(admin=True, enterprise=True)
def workbench_member(request, pk):
    try:
        if "remove" in request.POST:
            services.buyer_member_remove(actor=request.user, membership_id=pk)
            messages.success(request, _("The user was removed from the tenant."))
        else:
            unit = request.POST.get("org_unit") or None
            services.buyer_member_update(
                actor=request.user,
                membership_id=pk,
                role=request.POST.get("role", ""),
                org_unit_id=as_id(unit) if unit else None,
            )
            messages.success(request, _("Saved."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("buyer:workbench")


@require_POST
@buyer_required(admin=True, enterprise=True)
def workbench_unit(request, pk=None):
    units = list(OrgUnit.objects.filter(buyer=request.buyer))
    try:
        if pk is not None:
            services.org_unit_delete(actor=request.user, unit_id=pk)
            messages.success(request, _("Unit deleted."))
        else:
            form = OrgUnitForm(request.POST, units=units)
            if not form.is_valid():
                messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
                return redirect("buyer:workbench")
            services.org_unit_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                code=form.cleaned_data["code"],
                parent_id=form.cleaned_data["parent"],
            )
            messages.success(request, _("Unit added."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("buyer:workbench")


@require_POST
@login_required
def invitation_revoke(request, pk):
    try:
        services.invitation_revoke(actor=request.user, invitation_id=pk)
        messages.success(request, _("Invitation revoked."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect(
        request.POST.get("back") if request.POST.get("back") in ("/buyer/workbench/", "/seller/team/") else "/"
    )


# --- seller center: team ------------------------------------------------------------------------


@seller_required("team.manage")
def team(request):
    seller = request.seller
    form = InviteSellerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(actor=request.user, seller=seller, **form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("seller:team")
    return render(
        request,
        "accounts/seller/team.html",
        {
            "form": form,
            "members": SellerMembership.objects.filter(seller=seller).select_related("user").order_by("user__email"),
            "invitations": [
                i
                for i in Invitation.objects.filter(seller=seller, accepted_at__isnull=True, revoked_at__isnull=True)
                if i.is_open()
            ],
            "roles": SellerMembership.Role.choices,
            "capabilities": SELLER_CAPABILITIES,
        },
    )


@require_POST
@seller_required("team.manage")
def team_member(request, pk):
    try:
        if "remove" in request.POST:
            services.seller_member_remove(actor=request.user, membership_id=pk)
            messages.success(request, _("The colleague was removed."))
        else:
            services.seller_member_update(actor=request.user, membership_id=pk, role=request.POST.get("role", ""))
            messages.success(request, _("Role saved."))
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("seller:team")
