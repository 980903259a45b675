from django.urls import path

from . import views

# Mounted under /seller/ (namespace ``seller``) by marketplace.portal.urls.
seller_urlpatterns = [
    path("benefits/", views.seller_benefits, name="benefits"),
    path("benefits/apply/<int:benefit_id>/", views.seller_benefit_apply, name="benefit_apply"),
    path(
        "benefits/applications/<int:pk>/withdraw/", views.seller_benefit_withdraw, name="benefit_application_withdraw"
    ),
]
