"""Load the beat schedule of marketplace/celery.py into django-celery-beat's tables.

Entries already present keep their (possibly operator-edited) schedule; new ones are added.
"""

import json

from django_celery_beat.models import CrontabSchedule, PeriodicTask


def sync_beat_schedule(**kwargs) -> int:
    from marketplace.celery import BEAT_SCHEDULE

    added = 0
    for name, (task, schedule) in BEAT_SCHEDULE.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=schedule._orig_minute,
            hour=schedule._orig_hour,
            day_of_week=schedule._orig_day_of_week,
            day_of_month=schedule._orig_day_of_month,
            month_of_year=schedule._orig_month_of_year,
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, kwargs=json.dumps({}))
        added += 1
    return added
