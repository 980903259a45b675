"""Fixtures of the tests that start real processes (processes.py)."""

import pytest

from .processes import PrivateRedis, stop_all


@pytest.fixture(autouse=True)
def _no_process_left():
    """Every process a test started is gone after it, even when the test failed, and before the
    database is flushed (a worker must not hold a lock on a table then)."""
    yield
    stop_all()


@pytest.fixture
def redis(tmp_path):
    """A Redis of the test's own (a free port), so an outage here never touches anyone else's."""
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()
