"""Exports survive lost task messages and dead workers: a run holds an advisory lock on its job, and
the sweep (resume_exports) queues again what nobody holds. The same with a worker really killed:
tests/integration/test_faults.py."""

from datetime import date, timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from billing.models import ExportJob, Statement
from billing.services import statements_generate
from billing.services.exports import EXPORT_LOCKS, export_run, exports_resume
from tests.integration.builders import adjustments

from .builders import bj

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)


@pytest.fixture
def job_of(seller, seller_user, private_files):
    adjustments([seller], MARCH, per_seller=3)
    statements_generate(period=MARCH, now=bj(2026, 4, 3))
    statement = Statement.objects.get(seller=seller)

    def make(status=ExportJob.Status.PENDING):
        return ExportJob.objects.create(
            statement=statement,
            seller=seller,
            requested_by=seller_user,
            format="csv",
            status=status,
            rows_total=3,
            expires_at=timezone.now() + timedelta(days=3),
        )

    return make


@pytest.fixture
def other_session():
    """Another worker's database session, holding locks of its own."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as session:
        yield session


def test_a_job_another_worker_is_producing_is_left_alone(job_of, other_session):
    job = job_of(ExportJob.Status.RUNNING)
    other_session.execute("SELECT pg_advisory_lock(%s, %s)", [EXPORT_LOCKS, job.pk])

    assert export_run(job_id=job.pk) is None  # a redelivered task while the first run goes on
    assert exports_resume() == 0  # nor does the sweep queue it
    job.refresh_from_db()
    assert (job.status, job.file_path) == ("running", "")

    other_session.execute("SELECT pg_advisory_unlock(%s, %s)", [EXPORT_LOCKS, job.pk])  # that worker died
    assert export_run(job_id=job.pk).status == "done"


def test_the_sweep_runs_again_what_a_lost_message_or_a_dead_worker_left(job_of):
    lost = job_of(ExportJob.Status.PENDING)  # the broker was down when it was requested
    orphaned = job_of(ExportJob.Status.RUNNING)  # its worker died mid-run
    done = job_of(ExportJob.Status.DONE)

    assert exports_resume() == 2  # (tasks run eagerly here)

    assert list(ExportJob.objects.filter(pk__in=[lost.pk, orphaned.pk]).values_list("status", "rows_done")) == [
        ("done", 3),
        ("done", 3),
    ]
    done.refresh_from_db()
    assert (done.status, done.file_path) == ("done", "")  # a finished job is never redone
    assert exports_resume() == 0
