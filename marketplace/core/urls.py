"""Health endpoints under /health/ (marketplace/core/health.py says what each checks)."""

from django.urls import path

from . import health

app_name = "health"

urlpatterns = [
    path("", health.HealthView.as_view(), name="all"),
    path("live/", health.live, name="live"),
    *(path(f"{name}/", health.HealthView.as_view(components=(name,)), name=name) for name in health.CHECKS),
]
