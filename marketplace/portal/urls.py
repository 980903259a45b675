"""URL maps of the seller center (/seller/, namespace ``seller``) and the buyer center (/buyer/,
namespace ``buyer``). Each app contributes its pages; the portal adds the shell."""

from django.urls import path

from benefits import urls as benefit_urls
from billing import urls as billing_urls
from invoicing import urls as invoicing_urls
from marketplace.accounts import urls as accounts_urls
from marketplace.accounts import views as accounts_views
from marketplace.catalog import urls as catalog_urls
from marketplace.orders import urls as order_urls
from marketplace.provisioning import urls as provisioning_urls
from marketplace.sso import urls as sso_urls
from refunds import urls as refund_urls
from tickets import urls as ticket_urls

from . import views

portal_urlpatterns = [
    path("home/", accounts_views.home_redirect, name="home"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]

seller_urlpatterns = [
    path("", views.seller_dashboard, name="dashboard"),
    *billing_urls.seller_urlpatterns,
    *catalog_urls.seller_urlpatterns,
    *order_urls.seller_urlpatterns,
    *provisioning_urls.seller_urlpatterns,
    *sso_urls.seller_urlpatterns,
    *ticket_urls.seller_urlpatterns,
    *invoicing_urls.seller_urlpatterns,
    *refund_urls.seller_urlpatterns,
    *benefit_urls.seller_urlpatterns,
    *accounts_urls.seller_urlpatterns,
]

buyer_urlpatterns = [
    path("", views.buyer_dashboard, name="dashboard"),
    *order_urls.buyer_urlpatterns,
    *provisioning_urls.buyer_urlpatterns,
    *sso_urls.buyer_urlpatterns,
    *ticket_urls.buyer_urlpatterns,
    *invoicing_urls.buyer_urlpatterns,
    *refund_urls.buyer_urlpatterns,
    *accounts_urls.buyer_urlpatterns,
]
