"""Operations staff groups and what each may do in the admin (DOMAIN.md: finance, ops, support)."""

from django.contrib.auth.models import Group, Permission

VIEW_ALL = [
    "accounts.view_user",
    "accounts.view_buyer",
    "accounts.view_seller",
    "accounts.view_sellerapplication",
    "accounts.view_invitation",
    "catalog.view_category",
    "catalog.view_product",
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_payment",
    "orders.view_subscription",
    "orders.view_creditaccount",
    "core.view_outboundemail",
    "core.view_notification",
    "core.view_auditentry",  # the audit log of money and permission changes
    "provisioning.view_sellerintegration",
    "provisioning.view_accesskey",
    "provisioning.view_producemessage",
    "provisioning.view_instance",
    "provisioning.view_conformancerun",
    "provisioning.view_deployment",
    "django_celery_beat.view_periodictask",
    "billing.view_statement",
    "billing.view_ledgerentry",
    "billing.view_dispute",
    "billing.view_feetier",
    "billing.view_billingsettings",
    "billing.view_settlementperiod",
    "billing.view_exportjob",
    "billing.view_usagerecord",
    "invoicing.view_sellerinvoice",
    "invoicing.view_invoicerequest",
    "invoicing.view_explanationletter",
    "invoicing.view_invoiceprofile",
    "refunds.view_refund",
    "refunds.view_refundrequest",
    "refunds.view_refundattempt",
    "tickets.view_ticket",
    "tickets.view_receptionsettings",
    "benefits.view_benefit",
    "benefits.view_benefitapplication",
    "benefits.view_accelerationplan",
    "benefits.view_agreementsignature",
    "benefits.view_marketingsupport",
]

GROUPS = {
    "operations": [
        *VIEW_ALL,
        "accounts.review_sellerapplication",
        "accounts.change_seller",
        "accounts.view_apitoken",
        "accounts.delete_apitoken",  # revoke a user's API token
        "catalog.review_product",
        "core.change_outboundemail",
        "provisioning.change_producemessage",
        "accounts.suspend_seller",
        "catalog.add_category",
        "catalog.change_category",
        "orders.close_supervision",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "billing.send_statement",
        "billing.post_adjustment",
        "billing.change_billingsettings",
        "billing.add_feetier",
        "billing.change_feetier",
        "billing.delete_feetier",
        "tickets.change_ticket",
        "invoicing.issue_invoicerequest",
        "refunds.decide_refundrequest",
        "benefits.add_benefit",
        "benefits.change_benefit",
        "benefits.decide_benefitapplication",
        "benefits.decide_accelerationplan",
        "benefits.review_marketingsupport",
    ],
    "finance": [
        *VIEW_ALL,
        "orders.grant_credit",
        "orders.record_repayment",
        "orders.add_creditaccount",
        "billing.countersign_statement",
        "billing.pay_statement",
        "billing.post_adjustment",
        "invoicing.verify_sellerinvoice",
        "invoicing.issue_invoicerequest",
        "refunds.decide_refundrequest",
        "benefits.pay_marketingsupport",
    ],
    "support": [*VIEW_ALL, "tickets.change_ticket"],  # step in on tickets
}


def ensure_operations_groups(**kwargs) -> None:
    """Create the groups and give them their permissions. Idempotent; runs after every migrate."""
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.add(*wanted)


def staff_with_perm(perm: str) -> list:
    """Active staff who hold ``perm`` ("app_label.codename"), through a group, directly, or as
    superusers: whom a notice about work needing that permission goes to."""
    from django.db.models import Q

    from .models import User

    app_label, codename = perm.split(".")
    holds = Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label) | Q(
        user_permissions__codename=codename, user_permissions__content_type__app_label=app_label
    )
    return list(User.objects.filter(is_staff=True, is_active=True).filter(Q(is_superuser=True) | holds).distinct())
