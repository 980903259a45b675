from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .. import services
from ..models import ApiToken


class TokenView(GenericAPIView):
    """``POST {"username": <e-mail>, "password": ...}`` -> ``{"token": ...}``: a new token, shown
    this once (only its hash is kept). ``DELETE`` with a token revokes that token."""

    serializer_class = AuthTokenSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_serializer_context(self):
        # The sign-in lockout (django-axes) marks the request it is given; the Django request, not
        # DRF's wrapper, is what its middleware reads to answer a locked-out sign-in with 403 JSON.
        return {**super().get_serializer_context(), "request": self.request._request}

    @extend_schema(responses=inline_serializer("Token", {"token": serializers.CharField()}))
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"token": services.api_token_issue(user=serializer.validated_data["user"])})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, *args, **kwargs):
        if not isinstance(request.auth, ApiToken):
            raise ValidationError({"detail": _("Send the token to revoke in the Authorization header.")})
        services.api_token_revoke(token=request.auth)
        return Response(status=204)


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "email": serializers.EmailField(),
                "name": serializers.CharField(),
                "buyer": serializers.DictField(allow_null=True),
                "seller": serializers.DictField(allow_null=True),
            },
        )
    )
    def get(self, request):
        user = request.user
        bm = getattr(user, "buyer_membership", None)
        sm = getattr(user, "seller_membership", None)
        return Response(
            {
                "id": user.pk,
                "email": user.email,
                "name": user.name,
                "buyer": {"id": bm.buyer_id, "kind": bm.buyer.kind, "name": bm.buyer.name, "role": bm.role}
                if bm
                else None,
                "seller": {"id": sm.seller_id, "name": sm.seller.name, "role": sm.role} if sm else None,
            }
        )
