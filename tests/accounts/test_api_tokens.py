"""API tokens: shown once, stored only as their SHA-256, one per sign-in, revocable, capped."""

import hashlib
import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from rest_framework.test import APIClient

from marketplace.accounts.models import ApiToken
from marketplace.accounts.services import API_TOKENS_KEPT, api_token_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

from tests.factories import PASSWORD  # noqa: E402

URL = "/api/v1/auth/token/"


def sign_in(user) -> str:
    response = APIClient().post(URL, {"username": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me(token: str):
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/")


def test_the_database_holds_only_the_tokens_hash(buyer_user):
    token = sign_in(buyer_user)
    stored = ApiToken.objects.get(user=buyer_user)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_apitoken WHERE token_hash = %s OR prefix = %s", [token, token])
        assert cursor.fetchone()[0] == 0
    assert me(token).json()["email"] == buyer_user.email


def test_each_sign_in_issues_a_token_of_its_own_and_both_work(buyer_user):
    first, second = sign_in(buyer_user), sign_in(buyer_user)
    assert first != second
    assert [me(first).status_code, me(second).status_code] == [200, 200]
    assert ApiToken.objects.filter(user=buyer_user).count() == 2


def test_delete_revokes_the_token_it_is_sent_with_and_no_other(buyer_user):
    kept, revoked = sign_in(buyer_user), sign_in(buyer_user)
    response = APIClient(HTTP_AUTHORIZATION=f"Token {revoked}").delete(URL)
    assert response.status_code == 204
    assert me(revoked).status_code == 401
    assert me(kept).status_code == 200
    assert ApiToken.objects.filter(user=buyer_user).count() == 1


def test_delete_without_a_token_is_refused_and_revokes_nothing(buyer_user):
    sign_in(buyer_user)
    assert APIClient().delete(URL).status_code == 401
    session = APIClient()
    session.force_login(buyer_user)
    response = session.delete(URL)
    assert response.status_code == 400 and "detail" in response.json()
    assert ApiToken.objects.filter(user=buyer_user).count() == 1


def test_a_wrong_token_or_an_inactive_user_is_a_json_401(buyer_user):
    token = sign_in(buyer_user)
    wrong = me(token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "authentication_failed")
    type(buyer_user).objects.filter(pk=buyer_user.pk).update(is_active=False)
    assert me(token).status_code == 401


def test_only_the_newest_tokens_are_kept(buyer_user):
    tokens = [api_token_issue(user=buyer_user) for _ in range(API_TOKENS_KEPT + 2)]
    assert ApiToken.objects.filter(user=buyer_user).count() == API_TOKENS_KEPT
    assert [me(t).status_code for t in tokens[:2]] == [401, 401]
    assert me(tokens[2]).status_code == 200 and me(tokens[-1]).status_code == 200


def test_another_users_tokens_are_untouched_by_the_cap(buyer_user):
    other = UserFactory()
    theirs = api_token_issue(user=other)
    for _ in range(API_TOKENS_KEPT + 1):
        api_token_issue(user=buyer_user)
    assert me(theirs).status_code == 200


def test_tokens_issued_before_hashing_keep_working_and_the_plain_table_goes(buyer_user):
    migration = importlib.import_module("marketplace.accounts.migrations.0003_apitoken")
    plain = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL,"
            " user_id bigint NOT NULL)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [plain, buyer_user.pk])
    with connection.schema_editor() as editor:
        migration.move_tokens(django_apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert me(plain).json()["email"] == buyer_user.email
    assert not ApiToken.objects.filter(token_hash=plain).exists()
