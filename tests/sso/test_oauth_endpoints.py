"""The single sign-on endpoints' edges, through Django's test client: secrets' hashing, CSRF,
exact redirect URIs on loopback addresses, the race of two redemptions of one code, refresh after
the access is taken away."""

import importlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import Client
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from marketplace.sso import oauth
from marketplace.sso.models import AppAccess, RedeemedCode
from tests.sso.test_oauth_flow import (
    AUTHORIZE,
    CLIENT_ID,
    REDIRECT,
    SECRET,
    TOKEN,
    USERINFO,
    hold,
    register_app,
)
from tests.sso.test_oauth_flow import world as world

pytestmark = pytest.mark.django_db


def authorize(client, user, redirect_uri=REDIRECT, client_id=CLIENT_ID, **params):
    client.force_login(user)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": "s1", **params}
    return client.get(AUTHORIZE, query)


def code_of(response) -> str:
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def redeem(client, code, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        **extra,
    }
    return client.post(TOKEN, data)


# --- client secrets ----------------------------------------------------------------------------------


def test_the_client_secret_hasher_is_salted_fast_and_constant_time_checked():
    hasher = oauth.ClientSecretHasher()
    one, two = make_password("s3cret", hasher=hasher), make_password("s3cret", hasher=hasher)
    assert one != two and one.startswith("client_secret_sha256$")
    assert hasher.verify("s3cret", one) and not hasher.verify("s3cret!", one) and not hasher.verify("", one)
    assert identify_hasher(one).algorithm == "client_secret_sha256" and check_password("s3cret", one)
    start = time.perf_counter()
    for _ in range(1000):
        hasher.verify("s3cret", one)
    assert time.perf_counter() - start < 0.5  # well under a millisecond a check (PBKDF2: about 0.5 s)
    assert set(hasher.safe_summary(one)) and "s3cret" not in str(hasher.safe_summary(one))


def test_user_passwords_keep_the_default_hasher_and_secrets_use_ours():
    project = importlib.import_module("marketplace.settings")
    assert project.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert project.PASSWORD_HASHERS[-1] == "marketplace.sso.oauth.ClientSecretHasher"
    assert project.OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"] == "client_secret_sha256"
    assert project.OAUTH2_PROVIDER["COMPLIANT_BCP_RFC9700_TOKEN_STORAGE"] is True


def test_a_secret_hashed_the_old_way_still_works(client, world, settings):
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    application = world.registration.application
    application.client_secret = make_password(SECRET, hasher="pbkdf2_sha256")
    application.save(update_fields=["client_secret"])
    assert redeem(client, code_of(authorize(client, world.alice))).status_code == 200


# --- CSRF -------------------------------------------------------------------------------------------


def test_the_token_endpoint_is_csrf_exempt_and_the_login_form_is_not(world):
    strict = Client(enforce_csrf_checks=True)
    answer = strict.post(TOKEN, {"grant_type": "authorization_code", "code": "x", "client_id": CLIENT_ID})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert strict.post("/accounts/login/", {"username": world.alice.email, "password": "x"}).status_code == 403
    assert strict.get(USERINFO).status_code == 401


# --- requests that are not ours to answer -------------------------------------------------------------


def test_grants_our_apps_cannot_use_are_refused_with_rfc_6749_errors(client, world):
    device = client.post(
        TOKEN,
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": CLIENT_ID, "client_secret": SECRET},
    )
    assert device.status_code == 400 and device.json()["error"] in ("unsupported_grant_type", "unauthorized_client")
    password = client.post(
        TOKEN,
        {
            "grant_type": "password",
            "username": world.alice.email,
            "password": "x",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        },
    )
    assert password.status_code == 400 and password.json()["error"] in ("unsupported_grant_type", "unauthorized_client")
    assert client.get(TOKEN).status_code == 405
    implicit = authorize(client, world.alice, response_type="token")
    assert "error=unauthorized_client" in implicit["Location"] and "access_token" not in implicit["Location"]


def test_an_unknown_app_gets_a_page_not_a_redirect(client, world):
    response = authorize(client, world.alice, client_id="nobody")
    assert response.status_code == 400 and not response.has_header("Location")
    assert "sso-error" in response.content.decode() and response["Content-Language"] == "zh-hans"


def test_a_loopback_redirect_uri_must_match_to_the_port(client, world):
    loopback = "http://127.0.0.1:8765/oauth/callback"
    Application.objects.filter(client_id=CLIENT_ID).update(redirect_uris=loopback)
    assert authorize(client, world.alice, redirect_uri="http://127.0.0.1:9999/oauth/callback").status_code == 400
    assert code_of(authorize(client, world.alice, redirect_uri=loopback))


def test_openid_for_an_app_that_cannot_sign_id_tokens_is_invalid_scope(client, world):
    Application.objects.filter(client_id=CLIENT_ID).update(algorithm="")
    response = authorize(client, world.alice, scope="openid")
    assert response.status_code == 302 and "error=invalid_scope" in response["Location"]
    assert "state=s1" in response["Location"]


def test_an_anonymous_prompt_none_request_is_answered_login_required(client, world):
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "s", "prompt": "none"}
    response = client.get(AUTHORIZE, query)
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT + "?")
    assert "error=login_required" in response["Location"]


# --- codes --------------------------------------------------------------------------------------------


def test_two_redemptions_racing_for_one_code_issue_tokens_once(client, world, monkeypatch):
    """The other redemption deletes the grant between our checks and our save: ours rolls back."""
    code = code_of(authorize(client, world.alice))
    checked = oauth.MarketplaceOAuth2Validator.validate_code

    def validate_then_lose_the_race(self, *args, **kwargs):
        valid = checked(self, *args, **kwargs)
        Grant.objects.all().delete()
        return valid

    monkeypatch.setattr(oauth.MarketplaceOAuth2Validator, "validate_code", validate_then_lose_the_race)
    answer = redeem(client, code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists() and not RefreshToken.objects.exists()
    assert not RedeemedCode.objects.exists()


def test_a_code_of_another_app_is_invalid_grant_and_revokes_nothing(client, world):
    code = code_of(authorize(client, world.alice))
    assert redeem(client, code).status_code == 200
    other = register_app(world.product.seller, client_id="other", redirect_uris=REDIRECT)
    hold(world.tenant, other.product, world.admin)
    answer = redeem(client, code, client_id="other")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 1  # the first app's token lives on


def test_a_refresh_is_refused_once_the_administrator_takes_the_access_away(client, world):
    tokens = redeem(client, code_of(authorize(client, world.alice))).json()
    refresh = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": SECRET}
    tokens = client.post(TOKEN, {**refresh, "refresh_token": tokens["refresh_token"]}).json()
    assert "access_token" in tokens
    AppAccess.objects.all().delete()
    answer = client.post(TOKEN, {**refresh, "refresh_token": tokens["refresh_token"]})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert code_of_or_none(authorize(client, world.alice)) is None


def code_of_or_none(response):
    return parse_qs(urlsplit(response.get("Location", "")).query).get("code", [None])[0]


def test_a_replayed_rotated_refresh_token_revokes_the_family(client, world):
    first = redeem(client, code_of(authorize(client, world.alice))).json()
    refresh = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": SECRET}
    second = client.post(TOKEN, {**refresh, "refresh_token": first["refresh_token"]}).json()
    replay = client.post(TOKEN, {**refresh, "refresh_token": first["refresh_token"]})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    stolen = client.post(TOKEN, {**refresh, "refresh_token": second["refresh_token"]})
    assert stolen.status_code == 400
    assert client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {second['access_token']}").status_code == 401


def test_userinfo_needs_a_user_scope(client, world):
    tokens = redeem(client, code_of(authorize(client, world.alice))).json()
    AccessToken.objects.update(scope="other")
    answer = client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize("vendor", ["postgresql", "other"])
def test_redeeming_records_the_code_and_the_login_test_on_every_database(client, world, vendor, monkeypatch):
    from django.db import connection

    from marketplace.sso.models import LoginTest
    from marketplace.sso.models import TestTenant as SellerTestTenant
    from tests.factories import EnterpriseFactory

    if vendor != connection.vendor:
        monkeypatch.setattr(connection, "vendor", vendor)  # the step-by-step path of other databases
    tenant = EnterpriseFactory()
    SellerTestTenant.objects.create(seller=world.product.seller, buyer=tenant)
    tester = tenant.memberships.get().user
    code = code_of(authorize(client, tester))
    assert redeem(client, code).status_code == 200
    redeemed = RedeemedCode.objects.get()
    assert redeemed.access_token is not None and redeemed.refresh_token is not None
    assert redeemed.code_checksum == oauth.code_checksum(code) and code not in redeemed.code_checksum
    assert not Grant.objects.exists()
    assert LoginTest.objects.get().code_redeemed_at is not None
    assert redeem(client, code).json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()
