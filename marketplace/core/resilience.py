"""How the platform degrades when Redis or PostgreSQL is briefly unavailable (docs/reliability.md).

* ``send_after_commit``: hand a task to the broker once the transaction commits. When the broker
  (Redis) cannot be reached, the message is dropped with a warning instead of failing the request
  that already committed its work: every task sent this way has a beat sweep that finds its work in
  the database (the outbox pattern), so the work is done when Redis returns, and the page answers.
* ``ResilientRedisCache``: Django's Redis cache, but an unreachable Redis is a cache miss, not an
  error: pages keep serving (rate limits count nothing while Redis is down; the seller open API's
  nonce check fails closed, see ``add``).
* ``DatabaseUnavailableMiddleware``: a view that loses the database (PostgreSQL restarting, a
  failover) answers 503 with ``Retry-After`` instead of a 500; the next request opens a fresh
  connection (``CONN_HEALTH_CHECKS`` drops dead persistent or pooled ones).

Both Redis paths pause for a few seconds after a failure (``PAUSE_SECONDS``) rather than paying a
connection attempt on every call while Redis is down.
"""

import logging
import time
from collections.abc import Callable

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.http import HttpResponse

logger = logging.getLogger("marketplace.resilience")

PAUSE_SECONDS = 5.0  # after a failed call, Redis is taken to be down for this long


class _Breaker:
    """Remembers for a few seconds that a service failed, so callers skip it instead of waiting."""

    def __init__(self, name: str):
        self.name = name
        self.down_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self, exc: BaseException) -> None:
        first = not self.is_open()
        self.down_until = time.monotonic() + PAUSE_SECONDS
        if first:
            logger.warning(
                "%s unavailable (%s: %s); degrading for %.0f s", self.name, type(exc).__name__, exc, PAUSE_SECONDS
            )


_broker = _Breaker("message broker")


def publish(send: Callable[[], object]) -> bool:
    """Call ``send`` (a ``task.delay(...)``); False when the broker is unreachable (the sweep will
    find the work in the database). Errors of an eagerly run task still propagate."""
    from kombu.exceptions import OperationalError as BrokerUnavailable

    if _broker.is_open():
        logger.info("message broker down: the task is left to its sweep")
        return False
    try:
        send()
    except BrokerUnavailable as exc:
        _broker.trip(exc)
        return False
    return True


def send_after_commit(send: Callable[[], object], *, using: str | None = None) -> None:
    """``transaction.on_commit(send)``, where an unreachable broker is logged, not raised. Only for
    tasks whose work a beat sweep also finds (e-mails, produce and sync calls, exports, refunds,
    letters)."""
    transaction.on_commit(lambda: publish(send), using=using)


class _OneClientPerPool(RedisCacheClient):
    """Django's client builds a ``redis.Redis`` for every operation, and redis-py's constructor
    fills a table of some 500 response callbacks: a quarter of a cached page's time. A client is
    thread-safe (each command takes a connection from the pool), so one per pool is kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    """Redis cache whose reads miss and whose writes do nothing while Redis is unreachable."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _OneClientPerPool
        self._breaker = _Breaker("cache (Redis)")

    def _guard(self, call, fallback):
        import redis

        if self._breaker.is_open():
            return fallback()
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._breaker.trip(exc)
            return fallback()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # Not added: a nonce check refuses the call (fails closed); a fixed-window counter falls
        # through to incr, which finds no key, and counts 1 (fails open).
        parent = super()
        return self._guard(lambda: parent.add(key, value, timeout, version), lambda: False)

    def get(self, key, default=None, version=None):
        parent = super()
        return self._guard(lambda: parent.get(key, default, version), lambda: default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        parent = super()
        return self._guard(lambda: parent.set(key, value, timeout, version), lambda: None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        parent = super()
        return self._guard(lambda: parent.touch(key, timeout, version), lambda: False)

    def delete(self, key, version=None):
        parent = super()
        return self._guard(lambda: parent.delete(key, version), lambda: False)

    def get_many(self, keys, version=None):
        parent = super()
        return self._guard(lambda: parent.get_many(keys, version), dict)

    def has_key(self, key, version=None):
        parent = super()
        return self._guard(lambda: parent.has_key(key, version), lambda: False)

    def incr(self, key, delta=1, version=None):
        parent = super()

        def missing():
            raise ValueError(f"Key '{key}' not found (the cache is unavailable).")

        return self._guard(lambda: parent.incr(key, delta, version), missing)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        parent = super()
        return self._guard(lambda: parent.set_many(data, timeout, version), lambda: list(data))

    def delete_many(self, keys, version=None):
        parent = super()
        return self._guard(lambda: parent.delete_many(keys, version), lambda: None)

    def clear(self):
        parent = super()
        return self._guard(lambda: parent.clear(), lambda: False)


class DatabaseUnavailableMiddleware:
    """503 with Retry-After, not a 500 page, when a view lost its database connection. Django
    closes a connection that failed this way at the end of the request, so the next one starts
    afresh."""

    RETRY_AFTER = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError) or not _is_connection_error(exception):
            return None
        logger.warning("database unavailable: %s: %s", type(exception).__name__, exception)
        response = HttpResponse(
            "The service is briefly unavailable; please try again in a few seconds.\n服务暂时不可用，请稍后再试。\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(self.RETRY_AFTER)
        response["Cache-Control"] = "no-store"
        return response


def _is_connection_error(exc: DatabaseError) -> bool:
    """A lost or refused connection, not a query error (a lock timeout, a serialization failure)
    that happens to share the class: psycopg's own exception says which."""
    cause = exc.__cause__
    if cause is None:
        return True
    try:
        import psycopg
    except ImportError:  # SQLite in development: its errors are not about connections
        return False
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        # Query-level operational errors carry an SQLSTATE; a dropped connection has none, or
        # class 08 (connection exception) or 57P (operator intervention: shutdown, crash).
        state = getattr(cause, "sqlstate", None) or ""
        return not state or state.startswith(("08", "57P"))
    return False
