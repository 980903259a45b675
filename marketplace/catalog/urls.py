from django.urls import path

from . import views

public_urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="products"),
    path("products/<int:pk>/", views.product_detail, name="product"),
]

seller_urlpatterns = [
    path("products/", views.seller_product_list, name="products"),
    path("products/new/", views.seller_product_create, name="product_create"),
    path("products/<int:pk>/", views.seller_product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.seller_product_edit, name="product_edit"),
    path("products/<int:pk>/plans/new/", views.seller_plan_edit, name="plan_create"),
    path("products/<int:pk>/plans/<int:plan_id>/", views.seller_plan_edit, name="plan_edit"),
    path("products/<int:pk>/plans/<int:plan_id>/delete/", views.seller_plan_delete, name="plan_delete"),
    path("products/<int:pk>/<str:action>/", views.seller_product_action, name="product_action"),
    path("credit-settings/", views.credit_settings, name="credit_settings"),
]
