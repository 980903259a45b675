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
