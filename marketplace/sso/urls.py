from django.urls import path

from . import views

seller_urlpatterns = [
    path("app-tools/sso/", views.sso_settings, name="sso"),
]

buyer_urlpatterns = [
    path("workbench/apps/<int:product_id>/open/", views.app_open, name="app_open"),
    path("workbench/apps/<int:product_id>/access/", views.app_access, name="app_access"),
    path("workbench/syncs/<int:pk>/retry/", views.sync_retry, name="sync_retry"),
]
