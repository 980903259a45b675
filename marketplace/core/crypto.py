"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with keys from the environment.

``FIELD_ENCRYPTION_KEYS`` (comma-separated) lists keys newest first: new values are encrypted with
the first, and data encrypted with any of them still decrypts, so a key is rotated by putting a new
one in front, running ``manage.py rotate_encryption_key`` (which re-encrypts every stored value with
the newest key) and then dropping the old one (README, "Secrets and key rotation").
In development, without keys, one is derived from SECRET_KEY.

What is stored through ``EncryptedTextField``: sellers' access keys (``AccessKey.secret``) and the
sign-in details of buyers' instances (``Instance.username``, ``Instance.password``). Other secrets
are not reversible at all: passwords, OAuth client secrets and tokens, invitation tokens are hashed;
the copy of a client secret kept for its seller is encrypted with the seller's RSA public key.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...], secret: str) -> tuple[Fernet, ...]:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        keys = (derived.decode(),)
    return tuple(Fernet(k) for k in keys)


def _keys() -> tuple[Fernet, ...]:
    return _fernets(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def fernet() -> MultiFernet:
    """Encrypts with the newest key, decrypts with any."""
    return MultiFernet(list(_keys()))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # pragma: no cover - only with a wrong key configuration
        raise ValueError("cannot decrypt: the encryption key does not match") from exc


def is_current(token: str) -> bool:
    """Whether ``token`` is encrypted with the newest key (nothing to rotate)."""
    try:
        _keys()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """``token`` decrypted with whichever key it was made with and encrypted again with the newest."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: none of the encryption keys matches") from exc


def encrypted_fields() -> list[tuple[type[models.Model], "EncryptedTextField"]]:
    """Every encrypted field of every model: what a key rotation re-encrypts."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


class EncryptedTextField(models.TextField):
    """Text stored encrypted; reads give the plaintext back. Not searchable by value."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
