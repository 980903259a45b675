from django.urls import path

from . import views

seller_urlpatterns = [
    path("settlement/", views.bill_management, name="settlement"),
    path("settlement/<int:pk>/", views.statement_detail, name="statement"),
    path("settlement/<int:pk>/pdf/", views.statement_pdf_view, name="statement_pdf"),
    path("settlement/<int:pk>/<str:action>/", views.statement_action, name="statement_action"),
    path("settlement/exports/", views.exports, name="exports"),
    path("settlement/exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("settlement/exports/<int:pk>/download/", views.export_download, name="export_download"),
]
