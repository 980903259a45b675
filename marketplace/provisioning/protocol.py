"""The ISV interface, version 2: signatures, credentials encryption and result codes.

Pure Python (standard library and ``cryptography``), no Django: the platform uses it to call
sellers, and the sample ISV server (``sample_isv.py``) uses it to check those calls, so a seller can
copy both files. The wire format is specified in docs/isv-interface.md (the developer guide).
"""

import base64
import hashlib
import hmac
import json
import secrets
import string
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

CLOCK_SKEW_MS = 60_000  # a timestamp further than this from the receiver's clock is refused
NONCE_TTL_S = 300  # a nonce seen within this many seconds is refused

# Result codes (resultCode) and what they mean.
SUCCESS = "000000"
AUTH_FAILED = "000001"
INVALID_PARAMETER = "000002"
INSTANCE_NOT_FOUND = "000003"
PROCESSING = "000004"
INTERNAL_ERROR = "000005"
RESULT_CODES = {
    SUCCESS: "success",
    AUTH_FAILED: "authentication failed",
    INVALID_PARAMETER: "invalid parameter",
    INSTANCE_NOT_FOUND: "instance not found",
    PROCESSING: "still processing",
    INTERNAL_ERROR: "internal error",
    "000100": "no instance resources",
    "000101": "mobile missing or duplicate",
    "000102": "e-mail missing or duplicate",
    "000103": "already purchased",
    "000104": "internal service error",
    "000105": "benefit already taken",
    "000106": "sold out",
    "000107": "e-mail domain duplicate",
}
# Codes worth another attempt later; every other code fails at once.
RETRYABLE_CODES = {PROCESSING, INTERNAL_ERROR, "000104"}

ACTIVITIES = ("newInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance", "queryInstance")
REQUIRED_FIELDS = {
    "newInstance": (
        "businessId",
        "orderId",
        "orderLineId",
        "testFlag",
        "trialFlag",
        "productId",
        "skuCode",
        "customerId",
        "customerName",
        "chargingMode",
        "expireTime",
        "orderAmount",
    ),
    "refreshInstance": (
        "instanceId",
        "orderId",
        "orderLineId",
        "scene",
        "productId",
        "skuCode",
        "expireTime",
        "testFlag",
    ),
    "updateInstanceStatus": ("instanceId", "status", "testFlag"),
    "releaseInstance": ("instanceId", "orderId", "orderLineId", "scene", "testFlag"),
    "queryInstance": ("instanceIds",),
}


def _hmac_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- produce calls -------------------------------------------------------------------------------


def produce_signature(access_key: str, nonce: str, timestamp: str, body: bytes) -> str:
    """uppercase_hex(HMAC_SHA256(key, key + nonce + timestamp + lowercase_hex(HMAC_SHA256(key, body))))."""
    digest = _hmac_hex(access_key, body)
    return _hmac_hex(access_key, (access_key + nonce + str(timestamp) + digest).encode()).upper()


def signed_produce_url(
    produce_url: str, access_key: str, body: bytes, *, timestamp: str | None = None, nonce: str | None = None
) -> str:
    """The produce URL with signature, timestamp and nonce added to its query."""
    timestamp = str(timestamp or now_ms())
    nonce = nonce or new_nonce()
    parts = urlsplit(produce_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [
        ("signature", produce_signature(access_key, nonce, timestamp, body)),
        ("timestamp", timestamp),
        ("nonce", nonce),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- sync calls ----------------------------------------------------------------------------------


def sync_signature(access_key: str, nonce: str, timestamp: str, body: bytes) -> str:
    """x-sign = uppercase_hex(HMAC_SHA256(key, key + nonce + timestamp + body))."""
    return _hmac_hex(access_key, access_key.encode() + nonce.encode() + str(timestamp).encode() + body).upper()


def sync_headers(access_key: str, body: bytes, *, timestamp: str | None = None, nonce: str | None = None) -> dict:
    timestamp = str(timestamp or now_ms())
    nonce = nonce or new_nonce()
    return {
        "Content-Type": "application/json; charset=utf-8",
        "x-timestamp": timestamp,
        "x-nonce": nonce,
        "x-sign": sync_signature(access_key, nonce, timestamp, body),
    }


# --- seller open API (seller -> platform) -----------------------------------------------------------


def open_api_signature(
    secret: str, method: str, path: str, query: dict | list, timestamp: str, nonce: str, body: bytes
) -> str:
    """uppercase_hex(HMAC_SHA256(secret, METHOD \\n path \\n sorted_query \\n timestamp \\n nonce \\n sha256(body)))."""
    items = sorted(query.items() if isinstance(query, dict) else query)
    canonical = "\n".join(
        [method.upper(), path, urlencode(items), str(timestamp), nonce, hashlib.sha256(body).hexdigest()]
    )
    return _hmac_hex(secret, canonical.encode()).upper()


# --- checks shared by every receiver -----------------------------------------------------------------


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time, case-insensitive comparison of two hex signatures."""
    return hmac.compare_digest(expected.upper().encode(), (given or "").upper().encode())


def timestamp_fresh(timestamp: str, *, now: int | None = None) -> bool:
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        return False
    return abs((now or now_ms()) - value) <= CLOCK_SKEW_MS


class NonceCache:
    """Remembers nonces for NONCE_TTL_S seconds (in memory; the platform keeps its own in Redis)."""

    def __init__(self):
        self._seen: dict[str, float] = {}

    def add(self, nonce: str, *, now: float | None = None) -> bool:
        """True the first time a nonce is seen within the window, False for a replay."""
        now = now or time.time()
        if len(self._seen) > 10_000:
            self._seen = {n: t for n, t in self._seen.items() if now - t < NONCE_TTL_S}
        if not nonce or now - self._seen.get(nonce, -NONCE_TTL_S - 1) < NONCE_TTL_S:
            return False
        self._seen[nonce] = now
        return True


# --- credentials in appInfo -----------------------------------------------------------------------

_IV_ALPHABET = string.ascii_letters + string.digits


def encrypt_credential(access_key: str, plaintext: str) -> str:
    """iv + base64(AES-256-CBC-PKCS7(key=SHA-256(access_key), iv, plaintext)); iv is 16 printable ASCII."""
    iv = "".join(secrets.choice(_IV_ALPHABET) for _ in range(16))
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    key = hashlib.sha256(access_key.encode()).digest()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv.encode())).encryptor()
    return iv + base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def decrypt_credential(access_key: str, token: str) -> str:
    if not token or len(token) <= 16:
        raise ValueError("not an encrypted credential")
    iv, payload = token[:16], base64.b64decode(token[16:])
    key = hashlib.sha256(access_key.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv.encode())).decryptor()
    padded = decryptor.update(payload) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


# --- applicationSync: the client secret for the seller's eyes only -----------------------------------


def rsa_encrypt(public_key_pem: str, plaintext: str) -> str:
    """base64(RSA-OAEP-SHA256(public key, plaintext)); the key must have at least 3072 bits."""
    key = load_pem_public_key(public_key_pem.encode())
    if key.key_size < 3072:
        raise ValueError("the RSA public key must have at least 3072 bits")
    cipher = key.encrypt(
        plaintext.encode(),
        asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    return base64.b64encode(cipher).decode()


def rsa_decrypt(private_key: RSAPrivateKey | str | bytes, ciphertext: str) -> str:
    """The seller's side of rsa_encrypt: private_key is a loaded RSA key or its unencrypted PEM."""
    if isinstance(private_key, str | bytes):
        pem = private_key.encode() if isinstance(private_key, str) else private_key
        private_key = load_pem_private_key(pem, password=None)
    plain = private_key.decrypt(
        base64.b64decode(ciphertext, validate=True),
        asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    return plain.decode()
