from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("products", views.ProductViewSet, basename="api-product")
router.register("seller/products", views.SellerProductViewSet, basename="api-seller-product")

plans = views.SellerPlanViewSet
urlpatterns = [
    *router.urls,
    path(
        "seller/products/<int:product_pk>/plans/",
        plans.as_view({"get": "list", "post": "create"}),
        name="api-seller-plan-list",
    ),
    path(
        "seller/products/<int:product_pk>/plans/<int:pk>/",
        plans.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-seller-plan-detail",
    ),
]
