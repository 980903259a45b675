"""The WSGI application of the ``token_endpoint`` benchmark: the platform's own, plus one plain
Django view at ``/bench/plain-json``, the benchmark's limit.

    gunicorn bench.token_server:application

Only the benchmark serves this module; the platform's URLs (``marketplace.urls``) never include
the plain view. It answers a form POST, through the same middleware and server, with a JSON body of
the size the form asks for (``bytes``): a token answer without the token work.
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

application = get_wsgi_application()

from marketplace.urls import urlpatterns as platform_urlpatterns  # noqa: E402

handler404 = "marketplace.core.views.not_found"


@csrf_exempt
@require_POST
def plain_json(request):
    size = int(request.POST.get("bytes", "160"))
    body = json.dumps({"filler": ""})
    body = json.dumps({"filler": "x" * max(0, size - len(body))})
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [path("bench/plain-json", plain_json), *platform_urlpatterns]
settings.ROOT_URLCONF = __name__
