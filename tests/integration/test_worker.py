"""A real Celery worker, started as a process, against Redis and the test database."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from marketplace.celery import QUEUES, TASK_ROUTES
from marketplace.core import health
from marketplace.core.logging import log_context
from marketplace.core.models import OutboundEmail

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
# A database of its own so the test never meets another process's messages.
BROKER = REDIS_URL.rsplit("/", 1)[0] + "/15"


@pytest.fixture
def worker(tmp_path):
    try:
        redis.Redis.from_url(BROKER).flushdb()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not running at {BROKER}")
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database another process can open (PostgreSQL)")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",  # four slashes: an absolute path
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",  # the line each task ends with is DEBUG
    }
    celery = Path(sys.executable).with_name("celery")
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(celery),
                "-A",
                "marketplace",
                "worker",
                "--pool",
                "solo",
                "--without-heartbeat",
                "-Q",
                ",".join(QUEUES),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    # Not the current app: shared tasks of later tests must keep resolving to the project's (eager) app.
    # Routed as the project routes them, so each message goes to its own queue.
    client = Celery(broker=BROKER, set_as_current=False)
    client.conf.task_default_queue = "default"
    client.conf.task_routes = {name: {"queue": queue} for name, queue in TASK_ROUTES.items()}
    yield client, tmp_path / "mail"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_delivers_queued_and_left_behind_emails(worker):
    client, maildir = worker
    queued = OutboundEmail.objects.create(to="a@example.com", subject="Queued", body="one")
    left_behind = OutboundEmail.objects.create(to="b@example.com", subject="Left behind", body="two")

    # One through its own task, the other only by the periodic sweep (as if its message were lost).
    client.send_task("marketplace.core.tasks.deliver_email", args=[queued.pk])
    assert wait_for(lambda: OutboundEmail.objects.get(pk=queued.pk).status == "sent"), "the worker did not deliver"
    assert OutboundEmail.objects.get(pk=left_behind.pk).status == "pending"
    client.send_task("marketplace.core.tasks.deliver_pending_emails")
    assert wait_for(lambda: OutboundEmail.objects.get(pk=left_behind.pk).status == "sent")

    # Running a delivery again sends nothing twice.
    client.send_task("marketplace.core.tasks.deliver_email", args=[queued.pk])
    client.send_task("marketplace.core.tasks.deliver_pending_emails")
    time.sleep(1.5)
    written = "".join(p.read_text() for p in maildir.iterdir())
    assert written.count("Subject: Queued") == 1
    assert written.count("Subject: Left behind") == 1
    assert OutboundEmail.objects.get(pk=queued.pk).attempts == 1


def test_a_task_logs_the_request_id_of_the_request_that_queued_it(worker, tmp_path):
    client, _maildir = worker
    email = OutboundEmail.objects.create(to="a@example.com", subject="Traced", body="one")

    with log_context(request_id="req-4f2a9c"):  # as RequestIdMiddleware binds it for a request
        client.send_task("marketplace.core.tasks.deliver_email", args=[email.pk])

    def task_lines():
        lines = [
            json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines() if line.startswith("{")
        ]
        return [line for line in lines if line.get("task") == "marketplace.core.tasks.deliver_email"]

    assert wait_for(task_lines), "the worker logged nothing for the task"
    assert {line["request_id"] for line in task_lines()} == {"req-4f2a9c"}
    assert OutboundEmail.objects.get(pk=email.pk).status == "sent"


def test_the_workers_health_endpoint_answers_200_while_every_queue_has_a_worker(worker, client, monkeypatch, settings):
    celery_client, _maildir = worker
    monkeypatch.setattr(health, "celery_app", lambda: celery_client)
    settings.HEALTH_WORKERS_TIMEOUT = 2.0

    def get(url):
        # The health view is async: the test client runs it with async_to_sync, which refuses a thread
        # whose event loop is running (Playwright's, when the browser tests ran earlier in this process).
        answer = {}
        thread = threading.Thread(target=lambda: answer.update(response=client.get(url)))
        thread.start()
        thread.join()
        return answer["response"]

    assert wait_for(lambda: get("/health/workers/?format=json").status_code == 200, timeout=60)
    assert get("/health/workers/?format=json").json() == {"workers": "OK"}
