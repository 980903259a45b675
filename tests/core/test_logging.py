"""Structured logs: a request id on every response and log line, carried into the tasks a request
queues (in the message headers for a worker; still bound for an eager task)."""

import io
import json
import logging
from types import SimpleNamespace

import pytest
from celery import Celery
from django.http import HttpResponse
from django.urls import path

from marketplace.core import logging as request_log
from marketplace.core import tasks as core_tasks
from marketplace.core.logging import (
    JsonFormatter,
    PlainFormatter,
    add_request_id_header,
    bind_task_context,
    get_request_id,
    log_context,
    unbind_task_context,
)

view_log = logging.getLogger("tests.view")
task_log = logging.getLogger("tests.task")


def logged_view(request):
    request.user.is_authenticated  # as login_required does, so the user is loaded
    view_log.info("serving the page")
    core_tasks.deliver_email.delay(0)  # eager in the tests
    return HttpResponse("ok")


urlpatterns = [path("logged/", logged_view)]


@pytest.fixture
def log_lines(monkeypatch):
    """JSON lines of tests.view, tests.task and marketplace.tasks (the line each task ends with)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [view_log, task_log, logging.getLogger("marketplace.tasks")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    monkeypatch.setattr(core_tasks, "email_deliver", lambda *, email_id: task_log.info("delivering %s", email_id))
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_log_lines_of_a_request_and_of_the_task_it_queues_carry_its_id(client, buyer_user, log_lines):
    client.force_login(buyer_user)

    response = client.get("/logged/")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    by_logger = {line["logger"]: line for line in log_lines()}
    view_line, task_line, done_line = by_logger["tests.view"], by_logger["tests.task"], by_logger["marketplace.tasks"]
    assert view_line["message"] == "serving the page"
    assert {"level": "INFO", "request_id": request_id, "user_id": buyer_user.pk, "path": "/logged/"}.items() <= (
        view_line.items()
    )
    assert view_line["time"].endswith("+00:00")
    assert task_line["request_id"] == request_id
    assert task_line["task"] == "marketplace.core.tasks.deliver_email"
    assert task_line["task_id"]
    assert done_line["request_id"] == request_id
    assert done_line["level"] == "DEBUG"
    assert get_request_id() is None  # nothing stays bound after the request


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_an_anonymous_request_logs_no_user(client, log_lines):
    client.get("/logged/")

    assert next(line for line in log_lines() if line["logger"] == "tests.view")["user_id"] is None


@pytest.mark.django_db
def test_a_sane_request_id_from_the_proxy_is_echoed(client):
    response = client.get("/health/live/", HTTP_X_REQUEST_ID="edge-01:9f2c.a_b")

    assert response["X-Request-ID"] == "edge-01:9f2c.a_b"


@pytest.mark.parametrize("sent", ["", "has space", "<script>", "x" * 200, "-starts-with-dash", "ünïcode"])
@pytest.mark.django_db
def test_an_odd_request_id_is_replaced(client, sent):
    response = client.get("/health/live/", HTTP_X_REQUEST_ID=sent)

    assert response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32
    int(response["X-Request-ID"], 16)


@pytest.mark.django_db
def test_every_response_has_an_id_and_each_request_its_own(client):
    first, second = client.get("/health/live/"), client.get("/no-such-page-here/")

    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert len(second["X-Request-ID"]) == 32


# --- the path through a broker, signal by signal --------------------------------------------------


def test_publishing_a_task_puts_the_bound_request_id_in_its_headers():
    headers = {"id": "t-1", "task": "marketplace.core.tasks.deliver_email"}

    with log_context(request_id="r-1"):
        add_request_id_header(sender="marketplace.core.tasks.deliver_email", headers=headers)

    assert headers["request_id"] == "r-1"


def test_publishing_outside_a_request_adds_no_header():
    headers = {"id": "t-1"}

    add_request_id_header(sender="marketplace.core.tasks.deliver_email", headers=headers)

    assert headers == {"id": "t-1"}


def test_a_worker_binds_the_id_from_the_message_while_the_task_runs_and_clears_it_after():
    task = SimpleNamespace(name="marketplace.core.tasks.deliver_email", request=SimpleNamespace(request_id="r-2"))

    bind_task_context(task_id="t-2", task=task)
    during = (get_request_id(), request_log.current()["task"], request_log.current()["task_id"])
    unbind_task_context(task_id="t-2", task=task, state="SUCCESS")

    assert during == ("r-2", "marketplace.core.tasks.deliver_email", "t-2")
    assert get_request_id() is None
    assert request_log.current() == {}


def test_an_eager_task_keeps_the_id_of_the_request_it_runs_in():
    task = SimpleNamespace(name="x.y", request=SimpleNamespace(headers=None))

    with log_context(request_id="r-3"):
        bind_task_context(task_id="t-3", task=task)
        during = get_request_id()
        unbind_task_context(task_id="t-3", task=task, state="SUCCESS")
        after = get_request_id()

    assert (during, after) == ("r-3", "r-3")


def test_a_published_message_carries_the_id_in_its_headers():
    broker = Celery(broker="memory://", set_as_current=False)
    broker.conf.task_default_queue = "email"

    with broker.connection_for_write() as conn:
        queue = conn.SimpleQueue("email", no_ack=True)
        with log_context(request_id="r-4"):
            broker.send_task("marketplace.core.tasks.deliver_email", args=[1], connection=conn)
        message = queue.get(timeout=2)
        queue.close()

    assert message.headers["request_id"] == "r-4"
    assert message.headers["task"] == "marketplace.core.tasks.deliver_email"


# --- formats -----------------------------------------------------------------------------------------


def record(msg="hello %s", args=("world",), exc_info=None, **extra):
    rec = logging.LogRecord("tests.fmt", logging.WARNING, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra)
    return rec


def test_json_lines_have_the_fields_extras_and_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        exc_info = sys.exc_info()

    with log_context(request_id="r-5"):
        line = json.loads(JsonFormatter().format(record(exc_info=exc_info, order_id=7, when=object())))

    assert {"level": "WARNING", "logger": "tests.fmt", "message": "hello world", "request_id": "r-5"}.items() <= (
        line.items()
    )
    assert line["order_id"] == 7
    assert line["when"].startswith("<object")
    assert "ValueError: boom" in line["exc"]
    assert line["user_id"] is None


def test_plain_lines_end_with_the_context():
    with log_context(request_id="r-6"):
        line = PlainFormatter().format(record())

    assert line.endswith("WARNING tests.fmt hello world [request_id=r-6]")
    assert PlainFormatter().format(record()).endswith("WARNING tests.fmt hello world")
