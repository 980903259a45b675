from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("open/orders", views.OpenOrderViewSet, basename="api-open-order")
router.register("open/instances", views.OpenInstanceViewSet, basename="api-open-instance")
router.register("open/produce-messages", views.OpenMessageViewSet, basename="api-open-message")

urlpatterns = router.urls
