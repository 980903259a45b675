from django.urls import path

from . import views

buyer_urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.buyer_order_list, name="orders"),
    path("orders/<int:pk>/", views.buyer_order_detail, name="order_detail"),
    path("orders/<int:pk>/pay/", views.buyer_order_pay, name="order_pay"),
    path("orders/<int:pk>/pay/sandbox/", views.sandbox_cashier, name="sandbox_cashier"),
    path("orders/<int:pk>/cancel/", views.buyer_order_cancel, name="order_cancel"),
    path("orders/<int:pk>/lines/<int:line_id>/accept/", views.buyer_accept_delivery, name="accept_delivery"),
    path("services/", views.buyer_services, name="services"),
]

seller_urlpatterns = [
    path("orders/", views.seller_order_list, name="orders"),
    path("orders/<int:pk>/", views.seller_order_detail, name="order_detail"),
]
