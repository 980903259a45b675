from django.conf import settings
from django.utils import translation


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
