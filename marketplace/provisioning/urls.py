from django.urls import path

from . import views

seller_urlpatterns = [
    path("app-tools/", views.app_tools, name="app_tools"),
    path("app-tools/messages/", views.produce_messages, name="produce_messages"),
    path("app-tools/messages/<int:pk>/", views.produce_message, name="produce_message"),
    path("app-tools/messages/<int:pk>/retry/", views.produce_message_retry, name="produce_message_retry"),
    path("app-tools/debugging/", views.interface_debugging, name="interface_debugging"),
    path("app-tools/guide/", views.developer_guide, name="developer_guide"),
]

buyer_urlpatterns = [
    path("services/lines/<int:line_id>/credentials/", views.instance_credentials, name="instance_credentials"),
    path("services/lines/<int:line_id>/license/", views.license_file, name="license_file"),
    path("services/lines/<int:line_id>/deployment/", views.deployment, name="deployment"),
]
