"""API plumbing shared by every app: pagination and one error format.

Every error body is JSON: ``{"error": <code>, "detail": <message>, "fields": {...}}``.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ServiceError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


def _flatten(detail):
    if isinstance(detail, list):
        return " ".join(str(d) for d in detail)
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {"error": exc.code, "detail": str(exc.message)}
        if exc.field_errors:
            body["fields"] = {k: [str(m) for m in v] for k, v in exc.field_errors.items()}
        return Response(body, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        body = {"error": "invalid", "detail": " ".join(str(m) for m in exc.messages)}
        if fields:
            body["fields"] = fields
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        if isinstance(data, dict):
            fields = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in data.items()}
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
            response.data = {"error": "invalid", "detail": detail, "fields": fields}
        else:
            response.data = {"error": "invalid", "detail": _flatten(data)}
    else:
        code = getattr(exc, "default_code", "error")
        detail = data.get("detail", data) if isinstance(data, dict) else data
        response.data = {"error": code, "detail": _flatten(detail)}
    return response
