from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register(
    "seller/benefit-applications", views.SellerBenefitApplicationViewSet, basename="api-seller-benefit-application"
)
router.register(
    "seller/marketing-support", views.SellerMarketingSupportViewSet, basename="api-seller-marketing-support"
)

urlpatterns = [
    *router.urls,
    path("seller/gmv/", views.SellerGmvView.as_view(), name="api-seller-gmv"),
    path("seller/benefits/", views.SellerBenefitsView.as_view(), name="api-seller-benefits"),
    path("seller/acceleration-plan/", views.SellerAccelerationPlanView.as_view(), name="api-seller-acceleration-plan"),
    path(
        "seller/acceleration-plan/agreement.pdf",
        views.SellerAccelerationAgreementView.as_view(),
        name="api-seller-acceleration-agreement",
    ),
    path(
        "seller/marketing-support/files/<int:pk>/",
        views.SellerMarketingSupportFileView.as_view(),
        name="api-seller-marketing-support-file",
    ),
]
