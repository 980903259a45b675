from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("buyer/tickets", views.BuyerTicketViewSet, basename="api-buyer-ticket")
router.register("seller/tickets", views.SellerTicketViewSet, basename="api-seller-ticket")

urlpatterns = [
    *router.urls,
    path("seller/ticket-settings/", views.ReceptionSettingsView.as_view(), name="api-seller-ticket-settings"),
    path("tickets/attachments/<int:pk>/", views.TicketAttachmentDownloadView.as_view(), name="api-ticket-attachment"),
]
