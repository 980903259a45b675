from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView


class TokenView(ObtainAuthToken):
    """``POST {"username": <e-mail>, "password": ...}`` -> ``{"token": ...}``."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_serializer_context(self):
        # The sign-in lockout (django-axes) marks the request it is given; the Django request, not
        # DRF's wrapper, is what its middleware reads to answer a locked-out sign-in with 403 JSON.
        return {**super().get_serializer_context(), "request": self.request._request}


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
