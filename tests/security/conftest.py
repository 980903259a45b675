"""Fixtures of the security tests: one data set per module (tests/security/sweep_world.py), built in a
transaction every test nests in, with its private files in a folder of the module's own."""

import pytest
from django.apps import apps
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.db.models import FileField
from django.test.utils import override_settings

from .sweep_world import World, build

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "marketplace.sso.oauth.ClientSecretHasher"]


@pytest.fixture(scope="module")
def _sweep_files(tmp_path_factory):
    """Private files of the module's data set, in a folder of its own (as the root conftest does per test)."""
    from django.conf import settings

    location = tmp_path_factory.mktemp("sweep") / "private"
    storage = FileSystemStorage(location=str(location), base_url=None)
    stores = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": None},
        },
    }
    with pytest.MonkeyPatch.context() as patch, override_settings(STORAGES=stores):
        for model in apps.get_models():
            for model_field in model._meta.fields:
                if isinstance(model_field, FileField) and str(model_field.storage.location) == str(
                    settings.PRIVATE_STORAGE_ROOT
                ):
                    patch.setattr(model_field, "storage", storage)
        yield location, stores


@pytest.fixture(autouse=True)
def private_media(_sweep_files, settings):
    """Overrides the root conftest's: every test of a module reads the module's files."""
    location, stores = _sweep_files
    settings.STORAGES = stores
    return location


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, isv_private_key, _sweep_files) -> World:
    """Built once in a transaction that each test's own (a savepoint) nests in; rolled back at the end."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, LANGUAGE_CODE="zh-hans"),
        transaction.atomic(),
    ):
        made = build(isv_private_key)
        yield made
        transaction.set_rollback(True)
