"""Buyers' invoices (DOMAIN.md sections 5 and 6, issue 7): the credit-code check, invoice profiles,
who issues (trade mode and date), requests (amounts, media, double invoicing, even under concurrent
requests), every transition and every refused one, the 7-day deadline and its reminder, returns and
voids before a refund, and explanation letters.

A refused action leaves everything as it was: ``snapshot`` captures what an action may write.
"""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from invoicing import tasks
from invoicing.models import ExplanationLetter, InvoicedOrder, InvoiceProfile, InvoiceRequest, InvoiceRequestEvent
from invoicing.services import buyer_invoices as services
from invoicing.services.buyer_invoices import valid_credit_code
from marketplace.accounts.models import BuyerMembership, SellerMembership, User
from marketplace.catalog.models import TradeMode
from marketplace.core import calendar
from marketplace.core.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from marketplace.core.models import Notification, OutboundEmail
from marketplace.core.validators import USCC_CHARS as CREDIT_CODE_CHARS
from marketplace.core.validators import USCC_WEIGHTS as CREDIT_CODE_WEIGHTS
from marketplace.orders import services as order_services
from marketplace.orders.models import Order
from refunds.models import Refund
from refunds.services import refund_record
from tests.factories import (
    BuyerFactory,
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    bj,
    fresh,
    pdf_upload,
    seller_member,
)

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
R = InvoiceRequest.Status
Medium = InvoiceRequest.Medium
Issuer = InvoiceRequest.Issuer

VALID_CODE = "91350100M000100Y43"
REAL_CODES = ("91350100M000100Y43", "91440300708461136T", "91110108551385082Q", "91110000802100433B")
FORBIDDEN = "IOSVZ"
ELECTRONIC = {"medium": Medium.ELECTRONIC, "recipient_email": "invoices@buyer.test"}
PAPER = {
    "medium": Medium.PAPER,
    "recipient": "Wang Fang",
    "recipient_phone": "+86 138 0000 0000",
    "mailing_address": "1 Chang'an Avenue, Dongcheng, Beijing",
}
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=BJ)  # a request's submission time in the deadline tests


def check_char(body: str) -> str:
    """The GB 32100-2015 check character, computed independently of the code under test."""
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(body, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


# --- helpers ---------------------------------------------------------------------------------------


def staff_with(*codenames: str) -> User:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="invoicing", codename__in=codenames))
    return fresh(user)


def plain_tenant_user(tenant) -> User:
    user = UserFactory()
    BuyerMembership.objects.create(
        buyer=tenant, user=user, role=BuyerMembership.Role.USER, org_unit=tenant.org_units.first()
    )
    return fresh(user)


def product_plan(seller, trade_mode=TradeMode.GENERAL, price="100.00"):
    product = ProductFactory(seller=seller, status="published", trade_mode=trade_mode)
    return PlanFactory(product=product, price=Decimal(price))


def buy(user: User, plan, *, paid_at: datetime | None = None) -> Order:
    order = order_services.order_create(actor=user, plan_id=plan.pk)
    order_services.order_pay(actor=user, order_id=order.pk, method="online")
    if paid_at is not None:
        Order.objects.filter(pk=order.pk).update(paid_at=paid_at, created_at=paid_at)
    return Order.objects.get(pk=order.pk)


def company_data(**overrides) -> dict:
    return {"kind": "company", "title": "Fuzhou Example Software Co., Ltd.", "tax_id": VALID_CODE, **overrides}


SPECIAL = {
    "vat_kind": "special",
    "address": "8 Gutian Road, Fuzhou",
    "phone": "0591-8888 8888",
    "bank_name": "Bank of China, Fuzhou branch",
    "bank_account": "4070 5800 1234",
}


def company(user: User, **overrides) -> InvoiceProfile:
    return services.profile_save(actor=user, data=company_data(**overrides))


def submit(user: User, orders, profile, delivery=None, **kwargs) -> InvoiceRequest:
    return services.invoice_request_submit(
        actor=user,
        order_ids=[o.pk for o in orders],
        profile_id=profile.pk,
        **(delivery or ELECTRONIC),
        **kwargs,
    )


def issue(actor: User, request: InvoiceRequest, **kwargs) -> InvoiceRequest:
    fields = {"invoice_number": "04400001", "invoice_code": "044001900111", "file": pdf_upload("x.pdf"), **kwargs}
    return services.invoice_issue(actor=actor, request_id=request.pk, **fields)


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def stored_files(root) -> list:
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def snapshot(request: InvoiceRequest, root) -> dict:
    """Everything an invoice action may write; a refused action leaves all of it as it was."""
    return {
        "row": InvoiceRequest.objects.filter(pk=request.pk).values().get(),
        "events": InvoiceRequestEvent.objects.filter(request=request).count(),
        "lines": list(
            InvoicedOrder.objects.filter(request=request).order_by("pk").values_list("order_id", "amount", "active")
        ),
        "letters": list(ExplanationLetter.objects.filter(request=request).values_list("pk", "status", "file")),
        "requests": InvoiceRequest.objects.count(),
        "notifications": Notification.objects.count(),
        "emails": OutboundEmail.objects.count(),
        "files": stored_files(root),
    }


def refused(exc_type, fn, request: InvoiceRequest, root, **kwargs):
    """Call ``fn``, expect ``exc_type``, and check that nothing changed."""
    before = snapshot(request, root)
    with pytest.raises(exc_type) as info:
        fn(request_id=request.pk, **kwargs)
    assert snapshot(request, root) == before
    return info.value


def notices(user: User) -> int:
    """Notices about invoices (paying an order tells the seller too)."""
    return Notification.objects.filter(user=user, link__contains="invoice").count()


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def team(seller, seller_user):
    """The seller's staff by role."""
    return {
        "admin": fresh(seller_user),
        "finance": seller_member(seller, SellerMembership.Role.FINANCE),
        "support": seller_member(seller, SellerMembership.Role.SUPPORT),
        "developer": seller_member(seller, SellerMembership.Role.DEVELOPER),
    }


@pytest.fixture
def buyer(buyer_user):
    return fresh(buyer_user)


@pytest.fixture
def profile(buyer):
    return company(buyer)


@pytest.fixture
def order(buyer, plan):
    return buy(buyer, plan)


@pytest.fixture
def requested(buyer, order, profile):
    """An electronic invoice request to the seller, over one CNY 100 order."""
    return submit(buyer, [order], profile)


@pytest.fixture
def paper_requested(buyer, order, profile):
    return submit(buyer, [order], profile, PAPER)


@pytest.fixture
def platform_plan(other_seller):
    return product_plan(other_seller, TradeMode.JOINT, "300.00")


@pytest.fixture
def platform_requested(buyer, platform_plan, profile):
    return submit(buyer, [buy(buyer, platform_plan)], profile)


@pytest.fixture
def issuer_staff(db):
    return staff_with("issue_invoicerequest", "view_invoicerequest")


# --- the unified social credit code ----------------------------------------------------------------


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_credit_codes_are_valid(code):
    assert check_char(code[:17]) == code[17]
    assert valid_credit_code(code)
    assert valid_credit_code(f"  {code.lower()} ")  # typed in lower case, with spaces


def test_a_wrong_check_character_is_refused():
    for char in CREDIT_CODE_CHARS.replace("3", ""):
        assert not valid_credit_code(VALID_CODE[:17] + char)


@pytest.mark.parametrize("code", [VALID_CODE[:17], VALID_CODE + "0", "", None, "9135 0100M000100Y43"])
def test_codes_of_the_wrong_length_are_refused(code):
    assert not valid_credit_code(code)


@pytest.mark.parametrize("letter", FORBIDDEN)
def test_letters_outside_the_alphabet_are_refused(letter):
    body = VALID_CODE[:8] + letter + VALID_CODE[9:17]
    for char in CREDIT_CODE_CHARS + FORBIDDEN:
        assert not valid_credit_code(body + char)
    assert not valid_credit_code(VALID_CODE[:17] + letter)  # nor as the check character


@given(st.text(alphabet=CREDIT_CODE_CHARS, min_size=17, max_size=17))
def test_only_the_computed_check_character_completes_a_code(body):
    right = check_char(body)
    assert valid_credit_code(body + right)
    for char in CREDIT_CODE_CHARS + FORBIDDEN:
        if char != right:
            assert not valid_credit_code(body + char)


# --- invoice profiles ------------------------------------------------------------------------------


def fields_of(exc: ServiceError) -> set:
    return set(exc.field_errors)


def test_a_company_needs_a_valid_credit_code(buyer):
    for tax_id in ("", "91350100M000100Y44", "91350100M000100Y4", "91350100I000100Y43"):
        with pytest.raises(ValidationFailed) as info:
            services.profile_save(actor=buyer, data=company_data(tax_id=tax_id))
        assert fields_of(info.value) == {"tax_id"}
    assert not InvoiceProfile.objects.exists()
    profile = services.profile_save(actor=buyer, data=company_data(tax_id=VALID_CODE.lower()))
    assert profile.tax_id == VALID_CODE


def test_an_individual_has_no_tax_id(buyer):
    with pytest.raises(ValidationFailed) as info:
        services.profile_save(actor=buyer, data={"kind": "individual", "title": "Li Lei", "tax_id": VALID_CODE})
    assert fields_of(info.value) == {"tax_id"}
    profile = services.profile_save(actor=buyer, data={"kind": "individual", "title": "Li Lei"})
    assert (profile.kind, profile.tax_id, profile.vat_kind) == ("individual", "", "general")


def test_unknown_kinds_and_missing_titles_are_refused(buyer):
    with pytest.raises(ValidationFailed) as info:
        services.profile_save(actor=buyer, data={"kind": "club", "title": "", "vat_kind": "gold"})
    assert fields_of(info.value) == {"kind", "title", "vat_kind"}
    assert not InvoiceProfile.objects.exists()


def test_a_special_vat_invoice_needs_a_company_with_its_bank_details(buyer):
    with pytest.raises(ValidationFailed) as info:
        services.profile_save(actor=buyer, data=company_data(vat_kind="special"))
    assert fields_of(info.value) == {"address", "phone", "bank_name", "bank_account"}
    with pytest.raises(ValidationFailed) as info:
        services.profile_save(actor=buyer, data={"kind": "individual", "title": "Li Lei", **SPECIAL})
    assert "vat_kind" in fields_of(info.value)
    assert not InvoiceProfile.objects.exists()
    profile = services.profile_save(actor=buyer, data=company_data(**SPECIAL))
    assert profile.vat_kind == "special" and profile.bank_account == SPECIAL["bank_account"]


def test_the_first_profile_is_the_default_and_one_default_at_a_time(buyer):
    first = company(buyer)
    second = company(buyer, title="Second Co.")
    assert reload(first).is_default and not reload(second).is_default
    services.profile_save(actor=buyer, profile_id=second.pk, data=company_data(title="Second Co."), is_default=True)
    assert not reload(first).is_default and reload(second).is_default
    assert InvoiceProfile.objects.filter(buyer_id=first.buyer_id, is_default=True).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
        InvoiceProfile.objects.filter(pk=first.pk).update(is_default=True)


def test_an_edit_keeps_the_default_unless_asked(buyer):
    first = company(buyer)
    services.profile_save(actor=buyer, profile_id=first.pk, data=company_data(title="Renamed Co."))
    assert reload(first).is_default and reload(first).title == "Renamed Co."
    services.profile_save(actor=buyer, profile_id=first.pk, data=company_data(), is_default=False)
    assert not reload(first).is_default


def test_deleting_the_default_promotes_another(buyer):
    first = company(buyer)
    second = company(buyer, title="Second Co.")
    third = company(buyer, title="Third Co.")
    services.profile_delete(actor=buyer, profile_id=first.pk)
    assert not InvoiceProfile.objects.filter(pk=first.pk).exists()
    assert reload(second).is_default and not reload(third).is_default
    services.profile_delete(actor=buyer, profile_id=third.pk)  # not the default: nothing moves
    assert reload(second).is_default
    services.profile_delete(actor=buyer, profile_id=second.pk)
    assert not InvoiceProfile.objects.exists()


def test_a_tenants_plain_user_cannot_manage_profiles():
    tenant = EnterpriseFactory()
    admin = fresh(tenant.memberships.get().user)
    profile = company(admin)
    user = plain_tenant_user(tenant)
    with pytest.raises(NotAllowed):
        services.profile_save(actor=user, data=company_data())
    with pytest.raises(NotAllowed):
        services.profile_save(actor=user, profile_id=profile.pk, data=company_data(title="Mine now"))
    with pytest.raises(NotAllowed):
        services.profile_delete(actor=user, profile_id=profile.pk)
    assert InvoiceProfile.objects.get().title == profile.title


def test_sellers_are_not_buyers(seller_user):
    with pytest.raises(NotAllowed):
        services.profile_save(actor=seller_user, data=company_data())


def test_another_buyers_profile_is_not_found(buyer, other_buyer_user):
    profile = company(buyer)
    other = fresh(other_buyer_user)
    with pytest.raises(NotFound):
        services.profile_save(actor=other, profile_id=profile.pk, data=company_data(title="Mine now"))
    with pytest.raises(NotFound):
        services.profile_delete(actor=other, profile_id=profile.pk)
    with pytest.raises(NotFound):
        services.profile_delete(actor=other, profile_id="abc")
    assert reload(profile).title == profile.title


# --- who issues ------------------------------------------------------------------------------------


def test_general_orders_from_2018_11_01_beijing_time_are_invoiced_by_the_seller(buyer, plan):
    order = buy(buyer, plan)
    assert services.issuer_for(order) == Issuer.SELLER
    order = buy(buyer, plan, paid_at=bj(2018, 11, 1, 0, 0))  # 2018-10-31 16:00 UTC
    assert services.issuer_for(order) == Issuer.SELLER
    order = buy(buyer, plan, paid_at=bj(2018, 10, 31, 23, 59))
    assert services.issuer_for(order) == Issuer.PLATFORM
    order = buy(buyer, plan, paid_at=datetime(2018, 10, 31, 16, 0, tzinfo=UTC))
    assert services.issuer_for(order) == Issuer.SELLER


@pytest.mark.parametrize("mode", [TradeMode.JOINT, TradeMode.STRICT, TradeMode.STRICT_SELF, TradeMode.PLATFORM])
def test_the_platform_invoices_every_other_trade_mode(buyer, seller, mode):
    order = buy(buyer, product_plan(seller, mode))
    assert order.lines.get().trade_mode == mode
    assert services.issuer_for(order) == Issuer.PLATFORM


def test_an_old_general_order_goes_to_the_platform_queue(buyer, plan, profile, seller):
    old = buy(buyer, plan, paid_at=bj(2018, 10, 1, 12))
    joint = buy(buyer, product_plan(seller, TradeMode.JOINT, "50.00"))
    request = submit(buyer, [old, joint], profile)
    assert (request.issuer, request.seller_id, request.amount) == (Issuer.PLATFORM, None, Decimal("150.00"))


# --- requests --------------------------------------------------------------------------------------


def test_a_request_over_paid_orders(buyer, plan, profile, team):
    first, second = buy(buyer, plan), buy(buyer, plan)
    request = submit(buyer, [first, second], profile, now=T0)
    assert request.status == R.SUBMITTED
    assert (request.issuer, request.seller_id, request.amount) == (Issuer.SELLER, plan.product.seller_id, 200)
    assert request.number.startswith("I20260302")
    assert (request.title, request.tax_id, request.title_kind, request.vat_kind) == (
        profile.title,
        VALID_CODE,
        "company",
        "general",
    )
    assert request.recipient_email == ELECTRONIC["recipient_email"] and request.requested_by == buyer
    assert request.due_at == T0 + timedelta(days=7)
    assert sorted(request.lines.values_list("order_id", "amount", "active")) == [
        (first.pk, Decimal("100.00"), True),
        (second.pk, Decimal("100.00"), True),
    ]
    event = request.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("", R.SUBMITTED, buyer)
    # the seller's administrators and finance staff hear of it; support and developers do not
    assert notices(team["admin"]) == notices(team["finance"]) == 1
    assert notices(team["support"]) == notices(team["developer"]) == 0


def test_the_title_is_copied_so_later_edits_do_not_change_a_request(buyer, requested, profile):
    services.profile_save(actor=buyer, profile_id=profile.pk, data=company_data(title="Renamed Co."))
    services.profile_delete(actor=buyer, profile_id=profile.pk)
    request = reload(requested)
    assert request.title == "Fuzhou Example Software Co., Ltd." and request.profile is None


def test_an_unpaid_order_is_refused(buyer, plan, profile):
    unpaid = order_services.order_create(actor=buyer, plan_id=plan.pk)
    with pytest.raises(Conflict):
        submit(buyer, [unpaid], profile)
    assert not InvoiceRequest.objects.exists() and not InvoicedOrder.objects.exists()


def test_another_buyers_order_is_not_found(buyer, order, profile, other_buyer_user):
    other = fresh(other_buyer_user)
    their_profile = company(other)
    with pytest.raises(NotFound):
        submit(other, [order], their_profile)
    with pytest.raises(NotFound):
        services.invoice_request_submit(actor=other, order_ids=["x"], profile_id=their_profile.pk, **ELECTRONIC)
    with pytest.raises(ValidationFailed) as info:  # nor may a buyer use another's profile
        submit(other, [buy(other, order.lines.get().plan)], profile)
    assert fields_of(info.value) == {"profile"}
    assert not InvoiceRequest.objects.exists()


def test_no_orders_is_a_field_error(buyer, profile):
    with pytest.raises(ValidationFailed) as info:
        services.invoice_request_submit(actor=buyer, order_ids=[], profile_id=profile.pk, **ELECTRONIC)
    assert fields_of(info.value) == {"orders"}


def test_a_tenants_plain_user_cannot_use_a_colleagues_order(seller):
    tenant = EnterpriseFactory()
    admin = fresh(tenant.memberships.get().user)
    user = plain_tenant_user(tenant)
    plan = product_plan(seller)
    profile = company(admin)
    colleagues = buy(admin, plan)
    with pytest.raises(NotFound):
        submit(user, [colleagues], profile)
    own = buy(user, plan)
    request = submit(user, [own], profile)  # the tenant's profile, the user's own order
    assert request.requested_by == user and request.buyer_id == tenant.pk
    # an administrator sees every order of the tenant
    assert submit(admin, [colleagues], profile).buyer_id == tenant.pk


def test_orders_of_two_issuers_are_requested_apart(buyer, plan, profile, seller):
    general, joint = buy(buyer, plan), buy(buyer, product_plan(seller, TradeMode.JOINT))
    with pytest.raises(ValidationFailed):
        submit(buyer, [general, joint], profile)
    assert not InvoiceRequest.objects.exists()


def test_two_sellers_issue_their_own_invoices(buyer, plan, profile, other_seller):
    ours, theirs = buy(buyer, plan), buy(buyer, product_plan(other_seller))
    with pytest.raises(ValidationFailed):
        submit(buyer, [ours, theirs], profile)
    assert not InvoiceRequest.objects.exists()
    # the platform invoices orders of several sellers together
    joint = buy(buyer, product_plan(plan.product.seller, TradeMode.JOINT))
    strict = buy(buyer, product_plan(other_seller, TradeMode.STRICT))
    request = submit(buyer, [joint, strict], profile)
    assert (request.issuer, request.seller_id, request.amount) == (Issuer.PLATFORM, None, Decimal("200.00"))


def test_the_amount_is_what_was_paid_less_refunds(buyer, order, profile):
    refund_record(line_id=order.lines.get().pk, amount="30.50", reason="Partial refund")
    request = submit(buyer, [order], profile)
    assert request.amount == Decimal("69.50")
    assert request.lines.get().amount == Decimal("69.50")


def test_an_order_refunded_in_full_has_nothing_to_invoice(buyer, order, profile):
    refund_record(line_id=order.lines.get().pk, amount="100.00", reason="Full refund")
    with pytest.raises(Conflict):
        submit(buyer, [order], profile)
    assert not InvoiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("delivery", "fields"),
    [
        ({"medium": Medium.PAPER}, {"recipient", "recipient_phone", "mailing_address"}),
        ({**PAPER, "recipient_phone": "  "}, {"recipient_phone"}),
        ({"medium": Medium.ELECTRONIC}, {"recipient_email"}),
        ({"medium": Medium.ELECTRONIC, "recipient_email": "not-an-address"}, {"recipient_email"}),
        ({"medium": Medium.DIGITAL, "recipient_email": "a@b@c"}, {"recipient_email"}),
        ({"medium": "fax", "recipient_email": "a@example.test"}, {"medium"}),
    ],
)
def test_each_medium_needs_its_delivery_details(buyer, order, profile, delivery, fields):
    with pytest.raises(ValidationFailed) as info:
        submit(buyer, [order], profile, delivery)
    assert fields_of(info.value) == fields
    assert not InvoiceRequest.objects.exists()


def test_each_medium_keeps_only_its_own_details(buyer, plan, profile):
    paper = submit(buyer, [buy(buyer, plan)], profile, {**PAPER, "recipient_email": "x@example.test"})
    assert (paper.recipient, paper.recipient_email) == ("Wang Fang", "")
    digital = submit(buyer, [buy(buyer, plan)], profile, {**ELECTRONIC, "medium": Medium.DIGITAL, "recipient": "X"})
    assert (digital.medium, digital.recipient, digital.mailing_address) == (Medium.DIGITAL, "", "")


def test_an_order_is_requested_once(buyer, order, requested, profile, private_media):
    another = buy(buyer, order.lines.get().plan)
    before = snapshot(requested, private_media)
    with pytest.raises(Conflict):
        submit(buyer, [order], profile)
    with pytest.raises(Conflict):  # nor as part of a bigger request
        submit(buyer, [order, another], profile)
    assert snapshot(requested, private_media) == before
    assert InvoicedOrder.objects.count() == 1
    assert submit(buyer, [another], profile).amount == Decimal("100.00")


def test_the_database_refuses_an_order_on_two_live_requests(requested, order):
    other = InvoiceRequest.objects.filter(pk=requested.pk).values().get()
    other.pop("id")
    copy = InvoiceRequest.objects.create(**{**other, "number": "I-COPY"})
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoicedOrder.objects.create(request=copy, order=order, amount=order.amount)
    InvoicedOrder.objects.create(request=copy, order=order, amount=order.amount, active=False)  # history is fine


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_order_make_one_request():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and partial unique indexes need PostgreSQL")
    buyer = fresh(BuyerFactory().memberships.get().user)
    order = buy(buyer, product_plan(SellerFactory()))
    profile = company(buyer)
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(recipient):
        try:
            actor = fresh(buyer)
            barrier.wait(timeout=10)
            services.invoice_request_submit(
                actor=actor, order_ids=[order.pk], profile_id=profile.pk, medium="electronic", recipient_email=recipient
            )
            outcomes.append("ok")
        except ServiceError as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(f"r{i}@buyer.test",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["Conflict", "ok"]
    assert InvoiceRequest.objects.count() == 1
    assert InvoicedOrder.objects.filter(order=order, active=True).count() == 1
    assert InvoiceRequestEvent.objects.count() == 1


# --- issuing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_the_sellers_admin_and_finance_issue(team, requested, role, buyer):
    request = issue(team[role], requested, issued_on=date(2026, 1, 5), amount="100.00", tax_rate="0.06")
    request = reload(request)
    assert request.status == R.DELIVERED  # electronic: e-mailed at once
    assert (request.invoice_number, request.invoice_code, request.issued_on) == (
        "04400001",
        "044001900111",
        date(2026, 1, 5),
    )
    assert (request.invoice_amount, request.tax_rate) == (Decimal("100.00"), Decimal("0.0600"))
    assert request.issued_at and request.delivered_at
    assert request.file.read().startswith(b"%PDF")
    steps = list(request.events.values_list("from_status", "to_status", "actor"))
    assert steps[1:] == [(R.SUBMITTED, R.ISSUED, team[role].pk), (R.ISSUED, R.DELIVERED, team[role].pk)]
    assert notices(buyer) == 1


def test_the_invoice_defaults_to_today_and_six_percent(team, requested):
    request = issue(team["admin"], requested)
    assert request.issued_on == calendar.today(timezone.now())
    assert request.tax_rate == Decimal("0.06") and request.invoice_amount == requested.amount


@pytest.mark.parametrize("role", ["support", "developer"])
def test_support_and_developers_do_not_issue(team, requested, private_media, role):
    refused(NotAllowed, lambda **kw: issue(team[role], reload(requested)), requested, private_media)


def test_another_seller_does_not_see_the_request(requested, other_seller_user, private_media, buyer):
    refused(NotFound, lambda **kw: issue(fresh(other_seller_user), requested), requested, private_media)
    refused(NotFound, lambda **kw: issue(buyer, requested), requested, private_media)  # nor the buyer


def test_operations_do_not_issue_the_sellers_invoices(requested, issuer_staff, private_media):
    refused(NotAllowed, lambda **kw: issue(issuer_staff, requested), requested, private_media)
    nobody = staff_with()
    refused(NotFound, lambda **kw: issue(nobody, requested), requested, private_media)


def test_the_platform_issues_for_other_trade_modes(platform_requested, issuer_staff, private_media, other_seller):
    seller_admin = fresh(other_seller.memberships.get(role="admin").user)
    refused(NotFound, lambda **kw: issue(seller_admin, platform_requested), platform_requested, private_media)
    viewer = staff_with("view_invoicerequest")
    refused(NotAllowed, lambda **kw: issue(viewer, platform_requested), platform_requested, private_media)
    request = issue(issuer_staff, platform_requested)
    assert reload(request).status == R.DELIVERED


def test_the_platform_queue_notifies_staff_allowed_to_issue(buyer, platform_plan, profile, issuer_staff):
    viewer = staff_with("view_invoicerequest")
    submit(buyer, [buy(buyer, platform_plan)], profile)
    assert notices(issuer_staff) == 1 and notices(viewer) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": "99.99"}, "amount"),
        ({"amount": "100.01"}, "amount"),
        ({"amount": "a lot"}, "amount"),
        ({"issued_on": calendar.today() + timedelta(days=1)}, "issued_on"),
        ({"tax_rate": "1"}, "tax_rate"),
        ({"tax_rate": "-0.01"}, "tax_rate"),
        ({"tax_rate": "0.12345"}, "tax_rate"),
        ({"tax_rate": "NaN"}, "tax_rate"),
        ({"tax_rate": "six"}, "tax_rate"),
        ({"invoice_number": ""}, "invoice_number"),
        ({"invoice_number": "1" * 33}, "invoice_number"),
        ({"file": None}, "file"),
        ({"file": SimpleUploadedFile("x.pdf", b"PK\x03\x04 not a pdf")}, "file"),
        ({"file": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)}, "file"),
        ({"file": SimpleUploadedFile("x.pdf", b"")}, "file"),
    ],
)
def test_a_wrong_invoice_is_refused(team, requested, private_media, kwargs, field):
    exc = refused(ValidationFailed, lambda **kw: issue(team["admin"], requested, **kwargs), requested, private_media)
    assert fields_of(exc) == {field}


def test_an_invoice_is_issued_once(team, paper_requested, private_media):
    issue(team["admin"], paper_requested)
    refused(InvalidTransition, lambda **kw: issue(team["admin"], paper_requested), paper_requested, private_media)


def test_an_electronic_invoice_is_emailed_with_its_pdf(team, requested, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issue(team["finance"], requested)
    sent = [m for m in mailoutbox if m.to == [ELECTRONIC["recipient_email"]]]
    assert len(sent) == 1
    [(name, content, mimetype)] = sent[0].attachments
    assert name == "invoice-04400001.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert content == reload(requested).file.read()
    assert OutboundEmail.objects.get(to=ELECTRONIC["recipient_email"]).status == "sent"
    assert reload(requested).status == R.DELIVERED


def test_a_digital_invoice_is_emailed_too(buyer, order, profile, team, django_capture_on_commit_callbacks, mailoutbox):
    request = submit(buyer, [order], profile, {**ELECTRONIC, "medium": Medium.DIGITAL})
    with django_capture_on_commit_callbacks(execute=True):
        issue(team["admin"], request)
    assert reload(request).status == R.DELIVERED
    assert [m.to for m in mailoutbox if m.attachments] == [[ELECTRONIC["recipient_email"]]]


def test_the_platform_can_draw_the_invoice_pdf(team, requested):
    request = issue(team["admin"], requested, file=None, generate=True)
    assert reload(request).file.read().startswith(b"%PDF")


# --- paper delivery --------------------------------------------------------------------------------


def test_a_paper_invoice_waits_for_the_courier(team, paper_requested, private_media, buyer, mailoutbox):
    request = issue(team["admin"], paper_requested)
    assert reload(request).status == R.ISSUED
    assert not OutboundEmail.objects.exclude(attachment="").exists()  # nothing is e-mailed
    assert request.postage_by_seller  # CNY 100: the seller pays the postage
    for courier, tracking, field in (("", "SF100", "courier"), ("SF Express", " ", "tracking_number")):
        exc = refused(
            ValidationFailed,
            lambda **kw: services.invoice_deliver(actor=team["admin"], courier=courier, tracking_number=tracking, **kw),
            request,
            private_media,
        )
        assert fields_of(exc) == {field}
    refused(
        NotAllowed,
        lambda **kw: services.invoice_deliver(actor=team["support"], courier="SF", tracking_number="SF1", **kw),
        request,
        private_media,
    )
    services.invoice_deliver(actor=team["finance"], request_id=request.pk, courier="SF Express", tracking_number="SF1")
    request = reload(request)
    assert (request.status, request.courier, request.tracking_number) == (R.DELIVERED, "SF Express", "SF1")
    assert request.delivered_at is not None
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_deliver(actor=team["admin"], courier="SF", tracking_number="SF2", **kw),
        request,
        private_media,
    )


def test_a_paper_invoice_under_100_travels_at_the_buyers_cost(buyer, seller, profile):
    request = submit(buyer, [buy(buyer, product_plan(seller, price="99.99"))], profile, PAPER)
    assert not request.postage_by_seller
    assert not InvoiceRequest(medium=Medium.ELECTRONIC, amount=Decimal(500)).postage_by_seller


def test_an_unissued_paper_invoice_cannot_be_mailed(team, paper_requested, private_media):
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_deliver(actor=team["admin"], courier="SF", tracking_number="SF1", **kw),
        paper_requested,
        private_media,
    )


def test_electronic_invoices_are_not_mailed(team, requested, private_media):
    issue(team["admin"], requested)
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_deliver(actor=team["admin"], courier="SF", tracking_number="SF1", **kw),
        requested,
        private_media,
    )


# --- rejection and resubmission --------------------------------------------------------------------


def test_a_rejection_needs_a_reason(team, requested, private_media):
    exc = refused(
        ValidationFailed,
        lambda **kw: services.invoice_reject(actor=team["admin"], reason="  ", **kw),
        requested,
        private_media,
    )
    assert fields_of(exc) == {"reason"}
    refused(
        NotAllowed,
        lambda **kw: services.invoice_reject(actor=team["support"], reason="No", **kw),
        requested,
        private_media,
    )


def test_a_rejection_frees_the_orders_and_a_resubmission_holds_them_again(buyer, team, requested, order, profile):
    services.invoice_reject(actor=team["admin"], request_id=requested.pk, reason="The title is misspelt.")
    request = reload(requested)
    assert (request.status, request.rejection_reason) == (R.REJECTED, "The title is misspelt.")
    assert not request.lines.filter(active=True).exists()
    assert request.events.last().message == "The title is misspelt."
    fixed = company(buyer, title="Correct Co.")
    later = T0 + timedelta(days=30)
    services.invoice_request_resubmit(
        actor=buyer, request_id=request.pk, profile_id=fixed.pk, now=later, **{**PAPER, "medium": Medium.PAPER}
    )
    request = reload(requested)
    assert (request.status, request.title, request.medium, request.rejection_reason) == (
        R.SUBMITTED,
        "Correct Co.",
        Medium.PAPER,
        "",
    )
    assert (request.recipient_email, request.recipient) == ("", "Wang Fang")
    assert request.due_at == later + timedelta(days=7) and request.reminded_at is None
    assert list(request.lines.values_list("order_id", "active")) == [(order.pk, True)]
    with pytest.raises(Conflict):
        submit(buyer, [order], profile)


def test_a_rejected_requests_orders_can_be_requested_again(buyer, team, requested, order, profile, private_media):
    services.invoice_reject(actor=team["admin"], request_id=requested.pk, reason="Wrong title")
    again = submit(buyer, [order], profile)
    assert again.lines.get().active
    exc = refused(
        Conflict,
        lambda **kw: services.invoice_request_resubmit(actor=buyer, profile_id=profile.pk, **ELECTRONIC, **kw),
        requested,
        private_media,
    )
    assert not isinstance(exc, InvalidTransition)
    assert reload(requested).status == R.REJECTED


def test_only_a_rejected_request_is_resubmitted(buyer, requested, profile, private_media, other_buyer_user):
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_request_resubmit(actor=buyer, profile_id=profile.pk, **ELECTRONIC, **kw),
        requested,
        private_media,
    )
    other = fresh(other_buyer_user)
    refused(
        NotFound,
        lambda **kw: services.invoice_request_resubmit(actor=other, profile_id=company(other).pk, **ELECTRONIC, **kw),
        requested,
        private_media,
    )


def test_an_issued_invoice_is_not_rejected(team, requested, private_media):
    issue(team["admin"], requested)
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_reject(actor=team["admin"], reason="Changed my mind", **kw),
        requested,
        private_media,
    )


# --- returns, voids and refunds --------------------------------------------------------------------


def start_return(buyer, request, reason="Refund of the order"):
    return services.invoice_return_start(actor=buyer, request_id=request.pk, reason=reason)


def test_a_paper_invoice_is_returned_before_a_refund(buyer, team, paper_requested, order, profile, private_media):
    line = order.lines.get()
    issue(team["admin"], paper_requested)
    assert services.invoice_blocks_refund(order_id=order.pk)
    with pytest.raises(Conflict):
        refund_record(line_id=line.pk, amount="10", reason="Refund")
    assert not Refund.objects.exists()
    exc = refused(
        ValidationFailed,
        lambda **kw: services.invoice_return_start(actor=buyer, reason="", **kw),
        paper_requested,
        private_media,
    )
    assert fields_of(exc) == {"reason"}
    refused(
        NotFound,
        lambda **kw: services.invoice_return_start(actor=team["admin"], reason="Refund", **kw),
        paper_requested,
        private_media,
    )
    start_return(buyer, paper_requested)  # from "issued"
    request = reload(paper_requested)
    assert (request.status, request.return_reason) == (R.RETURN_REQUESTED, "Refund of the order")
    with pytest.raises(Conflict):  # still out until the issuer has it back
        refund_record(line_id=line.pk, amount="10", reason="Refund")
    refused(
        NotFound,
        lambda **kw: services.invoice_return_confirm(actor=buyer, **kw),
        paper_requested,
        private_media,
    )
    refused(
        NotAllowed,
        lambda **kw: services.invoice_return_confirm(actor=team["support"], **kw),
        paper_requested,
        private_media,
    )
    services.invoice_return_confirm(actor=team["finance"], request_id=request.pk)
    request = reload(paper_requested)
    assert request.status == R.RETURNED
    assert not request.lines.filter(active=True).exists()
    assert not services.invoice_blocks_refund(order_id=order.pk)
    refund_record(line_id=line.pk, amount="10", reason="Refund")
    # the order is free again: the rest can be invoiced anew
    assert submit(buyer, [order], profile).amount == Decimal("90.00")


def test_an_electronic_invoice_is_voided_before_a_refund(buyer, team, requested, order):
    issue(team["admin"], requested)  # delivered by e-mail
    start_return(buyer, requested)  # from "delivered"
    assert reload(requested).status == R.RETURN_REQUESTED
    services.invoice_return_confirm(actor=team["admin"], request_id=requested.pk)
    request = reload(requested)
    assert request.status == R.VOIDED
    assert [e.to_status for e in request.events.all()] == [
        R.SUBMITTED,
        R.ISSUED,
        R.DELIVERED,
        R.RETURN_REQUESTED,
        R.VOIDED,
    ]
    refund_record(line_id=order.lines.get().pk, amount="100", reason="Refund")
    assert reload(order).status == Order.Status.REFUNDED


def test_a_delivered_paper_invoice_is_returned(buyer, team, paper_requested):
    issue(team["admin"], paper_requested)
    services.invoice_deliver(actor=team["admin"], request_id=paper_requested.pk, courier="EMS", tracking_number="E1")
    start_return(buyer, paper_requested)
    services.invoice_return_confirm(actor=team["admin"], request_id=paper_requested.pk)
    assert reload(paper_requested).status == R.RETURNED


def test_returns_need_an_issued_invoice(buyer, team, requested, private_media):
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_return_start(actor=buyer, reason="Refund", **kw),
        requested,
        private_media,
    )
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_return_confirm(actor=team["admin"], **kw),
        requested,
        private_media,
    )
    issue(team["admin"], requested)
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_return_confirm(actor=team["admin"], **kw),
        requested,
        private_media,
    )
    start_return(buyer, requested)
    refused(
        InvalidTransition,
        lambda **kw: services.invoice_return_start(actor=buyer, reason="Again", **kw),
        requested,
        private_media,
    )
    services.invoice_return_confirm(actor=team["admin"], request_id=requested.pk)
    for fn in (
        lambda **kw: services.invoice_return_confirm(actor=team["admin"], **kw),
        lambda **kw: services.invoice_return_start(actor=buyer, reason="Again", **kw),
        lambda **kw: services.invoice_reject(actor=team["admin"], reason="Again", **kw),
        lambda **kw: issue(team["admin"], requested),
    ):
        refused(InvalidTransition, fn, requested, private_media)


def test_a_tenants_plain_user_returns_only_own_requests(seller):
    tenant = EnterpriseFactory()
    admin = fresh(tenant.memberships.get().user)
    user = plain_tenant_user(tenant)
    plan = product_plan(seller)
    profile = company(admin)
    request = submit(admin, [buy(admin, plan)], profile)
    issue(fresh(seller.memberships.get(role="admin").user), request)
    with pytest.raises(NotFound):
        start_return(user, request)
    start_return(admin, request)


def test_a_platform_invoice_is_voided_by_operations(buyer, platform_requested, issuer_staff, other_seller):
    issue(issuer_staff, platform_requested)
    start_return(buyer, platform_requested)
    seller_admin = fresh(other_seller.memberships.get(role="admin").user)
    with pytest.raises(NotFound):
        services.invoice_return_confirm(actor=seller_admin, request_id=platform_requested.pk)
    services.invoice_return_confirm(actor=issuer_staff, request_id=platform_requested.pk)
    assert reload(platform_requested).status == R.VOIDED


def test_the_platforms_automatic_refunds_do_not_wait_for_the_invoice(team, requested, order):
    issue(team["admin"], requested)
    refund = refund_record(
        line_id=order.lines.get().pk, amount="100", reason="Provisioning failed", invoice_check=False
    )
    assert refund.amount == Decimal("100.00")
    assert reload(requested).status == R.DELIVERED


def test_a_submitted_request_does_not_hold_a_refund(requested, order):
    assert not services.invoice_blocks_refund(order_id=order.pk)
    refund_record(line_id=order.lines.get().pk, amount="10", reason="Refund")


# --- the deadline ----------------------------------------------------------------------------------


def test_requests_are_due_within_seven_days(buyer, order, profile):
    request = submit(buyer, [order], profile, now=T0)
    assert request.due_at == T0 + timedelta(days=7)
    assert not request.overdue(T0 + timedelta(days=7))
    assert request.overdue(T0 + timedelta(days=7, seconds=1))


def test_the_issuer_is_reminded_the_day_before_once(buyer, plan, profile, team):
    due = submit(buyer, [buy(buyer, plan)], profile, now=T0)
    issued = submit(buyer, [buy(buyer, plan)], profile, now=T0)
    issue(team["admin"], issued)
    counts = {role: notices(user) for role, user in team.items()}
    assert services.invoices_remind_due(now=T0 + timedelta(days=5, hours=23)) == 0
    assert services.invoices_remind_due(now=T0 + timedelta(days=6)) == 1
    assert reload(due).reminded_at == T0 + timedelta(days=6)
    assert reload(issued).reminded_at is None
    after = {role: notices(user) for role, user in team.items()}
    assert {role: after[role] - counts[role] for role in team} == {
        "admin": 1,
        "finance": 1,
        "support": 0,
        "developer": 0,
    }
    assert services.invoices_remind_due(now=T0 + timedelta(days=6, hours=12)) == 0
    assert services.invoices_remind_due(now=T0 + timedelta(days=9)) == 0
    assert {role: notices(user) for role, user in team.items()} == after


def test_a_resubmitted_request_is_reminded_again(buyer, team, profile, order):
    request = submit(buyer, [order], profile, now=T0)
    assert services.invoices_remind_due(now=T0 + timedelta(days=6)) == 1
    services.invoice_reject(actor=team["admin"], request_id=request.pk, reason="Wrong title")
    assert services.invoices_remind_due(now=T0 + timedelta(days=8)) == 0  # rejected: nothing to issue
    later = T0 + timedelta(days=10)
    services.invoice_request_resubmit(
        actor=buyer, request_id=request.pk, profile_id=profile.pk, now=later, **ELECTRONIC
    )
    assert services.invoices_remind_due(now=later + timedelta(days=5)) == 0
    assert services.invoices_remind_due(now=later + timedelta(days=6)) == 1


def test_the_reminder_task_runs(buyer, order, profile, team):
    request = submit(buyer, [order], profile, now=T0)
    with time_machine.travel(T0 + timedelta(days=6, hours=1), tick=False):
        tasks.remind_invoice_requests.delay()
        tasks.remind_invoice_requests.delay()  # safe to run twice
    assert reload(request).reminded_at == T0 + timedelta(days=6, hours=1)
    assert notices(team["finance"]) == 2  # the request, then one reminder


# --- explanation letters ---------------------------------------------------------------------------


@pytest.fixture
def issued(team, requested):
    return issue(team["admin"], requested)


def test_a_letter_is_for_an_issued_invoice(buyer, requested, team, private_media):
    refused(InvalidTransition, lambda **kw: services.letter_request(actor=buyer, **kw), requested, private_media)
    issue(team["admin"], requested)  # e-mailed: delivered
    letter = services.letter_request(actor=buyer, request_id=requested.pk)
    assert (letter.status, letter.requested_by, letter.request_id) == ("stamping", buyer, requested.pk)
    assert len(letter.verification_code) == 16 and letter.expected_at == letter.created_at  # 0 s in tests


def test_a_letter_for_a_paper_invoice_once_issued(buyer, team, paper_requested):
    issue(team["admin"], paper_requested)  # issued, not yet mailed
    assert services.letter_request(actor=buyer, request_id=paper_requested.pk).status == "stamping"


def test_no_letter_for_a_returned_invoice(buyer, team, requested, private_media):
    issue(team["admin"], requested)
    start_return(buyer, requested)
    refused(InvalidTransition, lambda **kw: services.letter_request(actor=buyer, **kw), requested, private_media)


def test_letters_only_for_the_buyers_own_requests(issued, other_buyer_user, team, private_media):
    for actor in (fresh(other_buyer_user), team["admin"]):
        refused(NotFound, lambda actor=actor, **kw: services.letter_request(actor=actor, **kw), issued, private_media)


def test_a_tenants_plain_user_asks_letters_for_own_requests(seller):
    tenant = EnterpriseFactory()
    admin = fresh(tenant.memberships.get().user)
    user = plain_tenant_user(tenant)
    plan = product_plan(seller)
    profile = company(admin)
    seller_admin = fresh(seller.memberships.get(role="admin").user)
    admins = issue(seller_admin, submit(admin, [buy(admin, plan)], profile))
    own = issue(seller_admin, submit(user, [buy(user, plan)], profile))
    with pytest.raises(NotFound):
        services.letter_request(actor=user, request_id=admins.pk)
    services.letter_request(actor=user, request_id=own.pk)
    services.letter_request(actor=admin, request_id=admins.pk)


def test_one_letter_at_a_time(buyer, issued, private_media):
    # Without the commit of a test transaction the stamping task is not sent: the letter waits.
    first = services.letter_request(actor=buyer, request_id=issued.pk)
    exc = refused(Conflict, lambda **kw: services.letter_request(actor=buyer, **kw), issued, private_media)
    assert not isinstance(exc, InvalidTransition)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
        ExplanationLetter.objects.create(
            request=issued,
            requested_by=buyer,
            verification_code="DUPLICATE",
            expected_at=timezone.now(),
        )
    assert services.letter_stamp(letter_id=first.pk)
    second = services.letter_request(actor=buyer, request_id=issued.pk)  # stamped: another may follow
    assert second.verification_code != first.verification_code


def test_a_letter_is_stamped_in_the_background(buyer, issued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        letter = services.letter_request(actor=buyer, request_id=issued.pk)
    letter = reload(letter)
    assert letter.status == "stamped" and letter.stamped_at is not None
    assert letter.file.read().startswith(b"%PDF")
    assert notices(buyer) == 2  # the invoice, the letter


def test_stamping_twice_does_nothing_the_second_time(buyer, issued):
    letter = services.letter_request(actor=buyer, request_id=issued.pk)
    stamped_at = timezone.now()
    assert services.letter_stamp(letter_id=letter.pk, now=stamped_at) is True
    stamped = reload(letter)
    events, notes = issued.events.count(), Notification.objects.count()
    assert services.letter_stamp(letter_id=letter.pk, now=stamped_at + timedelta(hours=1)) is False
    again = reload(letter)
    assert (again.status, again.file.name, again.stamped_at) == ("stamped", stamped.file.name, stamped_at)
    assert (issued.events.count(), Notification.objects.count()) == (events, notes)
    assert services.letter_stamp(letter_id=10**9) is False


def test_lost_letters_are_stamped_by_the_sweep(buyer, issued, team, plan, profile):
    lost = services.letter_request(actor=buyer, request_id=issued.pk, now=timezone.now() - timedelta(minutes=10))
    other = issue(team["admin"], submit(buyer, [buy(buyer, plan)], profile))
    fresh_letter = services.letter_request(actor=buyer, request_id=other.pk)  # just asked: its task is on its way
    assert services.letters_stamp_due() == 1
    assert reload(lost).status == "stamped" and reload(fresh_letter).status == "stamping"
    assert services.letters_stamp_due() == 0
    assert tasks.stamp_due_letters.delay().get() == 0
