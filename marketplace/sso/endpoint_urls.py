"""The single sign-on endpoints at the ISV interface's paths (section 3), mounted at the site root.

The namespace is the toolkit's own (``oauth2_provider``): its discovery document finds the other
endpoints by these names."""

from django.urls import path
from oauth2_provider.views import JwksInfoView

from . import endpoints

app_name = "oauth2_provider"

urlpatterns = [
    path("api/v1/oauth2/authorize", endpoints.AuthorizeView.as_view(), name="authorize"),
    path("api/v1/oauth2/token", endpoints.TokenView.as_view(), name="token"),
    path("api/v1/oauth2/userinfo", endpoints.UserInfoView.as_view(), name="user-info"),
    path("api/v1/oauth2/jwks", JwksInfoView.as_view(), name="jwks-info"),
    path("api/v1/logout", endpoints.logout, name="sso-logout"),
    path(".well-known/openid-configuration", endpoints.DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
]
