"""/api/v1/: every app's API routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("marketplace.accounts.api.urls")),
    path("", include("marketplace.catalog.api.urls")),
    path("", include("marketplace.orders.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("marketplace.provisioning.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include("invoicing.api.urls")),
    path("", include("refunds.api.urls")),
    path("", include("benefits.api.urls")),
]
