from django.urls import path

from . import views

app_name = "tickets"

# /tickets/...: files, for either party
urlpatterns = [
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]

seller_urlpatterns = [
    path("tickets/", views.seller_ticket_list, name="tickets"),
    path("tickets/settings/", views.seller_reception, name="ticket_settings"),
    path("tickets/<int:pk>/", views.seller_ticket_detail, name="ticket_detail"),
]

buyer_urlpatterns = [
    path("tickets/", views.buyer_ticket_list, name="tickets"),
    path("tickets/<int:pk>/", views.buyer_ticket_detail, name="ticket_detail"),
    path("tickets/new/<int:product_id>/", views.buyer_ticket_open, name="ticket_open"),
]
