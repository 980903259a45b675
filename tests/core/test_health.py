"""Health endpoints: /health/live/ without the database; /health/ and one endpoint per component,
200 when it is up and 500 when it is not."""

import os
import socket

import pytest
import redis

from marketplace.celery import app as celery_app


def test_live_answers_without_touching_the_database(client):
    # No django_db mark: any query would fail the test.
    response = client.get("/health/live/")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_all_checks_what_the_deployment_uses(client, settings):
    response = client.get("/health/?format=json")

    assert response.status_code == 200
    expected = {"database": "OK", "cache": "OK"} | ({"redis": "OK"} if settings.REDIS_URL else {})
    assert response.json() == expected  # tasks run in-process here: no workers to ask


@pytest.mark.django_db
def test_all_includes_the_workers_when_tasks_go_through_a_broker(client, settings):
    settings.HEALTH_WORKERS_TIMEOUT = 0.2
    celery_app.conf.task_always_eager = False  # tests/conftest.py turns it on again before each test
    try:
        response = client.get("/health/?format=json")
    finally:
        celery_app.conf.task_always_eager = True

    assert response.status_code == 500  # no worker runs during the unit tests
    assert response.json()["workers"].startswith("Unavailable")
    assert response.json()["database"] == "OK"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "name"), [("/health/db/", "database"), ("/health/cache/", "cache")])
def test_a_component_that_is_up_answers_200(client, path, name):
    response = client.get(path, HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response.json() == {name: "OK"}


@pytest.mark.django_db
def test_the_page_is_html_for_a_browser(client):
    response = client.get("/health/db/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_redis_up_answers_200(client, settings):
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not running at {url}")
    settings.REDIS_URL = url

    response = client.get("/health/redis/?format=json")

    assert response.status_code == 200
    assert response.json() == {"redis": "OK"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


@pytest.mark.django_db
def test_redis_down_answers_500(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = client.get("/health/redis/?format=json")

    assert response.status_code == 500
    assert response.json()["redis"].startswith("Unavailable")


@pytest.mark.django_db
def test_redis_not_configured_answers_500(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/health/redis/?format=json")

    assert response.status_code == 500


@pytest.mark.django_db
def test_workers_answer_500_when_no_worker_answers(client, settings):
    settings.HEALTH_WORKERS_TIMEOUT = 0.2  # the project's broker, where no worker runs during unit tests

    response = client.get("/health/workers/?format=json")

    assert response.status_code == 500
    assert response.json() == {"workers": "Unavailable: no worker answered"}
