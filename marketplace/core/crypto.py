"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with keys from the environment.

``FIELD_ENCRYPTION_KEYS`` lists keys newest first; data encrypted with an older key still
decrypts, and ``manage.py rotate_encryption_keys`` re-encrypts it with the newest.
In development, without keys, one is derived from SECRET_KEY.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        keys = (derived.decode(),)
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # pragma: no cover - only with a wrong key configuration
        raise ValueError("cannot decrypt: the encryption key does not match") from exc


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
