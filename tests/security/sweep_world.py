"""The data set of the URL sweep (test_url_sweep.py): seller A and buyer A own one object of each kind
any URL of the project names; seller B and buyer B (and seller A's users without a role) must not
reach them.

Made once per test module through the apps' services (the ORM only where a service needs a seller's
server on the other end: the instance a SaaS line got, a sync call), inside a transaction that is
rolled back when the module ends.
"""

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from benefits.models import AccelerationPlan, Benefit, BenefitApplication, MarketingSupport
from benefits.services import acceleration as plan_services
from benefits.services import applications as benefit_services
from benefits.services import marketing as marketing_services
from billing.models import ExportJob, LedgerEntry, Statement
from billing.services import exports as export_services
from billing.services import statements as statement_services
from invoicing import services as invoice_services
from invoicing.models import ExplanationLetter, InvoiceProfile, InvoiceRequest, SellerInvoice
from marketplace.accounts import services as account_services
from marketplace.accounts.models import BuyerMembership, Invitation, OrgUnit, SellerApplicationDocument, User
from marketplace.accounts.services import api_token_issue
from marketplace.catalog.models import DeliveryKind, Plan, Product, TradeMode
from marketplace.core import calendar
from marketplace.orders import services as order_services
from marketplace.orders.models import Order, OrderLine, Subscription
from marketplace.provisioning import services as provisioning_services
from marketplace.provisioning.models import Instance, ProduceMessage, SellerIntegration
from marketplace.sso import services as sso_services
from refunds import services as refund_services
from refunds.models import RefundRequest
from tests.billing.builders import make_statement
from tests.factories import (
    PDF_BYTES,
    PNG_BYTES,
    EnterpriseFactory,
    PlanFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    application_data,
    bj,
    credit_code,
    fresh,
    pdf_upload,
    seller_member,
)
from tickets import services as ticket_services
from tickets.models import Ticket, TicketAttachment

# Words that appear only in seller A's and buyer A's private objects: no other party may ever read them.
SECRET_PRODUCT = "SweepSecretDraft"
SECRET_PDF = PDF_BYTES.replace(b"/Catalog", b"/Catalog /SweepSecretPdf")
SECRET_PNG = PNG_BYTES + b"SweepSecretPng"


@dataclass
class World:
    seller_a: object
    seller_a_admin: User
    seller_a_roles: dict[str, User]  # role -> a user of seller A in that role
    buyer_a_admin: User  # administrator of enterprise tenant A; places every order of A
    buyer_a_colleague: User  # a plain user of tenant A
    seller_b_admin: User
    buyer_b_admin: User  # administrator of another enterprise tenant
    ops: User
    # seller A's
    product: Product  # published, general SaaS
    plan: Plan
    draft: Product
    draft_plan: Plan
    joint_app: Product  # joint SaaS with single sign-on
    license_product: Product  # License with auto-deployment
    supervised_product: Product
    benefit: Benefit
    benefit_application: BenefitApplication
    marketing: MarketingSupport  # a draft, with a file of its plan
    marketing_file: object
    marketing_approved: MarketingSupport  # approved; the activity ends in two days
    statement: Statement  # waiting for the seller's confirmation
    invoiced_statement: Statement  # waiting for the invoice, which seller A submitted
    seller_invoice: SellerInvoice
    statement_to_invoice: Statement  # waiting for an invoice nobody submitted yet
    export: ExportJob
    produce_message: ProduceMessage
    invitation: Invitation
    team_member: object  # seller A's developer membership
    application_document: SellerApplicationDocument
    applicant: User
    # buyer A's
    pending_order: Order
    saas_order: Order  # paid, joint SaaS with its instance
    saas_line: OrderLine
    subscription: Subscription
    instance: Instance
    sync_message: ProduceMessage
    license_line: OrderLine
    supervised_order: Order
    supervised_line: OrderLine
    refund: RefundRequest
    general_order: Order  # paid, general SaaS; invoiced
    refundable_line: OrderLine  # its line: nobody asked to refund it yet
    ticket: Ticket
    ticket_attachment: TicketAttachment
    invoice_profile: InvoiceProfile
    invoice_request: InvoiceRequest  # issued by seller A, with its PDF
    invoice_request_waiting: InvoiceRequest  # requested, for seller A to issue
    platform_invoice_request: InvoiceRequest  # requested over the joint order: the platform issues it
    letter: ExplanationLetter
    org_unit: OrgUnit
    colleague_membership: BuyerMembership
    secrets: list[str] = field(default_factory=list)


def staff(group: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return fresh(user)


def _rsa_public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _buy(user: User, plan: Plan) -> Order:
    order = order_services.order_create(actor=fresh(user), plan_id=plan.pk)
    if order.status == Order.Status.PENDING_PAYMENT:
        order_services.order_pay(actor=fresh(user), order_id=order.pk, method="online")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID, order.status
    return order


def _gmv(seller, amount: str) -> None:
    """Sales this year in the settlement ledger: what benefits and the acceleration plan look at."""
    today = calendar.today()
    gross = Decimal(amount)
    LedgerEntry.objects.create(
        seller=seller,
        trade_mode=TradeMode.GENERAL,
        period=date(today.year, 1, 1),
        kind="order",
        gross=gross,
        fee_rate=Decimal("0.1"),
        fee=gross / 10,
        net=gross - gross / 10,
        currency="CNY",
        occurred_at=calendar.start_of_day(date(today.year, 1, 2)),
        source="sweep-gmv",
    )


# Each party's API token (only hashes are stored): user id -> token.
API_TOKENS: dict[int, str] = {}


def build(rsa_private_key) -> World:
    """``rsa_private_key``: seller A's key (3072 bits or more), the session's sample-ISV key."""
    ops, finance, finance2 = staff("operations"), staff("finance"), staff("finance")

    # --- the parties ------------------------------------------------------------------------------
    seller_a = SellerFactory(name="SweepSecretSellerCo")
    seller_a_admin = seller_a.memberships.get().user
    roles = {role: seller_member(seller_a, role) for role in ("finance", "support", "developer")}
    seller_b_admin = SellerFactory().memberships.get().user
    tenant_a = EnterpriseFactory(name="SweepSecretTenant")
    buyer_a_admin = tenant_a.memberships.get().user
    colleague = UserFactory(name="SweepSecretColleague")
    colleague_membership = BuyerMembership.objects.create(buyer=tenant_a, user=colleague, role="user")
    buyer_b_admin = EnterpriseFactory().memberships.get().user
    API_TOKENS.clear()
    for user in (seller_a_admin, *roles.values(), seller_b_admin, buyer_a_admin, colleague, buyer_b_admin, ops):
        API_TOKENS[user.pk] = api_token_issue(user=user)

    # --- seller A's catalog and integration ---------------------------------------------------------
    SellerIntegration.objects.create(
        seller=seller_a,
        produce_url="http://127.0.0.1:9/produce",  # never called: delivery runs after a commit
        sync_base_url="http://127.0.0.1:9",
        deploy_url="http://127.0.0.1:9/deploy",
        rsa_public_key=_rsa_public_pem(rsa_private_key),
    )
    provisioning_services.access_key_issue(seller=seller_a, purpose="produce")
    product = ProductFactory(seller=seller_a, status="published", name_en="Sweep General")
    plan = PlanFactory(product=product, sku_code="sweep-general")
    draft = ProductFactory(seller=seller_a, name_zh=SECRET_PRODUCT + "中", name_en=SECRET_PRODUCT)
    draft_plan = PlanFactory(product=draft, sku_code="sweep-draft")
    joint_app = ProductFactory(
        seller=seller_a, status="published", trade_mode=TradeMode.JOINT, delivery_kind=DeliveryKind.SAAS
    )
    joint_plan = PlanFactory(product=joint_app, sku_code="sweep-joint")
    sso_services.app_register(
        actor=fresh(seller_a_admin), product_id=joint_app.pk, redirect_uris="https://sweep.example.com/cb"
    )
    license_product = ProductFactory(
        seller=seller_a,
        status="published",
        delivery_kind=DeliveryKind.LICENSE,
        auto_deploy=True,
        deploy_parameters=[{"name": "host", "label": "Server address"}],
    )
    license_plan = PlanFactory(product=license_product, sku_code="sweep-license")
    supervised_product = ProductFactory(seller=seller_a, status="published", delivery_kind="manual")
    supervised_plan = PlanFactory(product=supervised_product, sku_code="sweep-manual", price=Decimal("300.00"))
    ticket_services.reception_update(
        actor=fresh(seller_a_admin),
        accepts_tickets=True,
        windows=[(d, time(9), time(18)) for d in range(7)],
        first_response_hours=4,
        resolution_hours=16,
    )

    # --- buyer A's orders -------------------------------------------------------------------------
    pending_order = order_services.order_create(actor=fresh(buyer_a_admin), plan_id=plan.pk)
    general_order = _buy(buyer_a_admin, plan)
    saas_order = _buy(buyer_a_admin, joint_plan)
    saas_line = saas_order.lines.get()
    produce_message = ProduceMessage.objects.get(order_line=saas_line, activity="newInstance")
    instance = Instance.objects.create(
        order_line=saas_line,
        subscription=saas_line.subscription,
        seller=seller_a,
        instance_id="sweep-secret-instance",
        front_end_url="https://sweep.example.com/app",
        username="sweep-secret-user",
        password="sweep-secret-password",
    )
    sync_message = ProduceMessage.objects.create(
        seller=seller_a,
        kind=ProduceMessage.Kind.SYNC,
        activity="tenantSync",
        instance=instance,
        payload={"activity": "tenantSync", "instanceId": instance.instance_id},
        status=ProduceMessage.Status.PARKED,
        attempts=3,
    )
    license_order = _buy(buyer_a_admin, license_plan)
    supervised_order = _buy(buyer_a_admin, supervised_plan)
    supervised_line = supervised_order.lines.get()
    refund = refund_services.refund_request_create(
        actor=fresh(buyer_a_admin),
        line_id=supervised_line.pk,
        amount="40.00",
        reason_code="quality",
        reason_text="SweepSecretRefundReason",
    )

    # --- tickets ------------------------------------------------------------------------------------
    ticket = ticket_services.ticket_open(
        actor=fresh(buyer_a_admin),
        product_id=product.pk,
        category="fault",
        title="SweepSecretTicket",
        description="It does not start.",
        files=[SimpleUploadedFile("screen.png", SECRET_PNG, content_type="image/png")],
    )
    ticket_services.ticket_accept(actor=fresh(seller_a_admin), ticket_id=ticket.pk)

    # --- buyers' invoices ---------------------------------------------------------------------------
    profile = invoice_services.profile_save(
        actor=fresh(buyer_a_admin),
        data={
            "kind": "company",
            "title": "SweepSecretTitle Ltd",
            "tax_id": credit_code(4299001),
            "vat_kind": "special",
            "address": "1 Keji Road, Shenzhen",
            "phone": "0755-12345678",
            "bank_name": "Bank of Shenzhen",
            "bank_account": "6222020200112233",
        },
    )
    invoice_request = invoice_services.invoice_request_submit(
        actor=fresh(buyer_a_admin),
        order_ids=[general_order.pk],
        profile_id=profile.pk,
        medium="electronic",
        recipient_email="sweep-secret@tenant.test",
    )
    invoice_services.invoice_issue(
        actor=fresh(seller_a_admin),
        request_id=invoice_request.pk,
        invoice_number="04409999",
        invoice_code="044001900111",
        issued_on=calendar.today(),
        amount=invoice_request.amount,
        tax_rate="0.06",
        file=SimpleUploadedFile("invoice.pdf", SECRET_PDF, content_type="application/pdf"),
    )
    letter = invoice_services.letter_request(actor=fresh(buyer_a_admin), request_id=invoice_request.pk)
    platform_invoice_request = invoice_services.invoice_request_submit(
        actor=fresh(buyer_a_admin),
        order_ids=[saas_order.pk],
        profile_id=profile.pk,
        medium="electronic",
        recipient_email="sweep-secret@tenant.test",
    )
    invoice_request_waiting = invoice_services.invoice_request_submit(
        actor=fresh(buyer_a_admin),
        order_ids=[_buy(buyer_a_admin, plan).pk],
        profile_id=profile.pk,
        medium="electronic",
        recipient_email="sweep-secret@tenant.test",
    )
    invoice_services.letter_stamp(letter_id=letter.pk)

    # --- settlement ---------------------------------------------------------------------------------
    # Sent before the confirmation cut-off (2024-12-24): it waits for the seller's confirmation.
    statement = make_statement(ops, seller_a, "joint", "5000.00", month=(2024, 11))
    statement_services.statement_send(actor=ops, statement_id=statement.pk, now=bj(2024, 12, 4, 10))
    invoiced = make_statement(ops, seller_a, "joint", "7000.00", month=(2026, 4))
    statement_services.statement_send(actor=ops, statement_id=invoiced.pk, now=bj(2026, 5, 4, 10))
    for approver in (finance, finance2):
        statement_services.statement_countersign(actor=approver, statement_id=invoiced.pk)
    seller_invoice = invoice_services.seller_invoice_submit(
        actor=fresh(seller_a_admin),
        statement_id=invoiced.pk,
        number="SWEEP-INV-1",
        issued_on=calendar.today(),
        amount=Statement.objects.get(pk=invoiced.pk).net_payable,
        tax_rate="0.06",
        file=SimpleUploadedFile("invoice.pdf", SECRET_PDF, content_type="application/pdf"),
    )
    to_invoice = make_statement(ops, seller_a, "joint", "3000.00", month=(2026, 5))
    statement_services.statement_send(actor=ops, statement_id=to_invoice.pk, now=bj(2026, 6, 4, 10))
    for approver in (finance, finance2):
        statement_services.statement_countersign(actor=approver, statement_id=to_invoice.pk)
    export = export_services.export_request(actor=fresh(seller_a_admin), statement_id=statement.pk, fmt="csv")
    export_services.export_run(job_id=export.pk)

    # --- benefits and marketing support ---------------------------------------------------------------
    _gmv(seller_a, "3000000.00")
    benefit = Benefit.objects.create(
        name_zh="流量扶持",
        name_en="Traffic support",
        gmv_threshold=Decimal("1000.00"),
        lead_days=14,
        active_from=calendar.today() - timedelta(days=30),
    )
    benefit_application = benefit_services.benefit_apply(
        actor=fresh(seller_a_admin), benefit_id=benefit.pk, wanted_from=calendar.today() + timedelta(days=30)
    )
    acceleration = plan_services.plan_apply(
        actor=fresh(seller_a_admin), signer_name="Li Lei", signer_role="general manager", agreed=True
    )
    plan_services.plan_approve(actor=ops, plan_id=acceleration.pk)
    marketing = marketing_services.marketing_save(
        actor=fresh(seller_a_admin),
        data={
            "activity_name": "SweepSecretCampaign",
            "starts_on": str(calendar.today() + timedelta(days=20)),
            "ends_on": str(calendar.today() + timedelta(days=40)),
            "channels": [MarketingSupport.Channel.values[0]],
            "budget": "50000.00",
            "proposal": "A plan.",
        },
        files=[SimpleUploadedFile("plan.pdf", SECRET_PDF, content_type="application/pdf")],
    )
    marketing_approved = marketing_services.marketing_save(
        actor=fresh(seller_a_admin),
        data={
            "activity_name": "SweepSecretApproved",
            "starts_on": str(calendar.today() + timedelta(days=1)),
            "ends_on": str(calendar.today() + timedelta(days=2)),
            "channels": [MarketingSupport.Channel.values[0]],
            "budget": "20000.00",
            "proposal": "Another plan.",
        },
        submit=True,
    )
    marketing_services.marketing_approve(actor=ops, application_id=marketing_approved.pk, amount="10000")

    # --- team, tenant and onboarding ----------------------------------------------------------------------
    invitation = account_services.invitation_create(
        actor=fresh(seller_a_admin), email="sweep-secret-invitee@alpha.test", role="developer", seller=seller_a
    ).invitation
    org_unit = account_services.org_unit_create(
        actor=fresh(buyer_a_admin), name="SweepSecretUnit", code="sweep", parent_id=tenant_a.org_units.get().pk
    )
    applicant = UserFactory()
    application = account_services.seller_application_save(
        actor=applicant,
        data=application_data(9100001),
        documents={"business_license": pdf_upload(content=SECRET_PDF)},
    )

    assert AccelerationPlan.objects.filter(seller=seller_a, status="approved").exists()
    return World(
        seller_a=seller_a,
        seller_a_admin=fresh(seller_a_admin),
        seller_a_roles=roles,
        buyer_a_admin=fresh(buyer_a_admin),
        buyer_a_colleague=fresh(colleague),
        seller_b_admin=fresh(seller_b_admin),
        buyer_b_admin=fresh(buyer_b_admin),
        ops=ops,
        product=product,
        plan=plan,
        draft=draft,
        draft_plan=draft_plan,
        joint_app=joint_app,
        license_product=license_product,
        supervised_product=supervised_product,
        benefit=benefit,
        benefit_application=benefit_application,
        marketing=marketing,
        marketing_file=marketing.attachments.get(),
        marketing_approved=MarketingSupport.objects.get(pk=marketing_approved.pk),
        statement=Statement.objects.get(pk=statement.pk),
        invoiced_statement=Statement.objects.get(pk=invoiced.pk),
        seller_invoice=seller_invoice,
        statement_to_invoice=Statement.objects.get(pk=to_invoice.pk),
        export=ExportJob.objects.get(pk=export.pk),
        produce_message=produce_message,
        invitation=invitation,
        team_member=roles["developer"].seller_membership,
        application_document=application.documents.get(),
        applicant=applicant,
        pending_order=pending_order,
        saas_order=saas_order,
        saas_line=saas_line,
        subscription=saas_line.subscription,
        instance=instance,
        sync_message=sync_message,
        license_line=license_order.lines.get(),
        supervised_order=supervised_order,
        supervised_line=supervised_line,
        refund=refund,
        general_order=general_order,
        refundable_line=general_order.lines.get(),
        ticket=ticket,
        ticket_attachment=ticket.attachments.get(),
        invoice_profile=profile,
        invoice_request=InvoiceRequest.objects.get(pk=invoice_request.pk),
        invoice_request_waiting=invoice_request_waiting,
        platform_invoice_request=platform_invoice_request,
        letter=ExplanationLetter.objects.get(pk=letter.pk),
        org_unit=org_unit,
        colleague_membership=colleague_membership,
        secrets=[
            SECRET_PRODUCT,
            "SweepSecretPdf",
            "SweepSecretPng",
            "SweepSecretTicket",
            "SweepSecretRefundReason",
            "SweepSecretTitle",
            "SweepSecretCampaign",
            "SweepSecretApproved",
            "SweepSecretUnit",
            "sweep-secret",
            pending_order.number,
            saas_order.number,
            supervised_order.number,
            license_order.number,
            general_order.number,
            ticket.number,
            refund.number,
            invoice_request.number,
            invoice_request_waiting.number,
            platform_invoice_request.number,
        ],
    )


# --- what "nothing happened" means ---------------------------------------------------------------------

# Written by signing in, not by the request under test.
NOT_COMPARED = {"sessions.session", "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}


def _compared_tables() -> list[str]:
    tables = set()
    for model in apps.get_models(include_auto_created=True):  # many-to-many tables too: groups, permissions
        if model._meta.label_lower not in NOT_COMPARED and model._meta.managed and not model._meta.proxy:
            tables.add(model._meta.db_table)
    return sorted(tables)


def snapshot() -> dict:
    """Every row of every table (sessions and sign-in records aside): on Postgres a digest per table in
    one query, elsewhere the rows themselves."""
    tables = _compared_tables()
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        sql = " UNION ALL ".join(
            f"SELECT %s, count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {quote(table)} t"
            for table in tables
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, tables)
            return {table: (count, digest) for table, count, digest in cursor.fetchall()}
    by_table = {m._meta.db_table: m for m in apps.get_models(include_auto_created=True)}
    return {
        table: list(
            by_table[table]
            ._base_manager.order_by("pk")
            .values_list(*[f.attname for f in by_table[table]._meta.concrete_fields])
        )
        for table in tables
    }


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(label for label in before if before[label] != after[label])
