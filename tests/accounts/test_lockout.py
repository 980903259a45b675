"""Sign-in lockout (django-axes): five failures for one account from one address lock it there for
15 minutes, on the login page and the API token endpoint alike."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
API_TOKEN = "/api/v1/auth/token/"


def sign_in(client, email, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def api_token(client, email, password, address="10.0.0.1"):
    return client.post(API_TOKEN, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_five_failures_lock_the_account_on_the_login_page_until_the_cool_off_ends(client, buyer_user):
    for _ in range(4):
        response = sign_in(client, buyer_user.email, "wrong")
        assert response.status_code == 200 and "locked-out" not in response.content.decode()  # the form again
    fifth = sign_in(client, buyer_user.email, "wrong")
    assert fifth.status_code == 403 and 'data-testid="locked-out"' in fifth.content.decode()

    locked = sign_in(client, buyer_user.email, PASSWORD)  # the right password does not help now
    assert locked.status_code == 403 and "_auth_user_id" not in client.session
    assert "15" in locked.content.decode()  # says for how long

    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert sign_in(client, buyer_user.email, PASSWORD).status_code == 403  # tries do not extend it
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        response = sign_in(client, buyer_user.email, PASSWORD)
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(buyer_user.pk)
    assert not AccessAttempt.objects.exists()  # a success resets the count


def test_the_lock_is_per_account_and_address_and_ignores_the_case_of_the_email(client, buyer_user, other_buyer_user):
    for _ in range(5):
        sign_in(client, buyer_user.email.upper(), "wrong")
    assert sign_in(client, buyer_user.email, PASSWORD).status_code == 403  # the same account, any case
    assert sign_in(client, buyer_user.email, PASSWORD, address="10.0.0.2").status_code == 302  # elsewhere
    client.logout()
    assert sign_in(client, other_buyer_user.email, PASSWORD).status_code == 302  # someone else, same address


def test_the_lockout_page_is_translated(client, buyer_user):
    for _ in range(5):
        response = sign_in(client, buyer_user.email, "wrong")
    assert response.status_code == 403 and response["Content-Language"] == "zh-hans"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = sign_in(client, buyer_user.email, "wrong").content.decode()
    assert "Too many failed sign-in attempts" in english and "15 minutes" in english


def test_the_api_token_endpoint_locks_out_with_403_json(client, buyer_user):
    for _ in range(4):
        assert api_token(client, buyer_user.email, "wrong").status_code == 400
    fifth = api_token(client, buyer_user.email, "wrong")
    assert fifth.status_code == 403
    assert fifth.json()["error"] == "locked_out" and fifth.json()["detail"]
    assert api_token(client, buyer_user.email, PASSWORD).status_code == 403
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        response = api_token(client, buyer_user.email, PASSWORD)
    assert response.status_code == 200 and response.json()["token"]


def test_failures_on_the_page_and_the_api_add_up(client, buyer_user):
    for _ in range(3):
        sign_in(client, buyer_user.email, "wrong")
    for _ in range(2):
        api_token(client, buyer_user.email, "wrong")
    assert sign_in(client, buyer_user.email, PASSWORD).status_code == 403


def test_a_success_before_the_limit_starts_the_count_again(client, buyer_user):
    for _ in range(4):
        sign_in(client, buyer_user.email, "wrong")
    assert sign_in(client, buyer_user.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, buyer_user.email, "wrong").status_code == 200
    assert sign_in(client, buyer_user.email, PASSWORD).status_code == 302


def test_attempts_are_recorded_without_the_password(client, buyer_user):
    sign_in(client, buyer_user.email, "wrong-secret-pass")
    attempt = AccessAttempt.objects.get()
    assert attempt.username == buyer_user.email and attempt.failures_since_start == 1
    assert "wrong-secret-pass" not in attempt.post_data
