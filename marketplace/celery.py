"""The Celery app and the one place where the beat schedule lives.

The schedule is loaded into django-celery-beat's tables by ``manage.py sync_beat_schedule``
(run by ``make run`` and by migrations' post-migrate hook), so operations can edit times in the
admin without a deployment; entries edited there are not overwritten.

It is also the one place where tasks are routed to queues: each queue gets workers of its own in
production (``make worker-produce`` ...), so slow exports never hold up produce calls or e-mails.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging
from kombu import Queue

import marketplace.core.logging  # noqa: F401  (connects the signals that carry request ids into tasks)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_through_django_settings(**kwargs):
    """Workers and beat log through settings.LOGGING (LOG_LEVEL, LOG_FORMAT, request ids), not
    Celery's own setup; ``--loglevel`` is then ignored."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# Queues and the worker of each (Makefile): produce and sync calls to sellers' servers; exports and
# PDFs; statements and settlement; e-mail; everything else.
QUEUES = ("default", "produce", "exports", "statements", "email")
# Every task by name (a test checks none is missing); a task not listed would go to "default".
TASK_ROUTES = {
    # Produce, sync (tenantSync, applicationSync, authSync... are produce messages) and deployment calls.
    "marketplace.provisioning.tasks.deliver_message": "produce",
    "marketplace.provisioning.tasks.deliver_due_messages": "produce",
    "marketplace.provisioning.tasks.release_expired_instances": "produce",
    # Exports and PDFs.
    "billing.tasks.run_export": "exports",
    "billing.tasks.purge_expired_exports": "exports",
    "billing.tasks.resume_exports": "exports",
    "invoicing.tasks.stamp_letter": "exports",
    "invoicing.tasks.stamp_due_letters": "exports",
    # Statements and settlement.
    "billing.tasks.settle_due_lines": "statements",
    "billing.tasks.generate_due_statements": "statements",
    "billing.tasks.generate_statements": "statements",
    "billing.tasks.remind_invoice_deadlines": "statements",
    # E-mail.
    "marketplace.core.tasks.deliver_email": "email",
    "marketplace.core.tasks.deliver_emails": "email",
    "marketplace.core.tasks.deliver_pending_emails": "email",
    # The rest.
    "marketplace.orders.tasks.close_unpaid_orders": "default",
    "marketplace.orders.tasks.expire_subscriptions": "default",
    "invoicing.tasks.remind_invoice_requests": "default",
    "refunds.tasks.pay_refund": "default",
    "refunds.tasks.pay_due_refunds": "default",
    "refunds.tasks.escalate_unanswered_refunds": "default",
    "tickets.tasks.auto_complete_tickets": "default",
}
app.conf.task_default_queue = "default"
app.conf.task_queues = tuple(Queue(name) for name in QUEUES)
app.conf.task_routes = {name: {"queue": queue} for name, queue in TASK_ROUTES.items()}

# name -> (task, schedule). Times are Beijing time (CELERY_TIMEZONE).
BEAT_SCHEDULE = {
    "deliver-pending-emails": ("marketplace.core.tasks.deliver_pending_emails", crontab(minute="*")),
    "close-unpaid-orders": ("marketplace.orders.tasks.close_unpaid_orders", crontab(minute="*/10")),
    "expire-subscriptions": ("marketplace.orders.tasks.expire_subscriptions", crontab(minute=5)),
    # Produce, sync and deployment calls to sellers' servers.
    "deliver-produce-messages": ("marketplace.provisioning.tasks.deliver_due_messages", crontab(minute="*")),
    "release-expired-instances": ("marketplace.provisioning.tasks.release_expired_instances", crontab(minute=20)),
    # Settlement: renewals taking effect, statements on the generation day (00:00 Beijing, checked
    # hourly so a missed run catches up), invoice reminders, expired exports.
    "settle-due-lines": ("billing.tasks.settle_due_lines", crontab(minute="*/10")),
    "generate-statements": ("billing.tasks.generate_due_statements", crontab(minute=0)),
    "remind-invoice-deadlines": ("billing.tasks.remind_invoice_deadlines", crontab(minute=30, hour=9)),
    "purge-expired-exports": ("billing.tasks.purge_expired_exports", crontab(minute=15, hour=3)),
    # Exports whose task was lost (the broker was down) or whose worker died are queued again.
    "resume-exports": ("billing.tasks.resume_exports", crontab(minute="*/5")),
    # Buyers' invoices: the issuer is reminded the day before the 7-day deadline; letters whose
    # stamping task was lost are stamped.
    "remind-invoice-requests": ("invoicing.tasks.remind_invoice_requests", crontab(minute=10, hour=9)),
    "stamp-due-letters": ("invoicing.tasks.stamp_due_letters", crontab(minute="*/5")),
    # Refunds: approved ones not paid yet are retried; unanswered requests go to operations.
    "pay-due-refunds": ("refunds.tasks.pay_due_refunds", crontab(minute="*/5")),
    "escalate-unanswered-refunds": ("refunds.tasks.escalate_unanswered_refunds", crontab(minute=25)),
    # Tickets the customer did not confirm in time complete by themselves.
    "auto-complete-tickets": ("tickets.tasks.auto_complete_tickets", crontab(minute=40)),
}
app.conf.beat_schedule = {name: {"task": task, "schedule": sched} for name, (task, sched) in BEAT_SCHEDULE.items()}
