"""The Celery app and the one place where the beat schedule lives.

The schedule is loaded into django-celery-beat's tables by ``manage.py sync_beat_schedule``
(run by ``make run`` and by migrations' post-migrate hook), so operations can edit times in the
admin without a deployment; entries edited there are not overwritten.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
