"""The fault matrix (docs/reliability.md): each fault is made for real (a Redis killed, a worker
killed, a PostgreSQL cluster stopped, a seller's server that never answers) and the test shows what
the platform promises: pages serve or fail cleanly, nothing is lost, nothing is done twice."""

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
import requests
from django.db import connection
from django.utils import timezone

from billing.models import ExportJob, LedgerEntry, SettlementPeriod, Statement
from billing.services import statements_generate
from marketplace.core.models import Notification, OutboundEmail
from marketplace.orders.models import Order
from marketplace.provisioning import services as provisioning
from marketplace.provisioning.models import Instance, ProduceAttempt, ProduceMessage, SellerIntegration
from refunds.models import Refund
from tests.factories import PASSWORD, PlanFactory, SellerFactory

from .builders import adjustments, mail_subjects, months_ago, pay
from .processes import (
    PrivatePostgres,
    Web,
    Worker,
    database_url,
    free_port,
    publishing_to,
    record,
    wait_for,
)

pytestmark = [pytest.mark.worker]

HOUR = timedelta(hours=1)


# --- Redis unavailable -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_redis_down_pages_serve_nothing_is_lost_and_the_outbox_catches_up(
    tmp_path, redis, isv, integration, saas_product, seller, seller_user, buyer_user
):
    # given a web server and a worker on one Redis (broker and cache), a SaaS plan, a statement
    plan = PlanFactory(product=saas_product, sku_code="SAAS-STD")
    period = months_ago(2)
    adjustments([seller], period, per_seller=3)
    statements_generate(period=period)
    statement = Statement.objects.get(seller=seller, period=period)
    Statement.objects.filter(pk=statement.pk).update(status=Statement.Status.AWAITING_CONFIRMATION)  # sent
    web = Web(tmp_path, broker=redis.url())
    worker = Worker("w1", tmp_path, broker=redis.url())
    web.ready()
    worker.ready()

    # when Redis dies (everything queued in it is lost)
    redis.stop()
    seen, slowest = [], 0.0

    def call(session, method, path, **kwargs):
        nonlocal slowest
        started = time.monotonic()
        response = session.request(method, web.url + path, timeout=20, allow_redirects=False, **kwargs)
        slowest = max(slowest, time.monotonic() - started)
        seen.append((method, path, response.status_code))
        return response

    anonymous = requests.Session()
    for path in ("/", "/products/", f"/products/{saas_product.pk}/", "/verify/NO-SUCH-LETTER/"):
        call(anonymous, "GET", path)
    # a person signs in (session in the database) and opens a page
    browser = requests.Session()
    call(browser, "GET", "/accounts/login/")
    signed_in = call(
        browser,
        "POST",
        "/accounts/login/",
        data={"username": buyer_user.email, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": web.url + "/accounts/login/"},
    )
    call(browser, "GET", "/buyer/orders/")
    # the API: tokens (the sign-in throttle counts in the cache), an order paid, an export requested
    buyer = requests.Session()
    token = call(buyer, "POST", "/api/v1/auth/token/", json={"username": buyer_user.email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    buyer.headers["Authorization"] = f"Token {token.json()['token']}"
    order = call(buyer, "POST", "/api/v1/buyer/orders/", json={"plan": plan.pk}).json()
    call(buyer, "POST", f"/api/v1/buyer/orders/{order['id']}/pay/", json={"method": "online"})
    finance = requests.Session()
    token = call(finance, "POST", "/api/v1/auth/token/", json={"username": seller_user.email, "password": PASSWORD})
    finance.headers["Authorization"] = f"Token {token.json()['token']}"
    call(finance, "POST", f"/api/v1/seller/statements/{statement.pk}/exports/", json={"format": "csv"})

    # then every page and call answered, none with a server error
    assert all(status < 500 for _m, _p, status in seen), seen
    assert signed_in.status_code == 302 and dict((p, s) for _m, p, s in seen)["/buyer/orders/"] == 200
    # and what must leave is in the database, waiting: the produce call, the e-mails, the export
    message = ProduceMessage.objects.get()
    emails = OutboundEmail.objects.count()
    assert (message.status, message.attempts) == ("pending", 0)
    assert emails >= 1 and OutboundEmail.objects.filter(status="pending").count() == emails
    assert ExportJob.objects.get().status == "pending"

    # when Redis comes back (empty) and beat sends its sweeps
    redis.start()
    back = time.monotonic()
    with publishing_to(redis.url()) as app:
        for task in (
            "marketplace.core.tasks.deliver_pending_emails",
            "marketplace.provisioning.tasks.deliver_due_messages",
            "billing.tasks.resume_exports",
        ):
            app.send_task(task)

        def caught_up():
            return (
                ProduceMessage.objects.filter(status="succeeded").exists()
                and not OutboundEmail.objects.exclude(status="sent").exists()
                and ExportJob.objects.filter(status="done").exists()
            )

        assert wait_for(caught_up, timeout=45, every=0.2), worker.text()[-3000:]
        caught_up_in = time.monotonic() - back
        app.send_task("marketplace.core.tasks.deliver_pending_emails")  # the last one delivered may
        time.sleep(0.5)  # have queued more (the instance is ready): the sweep sends them too
        wait_for(lambda: not OutboundEmail.objects.exclude(status="sent").exists(), timeout=15)
    worker.stop()
    web.stop()

    # then everything went out once: the produce call, each e-mail, the export
    assert isv.count("newInstance") == 1 and Instance.objects.count() == 1
    assert Order.objects.get(pk=order["id"]).lines.get().provisioned_at is not None
    subjects = mail_subjects(tmp_path / "mail")
    assert len(subjects) == OutboundEmail.objects.count() >= emails
    assert set(OutboundEmail.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert ExportJob.objects.get().rows_done == 3
    record(
        "redis_down",
        {
            "requests_during_outage": len(seen),
            "server_errors": 0,
            "slowest_request_s": round(slowest, 2),
            "waiting_in_outbox": {"produce_calls": 1, "emails": emails, "exports": 1},
            "lost": 0,
            "duplicates": 0,
            "caught_up_s": round(caught_up_in, 2),
        },
    )


# --- a worker killed in the middle of a task ------------------------------------------------------------


def _waiting_on_a_lock(db, pattern: str) -> bool:
    return bool(
        db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND query LIKE %s",
            [pattern],
        ).fetchone()[0]
    )


def _lock_waiters(db, *, any_wait: bool = False) -> set[int]:
    """Sessions of this database waiting on a lock (with any_wait: every session still there)."""
    condition = "TRUE" if any_wait else "wait_event_type = 'Lock'"
    rows = db.execute(f"SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND {condition}").fetchall()
    return {pid for (pid,) in rows}


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_statement_generation_export_and_produce_call_loses_and_duplicates_nothing(
    tmp_path, redis, isv, integration, saas_product, seller, seller_user, buyer_user
):
    # given a statement with 400 lines to export, a month of 20 sellers to generate, an order paid
    # whose newInstance is queued, and the seller's server hanging on that call for a while
    rows, sellers = 400, 20
    exported, generated = months_ago(3), months_ago(2)
    adjustments([seller], exported, per_seller=rows)
    statements_generate(period=exported)
    statement = Statement.objects.get(seller=seller, period=exported)
    job = ExportJob.objects.create(
        statement=statement,
        seller=seller,
        requested_by=seller_user,
        format="csv",
        rows_total=rows,
        expires_at=timezone.now() + timedelta(days=3),
    )
    adjustments([SellerFactory() for _ in range(sellers)], generated)
    plan = PlanFactory(product=saas_product, sku_code="SAAS-STD")
    isv.hang_seconds = 4.0
    isv.set_behaviour("hang", times=1, activities=["newInstance"])
    env = {"PRODUCE_CONNECT_TIMEOUT": 1, "PRODUCE_TOTAL_TIMEOUT": 5, "PRODUCE_LEASE_SECONDS": 1}
    url = database_url()
    # Locks held by the test stop each task at a known point: generation inside its transaction
    # (the month locked, its INSERT waiting), the export after it wrote its first rows to the file.
    generation_lock, export_lock, progress_lock = (psycopg.connect(url) for _ in range(3))
    watcher = psycopg.connect(url, autocommit=True)
    try:
        with publishing_to(redis.url()) as app:
            order = pay(buyer_user, plan)  # queues its newInstance at commit
            generation_lock.execute("LOCK TABLE billing_feetier IN ACCESS EXCLUSIVE MODE")
            export_lock.execute("LOCK TABLE catalog_product IN ACCESS EXCLUSIVE MODE")
            app.send_task("billing.tasks.generate_statements", args=[generated.strftime("%Y-%m")])
            app.send_task("billing.tasks.run_export", args=[job.pk])
            first = Worker("first", tmp_path, broker=redis.url(), concurrency=3, **env).ready()

            # when all three are in the middle of their work
            assert wait_for(lambda: _waiting_on_a_lock(watcher, "COPY%"), timeout=30), first.text()[-3000:]
            progress_lock.execute("SELECT 1 FROM billing_exportjob WHERE id = %s FOR UPDATE", [job.pk])
            export_lock.rollback()  # the export reads its rows and writes them, then waits to save progress
            assert wait_for(lambda: _waiting_on_a_lock(watcher, 'UPDATE "billing_exportjob"%'), timeout=10)
            assert wait_for(lambda: _waiting_on_a_lock(watcher, "%billing_feetier%"), timeout=10)
            assert wait_for(lambda: isv.count("newInstance") == 1, timeout=10)
            # the worker dies, its pool processes with it
            stranded = _lock_waiters(watcher)  # its database sessions, waiting on the test's locks
            first.kill()
            killed = time.monotonic()
            generation_lock.rollback()
            progress_lock.rollback()
            # (a session whose client died runs the statement it was given, then finds the client
            # gone: the export's progress UPDATE, autocommit, may land; generation's transaction rolls
            # back)
            assert wait_for(lambda: not stranded & _lock_waiters(watcher, any_wait=True), timeout=15)

            # (what it left: rows written to a file, a job "running", no statement, a message leased)
            job.refresh_from_db()
            partial = (tmp_path / "media" / "private" / "exports").rglob("*.csv")
            partial_sizes = [path.stat().st_size for path in partial]
            message = ProduceMessage.objects.get()
            assert (job.status, job.file_path) == ("running", "") and job.rows_done in (0, rows)
            assert not Statement.objects.filter(period=generated).exists()
            assert not SettlementPeriod.objects.filter(period=generated, closed_at__isnull=False).exists()
            assert (message.status, message.attempts) == ("pending", 0) and message.lease_until is not None

            # and another worker starts: the broker hands it the dead worker's unacknowledged tasks
            # (acks late, visibility timeout 1 s here), and beat's sweeps run
            second = Worker("second", tmp_path, broker=redis.url(), CELERY_VISIBILITY_TIMEOUT=1, **env).ready()
            assert wait_for(lambda: Statement.objects.filter(period=generated).count() == sellers, timeout=30)
            assert wait_for(lambda: ExportJob.objects.filter(pk=job.pk, status="done").exists(), timeout=30)
            message.refresh_from_db()
            assert wait_for(lambda: timezone.now() > message.lease_until, timeout=15)  # the dead worker's lease
            app.send_task("marketplace.provisioning.tasks.deliver_due_messages")
            app.send_task("billing.tasks.resume_exports")
            app.send_task("billing.tasks.generate_statements", args=[generated.strftime("%Y-%m")])
            assert wait_for(lambda: ProduceMessage.objects.filter(status="succeeded").exists(), timeout=30)
            recovered_in = time.monotonic() - killed
            time.sleep(1.0)  # a duplicate would show now
            second.stop()
    finally:
        for db in (generation_lock, export_lock, progress_lock, watcher):
            db.close()

    # then statement generation completed once: one statement per seller, the month closed
    assert Statement.objects.filter(period=generated).count() == sellers
    assert Statement.objects.filter(period=generated).values("seller").distinct().count() == sellers
    assert SettlementPeriod.objects.get(period=generated).closed_at is not None
    # and the export was produced again, whole, as one file of one job
    job.refresh_from_db()
    files = list((tmp_path / "media" / "private" / "exports").rglob("*.csv"))
    assert len(files) == 1 and ExportJob.objects.count() == 1
    lines = files[0].read_text(encoding="utf-8-sig").splitlines()
    assert (job.status, job.rows_done, len(lines)) == ("done", rows, rows + 1)  # the header, every row once
    assert len({line.split(",", 1)[0] for line in lines[1:]}) == rows
    assert partial_sizes and partial_sizes[0] > 0  # it had written rows before it died: written again
    # and the produce call: the seller's server got it twice (the first answer died with the worker)
    # and, keyed by the order line, made one instance; the platform kept one, settled once, told once
    assert isv.count("newInstance") == 2 and len(isv.instances) == 1
    line = order.lines.get()
    assert Instance.objects.get().order_line == line
    assert LedgerEntry.objects.filter(order_line=line).count() == 1
    assert ProduceAttempt.objects.count() == 1  # the killed attempt left no record: it never returned
    assert Notification.objects.filter(user=buyer_user, link="/buyer/services/").count() == 1
    record(
        "worker_killed",
        {
            "statement_generation": {"sellers": sellers, "statements": sellers, "duplicates": 0},
            "export": {"rows": rows, "bytes_written_before_kill": partial_sizes[0], "rows_in_final_file": rows},
            "produce_call": {"calls_received_by_seller": 2, "instances": 1, "ledger_entries": 1},
            "recovered_s": round(recovered_in, 2),
        },
    )


# --- PostgreSQL restarted under load -------------------------------------------------------------------


def test_postgres_restarted_under_load_fails_requests_cleanly_and_recovers(tmp_path, django_db_setup):
    """Web servers on a PostgreSQL cluster of the test's own: one with Django's connection pool (a
    request waits at most DATABASE_POOL_TIMEOUT, 1 s here, for a connection) and one with a
    connection per request, under load from four threads each; and one with the pool that is idle
    while the cluster is away (its pooled connections all die unseen). The cluster stops for two
    seconds and starts again."""
    source = database_url()
    cluster = PrivatePostgres()
    try:
        cluster.init()
        subprocess.run(["psql", cluster.url(), "-qc", "CREATE DATABASE marketplace"], check=True, capture_output=True)
        dump = subprocess.run(["pg_dump", "--no-owner", source], check=True, capture_output=True)
        subprocess.run(["psql", "-q", cluster.url("marketplace")], input=dump.stdout, check=True, capture_output=True)
        common = {"DATABASE_URL": cluster.url("marketplace"), "DEBUG": "false", "SECURE_SSL_REDIRECT": "false"}
        common["SECRET_KEY"] = "fault-test-secret-key-0123456789-0123456789-0123456789"
        servers = {
            "pool": Web(tmp_path, name="web-pool", broker="", DATABASE_POOL="true", DATABASE_POOL_TIMEOUT=1, **common),
            "per_request": Web(tmp_path, name="web-plain", broker="", **common),
        }
        idle = Web(tmp_path, name="web-idle", broker="", DATABASE_POOL="true", **common)
        for web in [*servers.values(), idle]:
            web.ready()
            assert requests.get(web.url + "/api/v1/products/", timeout=10).status_code == 200
        with ThreadPoolExecutor(8) as pool:  # fill the idle server's pools: 2 processes x 4 threads
            list(pool.map(lambda _: requests.get(idle.url + "/api/v1/products/", timeout=10), range(40)))

        results = {name: [] for name in servers}  # (started, finished, status, body)
        stopping = threading.Event()

        def load(name, web):
            session = requests.Session()
            while not stopping.is_set():
                started = time.monotonic()
                try:
                    response = session.get(web.url + "/api/v1/products/", timeout=15)
                    status, body = response.status_code, response.text[:2000]
                except requests.RequestException as exc:
                    status, body = 0, repr(exc)
                results[name].append((started, time.monotonic(), status, body))
                time.sleep(0.02)

        threads = [threading.Thread(target=load, args=item) for item in servers.items() for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        down = time.monotonic()
        cluster.stop()
        time.sleep(2.0)
        cluster.start()
        up = time.monotonic()
        time.sleep(4.0)
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)
        with ThreadPoolExecutor(8) as pool:  # the idle server's first requests after the restart
            after_idle = [
                r.status_code
                for r in pool.map(lambda _: requests.get(idle.url + "/api/v1/products/", timeout=15), range(40))
            ]
        for web in [*servers.values(), idle]:
            web.stop()
    finally:
        cluster.destroy()

    figures = {"outage_s": round(up - down, 2)}
    for name, calls in results.items():
        failed = [c for c in calls if c[2] != 200]
        # failures only while the database was away (or in the requests it cut short) ...
        assert all(c[1] >= down and c[0] <= up + 0.5 for c in failed), [(c[0] - down, c[2]) for c in failed]
        # ... each a clean 503 with Retry-After: no traceback, no connection dropped
        assert {c[2] for c in failed} <= {503}, {c[2] for c in failed}
        assert not any("Traceback" in c[3] or 'File "' in c[3] for c in failed)
        # and served again right after: every request started after the first success got a 200
        first_ok = min(c[1] for c in calls if c[2] == 200 and c[0] >= up)
        assert all(c[2] == 200 for c in calls if c[0] >= first_ok)
        assert len(calls) > 20
        assert max(c[1] - c[0] for c in calls) < 4  # nobody waits out the outage, let alone gunicorn's timeout
        print(
            name, [(round(c[0] - down, 2), round(c[1] - down, 2), c[2]) for c in failed], "up at", round(up - down, 2)
        )
        figures[name] = {
            "requests": len(calls),
            "failed_503": len(failed),
            "failed_after_restart": sum(c[0] >= up for c in failed),
            "other_errors": 0,
            "recovered_s_after_start": round(first_ok - up, 2),
            "slowest_s": round(max(c[1] - c[0] for c in calls), 2),
        }
    # and the server that was idle throughout answers its first requests: no dead pooled connection
    assert after_idle == [200] * 40, after_idle
    figures["pool_idle_during_outage"] = {"requests_after_restart": 40, "failed": 0}
    record("postgres_restart", figures)


# --- the seller's server down for the whole retry window ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_seller_server_down_for_the_whole_retry_window_fails_the_order_and_refunds_it_once(
    seller, buyer_user, saas_product
):
    """newInstance at 0, 1 h, 2 h, 3 h (NEW_INSTANCE_SCHEDULE) to a port nobody listens on; the last
    round is swept by two workers at once. (tests/provisioning/test_delivery.py has the same schedule
    against a server answering a retryable error, step by step.)"""
    provisioning.access_key_issue(seller=seller, purpose="produce", secret="isv-down-key")
    dead = f"http://127.0.0.1:{free_port()}/produce"
    SellerIntegration.objects.create(seller=seller, produce_url=dead, sync_base_url="", deploy_url="")
    plan = PlanFactory(product=saas_product, sku_code="SAAS-STD", price=Decimal("100.00"))

    order = pay(buyer_user, plan)  # the first round, at commit: connection refused
    message = ProduceMessage.objects.get()
    start = message.created_at
    assert (message.status, message.rounds) == ("pending", 1)
    assert provisioning.messages_deliver_due(now=start + HOUR - timedelta(seconds=1)) == 0  # not due yet
    assert provisioning.messages_deliver_due(now=start + HOUR) == 1
    assert provisioning.messages_deliver_due(now=start + 2 * HOUR) == 1

    # the last round: two workers' sweeps at the same moment
    delivered = []

    def sweep():
        try:
            delivered.append(provisioning.messages_deliver_due(now=start + 3 * HOUR))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # and later sweeps, days after
    assert provisioning.messages_deliver_due(now=start + 24 * HOUR) == 0

    message.refresh_from_db()
    order.refresh_from_db()
    assert sorted(delivered) == [0, 1]  # one sweep had it; the other found it leased
    assert (message.status, message.attempts, message.rounds) == ("failed", 4, 4)
    assert list(message.attempt_log.values_list("outcome", flat=True)) == ["retry", "retry", "retry", "failure"]
    assert order.status == "refunded"
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("100.00")]
    assert not Instance.objects.exists() and not LedgerEntry.objects.exists()
    failed_notices = Notification.objects.filter(user=buyer_user, link=f"/buyer/orders/{order.pk}/").count()
    assert failed_notices == 2  # paid, then could not be delivered
    record(
        "isv_down_whole_window",
        {
            "attempts": 4,
            "at_hours": [0, 1, 2, 3],
            "concurrent_final_sweeps": 2,
            "refunds": Refund.objects.count(),
            "order": order.status,
        },
    )
