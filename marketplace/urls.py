from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from invoicing import urls as invoicing_urls
from marketplace.catalog import urls as catalog_urls
from marketplace.portal import urls as portal_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", include("marketplace.core.urls")),  # liveness, database, Redis, workers
    path("accounts/", include("marketplace.accounts.urls")),
    path("invoicing/", include("invoicing.urls")),
    path("tickets/", include("tickets.urls")),
    path("", include((invoicing_urls.public_urlpatterns, "verify"))),
    path("seller/", include((portal_urls.seller_urlpatterns, "seller"))),
    path("buyer/", include((portal_urls.buyer_urlpatterns, "buyer"))),
    path("", include((portal_urls.portal_urlpatterns, "portal"))),
    path("", include("marketplace.sso.endpoint_urls")),  # single sign-on: /api/v1/oauth2/..., /.well-known/...
    path("api/v1/", include("marketplace.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include((catalog_urls.public_urlpatterns, "catalog"))),
]

admin.site.site_header = _("Cloud Marketplace operations")
admin.site.site_title = _("Marketplace operations")
admin.site.index_title = _("Back office")

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()

handler404 = "marketplace.core.views.not_found"
