from django.urls import path

from . import views

seller_urlpatterns = [
    path("app-tools/", views.app_tools, name="app_tools"),
]
