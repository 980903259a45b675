from .models import AccessKey, SellerIntegration


def seller_integration(*, seller_id: int) -> SellerIntegration | None:
    return SellerIntegration.objects.filter(seller_id=seller_id).first()


def active_keys(*, seller_id: int) -> list[AccessKey]:
    return list(AccessKey.objects.filter(seller_id=seller_id, revoked_at__isnull=True).defer("secret"))
