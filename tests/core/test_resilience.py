"""How the platform degrades (marketplace/core/resilience.py) and where reads may go (db_router.py).
The same behaviour against real processes: tests/integration/test_faults.py."""

import logging
import socket

import psycopg
import pytest
from django.db import OperationalError, connections
from django.http import HttpResponse
from django.test import RequestFactory
from kombu.exceptions import OperationalError as BrokerUnavailable

from billing.models import LedgerEntry
from marketplace.celery import app as celery_app
from marketplace.core import db_router, resilience
from marketplace.core.db_router import ReplicaRouter, replica_reads, reporting_db
from marketplace.core.resilience import DatabaseUnavailableMiddleware, ResilientRedisCache, send_after_commit


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def breakers(monkeypatch):
    """Each test starts with Redis taken to be up."""
    monkeypatch.setattr(resilience._broker, "down_until", 0.0)


def test_an_unreachable_redis_is_a_cache_miss_not_an_error(caplog):
    cache = ResilientRedisCache(f"redis://127.0.0.1:{closed_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.5}})

    with caplog.at_level(logging.WARNING, logger="marketplace.resilience"):
        assert cache.get("k", "fallback") == "fallback"
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("k") is False
        assert cache.add("nonce", 1) is False  # not added: a nonce check refuses (fails closed)
        cache.set("k", 1)
        cache.delete("k")
        assert cache.set_many({"a": 1}) == ["a"]
        with pytest.raises(ValueError):
            cache.incr("counter")  # a fixed-window counter then sets 1 (fails open)
        cache.clear()

    # one warning, then Redis is left alone for a few seconds (no connection attempt per call)
    assert [r.getMessage().split(" unavailable")[0] for r in caplog.records] == ["cache (Redis)"]


def test_a_reachable_redis_is_used_as_usual(settings):
    location = settings.CACHES["default"].get("LOCATION", "")
    if not location.startswith("redis://"):
        pytest.skip("no Redis configured for the tests")
    cache = ResilientRedisCache(location, {})
    cache.set("resilience-test", 41)
    assert cache.incr("resilience-test") == 42
    assert cache.get("resilience-test") == 42
    cache.delete("resilience-test")


def test_one_redis_client_serves_every_operation_and_thread(settings):
    """Not one client built per operation (a quarter of a cached page's time)."""
    from concurrent.futures import ThreadPoolExecutor

    location = settings.CACHES["default"].get("LOCATION", "")
    if not location.startswith("redis://"):
        pytest.skip("no Redis configured for the tests")
    cache = ResilientRedisCache(location, {})
    first = cache._cache.get_client()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: (cache.set(f"client-{n}", n), cache.get(f"client-{n}"))[1], range(64)))
    assert results == list(range(64))
    assert cache._cache.get_client() is first and cache._cache.get_client(write=True) is first
    cache.delete_many([f"client-{n}" for n in range(64)])


@pytest.mark.django_db
def test_an_unreachable_broker_leaves_the_work_to_its_sweep_and_the_request_succeeds(
    breakers, caplog, django_capture_on_commit_callbacks
):
    sent = []

    def unreachable():
        sent.append(1)
        raise BrokerUnavailable("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    with (
        caplog.at_level(logging.WARNING, logger="marketplace.resilience"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        send_after_commit(unreachable)
        send_after_commit(unreachable)  # the broker is known to be down: not tried again
    assert sent == [1]
    assert "message broker unavailable" in caplog.text


def test_an_eager_task_that_fails_still_fails(breakers):
    def broken():
        raise RuntimeError("a bug in the task")

    with pytest.raises(RuntimeError):
        resilience.publish(broken)
    assert celery_app.conf.task_always_eager


def _response(request):
    return HttpResponse("ok")


def _psycopg_error(sqlstate: str | None) -> OperationalError:
    cause = psycopg.OperationalError("server closed the connection unexpectedly")
    if sqlstate:
        cause.sqlstate = sqlstate  # type: ignore[misc]
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("sqlstate", [None, "57P01", "08006"])
def test_a_view_that_lost_the_database_answers_503_with_retry_after(sqlstate):
    middleware = DatabaseUnavailableMiddleware(_response)

    response = middleware.process_exception(RequestFactory().get("/"), _psycopg_error(sqlstate))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Traceback" not in response.content.decode()


def test_a_query_error_that_is_not_about_the_connection_stays_a_500():
    middleware = DatabaseUnavailableMiddleware(_response)
    lock_timeout = _psycopg_error("55P03")

    assert middleware.process_exception(RequestFactory().get("/"), lock_timeout) is None
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("not a database error")) is None


# --- the read replica -------------------------------------------------------------------------------


def test_without_a_replica_everything_reads_the_primary():
    assert "replica" not in connections.settings
    assert reporting_db() == "default"
    with replica_reads() as alias:
        assert alias == "default"
        assert ReplicaRouter().db_for_read(LedgerEntry) is None


def test_the_router_sends_reads_inside_replica_reads_to_the_replica_and_writes_never(monkeypatch):
    monkeypatch.setattr(db_router, "has_replica", lambda: True)  # as with DATABASE_REPLICA_URL set
    router = ReplicaRouter()

    assert reporting_db() == "replica"
    assert router.db_for_read(LedgerEntry) is None  # outside the block: the primary
    with replica_reads():
        assert router.db_for_read(LedgerEntry) == "replica"
        assert router.db_for_write(LedgerEntry) == "default"
    assert router.allow_migrate("replica", "billing") is False
    assert router.allow_migrate("default", "billing") is True
