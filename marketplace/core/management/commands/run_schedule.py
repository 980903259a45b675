"""Run the beat schedule in-process, for the embedded setup (no Redis, no Celery beat).

``make run`` starts this next to the development server when REDIS_URL is not set, so unpaid
orders close, services expire and month-end jobs run on a laptop too. It reads the same
django-celery-beat table that a real beat reads (times editable in the admin) and calls each
due task directly. With a broker, use ``celery beat`` instead.
"""

import json
import time

from celery import current_app
from django.core.management.base import BaseCommand
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


def run_due(now=None) -> list[str]:
    """Call every enabled crontab task whose time has come since its last run. Returns their names."""
    now = now or timezone.now()
    ran = []
    for entry in PeriodicTask.objects.filter(enabled=True, crontab__isnull=False).select_related("crontab"):
        schedule = entry.crontab.schedule
        last = entry.last_run_at or entry.date_changed
        due, _next = schedule.is_due(last)
        if not due:
            continue
        task = current_app.tasks.get(entry.task)
        if task is None:
            continue
        PeriodicTask.objects.filter(pk=entry.pk).update(last_run_at=now, total_run_count=entry.total_run_count + 1)
        task.apply(kwargs=json.loads(entry.kwargs or "{}"))
        ran.append(entry.name)
    return ran


class Command(BaseCommand):
    help = "Run scheduled tasks in this process, checking every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=int, default=30)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args, interval: int, once: bool, **options):
        while True:
            for name in run_due():
                self.stdout.write(f"{timezone.localtime():%Y-%m-%d %H:%M:%S} ran {name}")
            if once:
                return
            time.sleep(interval)
