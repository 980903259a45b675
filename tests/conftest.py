"""Fixtures shared by every test: fast hashing, eager Celery, demo-shaped factories."""

import pytest
from django.core.cache import cache

from marketplace.celery import app as celery_app

from .factories import (
    BuyerFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
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


@pytest.fixture
def private_media(monkeypatch, tmp_path):
    """Uploaded documents go to a temporary folder, not the project's media directory.

    A FileField resolves its callable storage when the model class is built, so the field's
    storage is swapped here rather than the STORAGES setting.
    """
    from django.core.files.storage import FileSystemStorage

    from marketplace.accounts.models import SellerApplicationDocument

    location = tmp_path / "private"
    field = SellerApplicationDocument._meta.get_field("file")
    monkeypatch.setattr(field, "storage", FileSystemStorage(location=str(location), base_url=None))
    return location
