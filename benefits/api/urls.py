from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register(
    "seller/benefit-applications", views.SellerBenefitApplicationViewSet, basename="api-seller-benefit-application"
)

urlpatterns = [
    *router.urls,
    path("seller/gmv/", views.SellerGmvView.as_view(), name="api-seller-gmv"),
    path("seller/benefits/", views.SellerBenefitsView.as_view(), name="api-seller-benefits"),
]
