"""The URL sweep: every URL pattern of the project that names an object, requested by everyone who
must not reach it.

The patterns come from the URL resolver, not from a list kept by hand: each one with an argument
must be in ``TARGETS`` (which of seller A's or buyer A's objects its arguments name, and who owns
it) or in ``PUBLIC`` (with the reason it is open by design), else ``test_every_url_with_an_argument_is_swept``
fails. Each target is then requested with GET and POST (API URLs also PUT, PATCH and DELETE) as

* an anonymous visitor,
* buyer B (another enterprise tenant's administrator),
* seller B's administrator,
* seller A's users whose role lacks the capability the URL needs,
* tenant A's plain user (buyer-side URLs: only administrators and the placer see a tenant's rows),
* the other side of A (buyer A's administrator on seller URLs; seller A's administrator on buyer URLs),

and must answer a redirect (to sign in, for the anonymous), 401, 403, 404 or 405: never a 500, never a
body or a redirect that carries any of A's private words (``World.secrets``), never a change to any row
of any table. The owner's own GET is checked too, so a wrong mapping cannot pass by answering 404 to
everyone. The Django admin is staff only: a sample of change pages sends everyone else to its login.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from marketplace.accounts.roles import SELLER_CAPABILITIES
from marketplace.provisioning import protocol
from marketplace.provisioning import services as provisioning_services
from tests.factories import PASSWORD

from .sweep_world import API_TOKENS, World, changed_tables, snapshot

pytestmark = pytest.mark.django_db


# --- the URL patterns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str
    route: str
    args: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str = "", args: tuple = ()):
    for entry in patterns:
        here = args + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, here)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or route)
            yield Pattern(name=name, route=route, args=here)


def patterns_with_arguments() -> dict[str, Pattern]:
    """Every URL pattern that takes an argument, by name; the admin and static files left out."""
    found = {}
    for pattern in _walk(get_resolver().url_patterns):
        if not pattern.args or pattern.name.startswith("admin:") or pattern.route.lstrip("^").startswith("admin/"):
            continue
        if re.match(r"\^?(static|media)/", pattern.route):
            continue
        found[pattern.name] = pattern
    return found


# Open by design: the argument is itself the credential, or the object is meant for everyone.
PUBLIC = {
    "accounts:password_reset_confirm": "the e-mailed reset link: its signed, expiring token is the credential",
    "accounts:invitation": "the e-mailed invitation link: its random token is the credential",
    "verify:letter_verify": (
        "anyone holding a stamped explanation letter checks it by its 64-bit code; the page shows only what "
        "the letter certifies (tax id and personal names masked) and slows down guessing addresses"
    ),
    "seller:benefit_apply": (
        "the platform's benefit catalog: every seller may apply for any benefit; the application made is the "
        "applicant's own (seller A's applications are swept under benefit_application_withdraw)"
    ),
}


# --- what each URL names ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Which object of A a URL's arguments name, and who may reach it.

    ``owner``: "seller" (seller A's administrator), "buyer" (tenant A's administrator, who placed the
    orders), "applicant" (the onboarding applicant), "open_api" (a request signed with seller A's key),
    or "" (nobody: a draft on the public catalog). ``read``/``write``: the seller capability GET and the
    other methods need; seller A's users in roles without it are intruders. ``seller_side``: a buyer
    URL that seller A's staff with this capability may also reach (a ticket's attachment)."""

    kwargs: Callable[[World], dict | list[dict]]
    owner: str
    read: str = ""
    write: str = ""
    seller_side: str = ""
    colleague: str = "all"  # buyer URLs: tenant A's plain user is refused too ("write": reads, may not write)


def seller(kwargs, read: str, write: str = "") -> Target:
    return Target(kwargs, "seller", read=read, write=write or read)


def buyer(kwargs, *, seller_side: str = "", colleague: str = "all") -> Target:
    return Target(kwargs, "buyer", read=seller_side, write=seller_side, seller_side=seller_side, colleague=colleague)


STATEMENT = lambda w: {"pk": w.statement.pk}  # noqa: E731
DRAFT = lambda w: {"pk": w.draft.pk}  # noqa: E731
PENDING = lambda w: {"pk": w.pending_order.pk}  # noqa: E731
TICKET = lambda w: {"pk": w.ticket.pk}  # noqa: E731
INVOICE = lambda w: {"pk": w.invoice_request.pk}  # noqa: E731
REFUND = lambda w: {"pk": w.refund.pk}  # noqa: E731
MARKETING = lambda w: {"pk": w.marketing.pk}  # noqa: E731
MARKETING_FILE = lambda w: {"pk": w.marketing_file.pk}  # noqa: E731
EXPORT = lambda w: {"pk": w.export.pk}  # noqa: E731
SUPERVISED_LINE = lambda w: {"pk": w.supervised_order.pk, "line_id": w.supervised_line.pk}  # noqa: E731

TARGETS: dict[str, Target] = {
    # --- accounts
    "accounts:application_document": Target(lambda w: {"pk": w.application_document.pk}, "applicant"),
    "accounts:invitation_revoke": seller(lambda w: {"pk": w.invitation.pk}, "team.manage"),
    # --- files
    "invoicing:seller_invoice_file": seller(lambda w: {"pk": w.seller_invoice.pk}, "settlement.view"),
    "invoicing:invoice_file": buyer(INVOICE, seller_side="invoices.manage"),
    "invoicing:letter_file": buyer(lambda w: {"pk": w.letter.pk}),
    "tickets:attachment": buyer(lambda w: {"pk": w.ticket_attachment.pk}, seller_side="tickets.manage"),
    # --- seller center
    "seller:statement": seller(STATEMENT, "settlement.view"),
    "seller:statement_pdf": seller(STATEMENT, "settlement.view"),
    "seller:statement_action": seller(
        lambda w: [{"pk": w.statement.pk, "action": a} for a in ("confirm", "dispute", "invoice", "export")],
        "settlement.view",
    ),
    "seller:export_status": seller(EXPORT, "settlement.view"),
    "seller:export_download": seller(EXPORT, "settlement.view"),
    "seller:product_detail": seller(DRAFT, "products.view"),
    "seller:product_edit": seller(DRAFT, "products.manage"),
    "seller:plan_create": seller(DRAFT, "products.manage"),
    "seller:plan_edit": seller(lambda w: {"pk": w.draft.pk, "plan_id": w.draft_plan.pk}, "products.manage"),
    "seller:plan_delete": seller(lambda w: {"pk": w.draft.pk, "plan_id": w.draft_plan.pk}, "products.manage"),
    "seller:product_action": seller(
        lambda w: [{"pk": w.draft.pk, "action": a} for a in ("submit", "withdraw", "delist", "relist")],
        "products.manage",
    ),
    "seller:order_detail": seller(PENDING, "orders.view"),
    "seller:produce_message": seller(lambda w: {"pk": w.produce_message.pk}, "apptools.manage"),
    "seller:produce_message_retry": seller(lambda w: {"pk": w.produce_message.pk}, "apptools.manage"),
    "seller:ticket_detail": seller(TICKET, "tickets.manage"),
    "seller:invoice_request": seller(INVOICE, "invoices.manage"),
    "seller:refund_request": seller(REFUND, "refunds.manage"),
    "seller:benefit_application_withdraw": seller(lambda w: {"pk": w.benefit_application.pk}, "cooperation.manage"),
    "seller:marketing_support_detail": seller(MARKETING, "cooperation.manage"),
    "seller:marketing_support_edit": seller(MARKETING, "cooperation.manage"),
    "seller:marketing_support_submit": seller(MARKETING, "cooperation.manage"),
    "seller:marketing_support_withdraw": seller(MARKETING, "cooperation.manage"),
    "seller:marketing_support_acceptance": seller(MARKETING, "cooperation.manage"),
    "seller:marketing_support_file": seller(MARKETING_FILE, "cooperation.manage"),
    "seller:marketing_support_file_remove": seller(MARKETING_FILE, "cooperation.manage"),
    "seller:team_member": seller(lambda w: {"pk": w.team_member.pk}, "team.manage"),
    # --- buyer center
    "buyer:order_detail": buyer(PENDING),
    "buyer:order_pay": buyer(PENDING),
    "buyer:sandbox_cashier": buyer(PENDING),
    "buyer:order_cancel": buyer(PENDING),
    "buyer:accept_delivery": buyer(SUPERVISED_LINE),
    "buyer:instance_credentials": buyer(lambda w: {"line_id": w.saas_line.pk}),
    "buyer:license_file": buyer(lambda w: {"line_id": w.license_line.pk}),
    "buyer:deployment": buyer(lambda w: {"line_id": w.license_line.pk}),
    # Tenant A's plain user sees the app's tile and is sent back to the workbench: not reaching it.
    "buyer:app_open": buyer(lambda w: {"product_id": w.joint_app.pk}),
    "buyer:app_access": buyer(lambda w: {"product_id": w.joint_app.pk}),
    "buyer:sync_retry": buyer(lambda w: {"pk": w.sync_message.pk}),
    "buyer:ticket_detail": buyer(TICKET),
    # Any buyer may ask about a published product; a draft nobody bought is not there for anyone.
    "buyer:ticket_open": Target(lambda w: {"product_id": w.draft.pk}, ""),
    "buyer:invoice_request": buyer(INVOICE),
    "buyer:refund_request": buyer(REFUND),
    "buyer:refund_new": buyer(lambda w: {"order_id": w.general_order.pk, "line_id": w.refundable_line.pk}),
    "buyer:workbench_member": buyer(lambda w: {"pk": w.colleague_membership.pk}),
    "buyer:workbench_unit_delete": buyer(lambda w: {"pk": w.org_unit.pk}),
    # --- public catalog: published products are for everyone, drafts for nobody
    "catalog:product": Target(DRAFT, ""),
    "api-product-detail": Target(DRAFT, ""),
    # --- seller API
    "api-seller-product-detail": seller(DRAFT, "products.view", "products.manage"),
    "api-seller-product-credit-control": seller(DRAFT, "products.credit"),
    "api-seller-product-delist": seller(DRAFT, "products.manage"),
    "api-seller-product-relist": seller(DRAFT, "products.manage"),
    "api-seller-product-submit": seller(DRAFT, "products.manage"),
    "api-seller-product-withdraw": seller(DRAFT, "products.manage"),
    "api-seller-plan-list": seller(lambda w: {"product_pk": w.draft.pk}, "products.view", "products.manage"),
    "api-seller-plan-detail": seller(
        lambda w: {"product_pk": w.draft.pk, "pk": w.draft_plan.pk}, "products.view", "products.manage"
    ),
    "api-seller-order-detail": seller(PENDING, "orders.view"),
    "api-seller-statement-detail": seller(STATEMENT, "settlement.view"),
    "api-seller-statement-confirm": seller(STATEMENT, "settlement.view"),
    "api-seller-statement-dispute": seller(STATEMENT, "settlement.view"),
    "api-seller-statement-exports": seller(STATEMENT, "settlement.view"),
    "api-seller-statement-invoice": seller(STATEMENT, "settlement.view"),
    "api-seller-statement-lines": seller(STATEMENT, "settlement.view"),
    "api-seller-statement-pdf": seller(STATEMENT, "settlement.view"),
    "api-seller-export-detail": seller(EXPORT, "settlement.view"),
    "api-seller-export-download": seller(EXPORT, "settlement.view"),
    "api-seller-ticket-detail": seller(TICKET, "tickets.manage"),
    "api-seller-ticket-accept": seller(TICKET, "tickets.manage"),
    "api-seller-ticket-assign": seller(TICKET, "tickets.manage"),
    "api-seller-ticket-reply": seller(TICKET, "tickets.manage"),
    "api-seller-ticket-request-feedback": seller(TICKET, "tickets.manage"),
    "api-seller-ticket-resolve": seller(TICKET, "tickets.manage"),
    "api-seller-invoice-request-detail": seller(INVOICE, "invoices.manage"),
    "api-seller-invoice-request-confirm-return": seller(INVOICE, "invoices.manage"),
    "api-seller-invoice-request-deliver": seller(INVOICE, "invoices.manage"),
    "api-seller-invoice-request-issue": seller(INVOICE, "invoices.manage"),
    "api-seller-invoice-request-reject": seller(INVOICE, "invoices.manage"),
    "api-seller-refund-request-detail": seller(REFUND, "refunds.manage"),
    "api-seller-refund-request-approve": seller(REFUND, "refunds.manage"),
    "api-seller-refund-request-propose": seller(REFUND, "refunds.manage"),
    "api-seller-refund-request-reject": seller(REFUND, "refunds.manage"),
    "api-seller-benefit-application-detail": seller(lambda w: {"pk": w.benefit_application.pk}, "cooperation.manage"),
    "api-seller-benefit-application-withdraw": seller(lambda w: {"pk": w.benefit_application.pk}, "cooperation.manage"),
    "api-seller-marketing-support-detail": seller(MARKETING, "cooperation.manage"),
    "api-seller-marketing-support-acceptance": seller(MARKETING, "cooperation.manage"),
    "api-seller-marketing-support-submit": seller(MARKETING, "cooperation.manage"),
    "api-seller-marketing-support-withdraw": seller(MARKETING, "cooperation.manage"),
    "api-seller-marketing-support-file": seller(MARKETING_FILE, "cooperation.manage"),
    # --- buyer API
    "api-buyer-order-detail": buyer(PENDING),
    "api-buyer-order-accept": buyer(SUPERVISED_LINE),
    "api-buyer-order-cancel": buyer(PENDING),
    "api-buyer-order-pay": buyer(PENDING),
    # A tenant's purchased services are listed to all its users (the buyer center's services page).
    "api-buyer-service-detail": buyer(lambda w: {"pk": w.subscription.pk}, colleague=""),
    "api-buyer-ticket-detail": buyer(TICKET),
    "api-buyer-ticket-confirm": buyer(TICKET),
    "api-buyer-ticket-reject": buyer(TICKET),
    "api-buyer-ticket-reply": buyer(TICKET),
    "api-buyer-ticket-withdraw": buyer(TICKET),
    "api-ticket-attachment": buyer(lambda w: {"pk": w.ticket_attachment.pk}, seller_side="tickets.manage"),
    # Every user of a tenant reads its invoice titles (to pick one); its administrators change them.
    "api-buyer-invoice-profile-detail": buyer(lambda w: {"pk": w.invoice_profile.pk}, colleague="write"),
    "api-buyer-invoice-profile-make-default": buyer(lambda w: {"pk": w.invoice_profile.pk}, colleague="write"),
    "api-buyer-invoice-request-detail": buyer(INVOICE),
    "api-buyer-invoice-request-letters": buyer(INVOICE),
    "api-buyer-invoice-request-resubmit": buyer(INVOICE),
    "api-buyer-invoice-request-return": buyer(INVOICE),
    "api-buyer-letter-detail": buyer(lambda w: {"pk": w.letter.pk}),
    "api-buyer-refund-request-detail": buyer(REFUND),
    "api-buyer-refund-request-accept-proposal": buyer(REFUND),
    "api-buyer-refund-request-decline-proposal": buyer(REFUND),
    "api-buyer-refund-request-withdraw": buyer(REFUND),
    "api-buyer-refund-eligibility": buyer(lambda w: {"line_id": w.refundable_line.pk}),
    # --- seller open API: signed with the seller's access key, no user
    "api-open-order-detail": Target(PENDING, "open_api"),
    "api-open-instance-detail": Target(lambda w: {"pk": w.instance.pk}, "open_api"),
    "api-open-message-detail": Target(lambda w: {"pk": w.produce_message.pk}, "open_api"),
}


# --- who asks ---------------------------------------------------------------------------------------------


def _role_without(capability: str) -> str | None:
    return next((r for r in ("support", "developer", "finance") if r not in SELLER_CAPABILITIES[capability]), None)


def intruders(target: Target) -> dict[str, str]:
    """name -> the methods to try: every method, or "write" for a role that may read but not write."""
    found = {"anonymous": "all", "buyer_b": "all", "seller_b": "all"}
    if target.owner == "seller":
        found["buyer_a_admin"] = "all"
    if target.owner == "buyer":
        if not target.seller_side:
            found["seller_a_admin"] = "all"
        if target.colleague:
            found["buyer_a_colleague"] = target.colleague
    if target.owner in ("", "applicant", "open_api"):
        found["seller_a_admin"] = "all"
        found["buyer_a_admin"] = "all"
    if target.write:
        read_role, write_role = _role_without(target.read), _role_without(target.write)
        if read_role:
            found[f"seller_a_{read_role}"] = "all"
        if write_role and write_role != read_role:
            found[f"seller_a_{write_role}"] = "write"
    return found


def user_of(world: World, who: str):
    return {
        "anonymous": None,
        "buyer_b": world.buyer_b_admin,
        "seller_b": world.seller_b_admin,
        "buyer_a_admin": world.buyer_a_admin,
        "buyer_a_colleague": world.buyer_a_colleague,
        "seller_a_admin": world.seller_a_admin,
        **{f"seller_a_{role}": user for role, user in world.seller_a_roles.items()},
    }[who]


def client_for(user, *, api: bool) -> Client:
    client = Client()
    if user is None:
        return client
    if api:  # the API as its clients use it: a token
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {API_TOKENS[user.pk]}"
    else:
        client.force_login(user)
    return client


# --- the requests -------------------------------------------------------------------------------------


PAGE_POST = {
    "action": "accept",
    "reason": "intruder",
    "message": "intruder",
    "body": "intruder",
    "amount": "1.00",
    "role": "admin",
    "remove": "1",
    "password": PASSWORD,
    "method": "online",
    "outcome": "succeed",
    "format": "csv",
    "host": "10.0.0.1",
    "name_zh": "篡改",
    "name_en": "Hijacked",
    "sku_code": "hijack",
    "price": "0.01",
}
API_BODY = {
    "reason": "intruder",
    "body": "intruder",
    "amount": "1.00",
    "method": "online",
    "rating": 5,
    "report": "intruder",
    "name_en": "Hijacked",
    "price": "0.01",
    "credit_coupon_enabled": True,
    "format": "csv",
    "courier": "SF",
    "tracking_number": "1",
    "invoice_number": "1",
}


def content_of(response) -> str:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return data.decode("utf-8", "replace")


def request(client: Client, method: str, url: str, *, api: bool):
    if method == "get":
        return client.get(url)
    if api:
        return getattr(client, method)(url, API_BODY, content_type="application/json")
    return client.post(url, PAGE_POST)


def urls_of(world: World, name: str) -> list[str]:
    made = TARGETS[name].kwargs(world)
    return [reverse(name, kwargs=kwargs) for kwargs in (made if isinstance(made, list) else [made])]


def is_api(name: str) -> bool:
    return name.startswith("api-")


def refusal_problems(
    who: str, method: str, url: str, response, world: World, *, sign_in: str = "/accounts/login/"
) -> list[str]:
    """What is wrong with the answer an intruder got (nothing, if it is a refusal that tells nothing)."""
    problems = []
    status = response.status_code
    if status not in (302, 401, 403, 404, 405):
        problems.append(f"{method.upper()} {url} as {who}: HTTP {status}")
    if status == 302:
        location = response["Location"]
        if not location.startswith("/"):
            problems.append(f"{method.upper()} {url} as {who}: sent off-site to {location}")
        if who == "anonymous" and not location.startswith(sign_in):
            problems.append(f"{method.upper()} {url} as {who}: redirected to {location}, not to sign in")
        for secret in world.secrets:
            if secret in location:
                problems.append(f"{method.upper()} {url} as {who}: the redirect carries {secret!r}")
    text = content_of(response)
    for secret in world.secrets:
        if secret in text:
            problems.append(f"{method.upper()} {url} as {who}: the body shows {secret!r}")
    return problems


def swept_cases() -> list[tuple[str, str]]:
    return [(name, who) for name, target in TARGETS.items() for who in intruders(target)]


# --- the tests ---------------------------------------------------------------------------------------------


def test_every_url_with_an_argument_is_swept():
    """A new URL that names an object must be added to TARGETS (or, with a reason, to PUBLIC)."""
    found = set(patterns_with_arguments())

    assert sorted(found - set(TARGETS) - set(PUBLIC)) == [], "URLs with arguments missing from the sweep"
    assert sorted((set(TARGETS) | set(PUBLIC)) - found) == [], "the sweep names URLs that no longer exist"
    assert not set(TARGETS) & set(PUBLIC)


def test_the_table_names_each_patterns_arguments(world):
    found = patterns_with_arguments()
    for name in TARGETS:
        made = TARGETS[name].kwargs(world)
        for kwargs in made if isinstance(made, list) else [made]:
            assert set(kwargs) == set(found[name].args), name


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_owner_reaches_it(world, name):
    """The table names real objects of A: their owner is not turned away."""
    target = TARGETS[name]
    if target.owner == "":
        pytest.skip("nobody's: a draft on the public catalog")
    for url in urls_of(world, name):
        if target.owner == "open_api":
            key, secret = provisioning_services.access_key_issue(seller=world.seller_a, purpose="open_api")
            response = signed_get(Client(), url, key.key_id, secret)
        else:
            owner = {"seller": world.seller_a_admin, "buyer": world.buyer_a_admin, "applicant": world.applicant}
            response = client_for(owner[target.owner], api=is_api(name)).get(url)
        assert response.status_code in (200, 405) or (
            response.status_code == 302 and not response["Location"].startswith("/accounts/login/")
        ), (url, response.status_code)


@pytest.mark.parametrize(("name", "who"), swept_cases())
def test_nobody_else_sees_or_changes_it(world, name, who):
    target, api = TARGETS[name], is_api(name)
    client = client_for(user_of(world, who), api=api)
    methods = ["get", "post", *(["put", "patch", "delete"] if api else [])]
    if intruders(target)[who] == "write":
        methods.remove("get")
    problems = []
    before = snapshot()

    for url in urls_of(world, name):
        for method in methods:
            problems += refusal_problems(who, method, url, request(client, method, url, api=api), world)

    assert problems == []
    assert changed_tables(before, snapshot()) == []


# --- the seller open API: another seller's signature -------------------------------------------------------


def signed_get(client: Client, path: str, key_id: str, secret: str):
    timestamp, nonce = str(protocol.now_ms()), protocol.new_nonce()
    signature = protocol.open_api_signature(secret, "GET", path, [], timestamp, nonce, b"")
    return client.get(
        path, headers={"X-Access-Key-Id": key_id, "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature}
    )


@pytest.mark.parametrize("name", [n for n, t in TARGETS.items() if t.owner == "open_api"])
def test_another_sellers_signature_does_not_reach_it(world, name):
    key, secret = provisioning_services.access_key_issue(
        seller=world.seller_b_admin.seller_membership.seller, purpose="open_api"
    )
    before = snapshot()

    for url in urls_of(world, name):
        response = signed_get(Client(), url, key.key_id, secret)
        assert response.status_code == 404, url
        assert refusal_problems("seller_b_signed", "get", url, response, world) == []

    assert changed_tables(before, snapshot()) == []


# --- the Django admin: staff only ----------------------------------------------------------------------


def admin_samples(world: World) -> list[str]:
    return [
        reverse("admin:orders_order_change", args=[world.pending_order.pk]),
        reverse("admin:billing_statement_change", args=[world.statement.pk]),
        reverse("admin:tickets_ticket_change", args=[world.ticket.pk]),
        reverse("admin:refunds_refundrequest_change", args=[world.refund.pk]),
        reverse("admin:invoicing_invoicerequest_change", args=[world.invoice_request.pk]),
        reverse("admin:benefits_marketingsupport_change", args=[world.marketing.pk]),
        reverse("admin:accounts_seller_change", args=[world.seller_a.pk]),
        reverse("admin:accounts_user_change", args=[world.buyer_a_admin.pk]),
    ]


@pytest.mark.parametrize("who", ["anonymous", "buyer_a_admin", "seller_a_admin", "seller_b", "buyer_b"])
def test_the_admin_sends_everyone_but_staff_to_its_sign_in(world, who):
    client = client_for(user_of(world, who), api=False)
    problems = []
    before = snapshot()

    for url in admin_samples(world):
        for response in (client.get(url), client.post(url, {"status": "paid", "is_staff": "on"})):
            if response.status_code != 302 or not response["Location"].startswith("/admin/login/"):
                problems.append((url, response.status_code))
            problems += refusal_problems(who, "any", url, response, world, sign_in="/admin/login/")

    assert problems == []
    assert changed_tables(before, snapshot()) == []


def test_operations_staff_open_the_same_admin_pages(world):
    client = client_for(world.ops, api=False)

    for url in admin_samples(world):
        assert client.get(url).status_code == 200, url
