from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("buyer/refund-requests", views.BuyerRefundRequestViewSet, basename="api-buyer-refund-request")
router.register("seller/refund-requests", views.SellerRefundRequestViewSet, basename="api-seller-refund-request")

urlpatterns = [
    *router.urls,
    path(
        "buyer/order-lines/<str:line_id>/refund-eligibility/",
        views.BuyerRefundEligibilityView.as_view(),
        name="api-buyer-refund-eligibility",
    ),
]
