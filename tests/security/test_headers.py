"""Secure headers on every response (Content-Security-Policy on pages, Permissions-Policy, nosniff,
Referrer-Policy, Cross-Origin-Opener-Policy, no framing), no inline script in any template (the
policy would block it), and production cookies and HSTS read from the settings as production starts
them (a separate process with DEBUG off)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PlanFactory, ProductFactory

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


def assert_common_headers(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


@pytest.fixture
def pages(seller, seller_user, buyer_user, ops_user):
    product = ProductFactory(seller=seller, status="published")
    PlanFactory(product=product)
    return [
        (None, "/"),
        (None, "/products/"),
        (None, f"/products/{product.pk}/"),
        (None, "/accounts/login/"),
        (None, "/no-such-page/"),
        (None, "/api/docs/"),
        (None, "/admin/login/"),
        (seller_user, "/seller/"),
        (seller_user, "/seller/settlement/exports/"),
        (buyer_user, "/buyer/orders/"),
        (ops_user, "/admin/"),
    ]


def test_every_page_has_the_content_security_policy_and_the_other_headers(pages):
    for user, url in pages:
        client = Client()
        if user:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert response["Content-Type"].startswith("text/html"), url
        policy = directives(response)
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url  # no inline script, no eval, no other origin
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"], url
        assert policy["img-src"] == ["'self'", "data:"], url
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"], url
        assert response["X-Frame-Options"] == "DENY", url
        assert_common_headers(response)


def test_api_responses_have_the_headers_and_no_page_policy(buyer_user):
    client = Client()
    client.force_login(buyer_user)

    response = client.get("/api/v1/buyer/orders/")

    assert response.status_code == 200
    assert_common_headers(response)
    assert "Content-Security-Policy" not in response


def test_swagger_ui_loads_its_start_up_script_as_a_file():
    page = Client().get("/api/docs/").content.decode()
    script = Client().get("/api/docs/?script=")

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def _templates() -> list[Path]:
    roots = [BASE / "templates", *BASE.glob("*/templates"), *BASE.glob("marketplace/*/templates")]
    return sorted(p for root in roots for p in root.rglob("*.html"))


def test_no_template_has_an_inline_script_or_event_handler():
    """The policy allows scripts from 'self' only: behaviour goes in static/js/app.js."""
    offenders = []
    for path in _templates():
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{path.relative_to(BASE)}: {tag}")
        offenders += [f"{path.relative_to(BASE)}: {h}" for h in re.findall(r"\son[a-z]+=\"", text)]
        offenders += [f"{path.relative_to(BASE)}: javascript: URL" for _ in re.findall(r"javascript:", text)]
    assert len(_templates()) > 50
    assert offenders == []


# --- production settings --------------------------------------------------------------------------------------


PRODUCTION_VALUES = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "DEBUG",
]


def settings_with(environment: dict) -> dict:
    """The settings a fresh process reads from this environment (as production starts them)."""
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {PRODUCTION_VALUES!r}}}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")}
    env.update({"DJANGO_SETTINGS_MODULE": "marketplace.settings", "PYTHONPATH": str(BASE), **environment})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_are_secure_and_https_is_enforced():
    values = settings_with({"DEBUG": "0", "SECRET_KEY": "production-like-secret-key-" + "x" * 40})

    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "DEBUG": False,
    }


def test_development_keeps_plain_http_cookies():
    values = settings_with({"DEBUG": "1"})

    assert (values["SESSION_COOKIE_SECURE"], values["CSRF_COOKIE_SECURE"], values["SECURE_HSTS_SECONDS"]) == (
        False,
        False,
        0,
    )
