"""Benchmarks: each prints ours, the limit measured in the same run, and the ratio, and writes them
to bench/results.json as [{"name", "n", "ours_s", "limit_s", "ratio", ...}].

    python bench/run.py [--only statement_generation,export_csv,export_xlsx] [--scale 1.0]

Runs against DATABASE_URL (PostgreSQL), which it fills with generated data: `make bench` points it
at a scratch database of its own.
"""

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
PERIOD = date(2026, 1, 1)


def timed(fn, repeat=3):
    """Median wall time of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or {})


def reset():
    sql(
        """TRUNCATE billing_exportjob, billing_statementevent, billing_countersignature, billing_dispute,
        billing_statement, billing_settlementperiod, billing_ledgerentry, orders_orderevent, orders_payment,
        orders_orderline, orders_order, orders_subscription, catalog_plan, catalog_productevent,
        catalog_product, catalog_category, accounts_sellermembership, accounts_sellerevent,
        accounts_sellerapplicationdocument, accounts_sellerapplicationevent, accounts_sellerapplication,
        accounts_seller, accounts_buyermembership, accounts_orgunit, accounts_buyer CASCADE"""
    )


def make_sellers(count):
    sql(
        """INSERT INTO accounts_seller (name, credit_code, established_on, registered_capital, staff_count,
               support_days_per_week, support_hours_per_day, bound_email, contact_phone, address, status, created_at)
           SELECT 'bench seller ' || g, lpad(g::text, 18, '0'), '2015-01-01', 1000000, 20, 5, 8,
                  'bench' || g || '@bench.example.com', '', '', 'active', now()
           FROM generate_series(1, %(n)s) g""",
        {"n": count},
    )


MODES = "ARRAY['general','joint','strict','strict_self','platform']"


def make_entries(count, sellers, period=PERIOD, seller_offset=0, order_lines=False):
    """``count`` ledger entries of one month spread over ``sellers`` sellers and all trade modes."""
    sql(
        f"""INSERT INTO billing_ledgerentry (seller_id, trade_mode, period, kind, order_line_id, gross, fee_rate,
               fee, net, currency, occurred_at, posted_at, source, reason)
           SELECT s.min_id + (g %% %(sellers)s), ({MODES})[1 + (g / %(sellers)s) %% 5], %(period)s, 'order',
                  NULL, amount, 0.0500, round(amount * 0.05, 2), amount - round(amount * 0.05, 2), 'CNY',
                  %(period)s::date + (g %% 28) * interval '1 day', %(period)s::date + (g %% 28) * interval '1 day',
                  'bench:' || %(offset)s || ':' || g, ''
           FROM generate_series(1, %(n)s) g,
                LATERAL (SELECT ((g::bigint * 7919) %% 500000)::numeric / 100 + 1 AS amount) a,
                (SELECT min(id) + %(offset)s AS min_id FROM accounts_seller) s""",
        {"n": count, "sellers": sellers, "period": period, "offset": seller_offset},
    )
    sql("ANALYZE billing_ledgerentry")


# --- statement generation ---------------------------------------------------------------------

# The limit: the same totals into the same table (same indexes and constraints), by the plainest
# statement that can produce them.
HAND_WRITTEN = """
INSERT INTO billing_statement (seller_id, trade_mode, period, status, currency, line_count, gross, fee, net,
                               extra_share_rate, extra_share, carried_in, net_payable, generated_at, review_due)
SELECT seller_id, trade_mode, period, 'generated', 'CNY', COUNT(*), SUM(gross), SUM(fee), SUM(net), 0, 0, 0, SUM(net),
       now(), current_date
FROM billing_ledgerentry WHERE period = %(period)s GROUP BY seller_id, trade_mode, period
"""


def bench_statement_generation(scale):
    from billing.services import statements_generate

    n, sellers = int(1_000_000 * scale), max(10, int(10_000 * scale))
    reset()
    make_sellers(sellers)
    make_entries(n, sellers)

    def limit(jit="on"):
        with transaction.atomic():
            sql(f"SET LOCAL jit = {jit}")
            sql(HAND_WRITTEN, {"period": PERIOD})
            transaction.set_rollback(True)

    def ours():
        statements_generate(period=PERIOD, dry_run=True)  # the whole generation, rolled back

    limit()
    ours()  # warm the cache for both
    # The limit is the faster of the plain statement with and without JIT compilation.
    limit_s = min(timed(limit), timed(lambda: limit("off")))
    ours_s = timed(ours)
    result = statements_generate(period=PERIOD)
    with connection.cursor() as cursor:  # the same totals as the plain aggregate
        cursor.execute(
            """SELECT count(*) FROM billing_statement s JOIN (
                   SELECT seller_id, trade_mode, COUNT(*) n, SUM(gross) g, SUM(fee) f, SUM(net) t
                   FROM billing_ledgerentry WHERE period = %(period)s GROUP BY seller_id, trade_mode) a
               ON a.seller_id = s.seller_id AND a.trade_mode = s.trade_mode
               WHERE s.period = %(period)s AND s.gross = a.g AND s.fee = a.f AND s.net = a.t AND s.line_count = a.n""",
            {"period": PERIOD},
        )
        matching = cursor.fetchone()[0]
    assert matching == result["created"], (matching, result)
    return {
        "name": "statement_generation",
        "n": n,
        "sellers": sellers,
        "statements": result["created"],
        "ours_s": ours_s,
        "limit_s": limit_s,
        "ratio": ours_s / limit_s,
    }


# --- exports ------------------------------------------------------------------------------------


def export_fixture(lines):
    """One seller's general statement of ``lines`` entries, each with its order line."""
    from billing.models import Statement
    from billing.services import statements_generate
    from marketplace.accounts.models import User

    reset()
    make_sellers(1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_seller LIMIT 1")
        seller_id = cursor.fetchone()[0]
    user, _ = User.objects.get_or_create(email="bench-finance@bench.example.com")
    sql(
        "INSERT INTO accounts_sellermembership (seller_id, user_id, role, created_at)"
        " VALUES (%(s)s, %(u)s, 'admin', now()) ON CONFLICT DO NOTHING",
        {"s": seller_id, "u": user.pk},
    )
    sql(
        """INSERT INTO accounts_buyer (kind, name, code, created_at) VALUES ('individual', '规模买家', 'TBENCH', now());
           INSERT INTO catalog_category (slug, name_zh, name_en, position) VALUES ('bench', '基准', 'Bench', 0);
           INSERT INTO catalog_product (seller_id, category_id, trade_mode, delivery_kind, supervised, auto_deploy,
                name_zh, name_en, summary_zh, summary_en, description_zh, description_en, status, rejection_reason,
                delist_reason, delisted_by_platform, credit_coupon_enabled, credit_line_enabled, created_at, updated_at,
                deploy_parameters)
             SELECT %(s)s, c.id, 'general', 'saas', false, false, '基准产品', 'Bench product', '', '', '', '',
                    'published', '', '', false, false, false, now(), now(), '[]' FROM catalog_category c;
           INSERT INTO catalog_plan (product_id, sku_code, name_zh, name_en, charging_mode, period_type, price,
                currency, usage_unit, trial_days, is_active, position)
             SELECT id, 'bench', '月', 'Month', 'PERIOD', 'month', 100, 'CNY', '', 0, true, 0 FROM catalog_product;""",
        {"s": seller_id},
    )
    sql(
        """INSERT INTO orders_order (number, buyer_id, placed_by_id, seller_id, order_type, status, amount, currency,
               payment_method, created_at, paid_at)
           SELECT 'B' || lpad(g::text, 12, '0'), b.id, %(u)s, %(s)s, 'NEW', 'paid', 100, 'CNY', 'online',
                  %(period)s::date + (g %% 28) * interval '1 day', %(period)s::date + (g %% 28) * interval '1 day'
           FROM generate_series(1, %(n)s) g, (SELECT id FROM accounts_buyer LIMIT 1) b""",
        {"n": lines, "u": user.pk, "s": seller_id, "period": PERIOD},
    )
    sql(
        """INSERT INTO orders_orderline (order_id, product_id, plan_id, seller_id, trade_mode, charging_mode,
               period_type, period_count, unit_price, amount, payment_method, supervision)
           SELECT o.id, p.id, pl.id, %(s)s, 'general', 'PERIOD', 'month', 1, 100, 100, 'online', 'not_required'
           FROM orders_order o, catalog_product p, catalog_plan pl""",
        {"s": seller_id},
    )
    sql(
        """INSERT INTO billing_ledgerentry (seller_id, trade_mode, period, kind, order_line_id, gross, fee_rate, fee,
               net, currency, occurred_at, posted_at, source, reason)
           SELECT %(s)s, 'general', %(period)s, 'order', l.id, 100, 0.0500, 5, 95, 'CNY', o.paid_at, o.paid_at,
                  'line:' || l.id, ''
           FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id""",
        {"s": seller_id, "period": PERIOD},
    )
    sql("ANALYZE")
    statements_generate(period=PERIOD)
    return Statement.objects.get(seller_id=seller_id), user


def run_export(statement, user, fmt):
    from billing.models import ExportJob
    from billing.services.exports import export_run
    from marketplace.core.uploads import private_storage

    def once(trace):
        job = ExportJob.objects.create(
            statement=statement,
            seller_id=statement.seller_id,
            requested_by=user,
            format=fmt,
            expires_at=statement.generated_at,
        )
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        export_run(job_id=job.pk)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        job.refresh_from_db()
        return job, seconds, peak

    _job, _s, peak = once(trace=True)  # memory, measured apart: tracing slows Python down
    private_storage().delete(_job.file_path)
    job, seconds, _p = once(trace=False)
    assert job.status == "done" and job.rows_done == statement.line_count, (job.status, job.rows_done)
    size = job.size
    private_storage().delete(job.file_path)
    return seconds, peak, size


def copy_limit(statement, path):
    from billing.services.exports import rows_sql

    params = {
        "period": statement.period,
        "seller": statement.seller_id,
        "mode": statement.trade_mode,
        "after": 0,
        "limit": 10**9,
    }
    with connection.cursor() as cursor, open(path, "wb") as out:
        raw = cursor.cursor
        query = raw.mogrify(rows_sql(), params)
        with raw.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                out.write(chunk)


def bench_export_csv(scale):
    n = int(200_000 * scale)
    small = int(50_000 * scale)
    statement, user = export_fixture(small)
    _s, peak_small, _size = run_export(statement, user, "csv")
    statement, user = export_fixture(n)
    path = "/tmp/bench-copy.csv"
    copy_limit(statement, path)  # warm
    limit_s = timed(lambda: copy_limit(statement, path))
    runs = [run_export(statement, user, "csv") for _ in range(3)]
    ours_s = statistics.median(r[0] for r in runs)
    peak_large = max(r[1] for r in runs)
    return {
        "name": "export_csv",
        "n": n,
        "ours_s": ours_s,
        "limit_s": limit_s,
        "ratio": ours_s / limit_s,
        "peak_python_bytes": {str(small): peak_small, str(n): peak_large},
        "file_bytes": runs[0][2],
    }


def bench_export_xlsx(scale):
    n = int(200_000 * scale)
    statement, user = export_fixture(n)
    seconds, peak, size = run_export(statement, user, "xlsx")
    return {
        "name": "export_xlsx",
        "n": n,
        "ours_s": seconds,
        "rows_per_s": n / seconds,
        "target_rows_per_s": 20000,
        "peak_python_bytes": peak,
        "file_bytes": size,
    }


# --- produce delivery ------------------------------------------------------------------------------

ISV_KEY = "bench-produce-access-key"


def start_isv_process():
    """The sample ISV in a process of its own, as a seller's server would be."""
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "run_sample_isv",
            "--port",
            str(port),
            "--access-key",
            ISV_KEY,
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=0.5)
            break
        except requests.RequestException:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


def produce_fixture(n):
    """A seller with a produce interface and ``n`` paid SaaS order lines waiting for their instance."""
    from marketplace.orders.models import OrderLine
    from marketplace.provisioning.models import ProduceMessage, SellerIntegration
    from marketplace.provisioning.services import access_key_issue, new_instance_payload

    statement, _user = export_fixture(n)  # n paid general SaaS order lines of one seller
    seller_id = statement.seller_id
    sql("DELETE FROM billing_statement; DELETE FROM billing_settlementperiod")
    sql("UPDATE orders_orderline SET provisioned_at = NULL")
    sql(  # each line's purchased service, as a paid NEW order has
        """INSERT INTO orders_subscription (buyer_id, product_id, plan_id, seller_id, status, is_trial, starts_at,
               expires_at, created_at)
           SELECT o.buyer_id, l.product_id, l.plan_id, l.seller_id, 'active', false, o.paid_at,
                  o.paid_at + interval '30 days', o.paid_at
           FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id ORDER BY l.id"""
    )
    sql(
        """UPDATE orders_orderline l SET subscription_id = s.id FROM (
               SELECT id, row_number() OVER (ORDER BY id) AS n FROM orders_subscription) s,
             (SELECT id, row_number() OVER (ORDER BY id) AS n FROM orders_orderline) ll
           WHERE ll.id = l.id AND s.n = ll.n"""
    )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE billing_ledgerentry DISABLE TRIGGER billing_ledger_append_only")
        cursor.execute("DELETE FROM billing_ledgerentry")
        cursor.execute("ALTER TABLE billing_ledgerentry ENABLE TRIGGER billing_ledger_append_only")
    from marketplace.accounts.models import Seller

    access_key_issue(seller=Seller.objects.get(pk=seller_id), purpose="produce", secret=ISV_KEY)
    lines = list(OrderLine.objects.select_related("order__buyer", "plan").order_by("id"))
    return seller_id, lines, SellerIntegration, ProduceMessage, new_instance_payload


def bench_produce_delivery(scale):
    from django.test.utils import override_settings
    from django.urls import reverse

    from marketplace.celery import app as celery_app
    from marketplace.provisioning import protocol
    from marketplace.provisioning.services import HTTP, messages_deliver_due

    n = max(50, int(2000 * scale))
    # Notifications' e-mails are queued for the mail worker, as in production, not sent inline.
    celery_app.conf.task_always_eager = False
    proc, base = start_isv_process()
    try:
        seller_id, lines, SellerIntegration, ProduceMessage, payload_of = produce_fixture(n)
        SellerIntegration.objects.update_or_create(seller_id=seller_id, defaults={"produce_url": f"{base}/produce"})

        def limit():  # the issue's floor: a plain loop of the same signed POSTs with the same HTTP client
            for line in lines:
                body = protocol.body_bytes({"activity": "newInstance", **payload_of(line), "businessId": "b"})
                url = protocol.signed_produce_url(f"{base}/produce", ISV_KEY, body)
                assert HTTP.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=(3, 10)).ok

        def ours():
            ProduceMessage.objects.bulk_create(
                [
                    ProduceMessage(
                        seller_id=seller_id,
                        activity="newInstance",
                        order_line=line,
                        payload={"activity": "newInstance", **payload_of(line)},
                    )
                    for line in lines
                ]
            )
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                # One call at a time, like the loop it is measured against (DELIVERY_THREADS pays off
                # when sellers' servers take time to answer; see docs/provisioning.md).
                while messages_deliver_due(limit=1000, threads=1):
                    pass

        reverse("buyer:services")  # a worker has loaded the URLs long before; so has this process now
        limit_s = timed(limit, repeat=1)
        start = time.perf_counter()
        ours()
        ours_s = time.perf_counter() - start
        delivered = ProduceMessage.objects.filter(status="succeeded").count()
        assert delivered == n, delivered
    finally:
        proc.terminate()
    return {
        "name": "produce_delivery",
        "n": n,
        "threads": 1,
        "ours_s": ours_s,
        "limit_s": limit_s,
        "ratio": ours_s / limit_s,
        "target_ratio": 2,
    }


def bench_token_endpoint(scale):
    """Token requests (authorization_code grant, secret in the body) through gunicorn on 127.0.0.1,
    against a plain Django view answering a JSON body of the same size from the same server (same
    workers, middleware and settings: bench/token_server.py). Each timed request redeems one of the
    codes made beforehand. ``clients`` threads keep the ``workers`` busy (BENCH_WORKERS overrides
    their number); rounds of each alternate and the median round counts, scaled to ``n`` requests."""
    import secrets
    import socket
    import subprocess
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from datetime import timedelta

    import requests
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application, Grant

    from marketplace.accounts.models import Seller, User
    from marketplace.catalog.models import Category, DeliveryKind, Product, TradeMode
    from marketplace.sso.models import AppRegistration

    n = max(200, int(3000 * scale))
    workers = clients = int(os.environ.get("BENCH_WORKERS", 0)) or max(2, min(4, os.cpu_count() or 2))
    redirect_uri = "https://crm.bench.example.com/oauth/callback"
    client_id, secret = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(32)

    reset()
    make_sellers(1)
    product = Product.objects.create(
        seller=Seller.objects.get(),
        category=Category.objects.create(slug="bench-sso", name_zh="基准", name_en="Bench"),
        trade_mode=TradeMode.JOINT,
        delivery_kind=DeliveryKind.SAAS,
        name_zh="基准应用",
        name_en="Bench app",
        status=Product.Status.PUBLISHED,
    )
    application = Application.objects.create(
        name="Bench app",
        client_id=client_id,
        client_secret=secret,  # hashed on save, as every app's
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    AppRegistration.objects.create(product=product, application=application)
    user = User.objects.filter(email="bench-sso@bench.example.com").first() or User.objects.create_user(
        email="bench-sso@bench.example.com", name="Bench user"
    )
    warmup = 20 * workers
    expires = timezone.now() + timedelta(hours=1)  # the run may outlast the codes' 5 minutes
    codes = [secrets.token_urlsafe(22) for _ in range(n + warmup)]
    Grant.objects.bulk_create(
        Grant(
            application=application,
            user=user,
            code=code,
            expires=expires,
            redirect_uri=redirect_uri,
            scope="get_user_info",
            claims="",
        )
        for code in codes
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server_env = {
        **os.environ,
        "DEBUG": "false",  # as in production
        "SECRET_KEY": secrets.token_urlsafe(50),  # required with DEBUG off
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on 127.0.0.1
        "DATABASE_POOL": "true",  # connections kept across requests
        "OAUTH_TOKEN_RATE_LIMIT": "100000000/min",  # counted (its cost is ours), never reached
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.token_server:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=str(ROOT),
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                requests.get(f"{base}/bench/plain-json", timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.1)

        def form(code):
            return {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": secret,
            }

        local = threading.local()

        def post(url, data):
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            response = session.post(url, data=data, timeout=10)
            assert response.status_code == 200, (response.status_code, response.text[:200])
            return len(response.content)

        def run(url, bodies):
            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                sizes = list(pool.map(lambda body: post(url, body), bodies))
            return time.perf_counter() - start, sizes

        # Warm every worker (imports, pooled connections, caches) on both views.
        _, sizes = run(f"{base}/api/v1/oauth2/token", [form(code) for code in codes[:warmup]])
        token_bytes = sizes[0]
        plain = [{**form("x" * 30), "bytes": str(token_bytes)} for _ in range(n)]
        _, plain_sizes = run(f"{base}/bench/plain-json", plain[:warmup])
        assert set(plain_sizes) == {token_bytes}, (plain_sizes[:3], token_bytes)

        # Alternate rounds of each, so both see the same machine; the median round of each counts.
        rounds, timed_codes = 5, codes[warmup:]
        size = n // rounds
        before = AccessToken.objects.count()
        ours_rounds, limit_rounds = [], []
        for i in range(rounds):
            limit_rounds.append(run(f"{base}/bench/plain-json", plain[i * size : (i + 1) * size])[0] / size)
            batch = timed_codes[i * size : (i + 1) * size] if i < rounds - 1 else timed_codes[i * size :]
            ours_rounds.append(run(f"{base}/api/v1/oauth2/token", [form(code) for code in batch])[0] / len(batch))
        assert AccessToken.objects.count() - before == n
        assert not Grant.objects.filter(application=application).exists()  # every code was spent
        ours_s, limit_s = statistics.median(ours_rounds) * n, statistics.median(limit_rounds) * n
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "name": "token_endpoint",
        "n": n,
        "workers": workers,
        "clients": clients,
        "body_bytes": token_bytes,
        "ours_s": ours_s,
        "limit_s": limit_s,
        "ratio": ours_s / limit_s,
        "ours_per_s": n / ours_s,
        "limit_per_s": n / limit_s,
        "ours_rounds_ms": [round(x * 1000, 3) for x in ours_rounds],
        "limit_rounds_ms": [round(x * 1000, 3) for x in limit_rounds],
        "target_ratio": 3,
    }


# --- seller ticket list ------------------------------------------------------------------------------

# One ticket per generated row ``g`` of a seller's share: statuses mixed by a hash of ``g`` (about 28%
# open), the open ones opened in the last 30 days (due times set, many past), the rest over a year.
TICKETS_INSERT = """
INSERT INTO tickets_ticket (number, seller_id, buyer_id, opened_by_id, product_id, order_id, category, title,
       description, status, assignee_id, cause, solution, rating, rating_comment, created_at, updated_at,
       accepted_at, resolved_at, closed_at, first_response_due_at, resolution_due_at, sla_used,
       sla_running_since, resolution_target)
SELECT 'T' || lpad((%(offset)s + g)::text, 14, '0'), t.seller_id, b.min_id + (g::bigint * 7919) %% %(buyers)s,
       %(opener)s, p.id, NULL, (ARRAY['usage','fault','account','billing','statement_dispute','other'])[1 + g %% 6],
       'Bench ticket ' || g || ': the console does not load after the upgrade',
       'Steps to reproduce: sign in, open the console, wait. Nothing loads.', t.status,
       CASE WHEN t.status <> 'pending_acceptance' AND g %% 3 > 0
            THEN (%(assignees)s::bigint[])[1 + g %% cardinality(%(assignees)s::bigint[])] END,
       CASE WHEN t.status IN ('pending_confirmation', 'completed') THEN 'A cache was stale.' ELSE '' END,
       CASE WHEN t.status IN ('pending_confirmation', 'completed') THEN 'Cleared it.' ELSE '' END,
       CASE WHEN t.status = 'completed' AND g %% 2 = 0 THEN 1 + g %% 5 END, '',
       t.created_at, t.created_at + interval '1 hour',
       CASE WHEN t.status <> 'pending_acceptance' THEN t.created_at + interval '1 hour' END,
       CASE WHEN t.status IN ('pending_confirmation', 'completed') THEN t.created_at + interval '2 days' END,
       CASE WHEN t.status IN ('completed', 'withdrawn') THEN t.created_at + interval '3 days' END,
       t.created_at + interval '4 hours', t.created_at + interval '5 days', interval '0',
       CASE WHEN t.status IN ('pending_acceptance', 'processing') THEN t.created_at END, interval '40 hours'
FROM generate_series(1, %(n)s) g
CROSS JOIN LATERAL (
    SELECT %(first_seller)s + g %% %(sellers)s AS seller_id, s.status,
           now() - interval '1 second' * ((g::bigint * 7919) %% CASE WHEN s.status IN
               ('pending_acceptance', 'processing', 'awaiting_feedback', 'pending_confirmation')
               THEN 30 * 86400 ELSE 365 * 86400 END) AS created_at
    FROM (SELECT CASE WHEN h < 8 THEN 'pending_acceptance' WHEN h < 18 THEN 'processing'
                      WHEN h < 23 THEN 'awaiting_feedback' WHEN h < 28 THEN 'pending_confirmation'
                      WHEN h < 90 THEN 'completed' ELSE 'withdrawn' END AS status
          FROM (SELECT (g::bigint * 2654435761) %% 100 AS h) hh) s
) t
JOIN catalog_product p ON p.seller_id = t.seller_id,
(SELECT min(id) AS min_id FROM accounts_buyer) b
"""


def tickets_fixture(n, big, limit, sellers):
    """``sellers`` sellers of one product each and ``n`` tickets: ``big`` of the first seller, ``limit``
    of the second, the rest spread over the others. Returns the two sellers' admins."""
    from marketplace.accounts.models import SellerMembership, User
    from tickets.models import ReceptionSettings

    reset()
    make_sellers(sellers)
    buyers = 1000
    sql(
        """INSERT INTO accounts_buyer (kind, name, code, created_at)
             SELECT 'enterprise', '基准客户 ' || g, 'TB' || lpad(g::text, 8, '0'), now()
             FROM generate_series(1, %(n)s) g;
           INSERT INTO catalog_category (slug, name_zh, name_en, position) VALUES ('bench', '基准', 'Bench', 0);
           INSERT INTO catalog_product (seller_id, category_id, trade_mode, delivery_kind, supervised, auto_deploy,
                name_zh, name_en, summary_zh, summary_en, description_zh, description_en, status, rejection_reason,
                delist_reason, delisted_by_platform, credit_coupon_enabled, credit_line_enabled, created_at, updated_at,
                deploy_parameters)
             SELECT s.id, c.id, 'general', 'saas', false, false, '基准产品 ' || s.id, 'Bench product ' || s.id,
                    '', '', '', '', 'published', '', '', false, false, false, now(), now(), '[]'
             FROM accounts_seller s, catalog_category c;""",
        {"n": buyers},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM accounts_seller")
        first = cursor.fetchone()[0]
    opener, _ = User.objects.get_or_create(email="bench-ticket-opener@bench.example.com", defaults={"name": "开单人"})
    admins, staff = [], {}
    for seller_id, tag in ((first, "big"), (first + 1, "limit")):
        team = []
        for role in ("admin", "support", "support"):
            user, _ = User.objects.get_or_create(
                email=f"bench-tickets-{tag}-{len(team)}@bench.example.com", defaults={"name": f"{tag} {role}"}
            )
            SellerMembership.objects.create(seller_id=seller_id, user=user, role=role)
            team.append(user)
        ReceptionSettings.objects.create(seller_id=seller_id, accepts_tickets=True)
        admins.append(team[0])
        staff[seller_id] = [u.pk for u in team]
    shares = [  # (first seller, sellers, tickets, assignees)
        (first, 1, big, staff[first]),
        (first + 1, 1, limit, staff[first + 1]),
        (first + 2, sellers - 2, n - big - limit, [opener.pk]),
    ]
    offset = 0
    for first_seller, count, tickets, assignees in shares:
        sql(
            TICKETS_INSERT,
            {
                "offset": offset,
                "n": tickets,
                "first_seller": first_seller,
                "sellers": count,
                "buyers": buyers,
                "opener": opener.pk,
                "assignees": assignees,
            },
        )
        offset += tickets
    # As autovacuum leaves a table after a bulk load: statistics and the visibility map.
    sql("VACUUM (ANALYZE) tickets_ticket")
    sql("ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT seller_id, count(*) FROM tickets_ticket WHERE seller_id < %s GROUP BY 1", [first + 2])
        assert dict(cursor.fetchall()) == {first: big, first + 1: limit}
    return admins


def bench_ticket_list(scale):
    """The seller center's ticket list (/seller/tickets/), first page, through the test client: a seller
    of ``big`` tickets among ``n`` against one of 100 in the same database, each logged in as its admin.
    The pages must take the same number of queries; the ratio is the unfiltered page's."""
    from django.db import reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    n = max(20_000, int(100_000 * scale))
    big, limit, sellers = n // 10, 100, 200
    big_admin, limit_admin = tickets_fixture(n, big, limit, sellers)
    url = reverse("seller:tickets")
    variants = {"all": "", "open": "?status=open"}
    clients = {}
    for key, user in (("ours", big_admin), ("limit", limit_admin)):
        clients[key] = Client()
        clients[key].force_login(user)

    def get(key, query):
        response = clients[key].get(url + query)
        assert response.status_code == 200, response.status_code
        return response

    queries, rows = {}, {}
    for variant, query in variants.items():
        for key in clients:
            for _ in range(10):  # warm-up: caches, translations, templates, the database's buffers
                get(key, query)
            with CaptureQueriesContext(connection) as ctx:
                response = get(key, query)
            queries[f"{variant}_{key}"] = len(ctx.captured_queries)
            rows[f"{variant}_{key}"] = response.content.count(b'data-testid="ticket-row"')
        assert queries[f"{variant}_ours"] == queries[f"{variant}_limit"], (variant, queries)
        assert rows[f"{variant}_ours"] == rows[f"{variant}_limit"] == 20, (variant, rows)

    repeat = 150
    times = {f"{variant}_{key}": [] for variant in variants for key in clients}
    for _ in range(repeat):  # interleaved, so that both see the same machine
        for variant, query in variants.items():
            for key in clients:
                reset_queries()  # DEBUG keeps a log of queries; keep it short
                start = time.perf_counter()
                get(key, query)
                times[f"{variant}_{key}"].append(time.perf_counter() - start)
    median = {k: statistics.median(v) for k, v in times.items()}
    pages = {
        variant: {
            "ours_ms": round(median[f"{variant}_ours"] * 1000, 3),
            "limit_ms": round(median[f"{variant}_limit"] * 1000, 3),
            "ratio": round(median[f"{variant}_ours"] / median[f"{variant}_limit"], 3),
            "queries": queries[f"{variant}_ours"],
        }
        for variant in variants
    }
    for variant, page in pages.items():
        print(f"  ticket_list {variant:<8} {page}", flush=True)
    ours_s, limit_s = median["all_ours"], median["all_limit"]
    return {
        "name": "ticket_list",
        "n": n,
        "sellers": sellers,
        "big_seller_tickets": big,
        "limit_seller_tickets": limit,
        "repeat": repeat,
        "ours_s": ours_s,
        "limit_s": limit_s,
        "ratio": ours_s / limit_s,
        "queries": {"ours": queries["all_ours"], "limit": queries["all_limit"]},
        "pages": pages,
        "max_ratio": max(page["ratio"] for page in pages.values()),
        "target_ratio": 1.5,
    }


# --- pages under load ------------------------------------------------------------------------------

LOAD_SELLER = "load-seller@scale.example.com"
# The pages, as (name, who, URL name, query): who signs in, "seller" (the admin of the busiest seller
# of the large data set), "buyer" (the demo buyer), "api" (the seller's API token) or "public".
LOAD_PAGES = [
    ("seller_dashboard", "seller", "seller:dashboard", ""),
    ("seller_orders", "seller", "seller:orders", ""),
    ("seller_statements", "seller", "seller:settlement", ""),
    ("seller_tickets", "seller", "seller:tickets", ""),
    ("buyer_home", "buyer", "buyer:dashboard", ""),
    ("buyer_orders", "buyer", "buyer:orders", ""),
    ("buyer_services", "buyer", "buyer:services", ""),
    ("product_list", "public", "catalog:products", ""),
    ("product_search", "public", "catalog:products", "q=规模"),
    ("api_seller_orders", "api", "api-seller-order-list", ""),
]

# The load seller's statements: one per month and trade mode of its paid orders before this month,
# paid except last month's (generated), as the monthly cycle leaves them.
LOAD_STATEMENTS = """
INSERT INTO billing_statement (seller_id, trade_mode, period, status, currency, line_count, gross, fee, net,
       extra_share_rate, extra_share, carried_in, net_payable, generated_at, review_due, sent_at, confirmed_at,
       paid_at, payout_reference)
SELECT a.seller_id, a.trade_mode, a.period, CASE WHEN a.period < m.last THEN 'paid' ELSE 'generated' END, 'CNY',
       a.n, a.gross, a.fee, a.gross - a.fee, 0, 0, 0, a.gross - a.fee, a.period + interval '1 month 2 days',
       (a.period + interval '1 month 5 days')::date,
       CASE WHEN a.period < m.last THEN a.period + interval '1 month 3 days' END,
       CASE WHEN a.period < m.last THEN a.period + interval '1 month 4 days' END,
       CASE WHEN a.period < m.last THEN a.period + interval '1 month 10 days' END,
       CASE WHEN a.period < m.last THEN 'PAYLOAD' || a.seller_id || to_char(a.period, 'YYYYMM') ELSE '' END
FROM (SELECT l.seller_id, l.trade_mode, date_trunc('month', o.paid_at AT TIME ZONE 'Asia/Shanghai')::date AS period,
             count(*) AS n, sum(l.amount) AS gross, round(sum(l.amount) * 0.05, 2) AS fee
      FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
      WHERE l.seller_id = %(seller)s AND o.status = 'paid'
        AND o.paid_at AT TIME ZONE 'Asia/Shanghai' < date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')
      GROUP BY 1, 2, 3) a,
     (SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month')::date AS last) m
"""


def load_fixture(n):
    """``seed_demo --scale n`` (timed), then a seller user for the busiest seller of the large data set
    (they come without staff), with ``n // 10`` tickets and its statements. Returns the sign-ins."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count

    from billing.models import Statement
    from marketplace.accounts.models import SellerMembership, User
    from marketplace.catalog.models import Product
    from marketplace.orders.models import Order
    from tickets.models import ReceptionSettings, Ticket

    if not User.objects.filter(email="seller@example.com").exists():
        reset()  # what the benchmarks before this one left
    start = time.perf_counter()
    call_command("seed_demo", scale=n, quiet=True)
    seed_s = time.perf_counter() - start
    password = settings.MARKETPLACE["DEMO_PASSWORD"]
    seller_user = User.objects.filter(email=LOAD_SELLER).first()
    if seller_user is None:
        busiest = (
            Order.objects.filter(number__startswith="SC")
            .values("seller_id")
            .annotate(n=Count("id"))
            .order_by("-n", "seller_id")[0]["seller_id"]
        )
        seller_user = User.objects.create_user(email=LOAD_SELLER, password=password, name="规模商家管理员")
        SellerMembership.objects.create(seller_id=busiest, user=seller_user, role="admin")
    seller_id = seller_user.seller_membership.seller_id
    ReceptionSettings.objects.get_or_create(seller_id=seller_id, defaults={"accepts_tickets": True})
    buyer_user = User.objects.get(email="buyer@example.com")
    tickets = n // 10
    if not Ticket.objects.filter(seller_id=seller_id).exists():
        one_product = TICKETS_INSERT.replace(
            "JOIN catalog_product p ON p.seller_id = t.seller_id", "JOIN catalog_product p ON p.id = %(product)s"
        )
        assert one_product != TICKETS_INSERT
        sql(
            one_product,
            {
                "offset": 0,
                "n": tickets,
                "first_seller": seller_id,
                "sellers": 1,
                "buyers": 1000,
                "opener": buyer_user.pk,
                "assignees": [seller_user.pk],
                "product": Product.objects.filter(seller_id=seller_id).order_by("id").values_list("id", flat=True)[0],
            },
        )
        sql(LOAD_STATEMENTS, {"seller": seller_id})
    sql("VACUUM (ANALYZE)")  # as autovacuum leaves tables after a bulk load
    data = {
        "seller_orders": Order.objects.filter(seller_id=seller_id).count(),
        "seller_tickets": Ticket.objects.filter(seller_id=seller_id).count(),
        "seller_statements": Statement.objects.filter(seller_id=seller_id).count(),
        "buyer_orders": Order.objects.filter(placed_by=buyer_user).count(),
    }
    return seed_s, data, {"seller": (LOAD_SELLER, password), "buyer": (buyer_user.email, password)}


def http_sign_in(base, email, password):
    """A session cookie from the sign-in form, as a browser gets it (the cookie is marked secure, so
    it is carried by hand over plain HTTP)."""
    import requests

    page = requests.get(f"{base}/accounts/login/", timeout=10)
    assert page.status_code == 200, page.status_code
    csrf = page.cookies["csrftoken"]
    answer = requests.post(
        f"{base}/accounts/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Cookie": f"csrftoken={csrf}"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and "sessionid" in answer.cookies, (answer.status_code, answer.text[:300])
    # Signing in gives a new CSRF secret: the browser carries both cookies from then on.
    return f"sessionid={answer.cookies['sessionid']}; csrftoken={answer.cookies.get('csrftoken', csrf)}"


def wrk(url, headers, seconds, connections, threads):
    """One wrk run; its figures from bench/wrk_report.lua."""
    import subprocess

    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    cmd += ["-s", str(ROOT / "bench" / "wrk_report.lua")]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


def gunicorn_settings(env, default_workers, default_threads):
    """The server's command line: gunicorn.conf.py at the root when there is one (its settings read
    back for the record), else flags for the same kind of server."""
    import subprocess

    conf = ROOT / "gunicorn.conf.py"
    if conf.exists():
        probe = (
            "import json, runpy; g = runpy.run_path('gunicorn.conf.py'); print(json.dumps({k: g.get(k) for k in "
            "('workers', 'threads', 'worker_class', 'timeout', 'keepalive', 'max_requests', 'preload_app')}, "
            "default=str))"
        )
        out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
        read = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {}
        return ["-c", str(conf)], {"config": "gunicorn.conf.py", **read}
    workers, threads = default_workers, default_threads
    flags = ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)]
    return flags, {"config": "flags", "workers": workers, "threads": threads, "worker_class": "gthread"}


def bench_pages_under_load(scale):
    """The main seller, buyer, catalog and API pages through gunicorn on 127.0.0.1 (DEBUG off, settings
    as in production but plain HTTP), over ``seed_demo --scale n``, under wrk: ``connections``
    connections for ``seconds`` per page after a warm-up, the better of two runs, against a bare
    Django view ("ok", same server, workers and middleware: bench/pages_server.py) measured before
    and after the pages, and the seller center's empty frame (sign-in, navigation, layout) for
    reference. Each page twice: rendered on every request (``Cache-Control: no-cache``, a first
    view) and as a visitor's repeat views (the page cache, core/pagecache.py).
    BENCH_LOAD_SECONDS, BENCH_LOAD_CONNECTIONS and WEB_CONCURRENCY override the defaults."""
    import shutil
    import socket
    import subprocess
    from urllib.parse import quote

    import requests
    from django.conf import settings
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from marketplace.accounts.models import User

    if not shutil.which("wrk"):
        sys.exit("pages_under_load needs wrk (apt-get install -y wrk)")
    began = time.perf_counter()
    n = max(5000, int(100_000 * scale))
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", 10))
    connections = int(os.environ.get("BENCH_LOAD_CONNECTIONS", 16))
    cores = os.cpu_count() or 1
    seed_s, data, logins = load_fixture(n)
    load_before = os.getloadavg()[0]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server_env = {
        **os.environ,
        "DEBUG": "false",
        # The key the data was seeded with: secrets at rest (instance passwords, keys) are encrypted
        # with a key derived from it when FIELD_ENCRYPTION_KEYS is unset, and the pages decrypt them.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on 127.0.0.1; TLS ends in front of the server
        "DATABASE_POOL": "true",
        "STATIC_ROOT": str(ROOT / "var" / "bench-static"),
        # Workers are not recycled during the runs: at the bare view's thousands of requests a second
        # gunicorn.conf.py's max_requests would restart every worker every few seconds (all at once),
        # which production's request rates never do.
        "GUNICORN_MAX_REQUESTS": "0",
    }
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=server_env, check=True
    )
    collectstatic_s = time.perf_counter() - start
    flags, server_settings = gunicorn_settings(
        server_env, int(os.environ.get("WEB_CONCURRENCY", 0)) or 2 * cores + 1, 4
    )
    log_path = ROOT / "var" / "bench-pages-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.pages_server:application", *flags, "--bind", f"127.0.0.1:{port}"],
            cwd=str(ROOT),
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            try:
                requests.get(f"{base}/bench/ok", timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        cookies = {who: http_sign_in(base, *login) for who, login in logins.items()}
        token = requests.post(
            f"{base}/api/v1/auth/token/",
            json={"username": logins["seller"][0], "password": logins["seller"][1]},
            timeout=10,
        ).json()["token"]
        # A returning visitor: the catalog's first view gave them a CSRF cookie.
        visitor = requests.get(f"{base}/products/", timeout=10).cookies["csrftoken"]
        headers = {
            "seller": [f"Cookie: {cookies['seller']}"],
            "buyer": [f"Cookie: {cookies['buyer']}"],
            "api": [f"Authorization: Token {token}"],
            "public": [f"Cookie: csrftoken={visitor}"],
            "bare": [f"Cookie: {cookies['seller']}"],
        }
        # Queries of each page, counted in this process through the test client.
        clients = {"public": Client(), "api": Client(HTTP_AUTHORIZATION=f"Token {token}")}
        for who, (email, _password) in logins.items():
            clients[who] = Client()
            clients[who].force_login(User.objects.get(email=email))

        pages = [
            (name, who, reverse(url_name) + ("?" + quote(query, safe="=&") if query else ""))
            for name, who, url_name, query in LOAD_PAGES
        ]
        queries, sizes = {}, {}
        for name, who, path in pages:
            answers = [
                requests.get(
                    base + path, headers=dict(h.split(": ", 1) for h in headers[who]), allow_redirects=False, timeout=30
                )
                for _ in range(2)
            ]
            assert answers[0].status_code == 200, (name, answers[0].status_code, answers[0].text[:300])
            # The second view is the cached page: the runs below measure what they say they measure.
            assert answers[1].headers.get("X-Page-Cache") == "hit", (name, answers[1].headers.get("X-Page-Cache"))
            sizes[name] = len(answers[0].content)
            clients[who].get(path)  # warm
            with CaptureQueriesContext(connection) as ctx:  # a page rendered (as on a first view)
                assert clients[who].get(path, HTTP_CACHE_CONTROL="no-cache").status_code == 200, name
            queries[name] = len(ctx.captured_queries)

        threads = min(cores, connections)

        def measure(path, who, extra=()):
            """The better of two runs (the bare view's too): on a shared machine a burst of other
            work during one run says nothing about the page. Errors of both runs count."""
            sent = [*headers[who], *extra]
            wrk(base + path, sent, 2, connections, threads)  # warm-up: every worker, thread, pool
            runs = [wrk(base + path, sent, seconds, connections, threads) for _ in range(2)]
            errors = sum(r["not_200"] + r["connect"] + r["read"] + r["write"] + r["timeout"] for r in runs)
            rates = [r["requests"] / (r["duration_us"] / 1e6) for r in runs]
            run = runs[rates.index(max(rates))]
            return {
                "path": path,
                "rps": max(rates),
                "p50_ms": run["p50_us"] / 1000,
                "p99_ms": run["p99_us"] / 1000,
                "requests": run["requests"],
                "errors": errors,
                "runs_rps": [round(rate, 1) for rate in rates],
            }

        bare_before = measure("/bench/ok", "bare")
        shell = measure("/bench/seller-shell", "seller")
        # Each page rendered every time (a first view: the request asks for a fresh page, as a
        # browser's hard reload does), then as a visitor's repeat views (the page cache).
        rendered = {name: measure(path, who, ["Cache-Control: no-cache"]) for name, who, path in pages}
        results = {name: {"who": who, **measure(path, who)} for name, who, path in pages}
        bare_after = measure("/bench/ok", "bare")
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare = max(bare_before, bare_after, key=lambda r: r["rps"])
    shell["throughput_ratio"] = shell["rps"] / bare["rps"]
    for name, page in results.items():
        page["throughput_ratio"] = page["rps"] / bare["rps"]
        page["shell_ratio"] = page["rps"] / shell["rps"]  # to the seller center's empty frame
        page["queries"] = queries[name]  # of a rendered page; a cached one asks none
        page["bytes"] = sizes[name]
        first = rendered[name]
        first["throughput_ratio"] = first["rps"] / bare["rps"]
        first["shell_ratio"] = first["rps"] / shell["rps"]
        page["rendered"] = first
    header = ("page", "req/s", "p50 ms", "p99 ms", "errors", "ratio", "/shell", "queries")
    print("  {:<24} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>7}".format(*header))
    for name, page in [
        ("bare_before", bare_before),
        ("bare_after", bare_after),
        ("seller_shell", shell),
        *((f"{name} (rendered)", rendered[name]) for name in results),
        *((f"{name} (repeat)", page) for name, page in results.items()),
    ]:
        ratio = f"{page['throughput_ratio']:.3f}" if "throughput_ratio" in page else "-"
        to_shell = f"{page['shell_ratio']:.2f}" if "shell_ratio" in page else "-"
        print(
            f"  {name:<24} {page['rps']:>8.1f} {page['p50_ms']:>8.2f} {page['p99_ms']:>8.2f} {page['errors']:>6}"
            f" {ratio:>6} {to_shell:>6} {page.get('queries', '-'):>7}",
            flush=True,
        )
    rounded = lambda d: {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}  # noqa: E731
    slowest = min(results.values(), key=lambda r: r["rps"])
    return {
        "name": "pages_under_load",
        "n": n,
        **data,
        "cores": cores,
        "server": {
            **server_settings,
            "app": "bench.pages_server:application",
            "env": "DEBUG=false, DATABASE_POOL=true, SECURE_SSL_REDIRECT=false, GUNICORN_MAX_REQUESTS=0, "
            + ("REDIS_URL set" if os.environ.get("REDIS_URL") else "no REDIS_URL (local-memory cache)"),
        },
        "load": {"tool": "wrk", "connections": connections, "threads": threads, "seconds": seconds},
        "ours_s": 1 / slowest["rps"],
        "limit_s": 1 / bare["rps"],
        "ratio": bare["rps"] / slowest["rps"],
        "target_ratio": round(1 / 0.3, 2),
        "bare": {"before": rounded(bare_before), "after": rounded(bare_after)},
        "seller_shell": rounded(shell),  # the seller center's empty frame, for reference (no target)
        "pages": {name: {**rounded(page), "rendered": rounded(page["rendered"])} for name, page in results.items()},
        # Repeat views (the page cache); "rendered": the same page rendered on every request.
        "min_throughput_ratio": round(min(r["throughput_ratio"] for r in results.values()), 3),
        "min_rendered_throughput_ratio": round(min(r["throughput_ratio"] for r in rendered.values()), 3),
        "target_throughput_ratio": 0.3,
        "errors": sum(r["errors"] for r in results.values())
        + sum(r["errors"] for r in rendered.values())
        + bare_before["errors"]
        + bare_after["errors"]
        + shell["errors"],
        "seed_s": seed_s,
        "collectstatic_s": collectstatic_s,
        "total_s": time.perf_counter() - began,
        # The machine's 1-minute load average around the runs: other work on it shows up here.
        "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


BENCHMARKS = {
    "statement_generation": bench_statement_generation,
    "export_csv": bench_export_csv,
    "export_xlsx": bench_export_xlsx,
    "produce_delivery": bench_produce_delivery,
    "token_endpoint": bench_token_endpoint,
    "ticket_list": bench_ticket_list,
    "pages_under_load": bench_pages_under_load,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes (for a quick run)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("the benchmarks need PostgreSQL (set DATABASE_URL)")
    chosen = [n for n in BENCHMARKS if not args.only or n in args.only.split(",")]
    for name in chosen:
        result = BENCHMARKS[name](args.scale)
        result = {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}
        line = f"{name:<22} n={result['n']:<9} ours={result['ours_s']:.3f}s"
        if "limit_s" in result:
            line += f" limit={result['limit_s']:.3f}s ratio={result['ratio']:.2f}"
        if "rows_per_s" in result:
            line += f" rows/s={result['rows_per_s']:.0f}"
        print(line, flush=True)
        record(result)


def record(result):
    """Replace ``result``'s entry in bench/results.json, read and written under the lock the fault
    tests take (tests/integration/processes.py): other entries may have changed during the run."""
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "marketplace-results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {r["name"]: r for r in (json.loads(RESULTS.read_text()) if RESULTS.exists() else [])}
        results[result["name"]] = result
        RESULTS.write_text(json.dumps(list(results.values()), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
