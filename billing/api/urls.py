from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("seller/statements", views.SellerStatementViewSet, basename="api-seller-statement")
router.register("seller/exports", views.SellerExportViewSet, basename="api-seller-export")

urlpatterns = [*router.urls, path("seller/usage/", views.SellerUsageView.as_view(), name="api-seller-usage")]
