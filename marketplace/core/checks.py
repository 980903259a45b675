"""Deploy checks (``manage.py check --deploy``): keys given in the environment must be usable.

Missing keys are not flagged: without them development derives keys from SECRET_KEY, which works
on one server; the README's configuration table says which variables production should set.
"""

import base64
import binascii

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_keys(app_configs, **kwargs) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for key in settings.FIELD_ENCRYPTION_KEYS:
        try:
            Fernet(key)
        except (ValueError, binascii.Error):
            found.append(
                checks.Error(
                    "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key.",
                    hint="Make keys with cryptography.fernet.Fernet.generate_key().",
                    id="marketplace.E001",
                )
            )
    if settings.LICENSE_SIGNING_KEY:
        try:
            seed = base64.b64decode(settings.LICENSE_SIGNING_KEY, validate=True)
        except (ValueError, binascii.Error):
            seed = b""
        if len(seed) < 32:
            found.append(
                checks.Error(
                    "LICENSE_SIGNING_KEY is not the base64 of a 32-byte seed.",
                    hint="base64 of 32 random bytes, e.g. from: openssl rand -base64 32",
                    id="marketplace.E002",
                )
            )
    return found
