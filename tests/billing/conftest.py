"""Fixtures of the settlement tests: operations staff by group, private files in a temporary folder."""

import pytest

from .builders import staff


@pytest.fixture
def ops(db):
    """Operations: review and send statements, answer disputes, post adjustments."""
    return staff("operations")


@pytest.fixture
def finance(db):
    """Finance: countersign, verify sellers' invoices, pay."""
    return staff("finance")


@pytest.fixture
def finance2(db):
    """A second, different finance staff member (countersigning needs two)."""
    return staff("finance")


@pytest.fixture
def private_files(private_media):
    """Exports and sellers' invoices are written under the test's temporary folder (root conftest)."""
    return private_media
