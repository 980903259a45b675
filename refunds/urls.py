from django.urls import path

from . import views

seller_urlpatterns = [
    path("refunds/", views.seller_refund_list, name="refunds"),
    path("refunds/<int:pk>/", views.seller_refund_request, name="refund_request"),
]

buyer_urlpatterns = [
    path("refunds/", views.buyer_refund_list, name="refunds"),
    path("refunds/<int:pk>/", views.buyer_refund_request, name="refund_request"),
    path("orders/<int:order_id>/lines/<int:line_id>/refund/", views.buyer_refund_new, name="refund_new"),
]
