"""Helpers for page views: turn a refused service call into form errors or a message."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .errors import ServiceError


def form_error(form, exc: ServiceError) -> None:
    """Show a service's refusal on the form: field errors where it named fields, else on top."""
    placed = False
    for field, errors in exc.field_errors.items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, str(error))
            placed = True
    if not placed or not exc.field_errors:
        form.add_error(None, str(exc.message))


def message_error(request, exc: ServiceError) -> None:
    messages.error(request, str(exc.message))


def private_download(file, filename: str) -> FileResponse:
    """A private file (an upload, an invoice, a letter) as a download for someone already allowed to
    have it: its type from the file name, never sniffed, never cached by a shared cache. Unprintable
    characters are dropped from the name the browser saves."""
    from .uploads import content_type_for

    name = "".join(c for c in filename if c.isprintable()) or "download"
    response = FileResponse(file.open("rb"), content_type=content_type_for(name), as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def paginate(request, queryset, per_page: int = 20):
    """A page of the list; ``?page=`` beyond the end shows the last page rather than an error."""
    paginator = Paginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page"))


def querystring_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def not_found(request, exception=None):
    """404 for every URL: JSON under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not_found", "detail": str(_("Not found."))}, status=404)
    return render(request, "404.html", status=404)
