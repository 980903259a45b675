from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("buyer/orders", views.BuyerOrderViewSet, basename="api-buyer-order")
router.register("buyer/services", views.BuyerServiceViewSet, basename="api-buyer-service")
router.register("seller/orders", views.SellerOrderViewSet, basename="api-seller-order")

urlpatterns = [*router.urls, path("buyer/credit/", views.BuyerCreditView.as_view(), name="api-buyer-credit")]
