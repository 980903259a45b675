"""A large demo data set, fast: bulk inserts in batches, no per-row services.

Used by ``seed_demo --scale N`` for benchmarks and load tests. The rows are what the services
would write for paid, cancelled and unpaid NEW orders (no events or notifications). Running it
again with the same N adds nothing; with a larger N it adds the difference.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import Buyer, BuyerMembership, Seller, User
from marketplace.catalog.models import Category, DeliveryKind, Plan, Product, TradeMode
from marketplace.core.validators import uscc_check_char
from marketplace.orders.models import Order, OrderLine, Payment, PaymentMethod, Subscription

BATCH = 2000
SCALE_EMAIL = "scale-buyer-{}@scale.example.com"


def _credit_code(n: int) -> str:
    first17 = f"91310000MC{n:07d}"
    return first17 + uscc_check_char(first17)


def _sellers(count: int, now) -> list[Product]:
    category = Category.objects.order_by("position").first()
    products = []
    for i in range(count):
        seller, created = Seller.objects.get_or_create(
            credit_code=_credit_code(i),
            defaults=dict(
                name=f"规模测试商家 {i:05d}",
                established_on=now.date() - timedelta(days=2000),
                registered_capital=Decimal("1000000"),
                staff_count=20,
                support_days_per_week=5,
                support_hours_per_day=8,
                bound_email=f"scale-seller-{i}@scale.example.com",
            ),
        )
        if created:
            for j, mode in enumerate((TradeMode.GENERAL, TradeMode.JOINT, TradeMode.PLATFORM)):
                product = Product.objects.create(
                    seller=seller,
                    category=category,
                    trade_mode=mode,
                    delivery_kind=DeliveryKind.SAAS,
                    name_zh=f"规模产品 {i}-{j}",
                    name_en=f"Scale product {i}-{j}",
                    description_zh="规模测试",
                    status=Product.Status.PUBLISHED,
                    published_at=now - timedelta(days=400),
                    ops_fee_rate=None if mode == TradeMode.GENERAL else Decimal("0.2"),
                )
                Plan.objects.create(
                    product=product,
                    sku_code=f"scale-{i}-{j}",
                    name_zh="月度",
                    name_en="Monthly",
                    charging_mode=Plan.ChargingMode.PERIOD,
                    period_type=Plan.PeriodType.MONTH,
                    price=Decimal(10 * (j + 1) + i % 7),
                )
        products.extend(Product.objects.filter(seller=seller).prefetch_related("plans"))
    return products


def _buyers(count: int, password: str) -> list[BuyerMembership]:
    existing = {
        m.user.email: m
        for m in BuyerMembership.objects.filter(user__email__endswith="@scale.example.com").select_related("user")
    }
    missing = [k for k in range(count) if SCALE_EMAIL.format(k) not in existing]
    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        users = User.objects.bulk_create(
            [User(email=SCALE_EMAIL.format(k), name=f"规模买家 {k}", password=password) for k in chunk]
        )
        buyers = Buyer.objects.bulk_create([Buyer(name=f"规模买家 {k}", code=f"TSC{k:09d}") for k in chunk])
        BuyerMembership.objects.bulk_create(
            [BuyerMembership(buyer=b, user=u, role="admin") for b, u in zip(buyers, users, strict=True)]
        )
    return list(
        BuyerMembership.objects.filter(user__email__endswith="@scale.example.com").select_related("user", "buyer")
    )


def bulk_orders(n: int, *, rng, password: str) -> dict:
    now = timezone.now()
    members = _buyers(max(10, n // 10), password)
    products = _sellers(max(5, n // 2000), now)
    plans = [(p, p.plans.all()[0]) for p in products]
    done = Order.objects.filter(number__startswith="SC").count()
    todo = max(0, n - done)
    for start in range(done, done + todo, BATCH):
        size = min(BATCH, done + todo - start)
        orders, lines, subs, payments = [], [], [], []
        for k in range(start, start + size):
            m = members[rng.randrange(len(members))]
            product, plan = plans[rng.randrange(len(plans))]
            created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            count = rng.choice((1, 1, 3, 12))
            amount = plan.price * count
            roll = rng.random()
            status = (
                Order.Status.PAID
                if roll < 0.9
                else (Order.Status.CANCELLED if roll < 0.96 else Order.Status.PENDING_PAYMENT)
            )
            paid = status == Order.Status.PAID
            orders.append(
                Order(
                    number=f"SC{k:012d}",
                    buyer=m.buyer,
                    placed_by=m.user,
                    seller_id=product.seller_id,
                    order_type="NEW",
                    status=status,
                    amount=amount,
                    created_at=created,
                    paid_at=created + timedelta(minutes=2) if paid else None,
                    payment_method=PaymentMethod.ONLINE if paid else "",
                    closed_at=created + timedelta(minutes=5) if status == Order.Status.CANCELLED else None,
                )
            )
            end = created + timedelta(days=30 * count)
            subs.append(
                Subscription(
                    buyer=m.buyer,
                    product=product,
                    plan=plan,
                    seller_id=product.seller_id,
                    starts_at=created,
                    expires_at=end,
                    status=Subscription.Status.ACTIVE if end > now else Subscription.Status.EXPIRED,
                    created_at=created,
                )
                if paid
                else None
            )
            lines.append(
                OrderLine(
                    trade_mode=product.trade_mode,
                    fee_rate=product.ops_fee_rate,
                    product=product,
                    plan=plan,
                    seller_id=product.seller_id,
                    charging_mode=plan.charging_mode,
                    period_type=plan.period_type,
                    period_count=count,
                    unit_price=plan.price,
                    amount=amount,
                    payment_method=PaymentMethod.ONLINE if paid else "",
                    validity_start=created if paid else None,
                    validity_end=end if paid else None,
                )
            )
        with transaction.atomic():
            Order.objects.bulk_create(orders, batch_size=BATCH)
            made_subs = Subscription.objects.bulk_create([s for s in subs if s is not None], batch_size=BATCH)
            sub_iter = iter(made_subs)
            for order, line, sub in zip(orders, lines, subs, strict=True):
                line.order = order
                if sub is not None:
                    line.subscription = next(sub_iter)
                    payments.append(
                        Payment(
                            order=order,
                            method=PaymentMethod.ONLINE,
                            amount=order.amount,
                            status=Payment.Status.SUCCEEDED,
                            reference=f"SBXSCALE{order.number}",
                            created_at=order.paid_at,
                            completed_at=order.paid_at,
                        )
                    )
            OrderLine.objects.bulk_create(lines, batch_size=BATCH)
            Payment.objects.bulk_create(payments, batch_size=BATCH)
    return {
        "orders_total": Order.objects.filter(number__startswith="SC").count(),
        "added": todo,
        "buyers": len(members),
        "products": len(products),
    }
