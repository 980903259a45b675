"""Single sign-on end to end: a real OAuth client (authlib) and a browser-like requests session
against the live test server, at the ISV interface's paths (section 3)."""

import hashlib
import logging
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import time_machine
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from marketplace.accounts.models import Buyer, BuyerMembership, OrgUnit, User
from marketplace.catalog.models import DeliveryKind, TradeMode
from marketplace.orders.models import Order, OrderLine, OrderType, Subscription
from marketplace.provisioning.models import Instance
from marketplace.sso.models import AppAccess, AppRegistration, LoginTest, RedeemedCode
from marketplace.sso.models import TestTenant as SellerTestTenant
from tests.factories import PASSWORD, EnterpriseFactory, PlanFactory, ProductFactory, SellerFactory, UserFactory

with warnings.catch_warnings():  # authlib.jose still verifies JWTs; its successor is joserfc
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt

pytestmark = pytest.mark.django_db(transaction=True)

AUTHORIZE = "/api/v1/oauth2/authorize"
TOKEN = "/api/v1/oauth2/token"
USERINFO = "/api/v1/oauth2/userinfo"
LOGOUT = "/api/v1/logout"
REDIRECT = "https://crm.example.test/oauth/callback"
POST_LOGOUT = "https://crm.example.test/signed-out"
CLIENT_ID = "crm-test"
SECRET = secrets.token_urlsafe(32)
USERINFO_FIELDS = {
    "id",
    "userName",
    "name",
    "email",
    "mobile",
    "role",
    "organizationName",
    "organizationCode",
    "userId",
    "projectName",
    "tenant",
}


# --- the world: an app, a tenant holding it, people who may and may not sign in -------------------


def register_app(seller, client_id=CLIENT_ID, redirect_uris=REDIRECT) -> AppRegistration:
    """What app_register makes (without its applicationSync push)."""
    product = ProductFactory(
        seller=seller, status="published", trade_mode=TradeMode.JOINT, delivery_kind=DeliveryKind.SAAS
    )
    PlanFactory(product=product)
    application = Application.objects.create(
        name=product.name_en,
        client_id=client_id,
        client_secret=SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=f"{redirect_uris} {POST_LOGOUT}",
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    return AppRegistration.objects.create(product=product, application=application)


def hold(tenant: Buyer, product, placed_by: User, status=Instance.Status.ACTIVE) -> Instance:
    """The tenant bought the app and the seller's server made its instance."""
    plan = product.plans.get()
    now = timezone.now()
    subscription = Subscription.objects.create(
        buyer=tenant, product=product, plan=plan, seller=product.seller, starts_at=now, expires_at=now + timedelta(30)
    )
    order = Order.objects.create(
        buyer=tenant,
        placed_by=placed_by,
        seller=product.seller,
        order_type=OrderType.NEW,
        status=Order.Status.PAID,
        amount=plan.price,
        paid_at=now,
    )
    line = OrderLine.objects.create(
        order=order,
        product=product,
        plan=plan,
        seller=product.seller,
        subscription=subscription,
        trade_mode=product.trade_mode,
        fee_rate=Decimal("0.05"),
        charging_mode=plan.charging_mode,
        period_type=plan.period_type,
        unit_price=plan.price,
        amount=plan.price,
        validity_start=now,
        validity_end=now + timedelta(30),
        provisioned_at=now,
    )
    return Instance.objects.create(
        order_line=line,
        subscription=subscription,
        seller=product.seller,
        instance_id=f"crm-{line.pk}",
        status=status,
        front_end_url="https://crm.example.test/",
    )


def tenant_user(tenant: Buyer, unit: OrgUnit | None = None, **fields) -> User:
    user = UserFactory(**fields)
    BuyerMembership.objects.create(buyer=tenant, user=user, role=BuyerMembership.Role.USER, org_unit=unit)
    return user


@dataclass
class World:
    registration: AppRegistration
    tenant: Buyer
    admin: User  # the tenant's administrator: always may open the app
    alice: User  # a user the administrator gave access
    bob: User  # a user without access
    outsider: User  # administrator of a tenant that does not hold the app
    seller_user: User

    @property
    def product(self):
        return self.registration.product


@pytest.fixture
def world(db) -> World:
    seller = SellerFactory()
    registration = register_app(seller)
    admin = UserFactory(name="Zhou Admin", mobile="13800000000")
    tenant = EnterpriseFactory(member=admin, name="Example Group")
    sales = OrgUnit.objects.create(buyer=tenant, name="Sales", code="sales", parent=tenant.org_units.get())
    alice = tenant_user(tenant, sales, name="Alice Li", mobile="13900000001")
    bob = tenant_user(tenant, sales)
    AppAccess.objects.create(membership=alice.buyer_membership, product=registration.product)
    hold(tenant, registration.product, admin)
    outsider = EnterpriseFactory().memberships.get().user
    return World(registration, tenant, admin, alice, bob, outsider, seller.memberships.get().user)


# --- the browser and the app ------------------------------------------------------------------------


class Browser:
    """A person's browser: follows the platform's redirects and signs in on its login page."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def sign_in(self, email: str, password: str = PASSWORD, next_url: str = "") -> requests.Response:
        page = self.session.get(f"{self.base}/accounts/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.session.post(
            f"{self.base}/accounts/login/",
            data={"csrfmiddlewaretoken": csrf, "username": email, "password": password, "next": next_url},
            allow_redirects=False,
        )

    def open(self, url: str, email: str | None = None) -> requests.Response:
        """Opens an authorize link; signs in as ``email`` when the platform asks. Returns the
        platform's last answer: the redirect to the app, or a page."""
        response = self.session.get(url, allow_redirects=False)
        if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/accounts/login/":
            assert email, "the platform asked to sign in"
            next_url = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
            assert next_url.startswith(AUTHORIZE)
            signed_in = self.sign_in(email, next_url=next_url)
            assert signed_in.status_code == 302, signed_in.text
            response = self.session.get(urljoin(self.base, signed_in.headers["Location"]), allow_redirects=False)
        return response


def app_client(live_server, **kwargs) -> OAuth2Session:
    """The seller's app, as an authlib client."""
    kwargs.setdefault("scope", "get_user_info")
    kwargs.setdefault("token_endpoint_auth_method", "client_secret_post")
    return OAuth2Session(CLIENT_ID, SECRET, redirect_uri=REDIRECT, **kwargs)


def sign_in_to_app(live_server, user, client=None, browser=None, **authorize_kwargs):
    """Authorize as ``user`` through a browser; returns (client, the redirect to the app, query)."""
    client = client or app_client(live_server)
    browser = browser or Browser(live_server.url)
    url, _state = client.create_authorization_url(f"{live_server.url}{AUTHORIZE}", **authorize_kwargs)
    response = browser.open(url, user.email)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return client, location, parse_qs(urlsplit(location).query)


def token_request(live_server, **data):
    return requests.post(f"{live_server.url}{TOKEN}", data=data, timeout=10)


def userinfo(live_server, access_token):
    return requests.get(f"{live_server.url}{USERINFO}", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


# --- the whole flow -----------------------------------------------------------------------------------


def test_authorize_token_userinfo_and_refresh_with_a_real_oauth_client(live_server, world):
    client = app_client(live_server, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    state = "ünïcode state/with+symbols&=?#%20 ok"
    browser = Browser(live_server.url)

    url, _ = client.create_authorization_url(f"{live_server.url}{AUTHORIZE}", state=state, code_verifier=verifier)
    first = browser.session.get(url, allow_redirects=False)
    assert first.status_code == 302 and urlsplit(first.headers["Location"]).path == "/accounts/login/"
    client, location, query = sign_in_to_app(
        live_server, world.alice, client, browser, state=state, code_verifier=verifier
    )

    assert query["state"] == [state]  # returned untouched
    assert query["tenant"] == [world.tenant.code]
    assert set(query) == {"code", "state", "tenant"}
    assert Grant.objects.get().code_challenge_method == "S256"

    token = client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 7200
    assert token["scope"] == "get_user_info" and token["refresh_token"] and "id_token" not in token
    assert not Grant.objects.exists()  # the code is spent

    info = client.get(f"{live_server.url}{USERINFO}").json()
    assert set(info) == USERINFO_FIELDS
    assert info == {
        "id": str(world.alice.pk),
        "userName": world.alice.email,
        "name": "Alice Li",
        "email": world.alice.email,
        "mobile": "13900000001",
        "role": "user",
        "organizationName": "Sales",
        "organizationCode": "sales",
        "userId": str(world.alice.pk),
        "projectName": "Example Group",
        "tenant": world.tenant.code,
    }

    old_access = token["access_token"]
    refreshed = client.refresh_token(f"{live_server.url}{TOKEN}")
    assert refreshed["access_token"] != old_access and refreshed["expires_in"] == 7200
    assert client.get(f"{live_server.url}{USERINFO}").json()["userName"] == world.alice.email
    assert userinfo(live_server, old_access).status_code == 401  # the refreshed one replaced it
    refresh = RefreshToken.objects.get(revoked__isnull=True)
    assert refresh.access_token.expires > timezone.now() + timedelta(seconds=7100)

    # Tokens are kept hashed: the table holds no usable token.
    stored = [t.token for t in AccessToken.objects.all()] + [t.token for t in RefreshToken.objects.all()]
    assert set(stored) == {""}
    assert AccessToken.objects.filter(
        token_checksum=hashlib.sha256(refreshed["access_token"].encode()).hexdigest()
    ).exists()


def test_the_tenant_administrator_signs_in_with_http_basic_and_sees_the_admin_role(live_server, world):
    client = app_client(live_server, token_endpoint_auth_method="client_secret_basic")
    client, location, _query = sign_in_to_app(live_server, world.admin, client)
    client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    info = client.get(f"{live_server.url}{USERINFO}").json()
    assert (info["role"], info["organizationCode"], info["tenant"]) == ("admin", "root", world.tenant.code)


def test_a_code_works_once_and_its_second_use_revokes_what_it_issued(live_server, world):
    client, location, query = sign_in_to_app(live_server, world.alice)
    token = client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    refreshed = client.refresh_token(f"{live_server.url}{TOKEN}")  # the family grows
    assert userinfo(live_server, refreshed["access_token"]).status_code == 200
    redeemed = RedeemedCode.objects.get()
    assert redeemed.code_checksum == hashlib.sha256(query["code"][0].encode()).hexdigest()

    again = token_request(
        live_server,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT,
        client_id=CLIENT_ID,
        client_secret=SECRET,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    for access in (token["access_token"], refreshed["access_token"]):
        answer = userinfo(live_server, access)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    for refresh in (token["refresh_token"], refreshed["refresh_token"]):
        with pytest.raises(OAuthError) as refused:
            client.refresh_token(f"{live_server.url}{TOKEN}", refresh_token=refresh)
        assert refused.value.error == "invalid_grant"
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_pkce_with_a_wrong_verifier_is_refused(live_server, world):
    client = app_client(live_server, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    client, location, _query = sign_in_to_app(live_server, world.alice, client, code_verifier=verifier)
    with pytest.raises(OAuthError) as refused:
        client.fetch_token(
            f"{live_server.url}{TOKEN}", authorization_response=location, code_verifier=secrets.token_urlsafe(48)
        )
    assert refused.value.error == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_pkce_plain_is_not_accepted(live_server, world):
    client = app_client(live_server)
    verifier = secrets.token_urlsafe(48)
    url, _ = client.create_authorization_url(
        f"{live_server.url}{AUTHORIZE}", code_challenge=verifier, code_challenge_method="plain"
    )
    response = Browser(live_server.url).open(url, world.alice.email)
    assert response.status_code == 302 and "error=invalid_request" in response.headers["Location"]
    assert not Grant.objects.exists()


def test_the_redirect_uri_must_match_exactly(live_server, world):
    browser = Browser(live_server.url)
    for wrong in (
        REDIRECT + "/",
        REDIRECT.upper().replace("HTTPS", "https"),
        REDIRECT + "?x=1",
        "https://evil.test/cb",
    ):
        client = OAuth2Session(CLIENT_ID, SECRET, scope="get_user_info", redirect_uri=wrong)
        url, _ = client.create_authorization_url(f"{live_server.url}{AUTHORIZE}")
        response = browser.open(url, world.alice.email)
        assert response.status_code == 400 and "Location" not in response.headers, wrong
        assert 'data-testid="sso-error"' in response.text
    assert not Grant.objects.exists()

    # At the token endpoint the redirect URI must be the one of the authorization.
    _client, _location, query = sign_in_to_app(live_server, world.alice, browser=browser)
    answer = token_request(
        live_server,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=REDIRECT + "/",
        client_id=CLIENT_ID,
        client_secret=SECRET,
    )
    assert answer.status_code == 400 and answer.json()["error"] in ("invalid_request", "invalid_grant")
    assert not AccessToken.objects.exists()


def test_a_wrong_secret_is_refused_in_the_body_and_in_http_basic(live_server, world):
    for method in ("client_secret_post", "client_secret_basic"):
        _client, location, query = sign_in_to_app(live_server, world.alice)
        wrong = OAuth2Session(CLIENT_ID, SECRET + "x", redirect_uri=REDIRECT, token_endpoint_auth_method=method)
        with pytest.raises(OAuthError) as refused:
            wrong.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location, state=query["state"][0])
        assert refused.value.error == "invalid_client", method
    answer = token_request(live_server, grant_type="authorization_code", code="x", client_id=CLIENT_ID)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_an_expired_code_is_refused(live_server, world):
    client, location, _query = sign_in_to_app(live_server, world.alice)
    five_minutes_later = time_machine.travel(timezone.now() + timedelta(seconds=301), tick=True)
    with five_minutes_later, pytest.raises(OAuthError) as refused:
        client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    assert refused.value.error == "invalid_grant"


def test_a_code_four_minutes_old_still_works(live_server, world):
    client, location, _query = sign_in_to_app(live_server, world.alice)
    with time_machine.travel(timezone.now() + timedelta(seconds=240), tick=True):
        assert client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)["access_token"]


# --- who gets a code ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("outsider", "does not hold an active subscription"),
        ("bob", "has not given you access"),
        ("seller_user", "Only buyer accounts"),
    ],
)
def test_people_who_may_not_use_the_app_get_a_page_saying_why(live_server, world, who, reason, settings):
    settings.LANGUAGE_CODE = "en"
    browser = Browser(live_server.url)
    browser.session.cookies.set("django_language", "en")
    client = app_client(live_server)
    url, _ = client.create_authorization_url(f"{live_server.url}{AUTHORIZE}")
    response = browser.open(url, getattr(world, who).email)
    assert response.status_code == 403 and "Location" not in response.headers
    assert 'data-testid="sso-refused"' in response.text and reason in response.text
    assert world.product.name_en in response.text
    assert not Grant.objects.exists()


def test_the_refusal_page_is_chinese_by_default(live_server, world):
    client = app_client(live_server)
    url, _ = client.create_authorization_url(f"{live_server.url}{AUTHORIZE}")
    response = Browser(live_server.url).open(url, world.bob.email)
    assert response.status_code == 403 and 'lang="zh-CN"' in response.text


def test_a_released_instance_gives_no_code_and_no_refresh(live_server, world):
    client, location, _query = sign_in_to_app(live_server, world.alice)
    client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    Instance.objects.update(status=Instance.Status.RELEASED)
    with pytest.raises(OAuthError) as refused:
        client.refresh_token(f"{live_server.url}{TOKEN}")
    assert refused.value.error == "invalid_grant"
    answer = client.get(f"{live_server.url}{USERINFO}")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    url, _ = client.create_authorization_url(f"{live_server.url}{AUTHORIZE}")
    assert Browser(live_server.url).open(url, world.alice.email).status_code == 403


def test_a_test_tenant_user_runs_the_login_test(live_server, world):
    seller = world.product.seller
    test_tenant = EnterpriseFactory(name="Test tenant")
    SellerTestTenant.objects.create(seller=seller, buyer=test_tenant)
    tester = test_tenant.memberships.get().user
    client, location, query = sign_in_to_app(live_server, tester)
    assert query["tenant"] == [test_tenant.code]
    login_test = LoginTest.objects.get()
    assert (login_test.registration, login_test.user) == (world.registration, tester)
    assert login_test.code_redeemed_at is None and not login_test.passed

    client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    login_test.refresh_from_db()
    assert login_test.code_redeemed_at is not None and login_test.userinfo_read_at is None

    assert client.get(f"{live_server.url}{USERINFO}").json()["tenant"] == test_tenant.code
    login_test.refresh_from_db()
    assert login_test.passed

    # Ordinary tenants' users leave no login test behind.
    client, location, _query = sign_in_to_app(live_server, world.alice)
    client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    assert LoginTest.objects.count() == 1


# --- OpenID Connect ---------------------------------------------------------------------------------------


def test_discovery_jwks_and_a_verified_id_token(live_server, world):
    config = requests.get(f"{live_server.url}/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == live_server.url
    assert config["authorization_endpoint"] == f"{live_server.url}{AUTHORIZE}"
    assert config["token_endpoint"] == f"{live_server.url}{TOKEN}"
    assert config["userinfo_endpoint"] == f"{live_server.url}{USERINFO}"
    assert config["response_types_supported"] == ["code"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"get_user_info", "openid"} <= set(config["scopes_supported"])
    assert set(config["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic"}
    jwks = requests.get(config["jwks_uri"], timeout=10).json()
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]

    client = app_client(live_server, scope="openid get_user_info")
    nonce = secrets.token_urlsafe(16)
    client, location, _query = sign_in_to_app(live_server, world.alice, client, nonce=nonce)
    token = client.fetch_token(config["token_endpoint"], authorization_response=location)
    claims = jwt.decode(token["id_token"], JsonWebKey.import_key_set(jwks))
    claims.validate()
    assert claims["iss"] == config["issuer"] and claims["aud"] == CLIENT_ID
    assert claims["sub"] == str(world.alice.pk) and claims["nonce"] == nonce
    assert claims["tenant"] == world.tenant.code and claims["email"] == world.alice.email
    assert claims["exp"] > claims["iat"]
    assert client.get(config["userinfo_endpoint"]).json()["id"] == claims["sub"]


def test_a_forged_id_token_does_not_verify(live_server, world):
    jwks = requests.get(f"{live_server.url}/api/v1/oauth2/jwks", timeout=10).json()
    other = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    forged = jwt.encode({"alg": "RS256", "kid": jwks["keys"][0]["kid"]}, {"sub": "1"}, other).decode()
    with pytest.raises(Exception, match="signature"):
        jwt.decode(forged, JsonWebKey.import_key_set(jwks))


# --- logout ------------------------------------------------------------------------------------------------


def test_logout_ends_the_session_and_returns_only_to_a_registered_url_of_the_users_app(live_server, world):
    elsewhere = register_app(world.product.seller, client_id="other-app", redirect_uris="https://other.test/cb")

    def signed_in_browser():
        browser = Browser(live_server.url)
        assert browser.sign_in(world.alice.email).status_code == 302
        return browser

    for target, expected in [
        (POST_LOGOUT, POST_LOGOUT),
        (REDIRECT, REDIRECT),
        (POST_LOGOUT + "/", "/"),  # exact match only
        ("https://evil.test/", "/"),
        ("https://other.test/cb", "/"),  # registered, but for an app her tenant does not hold
        ("//evil.test", "/"),
        ("", "/"),
    ]:
        browser = signed_in_browser()
        response = browser.session.get(
            f"{live_server.url}{LOGOUT}", params={"redirect_url": target}, allow_redirects=False
        )
        assert response.status_code == 302 and response.headers["Location"] == expected, target
        url, _ = app_client(live_server).create_authorization_url(f"{live_server.url}{AUTHORIZE}")
        after = browser.session.get(url, allow_redirects=False)
        assert urlsplit(after.headers["Location"]).path == "/accounts/login/"  # signed out
    assert elsewhere.application.redirect_uris == "https://other.test/cb"

    # Signed out already: nothing to check the URL against, so home.
    response = requests.get(f"{live_server.url}{LOGOUT}", params={"redirect_url": POST_LOGOUT}, allow_redirects=False)
    assert response.headers["Location"] == "/"


# --- limits and hygiene ------------------------------------------------------------------------------------


def test_the_token_endpoint_is_rate_limited_per_address(live_server, world, settings):
    settings.OAUTH_TOKEN_RATE_LIMIT = "5/min"
    # the window is a fixed minute: start the six requests at its beginning
    start = timezone.now().replace(second=1, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=True):
        answers = [token_request(live_server, grant_type="authorization_code", code="nope") for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert answers[5].status_code == 429
    assert answers[5].json()["error"] == "too_many_requests" and int(answers[5].headers["Retry-After"]) > 0
    with time_machine.travel(start + timedelta(minutes=1), tick=True):
        assert token_request(live_server, grant_type="authorization_code", code="nope").status_code == 401


def test_userinfo_answers_401_json_for_missing_bad_and_expired_tokens(live_server, world):
    missing = requests.get(f"{live_server.url}{USERINFO}", timeout=10)
    assert missing.status_code == 401 and set(missing.json()) == {"error", "error_description"}
    assert missing.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'  # ASCII, as RFC 6750 says
    assert "Bearer" in missing.json()["error_description"]
    bad = userinfo(live_server, "not-a-token")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"

    client, location, _query = sign_in_to_app(live_server, world.alice)
    token = client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location)
    in_query = requests.get(f"{live_server.url}{USERINFO}", params={"access_token": token["access_token"]}, timeout=10)
    assert in_query.status_code == 401  # RFC 9700: never in a URL
    with time_machine.travel(timezone.now() + timedelta(seconds=7201), tick=True):
        expired = userinfo(live_server, token["access_token"])
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


def test_no_code_token_or_secret_reaches_the_logs(live_server, world, caplog):
    caplog.set_level(logging.DEBUG)
    client = app_client(live_server, code_challenge_method="S256", scope="openid get_user_info")
    verifier = secrets.token_urlsafe(48)
    client, location, query = sign_in_to_app(live_server, world.alice, client, code_verifier=verifier)
    token = client.fetch_token(f"{live_server.url}{TOKEN}", authorization_response=location, code_verifier=verifier)
    client.get(f"{live_server.url}{USERINFO}")
    client.refresh_token(f"{live_server.url}{TOKEN}")
    token_request(
        live_server, grant_type="authorization_code", code=query["code"][0], client_id=CLIENT_ID, client_secret=SECRET
    )
    token_request(
        live_server,
        grant_type="refresh_token",
        refresh_token=token["refresh_token"],
        client_id=CLIENT_ID,
        client_secret="wrong",
    )
    logged = caplog.text
    assert caplog.records  # the run did log (the reuse warning at least)
    for value in (
        SECRET,
        query["code"][0],
        token["access_token"],
        token["refresh_token"],
        token["id_token"],
        verifier,
        PASSWORD,
    ):
        assert value not in logged


def test_client_secrets_are_stored_with_the_fast_salted_hasher(world):
    stored = world.registration.application.client_secret
    assert stored.startswith("client_secret_sha256$") and SECRET not in stored
    assert create_s256_code_challenge("x")  # authlib's PKCE helper is what the app uses
