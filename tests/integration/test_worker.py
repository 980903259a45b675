"""A real Celery worker, started as a process, against Redis and the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

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
    }
    celery = Path(sys.executable).with_name("celery")
    proc = subprocess.Popen(
        [str(celery), "-A", "marketplace", "worker", "--pool", "solo", "--loglevel", "INFO", "--without-heartbeat"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Not the current app: shared tasks of later tests must keep resolving to the project's (eager) app.
    client = Celery(broker=BROKER, set_as_current=False)
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
