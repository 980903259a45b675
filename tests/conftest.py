"""Fixtures shared by every test: fast hashing, eager Celery, demo-shaped factories."""

import os

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test.utils import override_settings

from marketplace.celery import app as celery_app

from .factories import (
    BuyerFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
)

pytest_plugins = ["tests.isv_fixtures"]  # the sample ISV: SaaS-delivery and browser tests


@pytest.fixture(autouse=True, scope="session")
def _a_cache_of_its_own():
    """Each parallel worker keeps its cache in a Redis database of its own: clearing the cache
    before a test (below) flushes the whole database, and must not wipe another worker's counters."""
    location = django_settings.CACHES["default"].get("LOCATION", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not location.startswith("redis://") or not worker.startswith("gw"):
        yield
        return
    base, _slash, db = location.rpartition("/")
    own = (int(db or 0) + 1 + int(worker[2:])) % 16
    with override_settings(CACHES={"default": {**django_settings.CACHES["default"], "LOCATION": f"{base}/{own}"}}):
        yield


@pytest.fixture(autouse=True)
def _fast_and_eager(settings, _a_cache_of_its_own):
    # Fast user passwords; client secrets keep their own (fast) hasher, which must stay known.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "marketplace.sso.oauth.ClientSecretHasher",
    ]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Explanation letters are stamped at once (about 5 minutes in production).
    settings.MARKETPLACE = {
        **settings.MARKETPLACE,
        "INVOICES": {**settings.MARKETPLACE["INVOICES"], "LETTER_STAMP_SECONDS": 0},
    }
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    cache.clear()
    yield


@pytest.fixture
def buyer_user(db):
    return BuyerFactory().memberships.get().user


@pytest.fixture
def other_buyer_user(db):
    return BuyerFactory().memberships.get().user


@pytest.fixture
def seller(db):
    return SellerFactory()


@pytest.fixture
def seller_user(seller):
    return seller.memberships.get(role="admin").user


@pytest.fixture
def other_seller(db):
    return SellerFactory()


@pytest.fixture
def other_seller_user(other_seller):
    return other_seller.memberships.get(role="admin").user


@pytest.fixture
def ops_user(db):
    return UserFactory(is_staff=True, is_superuser=True, email="ops-test@example.com")


@pytest.fixture
def published_product(seller):
    product = ProductFactory(seller=seller, status="published")
    PlanFactory(product=product)
    return product


@pytest.fixture
def plan(published_product):
    return published_product.plans.get()


@pytest.fixture(autouse=True)
def private_media(monkeypatch, tmp_path, settings):
    """Private files (onboarding documents, sellers' invoices, exports) go to the test's temporary
    folder, never to the project's media directory.

    A FileField resolves its callable storage when the model class is built, so every field on the
    private storage is swapped here as well as the STORAGES setting.
    """
    from django.apps import apps
    from django.core.files.storage import FileSystemStorage
    from django.db.models import FileField

    location = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": None},
        },
    }
    storage = FileSystemStorage(location=str(location), base_url=None)
    for model in apps.get_models():
        for field in model._meta.fields:
            if isinstance(field, FileField) and str(field.storage.location) == str(settings.PRIVATE_STORAGE_ROOT):
                monkeypatch.setattr(field, "storage", storage)
    return location
