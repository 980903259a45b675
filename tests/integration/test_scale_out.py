"""Scale-out on one machine (docs/scaling.md): two Celery workers on one PostgreSQL and one Redis
deliver every message once and generate one statement per seller and month; exports and reports
read from a replica when DATABASE_REPLICA_URL names one."""

import json
import subprocess
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from billing.models import ExportJob, SettlementPeriod, Statement
from billing.services import statements_generate
from marketplace.core.db_router import reporting_db
from marketplace.core.models import OutboundEmail
from marketplace.provisioning.models import Instance, ProduceAttempt, ProduceMessage
from tests.factories import BuyerFactory, PlanFactory, SellerFactory

from .builders import adjustments, mail_subjects, months_ago, pay
from .processes import BIN, ROOT, Worker, database_url, process_env, publishing_to, record, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ORDERS = 30  # paid SaaS orders: one newInstance each, and their e-mails
EMAILS = 150  # more e-mails, each queued three times over
SELLERS = 40  # sellers with a statement to generate


def test_two_workers_deliver_every_message_once_and_make_one_statement_each(
    tmp_path, redis, isv, integration, saas_product
):
    # given two workers (two processes each) on one database and one broker
    workers = [Worker(name, tmp_path, broker=redis.url(), concurrency=2) for name in ("w1", "w2")]
    plan = PlanFactory(product=saas_product, sku_code="SAAS-STD")
    buyers = [BuyerFactory().memberships.get().user for _ in range(ORDERS)]
    sellers = [SellerFactory() for _ in range(SELLERS)]
    period = months_ago(2)
    adjustments(sellers, period)
    bulk = OutboundEmail.objects.bulk_create(
        OutboundEmail(to=f"bulk{i}@example.test", subject=f"bulk-{i}", body="hello") for i in range(EMAILS)
    )
    for worker in workers:
        worker.ready()

    # when orders are paid (each queues its produce call and e-mails, as a page would), every bulk
    # e-mail is queued three times (alone, in a batch, by the sweep), statement generation is asked
    # four times at once, and both workers run the sweeps meanwhile
    started = time.monotonic()
    with publishing_to(redis.url()) as app:
        for user in buyers:
            pay(user, plan)
        for email in bulk:
            app.send_task("marketplace.core.tasks.deliver_email", args=[email.pk])
        ids = [email.pk for email in bulk]
        for i in range(0, EMAILS, 25):
            app.send_task("marketplace.core.tasks.deliver_emails", args=[ids[i : i + 25]])
        for _ in range(4):
            app.send_task("billing.tasks.generate_statements", args=[period.strftime("%Y-%m")])
            app.send_task("marketplace.core.tasks.deliver_pending_emails")
            app.send_task("marketplace.provisioning.tasks.deliver_due_messages")

        def done():
            return (
                ProduceMessage.objects.filter(status="succeeded").count() == ORDERS
                and not OutboundEmail.objects.exclude(status="sent").exists()
                and SettlementPeriod.objects.filter(period=period, closed_at__isnull=False).exists()
            )

        assert wait_for(done, timeout=60, every=0.2), (
            ProduceMessage.objects.values_list("status", "error"),
            OutboundEmail.objects.exclude(status="sent").count(),
            workers[0].text()[-2000:],
        )
        elapsed = time.monotonic() - started
        # (the sweeps once more, after everything is done: they must find nothing to do)
        app.send_task("marketplace.core.tasks.deliver_pending_emails")
        app.send_task("marketplace.provisioning.tasks.deliver_due_messages")
        time.sleep(1.5)  # anything sent twice would arrive now
    received = [worker.received() for worker in workers]
    for worker in workers:
        worker.stop()

    # then each produce call reached the seller's server once and made one instance
    assert isv.count("newInstance") == ORDERS
    assert len(isv.instances) == ORDERS
    assert ProduceAttempt.objects.count() == ORDERS
    assert Instance.objects.count() == ORDERS
    # and each e-mail row was sent once: as many messages written as rows, each bulk subject once
    subjects = mail_subjects(tmp_path / "mail")
    assert len(subjects) == OutboundEmail.objects.count()
    assert all(subjects.count(f"bulk-{i}") == 1 for i in range(EMAILS))
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}
    # and the month has one statement per seller, whichever worker generated it
    assert Statement.objects.filter(period=period).count() == SELLERS
    assert Statement.objects.filter(period=period).values("seller").distinct().count() == SELLERS
    # and both workers took work
    assert all(received), received
    record(
        "two_workers",
        {
            "workers": "2 x 2 processes",
            "produce_calls": ORDERS,
            "emails": len(subjects),
            "statements": SELLERS,
            "duplicates": 0,
            "lost": 0,
            "tasks_per_worker": received,
            "seconds": round(elapsed, 2),
        },
    )


REPLICA_CHECK = """
import json, sys
import django
django.setup()
from django.db import connections
from django.test.utils import CaptureQueriesContext
from billing.models import ExportJob, LedgerEntry, Statement
from billing.pdf import statement_pdf
from billing.selectors import statement_entries
from billing.services.exports import export_run
from marketplace.core.db_router import replica_reads, reporting_db

job_id, statement_id = int(sys.argv[1]), int(sys.argv[2])
job = export_run(job_id=job_id)
statement = Statement.objects.get(pk=statement_id)
with CaptureQueriesContext(connections["replica"]) as pdf:
    statement_pdf(statement)
with replica_reads():
    seen_inside = LedgerEntry.objects.filter(reason="REPLICA-ONLY").exists()
    ExportJob.objects.filter(pk=job_id).update(error="written inside replica_reads")
print(json.dumps({
    "reporting_db": reporting_db(),
    "file": job.file_path,
    "rows": job.rows_done,
    "lines_page": [e.reason for e in statement_entries(statement=statement)],
    "pdf_read_the_replica": any("billing_ledgerentry" in q["sql"] for q in pdf.captured_queries),
    "primary_has_it": LedgerEntry.objects.filter(reason="REPLICA-ONLY").exists(),
    "seen_inside_replica_reads": seen_inside,
}))
"""


def test_exports_and_reports_read_the_replica_named_by_database_replica_url(tmp_path, seller, seller_user):
    # given a generated statement of five entries, and an export of it waiting
    period = months_ago(2)
    adjustments([seller], period, per_seller=5)
    statements_generate(period=period)
    statement = Statement.objects.get(seller=seller, period=period)
    job = ExportJob.objects.create(
        statement=statement,
        seller=seller,
        requested_by=seller_user,
        format="csv",
        rows_total=5,
        expires_at=timezone.now() + timedelta(days=3),
    )
    assert reporting_db() == "default"  # without DATABASE_REPLICA_URL everything reads the primary

    # and a replica: a second database on the same server, copied from this one, holding one line
    # the primary lacks (as if the primary had lost it: only a read of the replica can show it)
    primary = connection.settings_dict["NAME"]
    replica = f"{primary}_replica"[:63]
    connection.close()
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{replica}" WITH (FORCE)')
        assert wait_for(lambda: _copy(admin, primary, replica), timeout=10, every=0.2)
    try:
        with psycopg.connect(database_url(replica), autocommit=True) as db:
            db.execute(
                "INSERT INTO billing_ledgerentry (seller_id, trade_mode, period, kind, gross, fee_rate, fee, net,"
                " currency, occurred_at, posted_at, source, reason) SELECT seller_id, trade_mode, period,"
                " 'adjustment', 1, 0, 0, 1, currency, occurred_at, posted_at, 'replica-marker', 'REPLICA-ONLY'"
                " FROM billing_ledgerentry WHERE seller_id = %s LIMIT 1",
                [seller.pk],
            )

        # when a process configured with DATABASE_REPLICA_URL runs the export, the statement's lines
        # page, its PDF, and a write inside replica_reads()
        env = process_env(
            tmp_path, broker="", CELERY_TASK_ALWAYS_EAGER="true", DATABASE_REPLICA_URL=database_url(replica)
        )
        out = subprocess.run(
            [str(BIN / "python"), "-c", REPLICA_CHECK, str(job.pk), str(statement.pk)],
            env={**env, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        seen = json.loads(out.stdout.strip().splitlines()[-1])
        with psycopg.connect(database_url(replica), autocommit=True) as db:
            replica_job = db.execute("SELECT status, error FROM billing_exportjob WHERE id = %s", [job.pk]).fetchone()
    finally:
        with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{replica}" WITH (FORCE)')

    # then the reads went to the replica: the export file, the lines page and the PDF have its line
    exported = (tmp_path / "media" / "private" / seen["file"]).read_text(encoding="utf-8-sig")
    assert seen["reporting_db"] == "replica"
    assert "REPLICA-ONLY" in exported and seen["rows"] == 6
    assert "REPLICA-ONLY" in seen["lines_page"]
    assert seen["pdf_read_the_replica"]
    # and everything else read and wrote the primary: the job's progress and result, the write made
    # inside replica_reads(); the replica (a copy) never saw them
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.error) == ("done", 6, "written inside replica_reads")
    assert replica_job == ("pending", "")
    assert not seen["primary_has_it"] and seen["seen_inside_replica_reads"]
    record("replica_router", {"export_rows_from_replica": 6, "writes_on_replica": 0})


def _copy(admin, primary: str, replica: str) -> bool:
    """CREATE DATABASE ... TEMPLATE needs the source idle for a moment (a connection just closed)."""
    try:
        admin.execute(f'CREATE DATABASE "{replica}" TEMPLATE "{primary}"')
    except psycopg.errors.ObjectInUse:
        # A connection of an earlier test that nothing uses any more (idle for seconds: this test
        # closed its own) keeps the source busy; in a long run of the suite there can be one.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND state = 'idle'"
            " AND state_change < now() - interval '5 seconds'",
            [primary],
        )
        return False
    return True
