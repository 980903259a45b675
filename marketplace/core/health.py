"""Health endpoints, built on django-health-check's view (HTML, ``?format=json``, ``?format=text``,
``Accept: application/json``; 200 when every check passes, 500 when one fails).

- ``/health/live/``: the web process answers; touches nothing else (liveness probe).
- ``/health/``: everything the deployment uses: the database and the cache, plus Redis and the
  Celery workers when tasks go through a broker (not in-process).
- ``/health/db/``, ``/health/cache/``, ``/health/redis/``, ``/health/workers/``: one component
  each, always checked. The workers check pings them (``HEALTH_WORKERS_TIMEOUT`` seconds) and
  fails when a queue of ``marketplace.celery.QUEUES`` has no worker consuming it.
"""

import dataclasses
import datetime

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.asyncio import Redis as RedisClient


def celery_app():
    from marketplace.celery import app

    return app


@never_cache
def live(request):
    return HttpResponse("ok", content_type="text/plain")


@dataclasses.dataclass
class DatabaseCheck(Database):
    def __repr__(self) -> str:
        return "database"


@dataclasses.dataclass
class CacheCheck(Cache):
    def __repr__(self) -> str:
        return "cache"


def _redis_client() -> RedisClient:
    return RedisClient.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


@dataclasses.dataclass
class RedisCheck(HealthCheck):
    """PING the Redis of ``REDIS_URL`` (the broker and the cache)."""

    timeout = datetime.timedelta(seconds=3)

    async def run(self) -> None:
        if not settings.REDIS_URL:
            raise ServiceUnavailable("REDIS_URL is not set")
        await Redis(client_factory=_redis_client).run()

    def __repr__(self) -> str:
        return "redis"


@dataclasses.dataclass
class WorkersCheck(HealthCheck):
    """Every queue has a worker that answers a ping."""

    wait: float = dataclasses.field(default_factory=lambda: settings.HEALTH_WORKERS_TIMEOUT, repr=False)

    @property
    def timeout(self) -> datetime.timedelta:  # a ping, then one question to the workers that answered
        return datetime.timedelta(seconds=2 * self.wait)

    def run(self) -> None:
        from marketplace.celery import QUEUES

        app = celery_app()
        try:
            replies = app.control.ping(timeout=self.wait) or []
        except OSError as exc:
            raise ServiceUnavailable("the broker cannot be reached") from exc
        workers = [name for reply in replies for name in reply]
        if not workers:
            raise ServiceUnavailable("no worker answered")
        active = app.control.inspect(workers, timeout=self.wait).active_queues() or {}
        consumed = {queue.get("name") for queues in active.values() for queue in queues or ()}
        if missing := [queue for queue in QUEUES if queue not in consumed]:
            raise ServiceUnavailable(f"no worker consumes the queue(s) {', '.join(missing)}")

    def __repr__(self) -> str:
        return "workers"


CHECKS = {"db": DatabaseCheck, "cache": CacheCheck, "redis": RedisCheck, "workers": WorkersCheck}


def deployed_components() -> list[str]:
    """What ``/health/`` checks: Redis and workers only when tasks go through a broker."""
    names = ["db", "cache"]
    if settings.REDIS_URL:
        names.append("redis")
    if not celery_app().conf.task_always_eager:
        names.append("workers")
    return names


class HealthView(HealthCheckView):
    components: tuple[str, ...] = ()  # empty: deployed_components()

    def get_checks(self):
        for name in self.components or deployed_components():
            yield CHECKS[name]()
