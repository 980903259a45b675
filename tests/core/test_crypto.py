"""Secrets at rest: stored encrypted with the key from FIELD_ENCRYPTION_KEYS (never as the plaintext),
and ``rotate_encryption_key`` moves every stored value to a new key while the old one is still
listed, after which the new key alone reads them all."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import override_settings

from marketplace.core import crypto
from marketplace.orders import services as orders
from marketplace.provisioning import services as provisioning
from marketplace.provisioning.models import AccessKey, Instance
from tests.factories import PlanFactory, ProductFactory, fresh

pytestmark = pytest.mark.django_db

KEY1, KEY2, STRANGER = (Fernet.generate_key().decode() for _ in range(3))
SECRETS = {"access key": "ak-plaintext-7f3a", "user name": "admin-plaintext", "password": "pw-plaintext-91c2"}


def stored(table: str, column: str, pk: int) -> str:
    """The value as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def raw_values(key: AccessKey, instance: Instance) -> list[str]:
    return [
        stored("provisioning_accesskey", "secret", key.pk),
        stored("provisioning_instance", "username", instance.pk),
        stored("provisioning_instance", "password", instance.pk),
    ]


@pytest.fixture
def secrets_under_key1(seller, buyer_user):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY1]):
        key, _secret = provisioning.access_key_issue(seller=seller, purpose="open_api", secret=SECRETS["access key"])
        plan = PlanFactory(product=ProductFactory(seller=seller, status="published"))
        order = orders.order_create(actor=fresh(buyer_user), plan_id=plan.pk)
        orders.order_pay(actor=fresh(buyer_user), order_id=order.pk, method="online")
        line = order.lines.get()
        instance = Instance.objects.create(
            order_line=line,
            subscription=line.subscription,
            seller=seller,
            instance_id="i-1",
            front_end_url="https://app.example.com",
            username=SECRETS["user name"],
            password=SECRETS["password"],
        )
    return key, instance


def read_back(key: AccessKey, instance: Instance) -> list[str]:
    instance = Instance.objects.get(pk=instance.pk)
    return [AccessKey.objects.get(pk=key.pk).secret, instance.username, instance.password]


def rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


def test_secrets_are_stored_encrypted_with_the_configured_key(secrets_under_key1):
    raw = raw_values(*secrets_under_key1)

    for value, plaintext in zip(raw, SECRETS.values(), strict=True):
        assert plaintext not in value
        assert Fernet(KEY1).decrypt(value.encode()).decode() == plaintext
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY1]):
        assert read_back(*secrets_under_key1) == list(SECRETS.values())


def test_every_encrypted_field_is_known_to_the_rotation():
    assert {(m._meta.label, f.name) for m, f in crypto.encrypted_fields()} == {
        ("provisioning.AccessKey", "secret"),
        ("provisioning.Instance", "username"),
        ("provisioning.Instance", "password"),
    }


def test_rotation_moves_every_value_to_the_new_key(secrets_under_key1):
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY2, KEY1]):
        assert read_back(*secrets_under_key1) == list(SECRETS.values())  # both keys listed: all still read
        output = rotate()
        again = rotate()

    assert "provisioning.Instance.password: 1 re-encrypted, 0 already on the newest key" in output
    assert "3 values re-encrypted." in output
    assert "0 values re-encrypted." in again  # run twice: nothing left to do
    raw = raw_values(*secrets_under_key1)
    for value, plaintext in zip(raw, SECRETS.values(), strict=True):
        assert plaintext not in value
        assert Fernet(KEY2).decrypt(value.encode()).decode() == plaintext
        with pytest.raises(InvalidToken):
            Fernet(KEY1).decrypt(value.encode())
    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY2]):  # the old key dropped
        assert read_back(*secrets_under_key1) == list(SECRETS.values())


def test_rotation_keeps_the_rows_as_they_were(secrets_under_key1):
    key, instance = secrets_under_key1
    before = Instance.objects.filter(pk=instance.pk).values("updated_at", "instance_id").get()

    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY2, KEY1]):
        rotate()

    assert Instance.objects.filter(pk=instance.pk).values("updated_at", "instance_id").get() == before
    assert AccessKey.objects.filter(pk=key.pk, revoked_at__isnull=True).exists()


def test_a_dry_run_writes_nothing(secrets_under_key1):
    raw = raw_values(*secrets_under_key1)

    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY2, KEY1]):
        output = rotate("--dry-run")

    assert "3 values would be re-encrypted." in output
    assert raw_values(*secrets_under_key1) == raw


def test_a_value_no_key_decrypts_stops_the_rotation_and_changes_nothing(secrets_under_key1):
    raw = raw_values(*secrets_under_key1)

    with override_settings(FIELD_ENCRYPTION_KEYS=[KEY2, STRANGER]), pytest.raises(CommandError, match="no key"):
        rotate()

    assert raw_values(*secrets_under_key1) == raw


def test_generate_prints_a_new_key():
    key = rotate("--generate").strip()

    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert key not in (KEY1, KEY2)
