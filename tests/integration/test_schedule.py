"""The beat schedule: one place, loaded into the database, runnable in-process."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from marketplace.celery import BEAT_SCHEDULE
from marketplace.core.management.commands.run_schedule import run_due
from marketplace.orders import services
from marketplace.orders.models import Order

pytestmark = pytest.mark.django_db


def test_every_schedule_entry_is_in_the_database_and_names_a_real_task():
    from marketplace.celery import app

    app.loader.import_default_modules()
    rows = {t.name: t.task for t in PeriodicTask.objects.all()}
    for name, (task, _schedule) in BEAT_SCHEDULE.items():
        assert rows[name] == task
        assert task in app.tasks, task


def test_run_schedule_runs_what_is_due_once(buyer_user, plan):
    order = services.order_create(actor=buyer_user, plan_id=plan.pk)
    PeriodicTask.objects.update(last_run_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        ran = run_due()
        assert set(ran) == set(BEAT_SCHEDULE)
        assert run_due() == []
    order.refresh_from_db()
    assert order.status == Order.Status.CLOSED
