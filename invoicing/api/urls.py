from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("buyer/invoice-profiles", views.BuyerInvoiceProfileViewSet, basename="api-buyer-invoice-profile")
router.register("buyer/invoice-requests", views.BuyerInvoiceRequestViewSet, basename="api-buyer-invoice-request")
router.register("buyer/invoiceable-orders", views.BuyerInvoiceableOrderViewSet, basename="api-buyer-invoiceable-order")
router.register("buyer/explanation-letters", views.BuyerExplanationLetterViewSet, basename="api-buyer-letter")
router.register("seller/invoice-requests", views.SellerInvoiceRequestViewSet, basename="api-seller-invoice-request")

urlpatterns = [*router.urls]
