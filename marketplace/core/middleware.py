from django.conf import settings
from django.utils import translation

from . import logging as log_context


class RequestIdMiddleware:
    """Give every request an id: the X-Request-ID a proxy sent when it is a sane token, else a new
    one. It is on ``request.request_id``, in the X-Request-ID response header, in every log line
    written while the request is served and in the headers of the tasks it queues."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = log_context.new_request_id(request.headers.get("X-Request-ID"))
        token = log_context.bind(request_id=request.request_id, request=request)
        try:
            response = self.get_response(request)
        finally:
            log_context.unbind(token)
        response.headers["X-Request-ID"] = request.request_id
        return response


class LanguageMiddleware:
    """Activate the language the visitor chose (cookie), else the platform default (zh-hans).

    Unlike Django's LocaleMiddleware, pages ignore the browser's Accept-Language: the platform
    speaks Chinese until the visitor switches. API requests do honour Accept-Language.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if code not in self.supported and request.path.startswith("/api/"):
            # API clients say what they want in Accept-Language; pages wait for the switcher.
            code = translation.get_language_from_request(request)
        if code not in self.supported:
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", code)
        translation.deactivate()
        return response


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: a Content-Security-Policy on HTML pages and a
    Permissions-Policy on every response (settings CONTENT_SECURITY_POLICY and PERMISSIONS_POLICY).

    Nosniff, Referrer-Policy, Cross-Origin-Opener-Policy and HSTS come from SecurityMiddleware,
    X-Frame-Options from XFrameOptionsMiddleware. A view that sets its own header keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = _policy(getattr(settings, "CONTENT_SECURITY_POLICY", {}))
        self.permissions = getattr(settings, "PERMISSIONS_POLICY", "")

    def __call__(self, request):
        response = self.get_response(request)
        if self.csp and response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", self.csp)
        if self.permissions:
            response.headers.setdefault("Permissions-Policy", self.permissions)
        return response


def _policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())
