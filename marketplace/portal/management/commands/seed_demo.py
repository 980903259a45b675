"""Demo data: every role, every trade mode and delivery kind, twelve months of orders.

Idempotent: a second run changes nothing. ``--scale N`` adds N extra orders (with buyers,
sellers and products to match) through bulk inserts, for benchmarks.
Refused when DEBUG is off: the demo password is public.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from marketplace.accounts.models import (
    Buyer,
    BuyerMembership,
    OrgUnit,
    Seller,
    SellerApplication,
    SellerMembership,
    User,
)
from marketplace.catalog.models import Category, DeliveryKind, Plan, Product, TradeMode
from marketplace.core.errors import ServiceError
from marketplace.core.validators import uscc_check_char
from marketplace.orders import services as order_services
from marketplace.orders.models import CreditAccount, Order, OrderLine, OrderType, PaymentMethod, Subscription
from marketplace.provisioning.models import AccessKey, SellerIntegration
from marketplace.provisioning.services import access_key_issue

DEMO_PRODUCE_URL = "http://127.0.0.1:8765/produce"
DEMO_SYNC_BASE_URL = "http://127.0.0.1:8765"
DEMO_DEPLOY_URL = "http://127.0.0.1:8765/deploy"
DEMO_PRODUCE_KEY = "demo-produce-access-key-2026"
DEMO_SSO_CLIENT_ID = "demo-crm"
DEMO_SSO_CLIENT_SECRET = "demo-crm-secret-2026"
DEMO_SSO_REDIRECT_URI = "http://127.0.0.1:8765/oauth/callback"

CATEGORIES = [
    ("crm", "客户关系管理", "CRM", 1),
    ("collaboration", "协同办公", "Collaboration", 2),
    ("security", "安全", "Security", 3),
    ("data", "数据与分析", "Data & analytics", 4),
    ("ai", "人工智能", "AI", 5),
    ("devops", "开发与运维", "DevOps", 6),
    ("services", "专业服务", "Professional services", 7),
]

# (key, trade mode, delivery, category, zh, en, summary zh, summary en, plans, status, extra)
# plans: (sku, zh, en, charging, period, price, trial days)
PRODUCTS = [
    (
        "crm",
        TradeMode.JOINT,
        DeliveryKind.SAAS,
        "crm",
        "Demo CRM 客户管理",
        "Demo CRM",
        "面向中小企业的客户、线索与商机管理，开箱即用。",
        "Customers, leads and deals for small and mid-sized teams, ready to use.",
        [
            ("crm-std-m", "标准版（月）", "Standard (monthly)", "PERIOD", "month", "99.00", 14),
            ("crm-pro-m", "专业版（月）", "Professional (monthly)", "PERIOD", "month", "199.00", 0),
            ("crm-std-y", "标准版（年）", "Standard (yearly)", "PERIOD", "year", "990.00", 0),
        ],
        Product.Status.PUBLISHED,
        {"credit_coupon_enabled": True, "credit_line_enabled": True, "ops_fee_rate": "0.2000"},
    ),
    (
        "chat",
        TradeMode.GENERAL,
        DeliveryKind.SAAS,
        "collaboration",
        "团队即时通讯",
        "Team Chat",
        "安全的企业即时通讯与视频会议。",
        "Secure business messaging and video meetings.",
        [
            ("chat-m", "基础版（月）", "Basic (monthly)", "PERIOD", "month", "30.00", 7),
            ("chat-y", "基础版（年）", "Basic (yearly)", "PERIOD", "year", "300.00", 0),
        ],
        Product.Status.PUBLISHED,
        {},
    ),
    (
        "vault",
        TradeMode.STRICT,
        DeliveryKind.LICENSE,
        "security",
        "密钥保险箱 License",
        "Secure Vault License",
        "本地部署的密钥与凭据管理，永久授权。",
        "On-premises secrets management, perpetual licence.",
        [("vault-perp", "永久授权", "Perpetual licence", "ONE_TIME", "", "4800.00", 0)],
        Product.Status.PUBLISHED,
        {
            "auto_deploy": True,
            "ops_fee_rate": "0.1500",
            "deploy_parameters": [
                {"name": "host", "label": "服务器地址 Server address"},
                {"name": "admin_email", "label": "管理员邮箱 Administrator e-mail"},
                {"name": "note", "label": "备注 Note", "required": False},
            ],
        },
    ),
    (
        "migrate",
        TradeMode.STRICT_SELF,
        DeliveryKind.MANUAL,
        "services",
        "上云迁移服务",
        "Cloud Migration Service",
        "资深工程师完成评估、迁移与验收。",
        "Senior engineers assess, migrate and hand over your workloads.",
        [("migrate-std", "标准迁移", "Standard migration", "ONE_TIME", "", "20000.00", 0)],
        Product.Status.PUBLISHED,
        {"ops_fee_rate": "0.1000"},
    ),
    (
        "ocr",
        TradeMode.PLATFORM,
        DeliveryKind.API,
        "ai",
        "通用文字识别 API",
        "OCR API",
        "高精度中英文文字识别，按调用计费。",
        "Accurate Chinese and English text recognition, billed per call.",
        [
            ("ocr-payg", "按量付费", "Pay per call", "ON_DEMAND", "", "0.01", 0),
            ("ocr-pack-m", "月度资源包", "Monthly package", "PERIOD", "month", "500.00", 0),
        ],
        Product.Status.PUBLISHED,
        {"credit_coupon_enabled": True, "ops_fee_rate": "0.3000"},
    ),
    (
        "bi",
        TradeMode.GENERAL,
        DeliveryKind.SAAS,
        "data",
        "智能报表",
        "Smart BI",
        "拖拽式报表与数据看板。",
        "Drag-and-drop reports and dashboards.",
        [("bi-m", "团队版（月）", "Team (monthly)", "PERIOD", "month", "299.00", 14)],
        Product.Status.PUBLISHED,
        {"supervised": True},
    ),
    (
        "ci",
        TradeMode.GENERAL,
        DeliveryKind.LICENSE,
        "devops",
        "持续集成服务器",
        "CI Server",
        "自托管的构建与发布流水线。",
        "Self-hosted build and release pipelines.",
        [("ci-y", "年度订阅", "Yearly subscription", "PERIOD", "year", "6000.00", 0)],
        Product.Status.PENDING_REVIEW,
        {},
    ),
    (
        "helpdesk",
        TradeMode.JOINT,
        DeliveryKind.SAAS,
        "collaboration",
        "服务台",
        "Helpdesk",
        "工单、知识库与客户满意度。",
        "Tickets, knowledge base and customer satisfaction.",
        [("hd-m", "标准版（月）", "Standard (monthly)", "PERIOD", "month", "149.00", 0)],
        Product.Status.DRAFT,
        {},
    ),
]

OTHER_SELLER_PRODUCTS = [
    (
        "scan",
        TradeMode.GENERAL,
        DeliveryKind.SAAS,
        "security",
        "漏洞扫描",
        "Vulnerability Scanner",
        "持续发现网站与主机漏洞。",
        "Continuous discovery of web and host vulnerabilities.",
        [("scan-m", "专业版（月）", "Pro (monthly)", "PERIOD", "month", "399.00", 7)],
        Product.Status.PUBLISHED,
        {},
    ),
]


def demo_credit_code(n: int) -> str:
    first17 = f"91110108MA{n:07d}"
    return first17 + uscc_check_char(first17)


class Command(BaseCommand):
    help = "Create demo users, sellers, products and twelve months of orders (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=0, help="Also bulk-create this many extra orders.")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed for the generated history.")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, scale: int, seed: int, quiet: bool, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates users with a public password; it runs only with DEBUG on.")
        self.rng = random.Random(seed)
        self.password = make_password(settings.MARKETPLACE["DEMO_PASSWORD"])
        # Demo notices are written to the outbox but delivered to memory, not to anyone's inbox.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            with transaction.atomic():
                self.seed()
            if scale:
                from marketplace.portal.demo_scale import bulk_orders

                created = bulk_orders(scale, rng=self.rng, password=self.password)
                if not quiet:
                    self.stdout.write(f"scale: {created}")
        if not quiet:
            self.print_logins()

    # --- people --------------------------------------------------------------------------------

    def user(self, email, name, **extra) -> User:
        user, _created = User.objects.get_or_create(
            email=email, defaults={"name": name, "password": self.password, **extra}
        )
        return user

    def seller(self, n, name, admin_email, admin_name, applicant_extra=()):
        admin = self.user(admin_email, admin_name)
        seller = Seller.objects.filter(credit_code=demo_credit_code(n)).first()
        if seller is None:
            established = date(2015, 3, 1)
            seller = Seller.objects.create(
                name=name,
                credit_code=demo_credit_code(n),
                established_on=established,
                registered_capital=Decimal("5000000"),
                staff_count=60,
                support_days_per_week=7,
                support_hours_per_day=12,
                bound_email=admin_email,
                contact_phone="010-88886666",
                address="北京市海淀区中关村大街 1 号",
            )
            SellerApplication.objects.create(
                applicant=admin,
                company_name=name,
                credit_code=seller.credit_code,
                established_on=established,
                registered_capital=seller.registered_capital,
                staff_count=60,
                support_days_per_week=7,
                support_hours_per_day=12,
                contact_name=admin_name,
                contact_phone=seller.contact_phone,
                bound_email=admin_email,
                address=seller.address,
                status=SellerApplication.Status.APPROVED,
                submitted_at=timezone.now() - timedelta(days=400),
                reviewed_at=timezone.now() - timedelta(days=398),
                seller=seller,
            )
        SellerMembership.objects.get_or_create(user=admin, defaults={"seller": seller, "role": "admin"})
        for email, uname, role in applicant_extra:
            u = self.user(email, uname)
            SellerMembership.objects.get_or_create(user=u, defaults={"seller": seller, "role": role})
        return seller

    def buyer_individual(self, email, name) -> Buyer:
        user = self.user(email, name)
        membership = BuyerMembership.objects.filter(user=user).first()
        if membership is None:
            buyer = Buyer.objects.create(kind=Buyer.Kind.INDIVIDUAL, name=name)
            membership = BuyerMembership.objects.create(buyer=buyer, user=user, role="admin")
        return membership.buyer

    def seed(self):
        ops = self.user("ops@example.com", "运营经理 Ops", is_staff=True, is_superuser=True)
        for email, name, group in [
            ("operator@example.com", "运营 Operator", "operations"),
            ("finance@example.com", "财务 Finance A", "finance"),
            ("finance2@example.com", "财务 Finance B", "finance"),
            ("support@example.com", "客服 Support", "support"),
        ]:
            staff = self.user(email, name, is_staff=True)
            staff.groups.add(Group.objects.get(name=group))
        self.ops = ops

        for slug, zh, en, pos in CATEGORIES:
            Category.objects.get_or_create(slug=slug, defaults={"name_zh": zh, "name_en": en, "position": pos})

        demo = self.seller(
            1,
            "云启软件有限公司",
            "seller@example.com",
            "张经理",
            [
                ("seller-finance@example.com", "财务 李", "finance"),
                ("seller-dev@example.com", "开发 王", "developer"),
                ("seller-support@example.com", "客服 赵", "support"),
            ],
        )
        other = self.seller(2, "北辰安全科技有限公司", "other-seller@example.com", "陈总")

        products = self.products(demo, PRODUCTS)
        products.update(self.products(other, OTHER_SELLER_PRODUCTS))

        buyer = self.buyer_individual("buyer@example.com", "刘买家")
        CreditAccount.objects.get_or_create(
            buyer=buyer, defaults={"coupon_balance": Decimal("2000.00"), "credit_limit": Decimal("10000.00")}
        )
        enterprise = self.enterprise()
        extra_buyers = [self.buyer_individual(f"customer{i}@example.com", f"客户{i}") for i in range(1, 6)]
        self.history(products, [buyer, enterprise, *extra_buyers])
        self.settlement()
        # The seller's server (the sample ISV, started by `make run`) takes over from here: the past
        # was delivered by hand, today's SaaS orders get their instances through produce calls.
        self.integration(demo)
        self.sso_app(products["crm"], enterprise)
        self.live_services(products, buyer, enterprise)
        self.tickets(products)
        self.invoices()
        self.refunds()
        self.benefits()

    def benefits(self):
        """The benefit catalog operations offer."""
        from benefits.models import Benefit

        if Benefit.objects.exists():
            return
        start = timezone.localdate().replace(month=1, day=1)
        for zh, en, dzh, den, threshold, lead, quota in [
            (
                "首页推荐位",
                "Home page spotlight",
                "在云商店首页推荐您的商品一周。",
                "Your product on the home page for a week.",
                "50000",
                14,
                5,
            ),
            (
                "联合营销活动",
                "Joint marketing campaign",
                "与平台联合举办线上营销活动。",
                "An online campaign run with the platform.",
                "500000",
                30,
                3,
            ),
            (
                "专属客户经理",
                "Dedicated account manager",
                "平台为您配备专属客户经理。",
                "A dedicated account manager at the platform.",
                "1000000",
                30,
                10,
            ),
        ]:
            Benefit.objects.create(
                name_zh=zh,
                name_en=en,
                description_zh=dzh,
                description_en=den,
                gmv_threshold=Decimal(threshold),
                lead_days=lead,
                quota_per_period=quota,
                active_from=start,
            )

    def refunds(self):
        """A negotiated refund waiting for the seller on one of the buyer's supervised lines."""
        from refunds import services as refund_services
        from refunds.models import RefundRequest

        if RefundRequest.objects.exists():
            return
        buyer = User.objects.get(email="buyer@example.com")
        lines = OrderLine.objects.filter(
            order__placed_by=buyer, order__status=Order.Status.PAID, supervision=OrderLine.Supervision.IN_PROGRESS
        ).select_related("order", "product")
        for line in lines.order_by("-order__paid_at"):
            decision = refund_services.refund_eligibility(line=line)
            if decision.allowed and not decision.full:
                refund_services.refund_request_create(
                    actor=buyer,
                    line_id=line.pk,
                    reason_code="not_as_described",
                    reason_text="部分功能与商品描述不符，申请退还一半费用。",
                    amount=(decision.max_amount / 2).quantize(Decimal("0.01")),
                )
                return

    def invoices(self):
        """Invoice profiles, and requests in several states: the tenant's electronic invoice issued
        by the seller (with a stamped explanation letter), the buyer's paper request waiting for the
        seller, a joint-product request waiting for the platform."""
        from invoicing import services as invoice_services
        from invoicing.models import InvoicedOrder, InvoiceRequest

        buyer, admin = User.objects.get(email="buyer@example.com"), User.objects.get(email="tenant-admin@example.com")
        seller_finance = User.objects.get(email="seller-finance@example.com")
        if InvoiceRequest.objects.exists():
            return
        personal = invoice_services.profile_save(actor=buyer, data={"kind": "individual", "title": "刘买家"})
        company = invoice_services.profile_save(
            actor=admin,
            data={
                "kind": "company",
                "title": "示例集团有限公司",
                "tax_id": "91350100M000100Y43",
                "address": "福州市鼓楼区示例路 1 号",
                "phone": "0591-88888888",
                "bank_name": "示例银行福州分行",
                "bank_account": "6222 0000 1111 2222",
                "vat_kind": "special",
            },
        )

        def free_paid_orders(user, issuer):
            taken = InvoicedOrder.objects.filter(active=True).values("order_id")
            orders = (
                Order.objects.filter(placed_by=user, status=Order.Status.PAID, amount__gt=0)
                .exclude(pk__in=taken)
                .prefetch_related("lines")
                .order_by("-paid_at")
            )
            return [o for o in orders if invoice_services.issuer_for(o) == issuer]

        seller_orders = [
            o for o in free_paid_orders(admin, "seller") if o.seller_id == seller_finance.seller_membership.seller_id
        ]
        if seller_orders:
            issued = invoice_services.invoice_request_submit(
                actor=admin,
                order_ids=[seller_orders[0].pk],
                profile_id=company.pk,
                medium="electronic",
                recipient_email="tenant-admin@example.com",
            )
            invoice_services.invoice_issue(
                actor=seller_finance,
                request_id=issued.pk,
                invoice_number="26352000000012345678",
                generate=True,
            )
            letter = invoice_services.letter_request(actor=admin, request_id=issued.pk)
            invoice_services.letter_stamp(letter_id=letter.pk)
        demo_seller = seller_finance.seller_membership.seller_id
        own_orders = [o for o in free_paid_orders(buyer, "seller") if o.seller_id == demo_seller]
        if own_orders:
            invoice_services.invoice_request_submit(
                actor=buyer,
                order_ids=[own_orders[0].pk],
                profile_id=personal.pk,
                medium="paper",
                recipient="刘买家",
                recipient_phone="13800000000",
                mailing_address="上海市浦东新区示例大道 100 号",
            )
        platform_orders = free_paid_orders(admin, "platform")
        if platform_orders:
            invoice_services.invoice_request_submit(
                actor=admin,
                order_ids=[platform_orders[0].pk],
                profile_id=company.pk,
                medium="digital",
                recipient_email="tenant-admin@example.com",
            )

    def tickets(self, products):
        """The demo seller takes tickets Monday to Friday 9:00-12:00 and 13:00-18:00 (and Saturday
        mornings); the demo buyer and tenant have tickets in several states."""
        from datetime import time as clock

        from tickets import services as ticket_services
        from tickets.models import Ticket

        seller_admin = User.objects.get(email="seller@example.com")
        support = User.objects.get(email="seller-support@example.com")
        windows = [(d, clock(9), clock(12)) for d in range(5)] + [(d, clock(13), clock(18)) for d in range(5)]
        ticket_services.reception_update(
            actor=seller_admin, accepts_tickets=True, windows=[*windows, (5, clock(9), clock(12))]
        )
        if Ticket.objects.exists():
            return
        buyer, alice = User.objects.get(email="buyer@example.com"), User.objects.get(email="alice@example.com")
        crm, now = products["crm"], timezone.now()

        def opened(user, title, text, days_ago, category="usage"):
            return ticket_services.ticket_open(
                actor=user,
                product_id=crm.pk,
                category=category,
                title=title,
                description=text,
                now=now - timedelta(days=days_ago),
            )

        opened(buyer, "导出客户列表时报错", "点击“导出”后页面提示 500 错误，附件是截图。", 0, "fault")
        waiting = opened(alice, "如何批量导入联系人？", "我们有 3000 个联系人在 Excel 里，能否批量导入？", 1)
        ticket_services.ticket_accept(actor=support, ticket_id=waiting.pk, now=now - timedelta(hours=20))
        ticket_services.ticket_request_feedback(
            actor=support,
            ticket_id=waiting.pk,
            body="请提供 Excel 的列名，我们帮您确认模板。",
            now=now - timedelta(hours=19),
        )
        done = opened(buyer, "发票抬头需要修改", "请把发票抬头改为公司全称。", 5, "billing")
        ticket_services.ticket_accept(actor=support, ticket_id=done.pk, now=now - timedelta(days=4, hours=20))
        ticket_services.ticket_resolve(
            actor=support,
            ticket_id=done.pk,
            cause="下单时填写的是简称。",
            solution="已按公司全称重开发票，请在“我的发票”中下载。",
            now=now - timedelta(days=4),
        )

    def integration(self, seller):
        from marketplace.provisioning.sample_isv import load_or_create_private_key

        key_file = settings.BASE_DIR / "var" / "sample-isv-key.pem"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        public_pem = (
            load_or_create_private_key(str(key_file))
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        SellerIntegration.objects.get_or_create(
            seller=seller,
            defaults={
                "produce_url": DEMO_PRODUCE_URL,
                "sync_base_url": DEMO_SYNC_BASE_URL,
                "deploy_url": DEMO_DEPLOY_URL,
                "rsa_public_key": public_pem,
            },
        )
        if not AccessKey.objects.filter(
            seller=seller, purpose=AccessKey.Purpose.PRODUCE, revoked_at__isnull=True
        ).exists():
            access_key_issue(seller=seller, purpose=AccessKey.Purpose.PRODUCE, secret=DEMO_PRODUCE_KEY)

    def sso_app(self, crm, tenant):
        """Demo CRM signs users in with the platform (client demo-crm), and Alice of the tenant may use it."""
        from marketplace.sso.models import AppAccess, AppRegistration
        from marketplace.sso.services import app_register

        if not AppRegistration.objects.filter(product=crm).exists():
            app_register(
                actor=User.objects.get(email="seller@example.com"),
                product_id=crm.pk,
                redirect_uris=DEMO_SSO_REDIRECT_URI,
                client_id=DEMO_SSO_CLIENT_ID,
                secret=DEMO_SSO_CLIENT_SECRET,
            )
        alice = tenant.memberships.get(user__email="alice@example.com")
        AppAccess.objects.get_or_create(membership=alice, product=crm)

    def live_services(self, products, buyer, tenant):
        """A trial in progress for the demo buyer, and the tenant's active Demo CRM (with its
        instance, for the workbench and single sign-on)."""
        crm = products["crm"]
        buyer_user = User.objects.get(email="buyer@example.com")
        if not Subscription.objects.filter(buyer=buyer, product=crm, is_trial=True).exists():
            order_services.order_create(
                actor=buyer_user, plan_id=crm.plans.get(sku_code="crm-std-m").pk, order_type=OrderType.TRIAL
            )
        if not Subscription.objects.filter(
            buyer=tenant, product=crm, status=Subscription.Status.ACTIVE, is_trial=False
        ).exists():
            admin = User.objects.get(email="tenant-admin@example.com")
            order = order_services.order_create(actor=admin, plan_id=crm.plans.get(sku_code="crm-std-y").pk)
            order_services.order_pay(actor=admin, order_id=order.pk, method=PaymentMethod.ONLINE)

    def enterprise(self) -> Buyer:
        admin = self.user("tenant-admin@example.com", "企业管理员 周")
        membership = BuyerMembership.objects.filter(user=admin).first()
        if membership is not None:
            return membership.buyer
        tenant = Buyer.objects.create(kind=Buyer.Kind.ENTERPRISE, name="示例集团有限公司", code="TDEMOENTERPRISE")
        root = OrgUnit.objects.create(buyer=tenant, name="示例集团", code="root")
        rnd = OrgUnit.objects.create(buyer=tenant, name="研发中心", code="rnd", parent=root)
        sales = OrgUnit.objects.create(buyer=tenant, name="销售部", code="sales", parent=root)
        platform = OrgUnit.objects.create(buyer=tenant, name="平台组", code="rnd-platform", parent=rnd)
        BuyerMembership.objects.create(buyer=tenant, user=admin, role="admin", org_unit=root)
        for email, name, unit in [
            ("alice@example.com", "Alice 李", platform),
            ("bob@example.com", "Bob 王", sales),
            ("carol@example.com", "Carol 张", rnd),
        ]:
            BuyerMembership.objects.create(buyer=tenant, user=self.user(email, name), role="user", org_unit=unit)
        CreditAccount.objects.get_or_create(
            buyer=tenant, defaults={"coupon_balance": Decimal("5000.00"), "credit_limit": Decimal("50000.00")}
        )
        return tenant

    def products(self, seller, specs) -> dict[str, Product]:
        out = {}
        now = timezone.now()
        for key, mode, kind, cat, zh, en, szh, sen, plans, status, extra in specs:
            product = Product.objects.filter(seller=seller, name_en=en).first()
            if product is None:
                published = status == Product.Status.PUBLISHED
                product = Product.objects.create(
                    seller=seller,
                    category=Category.objects.get(slug=cat),
                    trade_mode=mode,
                    delivery_kind=kind,
                    name_zh=zh,
                    name_en=en,
                    summary_zh=szh,
                    summary_en=sen,
                    description_zh=f"{szh}\n\n· 7×24 小时技术支持\n· 数据加密存储\n· 支持单点登录",
                    description_en=f"{sen}\n\n· 24×7 technical support\n· Data encrypted at rest\n· Single sign-on",
                    supervised=kind in (DeliveryKind.LICENSE, DeliveryKind.MANUAL) or extra.get("supervised", False),
                    auto_deploy=extra.get("auto_deploy", False),
                    deploy_parameters=extra.get("deploy_parameters", []),
                    credit_coupon_enabled=extra.get("credit_coupon_enabled", False),
                    credit_line_enabled=extra.get("credit_line_enabled", False),
                    ops_fee_rate=Decimal(extra["ops_fee_rate"]) if "ops_fee_rate" in extra else None,
                    status=status,
                    created_at=now - timedelta(days=420),
                    submitted_at=now - timedelta(days=419) if status != Product.Status.DRAFT else None,
                    published_at=now - timedelta(days=418) if published else None,
                )
                for pos, (sku, pzh, pen, mode_, period, price, trial) in enumerate(plans):
                    Plan.objects.create(
                        product=product,
                        sku_code=sku,
                        name_zh=pzh,
                        name_en=pen,
                        charging_mode=mode_,
                        period_type=period,
                        price=Decimal(price),
                        trial_days=trial,
                        position=pos,
                        usage_unit="次" if mode_ == "ON_DEMAND" else "",
                    )
            out[key] = product
        return out

    # --- twelve months of orders -------------------------------------------------------------------

    def history(self, products, buyers):
        from marketplace.orders.models import Order

        if Order.objects.filter(buyer__in=buyers).exists():
            return
        rng = self.rng
        now = timezone.now()
        on_sale = [p for p in products.values() if p.status == Product.Status.PUBLISHED]
        members = {b.pk: list(User.objects.filter(buyer_membership__buyer=b)) for b in buyers}
        for day in range(365, 0, -3):
            when = now - timedelta(days=day, hours=rng.randint(0, 10), minutes=rng.randint(0, 59))
            buyer = rng.choice(buyers)
            actor = rng.choice(members[buyer.pk])
            product = rng.choice(on_sale)
            plan = rng.choice(
                [p for p in product.plans.all() if p.charging_mode != "ON_DEMAND"] or list(product.plans.all())
            )
            count = rng.choice([1, 1, 1, 3, 6, 12]) if plan.period_type == "month" else 1
            order = order_services.order_create(actor=actor, plan_id=plan.pk, period_count=count, now=when)
            roll = rng.random()
            if roll < 0.08:
                order_services.order_cancel(actor=actor, order_id=order.pk, now=when + timedelta(minutes=5))
                continue
            if roll < 0.12 and day < 2:
                continue  # a fresh unpaid order
            methods = order_services.available_payment_methods(order)
            method = rng.choice(methods) if rng.random() < 0.3 else PaymentMethod.ONLINE
            try:
                order_services.order_pay(actor=actor, order_id=order.pk, method=method, now=when + timedelta(minutes=3))
            except ServiceError:
                order_services.order_pay(
                    actor=actor, order_id=order.pk, method=PaymentMethod.ONLINE, now=when + timedelta(minutes=4)
                )
            line = order.lines.get()
            if line.supervision == "in_progress" and day > 20 and rng.random() < 0.8:
                order_services.supervision_accept(
                    actor=actor, line_id=line.pk, now=when + timedelta(days=rng.randint(2, 15))
                )
        order_services.subscriptions_expire()  # what a year of the hourly job would have done
        # A renewal that starts in the future, so "not yet effective" shows up.
        sub = Subscription.objects.filter(
            buyer=buyers[0], plan__charging_mode="PERIOD", is_trial=False, expires_at__gt=now
        ).first()
        if sub is not None:
            actor = members[buyers[0].pk][0]
            renewal = order_services.order_create(
                actor=actor, plan_id=sub.plan_id, order_type=OrderType.RENEW, subscription_id=sub.pk
            )
            order_services.order_pay(actor=actor, order_id=renewal.pk, method=PaymentMethod.ONLINE)
        # One unpaid order to pay in the demo.
        buyer_user = members[buyers[0].pk][0]
        order_services.order_create(actor=buyer_user, plan_id=products["chat"].plans.get(sku_code="chat-y").pk)

    # --- settlement: every finished month generated, older ones paid -------------------------------

    def settlement(self):
        from billing.models import LedgerEntry, SettlementPeriod, Statement
        from billing.services import (
            period_of,
            statement_countersign,
            statement_pay,
            statement_send,
            statements_generate,
        )
        from invoicing.services import seller_invoice_submit, seller_invoice_verify

        now = timezone.now()
        closed = set(SettlementPeriod.objects.filter(closed_at__isnull=False).values_list("period", flat=True))
        periods = sorted(
            p for p in LedgerEntry.objects.order_by().values_list("period", flat=True).distinct() if p < period_of(now)
        )
        if not periods or set(periods) <= closed:
            return
        ops = User.objects.get(email="ops@example.com")
        finance = [User.objects.get(email="finance@example.com"), User.objects.get(email="finance2@example.com")]
        seller_admin = User.objects.get(email="seller@example.com")
        for period in periods:
            if period in closed:
                continue
            generated = timezone.make_aware(
                timezone.datetime(period.year, period.month, 1) + relativedelta(months=1, days=2)
            )
            statements_generate(period=period, now=generated)
            newest = period == periods[-1]
            for statement in Statement.objects.filter(period=period, status=Statement.Status.GENERATED):
                if newest:
                    continue  # last month's statements wait for operations' review in the demo
                statement_send(actor=ops, statement_id=statement.pk, now=generated + timedelta(days=1))
                for i, person in enumerate(finance):
                    statement_countersign(
                        actor=person, statement_id=statement.pk, now=generated + timedelta(days=2, hours=i)
                    )
                statement.refresh_from_db()
                if period == periods[-2]:
                    continue  # the month before: awaiting the seller's invoice, or payment
                if statement.status == Statement.Status.AWAITING_INVOICE:
                    if statement.seller.memberships.filter(user=seller_admin).exists():
                        pdf = SimpleUploadedFile(
                            "invoice.pdf", b"%PDF-1.4 demo invoice", content_type="application/pdf"
                        )
                        invoice = seller_invoice_submit(
                            actor=seller_admin,
                            statement_id=statement.pk,
                            number=f"INV{statement.pk:08d}",
                            issued_on=(generated + timedelta(days=5)).date(),
                            amount=statement.net_payable,
                            tax_rate=Decimal("0.06"),
                            file=pdf,
                            now=generated + timedelta(days=5),
                        )
                        seller_invoice_verify(
                            actor=finance[0], invoice_id=invoice.pk, now=generated + timedelta(days=6)
                        )
                    else:
                        continue
                statement_pay(
                    actor=finance[1],
                    statement_id=statement.pk,
                    payout_reference=f"PAY{statement.pk:010d}",
                    now=generated + timedelta(days=8),
                )

    def print_logins(self):
        password = settings.MARKETPLACE["DEMO_PASSWORD"]
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Sign in at http://127.0.0.1:8000/accounts/login/"))
        for email, role in [
            ("ops@example.com", "operations manager (superuser) -> /admin/"),
            ("operator@example.com", "operations staff"),
            ("finance@example.com", "finance staff"),
            ("seller@example.com", "seller administrator"),
            ("seller-finance@example.com", "seller finance user"),
            ("buyer@example.com", "individual buyer"),
            ("tenant-admin@example.com", "enterprise tenant administrator"),
            ("alice@example.com", "enterprise tenant user"),
        ]:
            self.stdout.write(f"  {email:<30} {password}   {role}")
