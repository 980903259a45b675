"""License files: what a buyer holds of a License product, signed with the platform's Ed25519 key
so the seller's software can check it offline (the developer guide shows how)."""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.utils import timezone

from marketplace.orders.models import OrderLine


def signing_key() -> Ed25519PrivateKey:
    """LICENSE_SIGNING_KEY (base64 of the 32-byte seed) in production; derived from SECRET_KEY in development."""
    configured = settings.LICENSE_SIGNING_KEY
    seed = (
        base64.b64decode(configured)
        if configured
        else hashlib.sha256(f"license:{settings.SECRET_KEY}".encode()).digest()
    )
    return Ed25519PrivateKey.from_private_bytes(seed[:32])


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def license_document(line: OrderLine, *, now=None) -> dict:
    """The license: what it covers, and the signature over the canonical JSON of that."""
    order = line.order
    payload = {
        "licenseVersion": 1,
        "product": {"id": line.product_id, "name": line.product.name_zh, "nameEn": line.product.name_en},
        "sku": line.plan.sku_code,
        "buyer": {"id": order.buyer.code, "name": order.buyer.name},
        "orderId": order.number,
        "orderLineId": line.pk,
        "validFrom": line.validity_start.isoformat() if line.validity_start else None,
        "validUntil": line.validity_end.isoformat() if line.validity_end else None,
        "issuedAt": (now or timezone.now()).replace(microsecond=0).isoformat(),
    }
    signature = base64.b64encode(signing_key().sign(canonical(payload))).decode()
    return {"license": payload, "signature": signature, "algorithm": "Ed25519"}
