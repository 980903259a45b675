"""The WSGI application of the ``pages_under_load`` benchmark: the platform's own, plus one bare
Django view at ``/bench/ok``, the benchmark's limit, and the seller center's empty frame at
``/bench/seller-shell``, for reference.

    gunicorn bench.pages_server:application

Only the benchmark serves this module; the platform's URLs (``marketplace.urls``) never include
the bare view. It answers a GET with "ok" through the same server, workers, settings and
middleware as the pages it is compared with, and touches neither the session nor the database.
The frame is what every seller page pays before its own content: the session, the user, the
membership check, the navigation, the unread-notice badge and the layout.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.template import engines
from django.urls import path

application = get_wsgi_application()

from marketplace.portal.access import seller_required  # noqa: E402
from marketplace.urls import urlpatterns as platform_urlpatterns  # noqa: E402

handler404 = "marketplace.core.views.not_found"


def bare(request):
    response = HttpResponse("ok", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


SHELL = engines["django"].from_string('{% extends "seller_base.html" %}{% block content %}{% endblock %}')


@seller_required("orders.view")
def seller_shell(request):
    return HttpResponse(SHELL.render({}, request))


urlpatterns = [path("bench/ok", bare), path("bench/seller-shell", seller_shell), *platform_urlpatterns]
settings.ROOT_URLCONF = __name__
