from django.urls import path

from . import views

app_name = "invoicing"

# /invoicing/...: files, for the parties only
urlpatterns = [
    path("seller-invoices/<int:pk>/file/", views.seller_invoice_file, name="seller_invoice_file"),
    path("requests/<int:pk>/file/", views.invoice_file, name="invoice_file"),
    path("letters/<int:pk>/file/", views.letter_file, name="letter_file"),
]

# /verify/<code>/: anyone may check an explanation letter
public_urlpatterns = [
    path("verify/<str:code>/", views.letter_verify, name="letter_verify"),
]

seller_urlpatterns = [
    path("invoices/", views.seller_invoice_list, name="invoices"),
    path("invoices/<int:pk>/", views.seller_invoice_request, name="invoice_request"),
]

buyer_urlpatterns = [
    path("invoices/", views.buyer_invoice_list, name="invoices"),
    path("invoices/new/", views.buyer_invoice_new, name="invoice_new"),
    path("invoices/<int:pk>/", views.buyer_invoice_request, name="invoice_request"),
    path("invoices/profiles/", views.buyer_invoice_profiles, name="invoice_profiles"),
    path("invoices/letters/", views.buyer_letters, name="invoice_letters"),
]
