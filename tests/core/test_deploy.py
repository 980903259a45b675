"""Production configuration: settings only from the environment, `check --deploy` clean with them,
gunicorn serving the app and its static files (WhiteNoise, hashed names) with DEBUG off, and the
queue of every task."""

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from marketplace.celery import QUEUES, TASK_ROUTES
from marketplace.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("marketplace.", "billing.", "invoicing.", "tickets.", "refunds.", "benefits.")


def production_env(**overrides) -> dict[str, str]:
    """What an operator sets (README, "Configuration"), and nothing from the machine running the tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "market.example.com,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": "https://market.example.com",
        "SITE_URL": "https://market.example.com",
        "DATABASE_URL": "postgres://marketplace:secret@db.internal:5432/marketplace",
        "DATABASE_POOL": "true",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        "DEFAULT_FROM_EMAIL": "Cloud Marketplace <no-reply@market.example.com>",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LICENSE_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "OIDC_RSA_PRIVATE_KEY": pem.replace("\n", "\\n"),
        "LOG_FORMAT": "json",
    }
    env.update(overrides)
    return env


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_variables():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_check_deploy_is_clean_with_only_the_required_variables():
    env = {k: v for k, v in production_env().items() if k in ("PATH", "HOME", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}

    done = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_without_debug_a_missing_secret_key_stops_the_start():
    env = production_env()
    del env["SECRET_KEY"]

    done = manage("check", env=env)

    assert done.returncode != 0
    assert "Set the SECRET_KEY environment variable" in done.stderr


def test_check_deploy_refuses_keys_that_cannot_be_used():
    done = manage(
        "check", "--deploy", env=production_env(FIELD_ENCRYPTION_KEYS="not-a-key", LICENSE_SIGNING_KEY="c2hvcnQ=")
    )

    assert done.returncode != 0
    assert "marketplace.E001" in done.stderr
    assert "marketplace.E002" in done.stderr


def test_a_development_default_is_refused_by_check_deploy():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(SECURE_HSTS_SECONDS="0"))

    assert done.returncode != 0
    assert "security.W004" in done.stderr


# --- gunicorn and static files --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_server(tmp_path):
    """collectstatic into a fresh STATIC_ROOT, then gunicorn with gunicorn.conf.py, DEBUG off."""
    port = free_port()
    env = production_env(
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",  # the requests below touch no database
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        LOG_LEVEL="INFO",
    )
    collected = manage("collectstatic", "--noinput", "-v0", env=env)
    assert collected.returncode == 0, collected.stderr
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "marketplace.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/health/live/", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or the worker is still loading the app
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start:\n" + log.read_text())
                time.sleep(0.2)
        yield base, tmp_path / "static", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_gunicorn_serves_hashed_static_files_and_logs_json_access_lines(gunicorn_server):
    base, static_root, log = gunicorn_server
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/app.css"]
    assert hashed != "css/app.css"
    https = {"X-Forwarded-Proto": "https", "Host": "market.example.com"}  # as the proxy passes it on

    live = requests.get(base + "/health/live/", headers={"X-Request-ID": "probe-7"}, timeout=5)
    asset = requests.get(f"{base}/static/{hashed}", headers={**https, "Accept-Encoding": "gzip"}, timeout=5)
    plain_http = requests.get(
        f"{base}/static/{hashed}", headers={"Host": "market.example.com"}, timeout=5, allow_redirects=False
    )

    assert live.status_code == 200
    assert live.headers["X-Request-ID"] == "probe-7"
    assert asset.status_code == 200
    assert asset.text == (ROOT / "static" / "css" / "app.css").read_text()
    assert "immutable" in asset.headers["Cache-Control"]
    assert asset.headers["Content-Encoding"] == "gzip"
    assert len(asset.headers["X-Request-ID"]) == 32
    assert plain_http.status_code == 301
    assert plain_http.headers["Location"].startswith("https://market.example.com/")

    time.sleep(0.5)  # the access line is written after the response
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    probe = next(line for line in access if line["request_id"] == "probe-7")
    assert {"path": "/health/live/", "status": 200, "method": "GET", "level": "INFO"}.items() <= probe.items()
    assert {"time", "message", "duration_ms", "bytes", "remote_addr", "user_agent"} <= probe.keys()
    assert any(line["path"] == f"/static/{hashed}" and line["status"] == 200 for line in access)


# --- queues ----------------------------------------------------------------------------------------


def test_every_project_task_is_routed_to_one_of_the_five_queues():
    celery_app.loader.import_default_modules()
    tasks = sorted(name for name in celery_app.tasks if name.startswith(PROJECT_PACKAGES))

    assert QUEUES == ("default", "produce", "exports", "statements", "email")
    assert tasks
    for name in tasks:
        assert TASK_ROUTES.get(name) in QUEUES, f"{name} has no route in marketplace/celery.py"
        assert celery_app.amqp.router.route({}, name)["queue"].name == TASK_ROUTES[name]
    assert sorted(TASK_ROUTES) == tasks  # and no route names a task that is gone


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("marketplace.provisioning.tasks.deliver_message", "produce"),
        ("billing.tasks.run_export", "exports"),
        ("invoicing.tasks.stamp_letter", "exports"),
        ("billing.tasks.generate_due_statements", "statements"),
        ("billing.tasks.settle_due_lines", "statements"),
        ("marketplace.core.tasks.deliver_email", "email"),
        ("tickets.tasks.auto_complete_tickets", "default"),
    ],
)
def test_tasks_go_to_their_queue(task, queue):
    assert celery_app.amqp.router.route({}, task)["queue"].name == queue


def test_a_task_without_a_route_goes_to_the_default_queue():
    assert celery_app.amqp.router.route({}, "tests.some.unrouted_task")["queue"].name == "default"
