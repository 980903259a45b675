from django.urls import path

from . import views

app_name = "invoicing"
urlpatterns = [
    path("seller-invoices/<int:pk>/file/", views.seller_invoice_file, name="seller_invoice_file"),
]
